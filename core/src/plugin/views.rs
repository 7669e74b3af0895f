//! Borrowed views of a scan and its derived data, laid out for the plugin boundary.

#![allow(non_camel_case_types, non_local_definitions)]

use crate::derived::{ClosestPoint, RayHit};
use abi_stable::std_types::{ROption, RSlice, RStr};
use abi_stable::{sabi_trait, StableAbi};

/// Ray casts and closest-point queries on the host's BVH of one scan.
#[sabi_trait]
pub trait SpatialQuery: Sync {
    /// The first hit of a ray within `max_distance` (direction need not be unit length).
    fn cast_ray(
        &self,
        origin: &[f32; 3],
        direction: &[f32; 3],
        max_distance: f32,
    ) -> ROption<RayHit>;

    /// The closest surface point within `max_distance`.
    #[sabi(last_prefix_field)]
    fn closest_point(&self, point: &[f32; 3], max_distance: f32) -> ROption<ClosestPoint>;
}

impl SpatialQuery for crate::derived::Bvh {
    fn cast_ray(
        &self,
        origin: &[f32; 3],
        direction: &[f32; 3],
        max_distance: f32,
    ) -> ROption<RayHit> {
        crate::derived::Bvh::cast_ray(self, *origin, *direction, max_distance).into()
    }

    fn closest_point(&self, point: &[f32; 3], max_distance: f32) -> ROption<ClosestPoint> {
        crate::derived::Bvh::closest_point(self, *point, max_distance).into()
    }
}

/// One scan of the case and the derived data the host computed for it. Slices a plugin did
/// not ask for (in its manifest's `needs`) may be empty.
#[repr(C)]
#[derive(StableAbi)]
pub struct ScanView<'a> {
    /// Role in the case: `upper`, `lower`, `bite` or `scan`.
    pub role: RStr<'a>,
    /// The file it was loaded from.
    pub path: RStr<'a>,
    /// Vertex positions, mm.
    pub positions: RSlice<'a, [f32; 3]>,
    /// Triangles.
    pub triangles: RSlice<'a, [u32; 3]>,
    /// Per-vertex FDI labels (0 = gingiva); empty when unlabelled.
    pub labels: RSlice<'a, u8>,
    /// Unit vertex normals.
    pub vertex_normals: RSlice<'a, [f32; 3]>,
    /// Unit face normals.
    pub face_normals: RSlice<'a, [f32; 3]>,
    /// Face areas, mm².
    pub face_areas: RSlice<'a, f32>,
    /// Mean curvature per vertex, 1/mm.
    pub mean_curvature: RSlice<'a, f32>,
    /// Gaussian curvature per vertex, 1/mm².
    pub gaussian_curvature: RSlice<'a, f32>,
    /// Vertex adjacency, compressed rows: neighbours of `v` are
    /// `adjacency[adjacency_offsets[v]..adjacency_offsets[v + 1]]`.
    pub adjacency_offsets: RSlice<'a, u32>,
    /// Vertex adjacency items.
    pub adjacency: RSlice<'a, u32>,
    /// Component of each face (0 = largest).
    pub face_component: RSlice<'a, u32>,
    /// `true` for vertices on a boundary or non-manifold edge.
    pub on_boundary: RSlice<'a, bool>,
    /// Boundary loops as JSON (an array of `BoundaryLoop`), or empty.
    pub boundary_loops_json: RStr<'a>,
    /// The tooth map's FDI number per vertex (0 = gingiva): the given labels, or estimated.
    pub tooth: RSlice<'a, u8>,
    /// Surface region per vertex ([`crate::tooth::Region`] codes).
    pub region: RSlice<'a, u8>,
    /// Arch coordinates per vertex: along the arch (0 at the midline), across it (buccal
    /// positive) and along the occlusal direction (0 on the occlusal plane), mm.
    pub arch_s: RSlice<'a, f32>,
    /// See `arch_s`.
    pub arch_t: RSlice<'a, f32>,
    /// See `arch_s`.
    pub arch_h: RSlice<'a, f32>,
    /// The tooth map's summary as JSON (source, jaw, frame, teeth, missing, notes), or empty.
    pub tooth_map_json: RStr<'a>,
    /// Spatial queries on this scan.
    pub spatial: SpatialQuery_TO<'a, abi_stable::sabi_types::RRef<'a, ()>>,
}

/// Everything one analyze call receives: borrowed for `'i`, viewing scan data that lives `'a`.
#[repr(C)]
#[derive(StableAbi)]
pub struct AnalyzeInput<'i, 'a> {
    /// Every scan of the case.
    pub scans: RSlice<'i, ScanView<'a>>,
    /// The scan under analysis (an index into `scans`).
    pub scan_index: u32,
    /// Parameter values as a JSON object (defaults already applied by the host).
    pub params_json: RStr<'i>,
    /// The case file as JSON (`null` when none was given).
    pub case_json: RStr<'i>,
    /// Threads the plugin may use (build a local pool of this size; never the global one).
    pub threads: u32,
}
