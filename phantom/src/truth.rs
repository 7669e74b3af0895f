//! What the phantom really contains: the truth a report is scored against.

use crate::arch::{Jaw, PlacedTooth};
use imprint_core::finding::{FindingKind, Severity};
use serde::{Deserialize, Serialize};

/// One injected defect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueDefect {
    /// Id within the phantom.
    pub id: String,
    /// Kind, as an analyzer should report it (on the positive surface).
    pub kind: FindingKind,
    /// The physical defect behind it, when that differs (e.g. a bubble in the impression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Centre, mm, in the scan's (posed) coordinates.
    pub center: [f32; 3],
    /// Largest extent (diameter), mm.
    pub size_mm: f32,
    /// Depth (pits), height (nodules, spikes), mm; 0 for holes.
    pub depth_mm: f32,
    /// FDI tooth it is on, or `None` on gingiva.
    pub tooth: Option<u8>,
    /// The severity a careful technician would give it.
    pub severity: Severity,
    /// Large and deep enough for the scan to resolve (≥ 3 edge lengths across and ≥ 4× the
    /// noise deep), and for a drag mark, not merged into a stronger one of its set.
    /// Unresolvable defects count neither as missed nor as false.
    pub resolvable: bool,
    /// Vertices of the delivered scan that belong to it (empty for holes: their vertices are
    /// gone).
    #[serde(default)]
    pub vertices: Vec<u32>,
    /// For drag marks: the unit direction along the mark, in scan coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<[f32; 3]>,
    /// For drag marks: the channel's full width, mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_mm: Option<f32>,
    /// For drag marks: the course of the channel, a point every 0.1 mm, in scan coordinates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<[f32; 3]>,
    /// For a drag mark whose channel runs into a stronger one of its set: that mark's id.
    /// Traces that start apart can converge over a curved crown; where two channels overlap
    /// so far that the ridge between them is under half the mark's depth they read as one,
    /// and a mark apart from the stronger one for less than the 2 mm a drag mark must be long
    /// is no mark of its own (set aside; a finding on it counts for the stronger one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// For margin flaws: where along the tooth's true margin (see [`TruePreparation`]) the
    /// flaw starts and ends, mm of arc from the line's first point in its direction (the end
    /// is smaller than the start when the flaw wraps past the first point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arc: Option<[f32; 2]>,
}

/// A prepared tooth and its true finish line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruePreparation {
    /// FDI number.
    pub tooth: u8,
    /// Shoulder or chamfer.
    pub finish: crate::arch::Finish,
    /// The finish line, a closed polyline in scan coordinates, mm.
    pub margin: Vec<[f32; 3]>,
}

/// Accept / review / reject, as the truth expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedDecision {
    /// No defect that matters.
    Accept,
    /// A major defect.
    Review,
    /// A critical defect.
    Reject,
}

/// The canonical arch curve `y = depth · (1 − |x / half_width|^2.3)` (see
/// [`crate::arch::ArchCurve`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArchShape {
    /// Half width, mm.
    pub half_width: f32,
    /// Depth, mm.
    pub depth: f32,
}

/// Statistics of the delivered mesh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshStats {
    /// Vertices.
    pub vertices: usize,
    /// Triangles.
    pub triangles: usize,
    /// Mean edge length, mm.
    pub mean_edge_mm: f32,
    /// Scanner noise applied along normals, RMS µm.
    pub noise_um: f32,
}

/// What the chart says of a tooth (the case file carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartTruth {
    /// FDI number.
    pub tooth: u8,
    /// Miller mobility grade 0–3.
    pub mobility: u8,
}

/// The whole truth of one phantom (`truth.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    /// `imprint.truth/1`.
    pub schema: String,
    /// The seed it was generated from.
    pub seed: u64,
    /// Jaw.
    pub jaw: Jaw,
    /// What was scanned (`intraoral`, `cast`, `impression`).
    pub scanned: String,
    /// Rigid pose applied after generation (row-major 4×4, canonical → scan coordinates).
    pub pose: [[f32; 4]; 4],
    /// Occlusal direction (unit) in scan coordinates: where the crowns point.
    pub occlusal: [f32; 3],
    /// The arch curve the teeth were laid on (absent in truths from older generators).
    #[serde(default)]
    pub arch: Option<ArchShape>,
    /// Teeth as laid out (missing ones included, marked).
    pub teeth: Vec<PlacedTooth>,
    /// Injected defects.
    pub defects: Vec<TrueDefect>,
    /// Crown preparations with their true margins.
    #[serde(default)]
    pub preparations: Vec<TruePreparation>,
    /// The chart: mobility of teeth that have any (the case file carries it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chart: Vec<ChartTruth>,
    /// The decision a careful lab would reach.
    pub decision: ExpectedDecision,
    /// Mesh statistics.
    pub mesh: MeshStats,
}

impl Truth {
    /// The decision implied by the defects' severities.
    pub fn decide(defects: &[TrueDefect]) -> ExpectedDecision {
        match defects
            .iter()
            .filter(|d| d.resolvable)
            .map(|d| d.severity)
            .max()
        {
            Some(Severity::Critical) => ExpectedDecision::Reject,
            Some(Severity::Major) => ExpectedDecision::Review,
            _ => ExpectedDecision::Accept,
        }
    }
}

/// A rigid motion as a row-major 4×4 matrix, as the truth records poses and motions.
pub fn matrix_rows(iso: &nalgebra::Isometry3<f32>) -> [[f32; 4]; 4] {
    let m = iso.to_homogeneous();
    std::array::from_fn(|r| std::array::from_fn(|c| m[(r, c)]))
}
