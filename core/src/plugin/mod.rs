//! The plugin interface: what crosses between the host and an analyzer library.
//!
//! Built on `abi_stable`: each plugin exports one root module ([`AnalyzerMod`]) with a
//! manifest and an analyze entry point. The host checks, at load time, that the plugin was
//! built against a compatible version of this crate (same major; for 0.x, the plugin's minor
//! at least the host's) and that every type reachable from the root module has the same
//! layout; a plugin that fails either check is refused with a one-line reason.
//!
//! **Large arrays cross as borrowed slices** ([`ScanView`]): positions, triangles, normals,
//! labels, curvature, adjacency. Nothing is copied per plugin. **Spatial queries** on the
//! host's BVH cross as a stable trait object ([`SpatialQuery`]), so no plugin rebuilds one.
//!
//! **Findings, parameters, the manifest and the case cross as JSON text.** Their fields will
//! grow with every analyzer (new metrics, new finding kinds); as JSON, a new optional field
//! changes no type layout, so it needs no interface version bump, and the host validates
//! each finding as it parses it. The cost, serialising at most a few thousand findings per
//! run, is negligible next to the analysis.
//!
//! **In-process plugins are trusted code.** A plugin runs in the host's address space: the
//! SDK turns panics into errors, but a segfault, abort, hang or runaway allocation in a
//! plugin takes the host with it. `abi_stable` is not a security boundary.

pub mod c_abi;
pub mod manifest;
pub mod sdk;
mod views;

pub use manifest::{Manifest, Parameter};
pub use views::{AnalyzeInput, ScanView, SpatialQuery, SpatialQuery_TO};

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RString};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

/// The version of this interface, as plugins record it in their manifest.
pub const INTERFACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module every analyzer plugin exports (see [`sdk::export_analyzer!`](crate::export_analyzer)).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AnalyzerModRef)))]
#[sabi(missing_field(panic))]
pub struct AnalyzerMod {
    /// The plugin's manifest as JSON ([`Manifest`]).
    pub manifest: extern "C" fn() -> RString,
    /// Analyzes one scan; `Ok` holds the findings as a JSON array, `Err` a message.
    #[sabi(last_prefix_field)]
    pub analyze: extern "C" fn(input: &AnalyzeInput<'_, '_>) -> RResult<RString, RString>,
}

impl RootModule for AnalyzerModRef {
    declare_root_module_statics! {AnalyzerModRef}
    const BASE_NAME: &'static str = "imprint_analyzer";
    const NAME: &'static str = "imprint_analyzer";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
