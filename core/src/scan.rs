//! The scan model: one triangle mesh as it arrived, with what the file carried.
//!
//! A [`Scan`] holds welded positions and triangles (millimetres), optional per-vertex normals,
//! colours and FDI tooth labels, optional per-face colours and class labels, where it came
//! from, and the warnings found while loading and validating it. Everything an analyzer
//! derives from it lives in [`crate::derived::DerivedData`].

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The file format a scan was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Binary STL (80-byte header, triangle count, 50-byte records).
    StlBinary,
    /// ASCII STL (`solid … endsolid`, possibly several solids).
    StlAscii,
    /// PLY, ASCII encoding.
    PlyAscii,
    /// PLY, binary little-endian.
    PlyBinaryLittleEndian,
    /// PLY, binary big-endian.
    PlyBinaryBigEndian,
    /// Wavefront OBJ.
    Obj,
    /// Built in memory (tests, generators).
    Memory,
}

impl SourceFormat {
    /// A short, stable name for reports (`"stl_binary"`, `"ply_ascii"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::StlBinary => "stl_binary",
            Self::StlAscii => "stl_ascii",
            Self::PlyAscii => "ply_ascii",
            Self::PlyBinaryLittleEndian => "ply_binary_le",
            Self::PlyBinaryBigEndian => "ply_binary_be",
            Self::Obj => "obj",
            Self::Memory => "memory",
        }
    }
}

/// Length unit of the positions. Dental scans are in millimetres; STL carries no unit, so
/// millimetres are assumed and the report says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    /// Millimetres.
    #[default]
    Millimetres,
}

/// Something wrong with a scan that still leaves it usable; carried into the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanWarning {
    /// Stable machine code, e.g. `degenerate_faces`.
    pub code: String,
    /// Plain-language explanation with counts and the first affected element.
    pub message: String,
}

impl ScanWarning {
    /// Builds a warning from a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Where a scan came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSource {
    /// The file it was read from (`None` for scans built in memory).
    pub path: Option<PathBuf>,
    /// Its format, detected from content.
    pub format: SourceFormat,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Vertices as stored in the file, before welding (STL stores three per triangle).
    pub raw_vertices: usize,
}

/// A triangle mesh scan of an impression, cast or mouth.
///
/// Invariants after [`Scan::new`] or a loader: every triangle index is below
/// `positions.len()`, every coordinate is finite, and optional per-vertex arrays have one
/// entry per vertex (per-face arrays one per triangle).
///
/// ```
/// use imprint_core::scan::Scan;
/// let scan = Scan::new(
///     vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
///     vec![[0, 1, 2]],
/// ).unwrap();
/// assert_eq!(scan.triangles.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Scan {
    /// Vertex positions in millimetres, welded.
    pub positions: Vec<[f32; 3]>,
    /// Triangles as indices into `positions`, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
    /// Per-vertex normals as given by the file (the derived data computes its own).
    pub normals: Option<Vec<[f32; 3]>>,
    /// Per-vertex RGB colours.
    pub colors: Option<Vec<[u8; 3]>>,
    /// Per-face RGB colours (some datasets encode classes this way).
    pub face_colors: Option<Vec<[u8; 3]>>,
    /// Per-vertex FDI tooth numbers, 0 = gingiva.
    pub labels: Option<Vec<u8>>,
    /// Per-face integer class labels as given by the file (not necessarily FDI).
    pub face_labels: Option<Vec<i32>>,
    /// Length unit of `positions`.
    pub units: Units,
    /// Where it came from.
    pub source: ScanSource,
    /// Problems that leave the scan usable.
    pub warnings: Vec<ScanWarning>,
}

/// Why a mesh cannot be used as a scan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidMesh {
    /// The mesh has no triangles.
    #[error("the mesh has no triangles")]
    NoTriangles,
    /// A coordinate is NaN or infinite.
    #[error("vertex {vertex} has a non-finite coordinate ({value})")]
    NonFinite {
        /// Index of the vertex.
        vertex: usize,
        /// The offending value as text.
        value: String,
    },
    /// A triangle refers to a vertex that does not exist.
    #[error(
        "triangle {triangle} refers to vertex {index}, but there are only {vertices} vertices"
    )]
    IndexOutOfRange {
        /// Index of the triangle.
        triangle: usize,
        /// The bad vertex index.
        index: u64,
        /// Number of vertices.
        vertices: usize,
    },
    /// A per-element array has the wrong length.
    #[error("{what} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// Which array.
        what: &'static str,
        /// Entries found.
        found: usize,
        /// Entries expected.
        expected: usize,
    },
}

impl Scan {
    /// Builds a validated scan from positions and triangles held in memory.
    pub fn new(positions: Vec<[f32; 3]>, triangles: Vec<[u32; 3]>) -> Result<Self, InvalidMesh> {
        let raw_vertices = positions.len();
        Self::from_parts(
            positions,
            triangles,
            ScanSource {
                path: None,
                format: SourceFormat::Memory,
                bytes: 0,
                raw_vertices,
            },
        )
    }

    /// Builds a validated scan with a given source; optional arrays start empty.
    pub fn from_parts(
        positions: Vec<[f32; 3]>,
        triangles: Vec<[u32; 3]>,
        source: ScanSource,
    ) -> Result<Self, InvalidMesh> {
        let mut scan = Self::unvalidated(positions, triangles, source);
        scan.validate()?;
        Ok(scan)
    }

    /// A scan not yet validated, for loaders that attach optional arrays first and then call
    /// [`Scan::validate`] once.
    pub(crate) fn unvalidated(
        positions: Vec<[f32; 3]>,
        triangles: Vec<[u32; 3]>,
        source: ScanSource,
    ) -> Self {
        Self {
            positions,
            triangles,
            normals: None,
            colors: None,
            face_colors: None,
            labels: None,
            face_labels: None,
            units: Units::Millimetres,
            source,
            warnings: Vec::new(),
        }
    }

    /// Checks the invariants and records warnings for usable defects (degenerate and
    /// duplicate faces, unreferenced vertices). Safe to call again after edits.
    pub fn validate(&mut self) -> Result<(), InvalidMesh> {
        if self.triangles.is_empty() {
            return Err(InvalidMesh::NoTriangles);
        }
        if let Some((vertex, value)) = first_non_finite(&self.positions) {
            return Err(InvalidMesh::NonFinite { vertex, value });
        }
        let n = self.positions.len();
        for (t, tri) in self.triangles.iter().enumerate() {
            if let Some(&bad) = tri.iter().find(|&&i| i as usize >= n) {
                return Err(InvalidMesh::IndexOutOfRange {
                    triangle: t,
                    index: u64::from(bad),
                    vertices: n,
                });
            }
        }
        self.check_lengths()?;
        self.warnings.retain(|w| !w.code.starts_with("mesh_"));
        self.warnings.extend(crate::validate::mesh_warnings(self));
        Ok(())
    }

    fn check_lengths(&self) -> Result<(), InvalidMesh> {
        let nv = self.positions.len();
        let nf = self.triangles.len();
        let checks = [
            (
                "per-vertex normals",
                self.normals.as_ref().map(Vec::len),
                nv,
            ),
            ("per-vertex colours", self.colors.as_ref().map(Vec::len), nv),
            ("per-vertex labels", self.labels.as_ref().map(Vec::len), nv),
            (
                "per-face colours",
                self.face_colors.as_ref().map(Vec::len),
                nf,
            ),
            (
                "per-face labels",
                self.face_labels.as_ref().map(Vec::len),
                nf,
            ),
        ];
        for (what, found, expected) in checks {
            if let Some(found) = found {
                if found != expected {
                    return Err(InvalidMesh::LengthMismatch {
                        what,
                        found,
                        expected,
                    });
                }
            }
        }
        Ok(())
    }

    /// Reverses every triangle's winding (turns the surface inside out): an impression scan,
    /// the negative of the mouth, becomes the positive, and back.
    pub fn reverse_winding(&mut self) {
        self.triangles.iter_mut().for_each(|t| t.swap(1, 2));
    }

    /// Number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.positions.len()
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }

    /// Axis-aligned bounding box `(min, max)`.
    pub fn bounding_box(&self) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for p in &self.positions {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }
}

fn first_non_finite(positions: &[[f32; 3]]) -> Option<(usize, String)> {
    positions.iter().enumerate().find_map(|(i, p)| {
        p.iter()
            .find(|c| !c.is_finite())
            .map(|c| (i, c.to_string()))
    })
}
