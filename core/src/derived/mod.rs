//! Derived scan data: what analyzers need beyond positions and triangles, computed lazily,
//! once per scan, and safe to share across threads.
//!
//! Each piece sits in a [`OnceLock`]: the first caller computes it, later callers (on any
//! thread) get the same value. [`DerivedData::ensure`] computes a set of pieces up front, in
//! parallel, each as soon as what it is computed from is done, for the union of what the
//! loaded analyzers declared they need.
//!
//! A piece is computed *outside* its cell and only then stored (see [`lazily`]). Computed
//! inside `OnceLock::get_or_init`, it deadlocked under rayon: a thread that waits in a
//! parallel loop inside the initialiser steals other tasks, and a stolen task that needs the
//! same piece waits for the initialiser, which is that thread itself (seen with 8 worker
//! threads; see the `derived` integration tests). Two callers that race may both compute a
//! piece; both get the value stored first, and the two are identical.
//!
//! ```
//! use imprint_core::{Scan, derived::DerivedData};
//! let scan = Scan::new(
//!     vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
//!     vec![[0, 1, 2]],
//! ).unwrap();
//! let derived = DerivedData::new(&scan);
//! assert_eq!(derived.boundary_loops().loops.len(), 1);
//! assert_eq!(derived.components().count(), 1);
//! ```

mod bvh;
mod curvature;
mod normals;
mod smooth;
mod topology;

pub use bvh::{Bvh, BvhNode, ClosestPoint, RayHit};
pub use curvature::Curvature;
pub use normals::{face_normals_and_areas, vertex_areas, vertex_normals};
pub use smooth::{laplacian_smooth, laplacian_smooth_many, mean_edge_length, ring_average};
pub use topology::{BoundaryLoop, BoundaryLoops, Components, Csr, Edge, EdgeMap};

use crate::scan::Scan;
use crate::toothmap::{MapHints, ToothMap};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// One piece of derived data, as analyzers name it in their manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DerivedKind {
    /// Vertex → incident faces.
    VertexFaces,
    /// Undirected edges with their faces; boundary and non-manifold edges.
    EdgeMap,
    /// Boundary loops, the outer trim loop told apart from holes.
    BoundaryLoops,
    /// Connected components.
    Components,
    /// Unit face normals and face areas.
    FaceNormals,
    /// Area-weighted unit vertex normals.
    VertexNormals,
    /// Vertex → neighbouring vertices.
    Adjacency,
    /// Mean, Gaussian and principal curvatures per vertex.
    Curvature,
    /// Bounding-volume hierarchy for ray casts and closest points.
    Bvh,
    /// Tooth map and arch frame: FDI and surface region per vertex, arch coordinates.
    ToothMap,
}

impl DerivedKind {
    /// Every kind, in dependency order.
    pub const ALL: [DerivedKind; 10] = [
        Self::VertexFaces,
        Self::EdgeMap,
        Self::BoundaryLoops,
        Self::Components,
        Self::FaceNormals,
        Self::VertexNormals,
        Self::Adjacency,
        Self::Curvature,
        Self::Bvh,
        Self::ToothMap,
    ];

    /// The kinds this one is computed from, directly.
    pub fn prerequisites(self) -> &'static [DerivedKind] {
        match self {
            Self::VertexFaces
            | Self::Components
            | Self::FaceNormals
            | Self::VertexNormals
            | Self::Bvh => &[],
            Self::EdgeMap => &[Self::VertexFaces],
            Self::BoundaryLoops => &[Self::EdgeMap, Self::Components],
            Self::Adjacency => &[Self::EdgeMap],
            Self::Curvature => &[Self::VertexNormals, Self::EdgeMap],
            Self::ToothMap => &[
                Self::VertexFaces,
                Self::FaceNormals,
                Self::VertexNormals,
                Self::Adjacency,
                Self::BoundaryLoops,
                Self::Components,
            ],
        }
    }

    /// `kinds` with everything they are computed from, directly or not.
    pub fn with_prerequisites(kinds: &[DerivedKind]) -> Vec<DerivedKind> {
        let mut all: Vec<DerivedKind> = kinds.to_vec();
        let mut i = 0;
        while i < all.len() {
            for p in all[i].prerequisites() {
                if !all.contains(p) {
                    all.push(*p);
                }
            }
            i += 1;
        }
        all
    }
}

/// The value in `cell`, computed by `compute` first if it is empty. The computation runs
/// outside the cell (it may wait on rayon tasks; see the module docs): only storing the
/// value holds the cell, and if a racing caller stored first, its value is returned.
fn lazily<T>(cell: &OnceLock<T>, compute: impl FnOnce() -> T) -> &T {
    if let Some(value) = cell.get() {
        return value;
    }
    let value = compute();
    cell.get_or_init(|| value)
}

/// The derived data of one scan. Cheap to create; every piece is computed on first use.
pub struct DerivedData<'a> {
    scan: &'a Scan,
    vertex_faces: OnceLock<Csr>,
    edges: OnceLock<EdgeMap>,
    loops: OnceLock<BoundaryLoops>,
    components: OnceLock<Components>,
    face_normals: OnceLock<(Vec<[f32; 3]>, Vec<f32>)>,
    vertex_normals: OnceLock<Vec<[f32; 3]>>,
    adjacency: OnceLock<Csr>,
    on_boundary: OnceLock<Vec<bool>>,
    curvature: OnceLock<Curvature>,
    bvh: OnceLock<Bvh>,
    hints: MapHints,
    tooth_map: OnceLock<ToothMap>,
}

impl<'a> DerivedData<'a> {
    /// Derived data for `scan`; nothing is computed yet.
    pub fn new(scan: &'a Scan) -> Self {
        Self::with_hints(scan, MapHints::default())
    }

    /// Derived data for `scan`, with what the case file states about it (jaw, numbering of
    /// its labels, known finish lines) for the tooth map.
    pub fn with_hints(scan: &'a Scan, hints: MapHints) -> Self {
        Self {
            scan,
            vertex_faces: OnceLock::new(),
            edges: OnceLock::new(),
            loops: OnceLock::new(),
            components: OnceLock::new(),
            face_normals: OnceLock::new(),
            vertex_normals: OnceLock::new(),
            adjacency: OnceLock::new(),
            on_boundary: OnceLock::new(),
            curvature: OnceLock::new(),
            bvh: OnceLock::new(),
            hints,
            tooth_map: OnceLock::new(),
        }
    }

    /// The scan this data is derived from.
    pub fn scan(&self) -> &'a Scan {
        self.scan
    }

    /// Computes the given pieces, and what they are computed from, now and in parallel:
    /// each piece is started as soon as the pieces it is computed from are done, and
    /// computed by one thread only.
    pub fn ensure(&self, kinds: &[DerivedKind]) {
        let wanted = DerivedKind::with_prerequisites(kinds);
        // Per wanted piece, how many of its prerequisites are still to be computed.
        let pending: Vec<AtomicUsize> = wanted
            .iter()
            .map(|k| {
                let n = k
                    .prerequisites()
                    .iter()
                    .filter(|p| wanted.contains(p))
                    .count();
                AtomicUsize::new(n)
            })
            .collect();
        rayon::scope(|s| {
            for (i, count) in pending.iter().enumerate() {
                if count.load(Ordering::Acquire) == 0 {
                    self.spawn_piece(s, i, &wanted, &pending);
                }
            }
        });
    }

    /// Computes `wanted[i]`, then starts every wanted piece that was waiting for it last.
    fn spawn_piece<'s>(
        &'s self,
        s: &rayon::Scope<'s>,
        i: usize,
        wanted: &'s [DerivedKind],
        pending: &'s [AtomicUsize],
    ) {
        s.spawn(move |s| {
            self.compute(wanted[i]);
            for (j, k) in wanted.iter().enumerate() {
                if k.prerequisites().contains(&wanted[i])
                    && pending[j].fetch_sub(1, Ordering::AcqRel) == 1
                {
                    self.spawn_piece(s, j, wanted, pending);
                }
            }
        });
    }

    fn compute(&self, kind: DerivedKind) {
        match kind {
            DerivedKind::VertexFaces => drop(self.vertex_faces()),
            // The boundary marks come with the edge map: the curvature and the map read them.
            DerivedKind::EdgeMap => drop(self.on_boundary()),
            DerivedKind::BoundaryLoops => drop(self.boundary_loops()),
            DerivedKind::Components => drop(self.components()),
            DerivedKind::FaceNormals => drop(self.face_normals()),
            DerivedKind::VertexNormals => drop(self.vertex_normals()),
            DerivedKind::Adjacency => drop(self.adjacency()),
            DerivedKind::Curvature => drop(self.curvature()),
            DerivedKind::Bvh => drop(self.bvh()),
            DerivedKind::ToothMap => drop(self.tooth_map()),
        }
    }

    /// Vertex → incident faces.
    pub fn vertex_faces(&self) -> &Csr {
        lazily(&self.vertex_faces, || {
            Csr::vertex_faces(self.scan.positions.len(), &self.scan.triangles)
        })
    }

    /// Undirected edges, boundary and non-manifold edges.
    pub fn edges(&self) -> &EdgeMap {
        lazily(&self.edges, || {
            EdgeMap::build(&self.scan.triangles, self.vertex_faces())
        })
    }

    /// Boundary loops with the outer trim loop identified.
    pub fn boundary_loops(&self) -> &BoundaryLoops {
        lazily(&self.loops, || {
            // The two prerequisites are independent: compute them side by side.
            rayon::join(|| self.edges(), || self.components());
            BoundaryLoops::build(self.scan, self.edges(), self.components())
        })
    }

    /// Connected components (faces sharing a vertex are connected).
    pub fn components(&self) -> &Components {
        lazily(&self.components, || Components::build(self.scan))
    }

    /// Unit face normals (zero for degenerate faces).
    pub fn face_normals(&self) -> &[[f32; 3]] {
        &self.face_pair().0
    }

    /// Face areas in mm².
    pub fn face_areas(&self) -> &[f32] {
        &self.face_pair().1
    }

    fn face_pair(&self) -> &(Vec<[f32; 3]>, Vec<f32>) {
        lazily(&self.face_normals, || {
            face_normals_and_areas(&self.scan.positions, &self.scan.triangles)
        })
    }

    /// Area-weighted unit vertex normals.
    pub fn vertex_normals(&self) -> &[[f32; 3]] {
        lazily(&self.vertex_normals, || {
            vertex_normals(&self.scan.positions, &self.scan.triangles)
        })
        .as_slice()
    }

    /// Vertex → neighbouring vertices (sorted, no duplicates).
    pub fn adjacency(&self) -> &Csr {
        lazily(&self.adjacency, || {
            Csr::adjacency(self.scan.positions.len(), self.edges())
        })
    }

    /// `true` for every vertex on a boundary or non-manifold edge (part of the edge map).
    pub fn on_boundary(&self) -> &[bool] {
        lazily(&self.on_boundary, || {
            self.edges().boundary_vertices(self.scan.positions.len())
        })
        .as_slice()
    }

    /// Per-vertex curvature.
    pub fn curvature(&self) -> &Curvature {
        lazily(&self.curvature, || {
            Curvature::build(
                &self.scan.positions,
                &self.scan.triangles,
                self.vertex_normals(),
                self.on_boundary(),
            )
        })
    }

    /// The BVH for spatial queries.
    pub fn bvh(&self) -> &Bvh {
        lazily(&self.bvh, || {
            Bvh::build(&self.scan.positions, &self.scan.triangles)
        })
    }

    /// The tooth map and arch frame (see [`crate::toothmap`]).
    pub fn tooth_map(&self) -> &ToothMap {
        lazily(&self.tooth_map, || {
            crate::toothmap::build(self, &self.hints)
        })
    }

    /// Which pieces have been computed so far.
    pub fn computed(&self) -> Vec<DerivedKind> {
        let done = [
            self.vertex_faces.get().is_some(),
            self.edges.get().is_some(),
            self.loops.get().is_some(),
            self.components.get().is_some(),
            self.face_normals.get().is_some(),
            self.vertex_normals.get().is_some(),
            self.adjacency.get().is_some(),
            self.curvature.get().is_some(),
            self.bvh.get().is_some(),
            self.tooth_map.get().is_some(),
        ];
        DerivedKind::ALL
            .iter()
            .zip(done)
            .filter_map(|(k, d)| d.then_some(*k))
            .collect()
    }
}
