//! The C interface for analyzers written in C or C++: plain `#[repr(C)]` structs, generated
//! into the committed header `core/include/imprint_analyzer.h` (a test regenerates it with
//! cbindgen and fails when the two differ).
//!
//! **Shape.** A plugin library exports one symbol, [`IMPRINT_ENTRY_SYMBOL`] (`imprint_c_analyzer`),
//! a function returning a pointer to a static [`ImprintDescriptor`] that begins with its own
//! size and the interface version it was built against. The host accepts the same major
//! version and a minor at least as new as the one it needs ([`IMPRINT_C_ABI_MAJOR`],
//! [`IMPRINT_C_ABI_MINOR`]), and refuses any other, or a descriptor shorter than version 1.0's, with
//! a one-line reason. Structs only grow at their end; `struct_size` says how much of them
//! the other side filled.
//!
//! **Ownership never moves.** Everything the host passes ([`ImprintScan`],
//! [`ImprintHost`]) lives until `analyze` returns; everything the plugin passes back (a
//! finding given to `emit_finding`, the descriptor) is copied by the host before the call
//! returns (the descriptor is read at load time). Neither side frees the other's memory.
//!
//! **Errors** are return codes (0 = success) with a message written into the host's buffer;
//! C++ exceptions must never cross the boundary (catch everything in `analyze`).

use std::os::raw::{c_char, c_void};

/// The interface's major version: a plugin built against another major is refused.
pub const IMPRINT_C_ABI_MAJOR: u16 = 1;
/// The interface's minor version: the host needs at least this minor.
pub const IMPRINT_C_ABI_MINOR: u16 = 0;
/// The symbol a C plugin exports: `const ImprintDescriptor *imprint_c_analyzer(void)`.
pub const IMPRINT_ENTRY_SYMBOL: &str = "imprint_c_analyzer";

/// One scan as plain arrays, valid for the duration of `analyze`. Optional arrays are null
/// when the host has none (a plugin asks for them in its manifest's `needs`).
#[repr(C)]
pub struct ImprintScan {
    /// `sizeof(ImprintScan)` as the host filled it.
    pub struct_size: usize,
    /// Number of vertices.
    pub vertex_count: usize,
    /// Vertex positions, mm: `3 * vertex_count` floats (x, y, z per vertex).
    pub positions: *const f32,
    /// Number of triangles.
    pub triangle_count: usize,
    /// Triangles: `3 * triangle_count` vertex indices.
    pub triangles: *const u32,
    /// Unit vertex normals, `3 * vertex_count` floats, or null.
    pub vertex_normals: *const f32,
    /// FDI tooth number per vertex (0 = gingiva) from the host's tooth map, or null.
    pub labels: *const u8,
    /// Mean curvature per vertex (1/mm), or null.
    pub mean_curvature: *const f32,
    /// The scan's role in the case: `upper`, `lower`, `bite` or `scan` (NUL-terminated).
    pub role: *const c_char,
}

/// A ray hit or a closest point on the scan, filled by the host's callbacks.
#[repr(C)]
pub struct ImprintHit {
    /// The point on the surface, mm.
    pub point: [f32; 3],
    /// Distance from the query's origin, mm.
    pub distance: f32,
    /// The triangle it lies on.
    pub triangle: u32,
}

/// One finding, handed to [`ImprintHost::emit_finding`]; the host copies it before the
/// call returns.
#[repr(C)]
pub struct ImprintFinding {
    /// `sizeof(ImprintFinding)` as the plugin filled it.
    pub struct_size: usize,
    /// The kind, as in the JSON reports (`hole`, `void`, `spike`, `mesh_defect`, …).
    pub kind: *const c_char,
    /// `info`, `minor`, `major` or `critical`.
    pub severity: *const c_char,
    /// FDI tooth number, or 0 when the finding is on no tooth.
    pub tooth: u8,
    /// Centre, mm.
    pub center: [f32; 3],
    /// Largest extent, mm.
    pub size_mm: f32,
    /// What, where and why it matters, in plain words (UTF-8).
    pub message: *const c_char,
    /// Affected vertices, or null.
    pub vertices: *const u32,
    /// Number of affected vertices.
    pub vertex_count: usize,
    /// Measurements as a JSON object of numbers (`{"depth_mm": 0.3}`), or null.
    pub metrics_json: *const c_char,
}

/// Casts a ray from `origin` along `direction` (need not be unit length) on the host's BVH;
/// returns 1 and fills `hit` on a hit within `max_distance`, else 0.
pub type ImprintCastRay = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        origin: *const f32,
        direction: *const f32,
        max_distance: f32,
        hit: *mut ImprintHit,
    ) -> i32,
>;

/// The closest surface point to `point` within `max_distance`; returns 1 and fills `hit`, or
/// 0 when there is none.
pub type ImprintClosestPoint = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        point: *const f32,
        max_distance: f32,
        hit: *mut ImprintHit,
    ) -> i32,
>;

/// Hands one finding to the host; returns 0, or non-zero when the finding is malformed
/// (an unknown kind or severity, text that is not UTF-8) and was not taken.
pub type ImprintEmitFinding =
    Option<unsafe extern "C" fn(context: *mut c_void, finding: *const ImprintFinding) -> i32>;

/// What the host offers during one `analyze` call.
#[repr(C)]
pub struct ImprintHost {
    /// `sizeof(ImprintHost)` as the host filled it.
    pub struct_size: usize,
    /// Pass back to every callback.
    pub context: *mut c_void,
    /// Ray casts on the host's BVH of this scan.
    pub cast_ray: ImprintCastRay,
    /// Closest-point queries on the host's BVH of this scan.
    pub closest_point: ImprintClosestPoint,
    /// The findings sink.
    pub emit_finding: ImprintEmitFinding,
    /// The plugin's parameters as a JSON object, defaults applied (NUL-terminated).
    pub params_json: *const c_char,
    /// The case file as JSON, or `null` (NUL-terminated).
    pub case_json: *const c_char,
    /// Threads the plugin may use.
    pub threads: u32,
}

/// Analyzes one scan: returns 0, or non-zero after writing a NUL-terminated message of at
/// most `error_capacity` bytes into `error`. Must be safe to call from several threads at
/// once (on different scans), and must not let a C++ exception escape.
pub type ImprintAnalyze = Option<
    unsafe extern "C" fn(
        scan: *const ImprintScan,
        host: *const ImprintHost,
        error: *mut c_char,
        error_capacity: usize,
    ) -> i32,
>;

/// What a C plugin is: returned (as a pointer to static data) by `imprint_c_analyzer()`.
#[repr(C)]
pub struct ImprintDescriptor {
    /// `sizeof(ImprintDescriptor)` as the plugin was built.
    pub struct_size: usize,
    /// The interface major version the plugin was built against ([`IMPRINT_C_ABI_MAJOR`]).
    pub abi_major: u16,
    /// The interface minor version the plugin was built against ([`IMPRINT_C_ABI_MINOR`]).
    pub abi_minor: u16,
    /// The manifest as JSON (NUL-terminated): `id`, `name`, `version`, `kinds`, `needs`,
    /// `parameters`, as for Rust plugins.
    pub manifest_json: *const c_char,
    /// The analyze function.
    pub analyze: ImprintAnalyze,
}

/// The entry function's type.
pub type ImprintEntry = unsafe extern "C" fn() -> *const ImprintDescriptor;

/// The size of version 1.0's descriptor: a descriptor shorter than this is truncated.
///
/// cbindgen:ignore
pub const DESCRIPTOR_V1_0_SIZE: usize = std::mem::size_of::<ImprintDescriptor>();
