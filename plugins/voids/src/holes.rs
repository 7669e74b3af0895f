//! Holes: boundary loops that are not the scan's outer trim boundary (the host's topology
//! tells them apart with evidence, never by length alone), and the trim boundary where it
//! runs across a tooth (a crown cut off by the scan's edge).

use crate::policy::Policy;
use imprint_core::derived::BoundaryLoop;
use imprint_core::finding::{Finding, FindingKind};
use imprint_core::plugin::sdk::ScanRef;

/// One finding per hole at least `min_diameter` mm across.
pub fn holes(scan: &ScanRef<'_, '_>, policy: &Policy, min_diameter: f32) -> Vec<Finding> {
    let loops = scan.boundary_loops();
    let mut out: Vec<Finding> = loops
        .iter()
        .filter(|l| !l.is_outer && l.diameter_mm >= min_diameter && l.vertices.len() >= 3)
        .map(|l| hole(scan, policy, l))
        .collect();
    out.extend(
        loops
            .iter()
            .filter(|l| l.is_outer)
            .filter_map(|l| trim_cut(scan, policy, l)),
    );
    out
}

fn hole(scan: &ScanRef<'_, '_>, policy: &Policy, l: &BoundaryLoop) -> Finding {
    let place = policy.place_of(&l.vertices);
    let severity = policy.hole_severity(l.diameter_mm, &place);
    let mut f = Finding::new(
        FindingKind::Hole,
        severity,
        l.centroid,
        l.diameter_mm,
        format!(
            "Hole (missing data) {:.1} mm across, {:.1} mm² to fill{}: {}",
            l.diameter_mm,
            l.spanning_area_mm2,
            place.describe(),
            policy.why_hole(&place)
        ),
    )
    .with_metric("perimeter_mm", f64::from(l.length_mm))
    .with_metric("spanning_area_mm2", f64::from(l.spanning_area_mm2))
    .with_metric("diameter_mm", f64::from(l.diameter_mm));
    f.vertices = l.vertices.clone();
    f.tooth = place.tooth;
    let _ = scan;
    f
}

/// The trim boundary running across a tooth for at least 2 mm, at its crown's height: part
/// of a crown is missing from the scan (a terminal molar cut off, a margin outside the
/// scanned area). The rim of a separate piece smaller than [`FRAGMENT_MM`] is not the scan's
/// edge: it is a second sheet lying over the surface (the drag analyzer reports it as a
/// double surface) or a loose fragment, and the crown under it is in the scan.
fn trim_cut(scan: &ScanRef<'_, '_>, policy: &Policy, l: &BoundaryLoop) -> Option<Finding> {
    let teeth = scan.tooth_of_vertex();
    if teeth.is_empty() || is_fragment(l) {
        return None;
    }
    let p = scan.positions();
    let mut best: Option<(u8, f32, Vec<u32>)> = None;
    let mut run: Vec<u32> = Vec::new();
    let n = l.vertices.len();
    for k in 0..=n {
        let v = l.vertices[k % n];
        let t = teeth.get(v as usize).copied().unwrap_or(0);
        let same = run
            .first()
            .is_some_and(|r| teeth[*r as usize] == t && t != 0);
        if t != 0 && (run.is_empty() || same) {
            run.push(v);
            continue;
        }
        if let Some(first) = run.first() {
            let len: f32 = run
                .windows(2)
                .map(|w| crate::geometry::dist(p[w[0] as usize], p[w[1] as usize]))
                .sum();
            let tooth = teeth[*first as usize];
            if len >= 2.0
                && best.as_ref().is_none_or(|b| len > b.1)
                && crosses_crown(scan, teeth, tooth, &run)
            {
                best = Some((tooth, len, run.clone()));
            }
        }
        run.clear();
        if t != 0 {
            run.push(v);
        }
    }
    let (tooth, len, vertices) = best?;
    let place = policy.place_of(&vertices);
    let centre = vertices
        .iter()
        .map(|v| p[*v as usize])
        .fold([0.0f32; 3], |a, q| {
            std::array::from_fn(|c| a[c] + q[c] / vertices.len() as f32)
        });
    let mut f = Finding::new(
        FindingKind::Hole,
        policy.hole_severity(len.max(3.0), &place),
        centre,
        len,
        format!(
            "Scan edge runs across tooth {tooth} for {len:.1} mm: part of the crown is not in \
             the scan, so nothing can be fitted to it"
        ),
    )
    .with_metric("trim_length_on_tooth_mm", f64::from(len));
    f.tooth = Some(tooth);
    f.vertices = vertices;
    Some(f)
}

/// How far below its crown's top (the top tenth of its heights) the scan's edge may pass
/// and still cut the crown, mm: an edge through a crown runs at its height; the gingiva
/// behind the last molar, onto which the tooth map can spill the crown's label, lies 3-5
/// mm below it (4.8 mm where seed 544 of the suite raised a false cut on 38).
const BELOW_CROWN_TOP_MM: f32 = 1.5;

/// The boundary stretch `vertices` reaches up to `tooth`'s crown (without an arch frame:
/// assumed so).
fn crosses_crown(scan: &ScanRef<'_, '_>, teeth: &[u8], tooth: u8, vertices: &[u32]) -> bool {
    let h = |v: usize| scan.arch_coords(v).map(|c| c[2]);
    let Some(edge) = vertices
        .iter()
        .filter_map(|&v| h(v as usize))
        .max_by(f32::total_cmp)
    else {
        return true;
    };
    let mut crown: Vec<f32> = (0..teeth.len())
        .filter(|&v| teeth[v] == tooth)
        .filter_map(h)
        .collect();
    imprint_core::util::top_tenth(&mut crown).is_none_or(|top| edge >= top - BELOW_CROWN_TOP_MM)
}

/// A separate piece (not the scan's largest) whose rim spans less than this is a fragment
/// or a second sheet, not a scanned area with its own trim edge, mm: less than two molars.
pub const FRAGMENT_MM: f32 = 15.0;

fn is_fragment(l: &BoundaryLoop) -> bool {
    l.component != 0 && l.diameter_mm < FRAGMENT_MM
}
