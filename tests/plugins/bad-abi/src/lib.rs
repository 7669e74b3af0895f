//! A plugin built against a changed interface: the same root module name and version as
//! `imprint-core`'s, but its analyze input has an extra field. The host must refuse it with
//! one line and keep running the others.

#![allow(non_camel_case_types, non_local_definitions)]

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RSlice, RStr, RString};
use abi_stable::{
    declare_root_module_statics, export_root_module, package_version_strings, StableAbi,
};

/// A changed input: one more field than the real interface has.
#[repr(C)]
#[derive(StableAbi)]
pub struct AnalyzeInput<'a> {
    pub scans: RSlice<'a, u64>,
    pub scan_index: u32,
    pub params_json: RStr<'a>,
    pub case_json: RStr<'a>,
    pub threads: u32,
    pub extra: u64,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AnalyzerModRef)))]
#[sabi(missing_field(panic))]
pub struct AnalyzerMod {
    pub manifest: extern "C" fn() -> RString,
    #[sabi(last_prefix_field)]
    pub analyze: extern "C" fn(input: &AnalyzeInput<'_>) -> RResult<RString, RString>,
}

impl RootModule for AnalyzerModRef {
    declare_root_module_statics! {AnalyzerModRef}
    const BASE_NAME: &'static str = "imprint_analyzer";
    const NAME: &'static str = "imprint_analyzer";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

extern "C" fn manifest() -> RString {
    RString::from("{}")
}

extern "C" fn analyze(_: &AnalyzeInput<'_>) -> RResult<RString, RString> {
    RResult::ROk(RString::from("[]"))
}

#[export_root_module]
pub fn root() -> AnalyzerModRef {
    AnalyzerMod { manifest, analyze }.leak_into_prefix()
}
