//! Findings: what an analyzer reports, in one shape for reports, phantom truth and the scorer.
//!
//! [`FindingKind`] is the single registry of kinds; [`FindingKind::group`] names groups of
//! related kinds that a scorer may match against each other (a `void` found where the truth
//! says `nodule` on a negative scan, a `hole` that is also a `margin_hole`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Missing surface: a boundary loop other than the outer trim loop.
    Hole,
    /// A pit against the smooth local surface (a bubble in material).
    Void,
    /// A bump against the smooth local surface (a bubble's positive on a cast).
    Nodule,
    /// An isolated outlier vertex ("star").
    Spike,
    /// An elongated groove or ridge from a moving tray.
    DragMark,
    /// A band that lost its surface detail.
    Smear,
    /// Overlapping layers or extra shells.
    DoubleSurface,
    /// A segment of the margin with no crease.
    MarginGap,
    /// A rounded, flattened margin.
    MarginBlur,
    /// A hole touching the margin band.
    MarginHole,
    /// Tissue lying over the margin.
    MarginTissue,
    /// Adjacent preparations' margins touch or overlap (their crowns cannot both seat).
    MarginOverlap,
    /// The scan is too coarse around a prepared tooth for its margin to be judged (a finer
    /// rescan is asked for; no flaw of the margin is claimed).
    MarginUnresolved,
    /// Surface hidden from the path of withdrawal.
    Undercut,
    /// Open space between adjacent teeth.
    OpenEmbrasure,
    /// A tooth the impression could pull out.
    PullRisk,
    /// Arches meet implausibly deep.
    BitePenetration,
    /// Arches open where teeth should meet.
    BiteOpen,
    /// Registration of the bite did not converge or is unstable.
    BiteUnstable,
    /// Too little occlusal clearance over a preparation.
    BiteClearance,
    /// The arches as exported sit away from the relation the bite record holds.
    BiteMisregistration,
    /// Where two opposing teeth touch (information: the contact map, per tooth pair).
    BiteContact,
    /// How the bite was registered: the record used, its residual, the correction found
    /// (information).
    BiteRegistration,
    /// A checklist item is missing (opposing arch, bite, terminal molars…).
    ChecklistMissing,
    /// Mesh-level defect that is not a clinical finding (non-manifold edges, flipped faces).
    MeshDefect,
}

/// Groups of related kinds, for matching findings to truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindGroup {
    /// Holes and missing data.
    Missing,
    /// Voids, nodules.
    Bubble,
    /// Spikes.
    Outlier,
    /// Drags and smears.
    Drag,
    /// Double surfaces.
    Layering,
    /// Margin capture.
    Margin,
    /// Undercuts, embrasures, pull risk.
    Pull,
    /// Bite registration.
    Bite,
    /// Checklist items.
    Checklist,
    /// Mesh defects.
    Mesh,
}

impl FindingKind {
    /// The group a kind is matched within.
    pub fn group(self) -> KindGroup {
        use FindingKind::*;
        match self {
            Hole => KindGroup::Missing,
            Void | Nodule => KindGroup::Bubble,
            Spike => KindGroup::Outlier,
            DragMark | Smear => KindGroup::Drag,
            DoubleSurface => KindGroup::Layering,
            MarginGap | MarginBlur | MarginHole | MarginTissue | MarginOverlap
            | MarginUnresolved => KindGroup::Margin,
            Undercut | OpenEmbrasure | PullRisk => KindGroup::Pull,
            BitePenetration | BiteOpen | BiteUnstable | BiteClearance | BiteMisregistration
            | BiteContact | BiteRegistration => KindGroup::Bite,
            ChecklistMissing => KindGroup::Checklist,
            MeshDefect => KindGroup::Mesh,
        }
    }
}

/// How much a finding matters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; no action.
    Info,
    /// Small; judged by the lab.
    Minor,
    /// Needs review before fabrication.
    Major,
    /// Rescan or retake.
    Critical,
}

/// One finding, as analyzers return it and reports carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Unique within a report (the host assigns it; analyzers may leave it empty).
    #[serde(default)]
    pub id: String,
    /// The analyzer that reported it (the host fills it in).
    #[serde(default)]
    pub analyzer: String,
    /// Index of the scan in the case (the host fills it in).
    #[serde(default)]
    pub scan: usize,
    /// What was found.
    pub kind: FindingKind,
    /// How much it matters.
    pub severity: Severity,
    /// FDI tooth number, when known.
    #[serde(default)]
    pub tooth: Option<u8>,
    /// The surface it is on (the host fills it in from the tooth map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<crate::tooth::Region>,
    /// Centre, mm.
    pub center: [f32; 3],
    /// Largest extent, mm.
    pub size_mm: f32,
    /// Kind-specific measurements (`area_mm2`, `depth_mm`, `length_mm`, …).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Affected vertices (may be empty).
    #[serde(default)]
    pub vertices: Vec<u32>,
    /// Affected faces (may be empty).
    #[serde(default)]
    pub faces: Vec<u32>,
    /// The affected stretch as a polyline in mm, for defects that run along a line (a
    /// stretch of a margin, a drag mark); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<[f32; 3]>,
    /// What, where and why it matters, in plain words.
    pub message: String,
    /// The physical defect behind it when that differs from the geometry (e.g. a `nodule` on
    /// the positive of an impression scan is caused by a bubble in the impression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Finding {
    /// A finding with no metrics or element lists.
    ///
    /// ```
    /// use imprint_core::finding::{Finding, FindingKind, Severity};
    /// let f = Finding::new(FindingKind::Spike, Severity::Minor, [0.0, 1.0, 2.0], 0.4, "spike");
    /// assert_eq!(f.kind, FindingKind::Spike);
    /// ```
    pub fn new(
        kind: FindingKind,
        severity: Severity,
        center: [f32; 3],
        size_mm: f32,
        message: impl Into<String>,
    ) -> Self {
        Self {
            id: String::new(),
            analyzer: String::new(),
            scan: 0,
            kind,
            severity,
            tooth: None,
            surface: None,
            center,
            size_mm,
            metrics: BTreeMap::new(),
            vertices: Vec::new(),
            faces: Vec::new(),
            path: Vec::new(),
            message: message.into(),
            cause: None,
        }
    }

    /// Adds a metric.
    pub fn with_metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.insert(name.to_string(), value);
        self
    }
}

/// A prepared tooth's finish line as an analyzer traced it: what a lab's designer compares
/// with its own line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MarginLine {
    /// FDI number of the prepared tooth.
    pub tooth: u8,
    /// Index of the scan in the case (the host fills it in).
    #[serde(default)]
    pub scan: usize,
    /// The line, closed (the last point joins the first), mm, about every 0.1 mm.
    pub points: Vec<[f32; 3]>,
    /// Its length, mm.
    pub length_mm: f32,
    /// Where it came from: `detected` on the scan, or `case` (the case file's line, snapped
    /// to the surface).
    pub source: String,
    /// 0–1: the share of the line where a crisp crease was found where the line runs.
    pub confidence: f32,
    /// 0–1: the share of the line captured cleanly (no gap, tissue, blur or hole).
    pub captured_fraction: f32,
    /// For a case file's line: its mean distance from the scanned surface before snapping,
    /// mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_offset_mm: Option<f32>,
}

/// Everything one analyze call returns: findings, and the margin lines it traced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerOutput {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Margin lines (only margin analyzers fill this).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub margin_lines: Vec<MarginLine>,
}

impl From<Vec<Finding>> for AnalyzerOutput {
    fn from(findings: Vec<Finding>) -> Self {
        Self {
            findings,
            margin_lines: Vec::new(),
        }
    }
}
