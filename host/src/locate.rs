//! Where findings are: every scan's tooth map (computed once as derived data, with what the
//! case file states about the scan) names the tooth and surface of each finding and adds a
//! position phrase to its message; the report carries a summary of each map.

use crate::case::{CaseFile, Role};
use imprint_core::derived::DerivedData;
use imprint_core::finding::Finding;
use imprint_core::tooth::{Jaw, Region};
use imprint_core::toothmap::{MapHints, MapSource, ToothMap};
use schemars::JsonSchema;
use serde::Serialize;

/// What the case file says that the tooth map can use for scan `index` at `path`.
pub fn hints_for(case: &CaseFile, index: usize, path: &std::path::Path) -> MapHints {
    let jaw = match case.role_of(index, path) {
        Role::Upper => Some(Jaw::Upper),
        Role::Lower => Some(Jaw::Lower),
        _ => None,
    };
    let margins = case
        .prepared_teeth
        .iter()
        .filter(|p| jaw.is_none() || Jaw::of_fdi(p.tooth) == jaw)
        .filter_map(|p| Some((p.tooth, p.margin.clone()?)))
        .collect();
    let prepared = case
        .prepared_teeth
        .iter()
        .map(|p| p.tooth)
        .filter(|t| jaw.is_none() || Jaw::of_fdi(*t) == jaw)
        .collect();
    MapHints {
        jaw,
        numbering: case.numbering,
        margins,
        prepared,
    }
}

/// One tooth of a map, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MapTooth {
    /// FDI number.
    pub fdi: u8,
    /// Crown centre, mm.
    pub center: [f32; 3],
    /// 0–1: how well it fits the expected width and place (1 for given labels).
    pub confidence: f32,
}

/// The tooth map of one scan, as the report carries it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MapSummary {
    /// `labels` (came with the scan), `geometry` (estimated) or `none`.
    pub source: String,
    /// `upper` or `lower`, when known.
    pub jaw: Option<String>,
    /// Unit occlusal direction, scan coordinates.
    pub occlusal: Option<[f32; 3]>,
    /// Teeth found, in arch order.
    pub teeth: Vec<MapTooth>,
    /// Gaps of a tooth's width between present teeth.
    pub missing: Vec<u8>,
    /// What the map is unsure of.
    pub notes: Vec<String>,
}

impl MapSummary {
    /// The summary of `map`.
    pub fn of(map: &ToothMap) -> Self {
        Self {
            source: imprint_core::util::serde_name(&map.source),
            jaw: map.jaw.map(|j| j.name().to_string()),
            occlusal: map.frame.as_ref().map(|f| f.occlusal),
            teeth: map
                .teeth
                .iter()
                .map(|t| MapTooth {
                    fdi: t.fdi,
                    center: t.center,
                    confidence: t.confidence,
                })
                .collect(),
            missing: map.missing.clone(),
            notes: map.notes.clone(),
        }
    }
}

/// Fills in each finding's tooth (when its analyzer left it open), surface, and a position
/// phrase at the end of its message ("… — distal surface of 24"). Where the map is unsure
/// (no map, a low-confidence tooth, or the finding straddling teeth) the phrase says so.
pub fn place_findings(findings: &mut [Finding], derived: &[DerivedData<'_>]) {
    for f in findings.iter_mut() {
        let Some(d) = derived.get(f.scan) else {
            continue;
        };
        let map = d.tooth_map();
        if map.source == MapSource::None {
            continue;
        }
        let vertices = finding_vertices(f, d);
        let at = map.locate(&vertices);
        if f.tooth.is_none() && at.agreement >= 0.5 {
            f.tooth = at.tooth;
        }
        f.surface = at.region.filter(|_| at.agreement >= 0.5);
        let confidence = f
            .tooth
            .and_then(|t| map.teeth.iter().find(|x| x.fdi == t))
            .map_or(1.0, |t| t.confidence);
        let mut phrase = match (f.tooth, f.surface) {
            (Some(t), Some(r)) if r != Region::Gingiva => location_phrase(t, r),
            (Some(t), _) => format!("at tooth {t}"),
            (None, _) => "on the gingiva".to_string(),
        };
        if at.agreement < 0.5 {
            phrase = "across several teeth or tooth and gingiva (position uncertain)".into();
        } else if map.source == MapSource::Geometry && confidence < 0.6 {
            phrase.push_str(" (tooth number uncertain)");
        }
        f.message = format!("{} — {phrase}", f.message.trim_end_matches('.'));
    }
}

fn location_phrase(tooth: u8, region: Region) -> String {
    match region {
        Region::Margin => format!("at the margin of {tooth}"),
        Region::Occlusal | Region::Incisal => format!("on the {} of {tooth}", region.name()),
        r => format!("on the {} surface of {tooth}", r.name()),
    }
}

/// The finding's vertices; else its faces' corners; else the vertex nearest its centre.
fn finding_vertices(f: &Finding, d: &DerivedData<'_>) -> Vec<u32> {
    if !f.vertices.is_empty() {
        return f.vertices.clone();
    }
    let triangles = &d.scan().triangles;
    if !f.faces.is_empty() {
        return f
            .faces
            .iter()
            .filter_map(|t| triangles.get(*t as usize))
            .flatten()
            .copied()
            .collect();
    }
    nearest_vertex(d, f.center).into_iter().collect()
}

fn nearest_vertex(d: &DerivedData<'_>, p: [f32; 3]) -> Option<u32> {
    use rayon::prelude::*;
    d.scan()
        .positions
        .par_iter()
        .enumerate()
        .map(|(i, q)| ((0..3).map(|c| (p[c] - q[c]).powi(2)).sum::<f32>(), i))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, i)| i as u32)
}
