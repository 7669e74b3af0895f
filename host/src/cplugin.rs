//! Analyzers written in C or C++ (see `core/include/imprint_analyzer.h`): loaded with
//! libloading through their one entry symbol, checked (descriptor size, interface version,
//! manifest) before any work, and called with the scan as plain arrays, callbacks into the
//! host's BVH, and a sink the host copies findings out of.
//!
//! Every callback catches panics (an unwind must not cross into C), and every pointer the
//! plugin hands back is read only after a null check; text that is not UTF-8, an unknown kind
//! or severity, or a non-finite number is refused at the sink with a non-zero code.

use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::plugin::c_abi::{
    ImprintDescriptor, ImprintEntry, ImprintFinding, ImprintHit, ImprintHost, ImprintScan,
    DESCRIPTOR_V1_0_SIZE, IMPRINT_C_ABI_MAJOR, IMPRINT_C_ABI_MINOR, IMPRINT_ENTRY_SYMBOL,
};
use imprint_core::plugin::{Manifest, ScanView};
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

/// A loaded C plugin: the library (kept open) and its descriptor.
pub struct CPlugin {
    descriptor: *const ImprintDescriptor,
    _library: libloading::Library,
}

// SAFETY: the descriptor is immutable static data inside the library, which stays loaded as
// long as this value; the interface requires `analyze` to be callable from several threads.
unsafe impl Send for CPlugin {}
// SAFETY: as above: nothing here is mutated after loading.
unsafe impl Sync for CPlugin {}

/// Why a library is not a usable C plugin.
pub enum CLoadError {
    /// It does not export `imprint_c_analyzer` (it may be a Rust plugin).
    NotC,
    /// It is a C plugin the host refuses, with a one-line reason.
    Refused(String),
}

impl CPlugin {
    /// Opens `path` and checks its descriptor; returns the plugin and its manifest.
    pub fn load(path: &Path) -> Result<(Self, Manifest), CLoadError> {
        // SAFETY: loading a library runs its initialisers; plugins are trusted code (see the
        // README): the same holds for Rust plugins.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| CLoadError::Refused(format!("not a loadable library: {e}")))?;
        // SAFETY: the symbol's type is the interface's entry type.
        let entry: ImprintEntry = unsafe {
            *library
                .get::<ImprintEntry>(IMPRINT_ENTRY_SYMBOL.as_bytes())
                .map_err(|_| CLoadError::NotC)?
        };
        // SAFETY: the entry function takes nothing and returns a pointer (checked below).
        let descriptor = unsafe { entry() };
        let manifest = check(descriptor).map_err(CLoadError::Refused)?;
        Ok((
            Self {
                descriptor,
                _library: library,
            },
            manifest,
        ))
    }

    /// Runs the plugin on one scan of `view`; returns its findings or its error message.
    pub fn analyze(
        &self,
        view: &ScanView<'_>,
        params_json: &str,
        case_json: &str,
        threads: u32,
    ) -> Result<Vec<Finding>, String> {
        // SAFETY: checked at load time: non-null, large enough, `analyze` present.
        let descriptor = unsafe { &*self.descriptor };
        let analyze = descriptor
            .analyze
            .ok_or("the descriptor has no analyze function")?;
        let role = CString::new(view.role.as_str()).unwrap_or_default();
        let params = CString::new(params_json).map_err(|e| e.to_string())?;
        let case = CString::new(case_json).map_err(|e| e.to_string())?;
        let optional = |len: usize, ptr: *const f32| if len > 0 { ptr } else { std::ptr::null() };
        let scan = ImprintScan {
            struct_size: std::mem::size_of::<ImprintScan>(),
            vertex_count: view.positions.len(),
            positions: view.positions.as_slice().as_ptr().cast(),
            triangle_count: view.triangles.len(),
            triangles: view.triangles.as_slice().as_ptr().cast(),
            vertex_normals: optional(
                view.vertex_normals.len(),
                view.vertex_normals.as_slice().as_ptr().cast(),
            ),
            labels: if view.tooth.is_empty() {
                std::ptr::null()
            } else {
                view.tooth.as_slice().as_ptr()
            },
            mean_curvature: optional(
                view.mean_curvature.len(),
                view.mean_curvature.as_slice().as_ptr(),
            ),
            role: role.as_ptr(),
        };
        let mut sink = Sink {
            view,
            findings: Mutex::new(Vec::new()),
        };
        let host = ImprintHost {
            struct_size: std::mem::size_of::<ImprintHost>(),
            context: (&mut sink as *mut Sink<'_, '_>).cast::<c_void>(),
            cast_ray: Some(cast_ray),
            closest_point: Some(closest_point),
            emit_finding: Some(emit_finding),
            params_json: params.as_ptr(),
            case_json: case.as_ptr(),
            threads,
        };
        let mut error = vec![0 as c_char; 1024];
        // SAFETY: every pointer in `scan` and `host` outlives the call; the error buffer's
        // capacity is passed with it.
        let code = unsafe { analyze(&scan, &host, error.as_mut_ptr(), error.len()) };
        if code != 0 {
            if let Some(last) = error.last_mut() {
                *last = 0;
            }
            // SAFETY: NUL-terminated within the buffer (its last byte was just set to 0).
            let text = unsafe { CStr::from_ptr(error.as_ptr()) }.to_string_lossy();
            let text = if text.trim().is_empty() {
                "no message".into()
            } else {
                text.into_owned()
            };
            return Err(format!("returned error {code}: {text}"));
        }
        Ok(sink.findings.into_inner().unwrap_or_default())
    }
}

/// The descriptor's checks: present, long enough, the right interface, a valid manifest.
// The minor this host needs is 0 today, so `minor < IMPRINT_C_ABI_MINOR` cannot hold yet;
// the check is kept for when a minor adds a field the host relies on.
#[allow(clippy::absurd_extreme_comparisons)]
fn check(descriptor: *const ImprintDescriptor) -> Result<Manifest, String> {
    if descriptor.is_null() {
        return Err("imprint_c_analyzer() returned no descriptor".into());
    }
    // SAFETY: non-null; every descriptor begins with its size, read before anything else.
    let size = unsafe { std::ptr::read_unaligned(descriptor.cast::<usize>()) };
    if size < DESCRIPTOR_V1_0_SIZE {
        return Err(format!(
            "truncated descriptor ({size} bytes; C interface {IMPRINT_C_ABI_MAJOR}.0 needs {DESCRIPTOR_V1_0_SIZE})"
        ));
    }
    // SAFETY: at least as long as version 1.0's descriptor.
    let d = unsafe { &*descriptor };
    if d.abi_major != IMPRINT_C_ABI_MAJOR || d.abi_minor < IMPRINT_C_ABI_MINOR {
        return Err(format!(
            "built against C interface {}.{}, incompatible with this host's {IMPRINT_C_ABI_MAJOR}.{IMPRINT_C_ABI_MINOR}: rebuild it against imprint_analyzer.h {IMPRINT_C_ABI_MAJOR}.x",
            d.abi_major, d.abi_minor
        ));
    }
    if d.analyze.is_none() || d.manifest_json.is_null() {
        return Err("the descriptor has no manifest or no analyze function".into());
    }
    // SAFETY: non-null, NUL-terminated by the interface's contract.
    let json = unsafe { CStr::from_ptr(d.manifest_json) }
        .to_str()
        .map_err(|_| "its manifest is not UTF-8".to_string())?;
    let mut manifest: Manifest =
        serde_json::from_str(json).map_err(|e| format!("its manifest is not valid: {e}"))?;
    manifest.interface_version = format!("c-{}.{}", d.abi_major, d.abi_minor);
    Ok(manifest)
}

/// The callbacks' context: the scan's spatial queries and the findings received.
struct Sink<'v, 'a> {
    view: &'v ScanView<'a>,
    findings: Mutex<Vec<Finding>>,
}

/// # Safety
/// `context` is the `Sink` of the running call; `v` points to 3 floats.
unsafe fn read3(v: *const f32) -> Option<[f32; 3]> {
    if v.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    let s = unsafe { std::slice::from_raw_parts(v, 3) };
    Some([s[0], s[1], s[2]])
}

fn fill(hit: *mut ImprintHit, point: [f32; 3], distance: f32, triangle: u32) {
    if !hit.is_null() {
        // SAFETY: non-null, and the interface's contract gives it room for one hit.
        unsafe {
            hit.write(ImprintHit {
                point,
                distance,
                triangle,
            })
        };
    }
}

unsafe extern "C" fn cast_ray(
    context: *mut c_void,
    origin: *const f32,
    direction: *const f32,
    max_distance: f32,
    hit: *mut ImprintHit,
) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `context` is this call's sink; the vectors are 3 floats each.
        let sink = unsafe { &*context.cast::<Sink<'_, '_>>() };
        let (Some(o), Some(d)) = (unsafe { read3(origin) }, unsafe { read3(direction) }) else {
            return 0;
        };
        match sink
            .view
            .spatial
            .cast_ray(&o, &d, max_distance)
            .into_option()
        {
            Some(h) => {
                fill(hit, h.point, h.distance, h.triangle);
                1
            }
            None => 0,
        }
    }))
    .unwrap_or(0)
}

unsafe extern "C" fn closest_point(
    context: *mut c_void,
    point: *const f32,
    max_distance: f32,
    hit: *mut ImprintHit,
) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `cast_ray`.
        let sink = unsafe { &*context.cast::<Sink<'_, '_>>() };
        let Some(p) = (unsafe { read3(point) }) else {
            return 0;
        };
        match sink
            .view
            .spatial
            .closest_point(&p, max_distance)
            .into_option()
        {
            Some(c) => {
                fill(hit, c.point, c.distance, c.triangle);
                1
            }
            None => 0,
        }
    }))
    .unwrap_or(0)
}

unsafe extern "C" fn emit_finding(context: *mut c_void, finding: *const ImprintFinding) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `cast_ray`; `finding` is checked for null and its size first.
        let sink = unsafe { &*context.cast::<Sink<'_, '_>>() };
        if finding.is_null() {
            return 1;
        }
        let size = unsafe { std::ptr::read_unaligned(finding.cast::<usize>()) };
        if size < std::mem::size_of::<ImprintFinding>() {
            return 2;
        }
        match unsafe { convert(&*finding) } {
            Some(f) => {
                if let Ok(mut all) = sink.findings.lock() {
                    all.push(f);
                }
                0
            }
            None => 3,
        }
    }))
    .unwrap_or(4)
}

/// # Safety
/// Every non-null pointer in `f` is what the interface says it is.
unsafe fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the interface's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .ok()
        .map(str::to_string)
}

/// A finding from its C form, or `None` when any part of it is malformed.
///
/// # Safety
/// As for [`text`]; `vertices` holds `vertex_count` indices.
unsafe fn convert(f: &ImprintFinding) -> Option<Finding> {
    let word = |s: String| serde_json::Value::String(s);
    let kind: FindingKind = serde_json::from_value(word(unsafe { text(f.kind) }?)).ok()?;
    let severity: Severity = serde_json::from_value(word(unsafe { text(f.severity) }?)).ok()?;
    let message = unsafe { text(f.message) }?;
    if !f.center.iter().all(|c| c.is_finite()) || !f.size_mm.is_finite() || f.size_mm < 0.0 {
        return None;
    }
    let mut out = Finding::new(kind, severity, f.center, f.size_mm, message);
    out.tooth = (f.tooth != 0).then_some(f.tooth);
    if !f.vertices.is_null() && f.vertex_count > 0 {
        // SAFETY: the caller's contract.
        out.vertices = unsafe { std::slice::from_raw_parts(f.vertices, f.vertex_count) }.to_vec();
    }
    if let Some(json) = unsafe { text(f.metrics_json) } {
        out.metrics = serde_json::from_str(&json).ok()?;
    }
    Some(out)
}
