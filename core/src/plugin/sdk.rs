//! The SDK for writing analyzers in Rust: implement [`Analyzer`] and call
//! [`export_analyzer!`](crate::export_analyzer). A plugin is then a plain `impl` block.
//!
//! ```ignore
//! use imprint_core::plugin::sdk::{Analyzer, Context};
//! use imprint_core::plugin::Manifest;
//! use imprint_core::finding::Finding;
//!
//! #[derive(Default)]
//! struct Mine;
//!
//! impl Analyzer for Mine {
//!     fn manifest(&self) -> Manifest { /* id, kinds, needs, parameters */ }
//!     fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
//!         let scan = ctx.scan();
//!         Ok(vec![])
//!     }
//! }
//! imprint_core::export_analyzer!(Mine);
//! ```
//!
//! Every call is wrapped in `catch_unwind`: a panic becomes an error the host records, since
//! a panic crossing the library boundary would end the host process. Plugins are trusted code
//! (see [the interface docs](super)).

use super::{AnalyzeInput, Manifest, ScanView, INTERFACE_VERSION};
use crate::derived::{BoundaryLoop, ClosestPoint, RayHit};
use crate::finding::{AnalyzerOutput, Finding};
use abi_stable::std_types::{RResult, RString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An analyzer, written as a plain `impl` block.
pub trait Analyzer: Default {
    /// Who the analyzer is and what it needs and emits.
    fn manifest(&self) -> Manifest;
    /// Analyzes the context's scan.
    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String>;

    /// Analyzes the context's scan, returning findings and margin lines. The default wraps
    /// [`Analyzer::analyze`]; an analyzer that traces margins overrides this one.
    fn analyze_output(&self, ctx: &Context<'_, '_>) -> Result<AnalyzerOutput, String> {
        self.analyze(ctx).map(AnalyzerOutput::from)
    }
}

/// A safe view of one analyze call.
pub struct Context<'i, 'a> {
    input: &'i AnalyzeInput<'i, 'a>,
    params: serde_json::Map<String, serde_json::Value>,
}

/// A safe view of one scan.
#[derive(Clone, Copy)]
pub struct ScanRef<'i, 'a> {
    view: &'i ScanView<'a>,
}

impl<'i, 'a> Context<'i, 'a> {
    /// Wraps the raw input; parameters that are not a JSON object read as empty.
    pub fn new(input: &'i AnalyzeInput<'i, 'a>) -> Self {
        let params = serde_json::from_str(input.params_json.as_str()).unwrap_or_default();
        Self { input, params }
    }

    /// The scan under analysis.
    pub fn scan(&self) -> ScanRef<'i, 'a> {
        let i = (self.input.scan_index as usize).min(self.input.scans.len().saturating_sub(1));
        ScanRef {
            view: &self.input.scans.as_slice()[i],
        }
    }

    /// The index of the scan under analysis among [`Context::scans`].
    pub fn scan_index(&self) -> usize {
        (self.input.scan_index as usize).min(self.input.scans.len().saturating_sub(1))
    }

    /// Every scan of the case (including this one).
    pub fn scans(&self) -> impl Iterator<Item = ScanRef<'i, 'a>> + 'i {
        self.input
            .scans
            .as_slice()
            .iter()
            .map(|view| ScanRef { view })
    }

    /// A numeric parameter (the host has applied defaults).
    pub fn param_f64(&self, name: &str) -> Option<f64> {
        self.params.get(name)?.as_f64()
    }

    /// A parameter as JSON.
    pub fn param(&self, name: &str) -> Option<&serde_json::Value> {
        self.params.get(name)
    }

    /// The case file as JSON (`null` when none was given).
    pub fn case(&self) -> serde_json::Value {
        serde_json::from_str(self.input.case_json.as_str()).unwrap_or(serde_json::Value::Null)
    }

    /// FDI numbers of the teeth the case file says are prepared for crowns (empty without a
    /// case file).
    pub fn prepared_teeth(&self) -> Vec<u8> {
        self.case()["prepared_teeth"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["tooth"].as_u64())
                    .filter_map(|t| u8::try_from(t).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs `work` in a thread pool of this call's budget ([`Context::threads`]), the
    /// plugin's own: never rayon's global pool, which the host's process shares.
    pub fn in_pool<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads())
            .build()
            .map_err(|e| format!("cannot start {} worker threads: {e}", self.threads()))?;
        Ok(pool.install(work))
    }

    /// Threads this plugin may use.
    pub fn threads(&self) -> usize {
        self.input.threads.max(1) as usize
    }
}

impl<'i, 'a> ScanRef<'i, 'a> {
    /// Role in the case.
    pub fn role(&self) -> &'i str {
        self.view.role.as_str()
    }
    /// Vertex positions, mm.
    pub fn positions(&self) -> &'i [[f32; 3]] {
        self.view.positions.as_slice()
    }
    /// Triangles.
    pub fn triangles(&self) -> &'i [[u32; 3]] {
        self.view.triangles.as_slice()
    }
    /// FDI labels per vertex (empty when unlabelled).
    pub fn labels(&self) -> &'i [u8] {
        self.view.labels.as_slice()
    }
    /// Unit vertex normals.
    pub fn vertex_normals(&self) -> &'i [[f32; 3]] {
        self.view.vertex_normals.as_slice()
    }
    /// Unit face normals.
    pub fn face_normals(&self) -> &'i [[f32; 3]] {
        self.view.face_normals.as_slice()
    }
    /// Face areas, mm².
    pub fn face_areas(&self) -> &'i [f32] {
        self.view.face_areas.as_slice()
    }
    /// Mean curvature per vertex.
    pub fn mean_curvature(&self) -> &'i [f32] {
        self.view.mean_curvature.as_slice()
    }
    /// Gaussian curvature per vertex.
    pub fn gaussian_curvature(&self) -> &'i [f32] {
        self.view.gaussian_curvature.as_slice()
    }
    /// Neighbours of vertex `v` (empty when adjacency was not requested).
    pub fn neighbours(&self, v: usize) -> &'i [u32] {
        let off = self.view.adjacency_offsets.as_slice();
        match (off.get(v), off.get(v + 1)) {
            (Some(&a), Some(&b)) => &self.view.adjacency.as_slice()[a as usize..b as usize],
            _ => &[],
        }
    }
    /// The adjacency as compressed rows: vertex `v`'s neighbours are
    /// `items[offsets[v]..offsets[v + 1]]` (both empty when adjacency was not requested).
    pub fn adjacency_rows(&self) -> (&'i [u32], &'i [u32]) {
        (
            self.view.adjacency_offsets.as_slice(),
            self.view.adjacency.as_slice(),
        )
    }
    /// Mean edge length over the adjacency, mm (needs `adjacency`), from the rings of about
    /// 50 000 vertices spread over the scan (exact on smaller scans).
    pub fn mean_edge(&self) -> f32 {
        let p = self.positions();
        let stride = (p.len() / 50_000).max(1);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for v in (0..p.len()).step_by(stride) {
            for &w in self.neighbours(v) {
                let q = p[w as usize];
                let d: f32 = (0..3).map(|k| (q[k] - p[v][k]).powi(2)).sum();
                sum += f64::from(d.sqrt());
                count += 1;
            }
        }
        (sum / count.max(1) as f64) as f32
    }
    /// The positions smoothed by `rounds` of one-ring averaging, boundary vertices held
    /// (needs `adjacency`; see [`crate::derived::laplacian_smooth`]): a reference surface
    /// from which features narrower than about `edge × √(2·rounds)` have been removed. Many
    /// rounds (a fixed scale in mm on a fine scan) cost about `3.5·√rounds` averagings (see
    /// [`crate::derived::laplacian_smooth_many`]).
    pub fn smoothed(&self, rounds: usize) -> Vec<[f32; 3]> {
        crate::derived::laplacian_smooth_many(
            |v| self.neighbours(v),
            self.positions(),
            self.on_boundary(),
            rounds,
        )
    }
    /// Component of each face.
    pub fn face_component(&self) -> &'i [u32] {
        self.view.face_component.as_slice()
    }
    /// Boundary/non-manifold vertex flags.
    pub fn on_boundary(&self) -> &'i [bool] {
        self.view.on_boundary.as_slice()
    }
    /// The tooth map's FDI number per vertex, 0 for gingiva (needs `tooth_map`; empty
    /// otherwise). Given labels when the scan came with them, else estimated.
    pub fn tooth_of_vertex(&self) -> &'i [u8] {
        self.view.tooth.as_slice()
    }

    /// Surface region per vertex (needs `tooth_map`; empty otherwise).
    pub fn region_of_vertex(&self) -> Vec<crate::tooth::Region> {
        self.view
            .region
            .iter()
            .map(|c| crate::tooth::Region::from_code(*c).unwrap_or(crate::tooth::Region::Gingiva))
            .collect()
    }

    /// Arch coordinates `(s, t, h)` of vertex `v` (needs `tooth_map`): along the arch from
    /// the midline, across it (buccal positive), above the occlusal plane; mm.
    pub fn arch_coords(&self, v: usize) -> Option<[f32; 3]> {
        Some([
            *self.view.arch_s.get(v)?,
            *self.view.arch_t.get(v)?,
            *self.view.arch_h.get(v)?,
        ])
    }

    /// The tooth map's summary (jaw, frame, teeth, missing teeth, notes) as JSON, or `Null`
    /// when the plugin did not ask for `tooth_map`.
    pub fn tooth_map(&self) -> serde_json::Value {
        serde_json::from_str(self.view.tooth_map_json.as_str()).unwrap_or_default()
    }

    /// Boundary loops (needs `boundary_loops`; empty otherwise).
    pub fn boundary_loops(&self) -> Vec<BoundaryLoop> {
        serde_json::from_str(self.view.boundary_loops_json.as_str()).unwrap_or_default()
    }
    /// First ray hit on this scan.
    pub fn cast_ray(
        &self,
        origin: [f32; 3],
        direction: [f32; 3],
        max_distance: f32,
    ) -> Option<RayHit> {
        self.view
            .spatial
            .cast_ray(&origin, &direction, max_distance)
            .into_option()
    }
    /// Closest surface point on this scan.
    pub fn closest_point(&self, point: [f32; 3], max_distance: f32) -> Option<ClosestPoint> {
        self.view
            .spatial
            .closest_point(&point, max_distance)
            .into_option()
    }
}

/// The manifest as JSON, with the interface version filled in. Used by the export macro.
pub fn manifest_json<A: Analyzer>() -> RString {
    let run = || {
        let mut m = A::default().manifest();
        m.interface_version = INTERFACE_VERSION.to_string();
        serde_json::to_string(&m).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    };
    RString::from(
        catch_unwind(run)
            .unwrap_or_else(|p| format!("{{\"error\":\"manifest panicked: {}\"}}", panic_text(&p))),
    )
}

/// Runs one analyze call with panics caught. Used by the export macro.
pub fn run<A: Analyzer>(input: &AnalyzeInput<'_, '_>) -> RResult<RString, RString> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let ctx = Context::new(input);
        A::default().analyze_output(&ctx)
    }));
    match result {
        Ok(Ok(output)) => match serde_json::to_string(&output) {
            Ok(json) => RResult::ROk(RString::from(json)),
            Err(e) => RResult::RErr(RString::from(format!("cannot serialise findings: {e}"))),
        },
        Ok(Err(message)) => RResult::RErr(RString::from(message)),
        Err(payload) => RResult::RErr(RString::from(format!("panicked: {}", panic_text(&payload)))),
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_string())
}

/// Exports an [`Analyzer`] as the plugin's root module. The plugin crate is a `cdylib` and
/// depends on `abi_stable` (the attribute below expands to paths into it).
#[macro_export]
macro_rules! export_analyzer {
    ($analyzer:ty) => {
        #[::abi_stable::export_root_module]
        pub fn imprint_root_module() -> $crate::plugin::AnalyzerModRef {
            use ::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::plugin::AnalyzerMod {
                manifest: __imprint_manifest,
                analyze: __imprint_analyze,
            }
            .leak_into_prefix()
        }

        extern "C" fn __imprint_manifest() -> ::abi_stable::std_types::RString {
            $crate::plugin::sdk::manifest_json::<$analyzer>()
        }

        extern "C" fn __imprint_analyze(
            input: &$crate::plugin::AnalyzeInput<'_, '_>,
        ) -> ::abi_stable::std_types::RResult<
            ::abi_stable::std_types::RString,
            ::abi_stable::std_types::RString,
        > {
            $crate::plugin::sdk::run::<$analyzer>(input)
        }
    };
}
