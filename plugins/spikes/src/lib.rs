//! `spikes`: the example analyzer for third parties. Flags isolated outlier vertices
//! ("stars" from reflections or saliva): a vertex that stands off the plane of its one-ring
//! by more than the ring's own radius times a ratio. The ring is measured among the
//! neighbours only, so the spike cannot inflate its own yardstick. On a smooth surface the
//! offset is about `curvature × radius² / 2`, a small fraction of the radius. Where the ring
//! itself is folded (a crease, the pinch between two crowns, a stretched wall) nothing is
//! flagged: a spike stands on a surface that is smooth around it.
//!
//! A spike is also *isolated*: its neighbours sit on the smooth surface, and the spike moves
//! their own ring centres by only about its height over their valence. Along a crease or a
//! stretched wall, neighbours are offset as much as the vertex. So a vertex must also stand
//! `isolation` times further off than any of its neighbours.

use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::plugin::sdk::{Analyzer, Context, ScanRef};
use imprint_core::plugin::{Manifest, Parameter};

#[derive(Default)]
struct Spikes;

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt()
}

/// Offset of a vertex from the plane through its ring, and the ring's mean radius about its
/// centre; `None` where the ring itself is folded (a crease, a pinch between two crowns, a
/// stretched wall): there a vertex's offset says nothing about spikes.
fn ring_offset(scan: &ScanRef<'_, '_>, v: usize) -> Option<(f32, f32)> {
    let ring = scan.neighbours(v);
    if ring.len() < 3 {
        return None;
    }
    let n = ring.len() as f32;
    let p = scan.positions();
    let mut centre = [0.0f32; 3];
    for &q in ring {
        let q = p[q as usize];
        (0..3).for_each(|k| centre[k] += q[k] / n);
    }
    let radius = ring
        .iter()
        .map(|&q| dist(p[q as usize], centre))
        .sum::<f32>()
        / n;
    let (normal, spread) = ring_plane(ring.iter().map(|q| p[*q as usize]), centre)?;
    if spread > FOLD * radius {
        return None;
    }
    let d: [f32; 3] = std::array::from_fn(|k| p[v][k] - centre[k]);
    let off = (d[0] * normal[0] + d[1] * normal[1] + d[2] * normal[2]).abs();
    Some((off, radius))
}

/// A ring this far off its own plane (RMS, relative to its radius) is folded.
const FOLD: f32 = 0.25;

/// Whether vertex `v` lies further than `ratio` ring radii from its one-ring's centre (the
/// bound its offset along the ring's normal cannot exceed).
fn far_from_ring(scan: &ScanRef<'_, '_>, v: usize, ratio: f32) -> bool {
    let ring = scan.neighbours(v);
    if ring.len() < 3 {
        return false;
    }
    let p = scan.positions();
    let n = ring.len() as f32;
    let mut centre = [0.0f32; 3];
    for &q in ring {
        (0..3).for_each(|k| centre[k] += p[q as usize][k] / n);
    }
    let radius = ring
        .iter()
        .map(|&q| dist(p[q as usize], centre))
        .sum::<f32>()
        / n;
    dist(p[v], centre) > ratio * radius
}

/// The least-squares plane through points about `centre`: its unit normal and the points'
/// RMS distance from it.
fn ring_plane(points: impl Iterator<Item = [f32; 3]>, centre: [f32; 3]) -> Option<([f32; 3], f32)> {
    let mut cov = nalgebra::Matrix3::<f32>::zeros();
    let mut count = 0.0f32;
    for q in points {
        let d = nalgebra::Vector3::new(q[0] - centre[0], q[1] - centre[1], q[2] - centre[2]);
        cov += d * d.transpose();
        count += 1.0;
    }
    let eig = cov.symmetric_eigen();
    let k = eig.eigenvalues.imin();
    let normal = eig.eigenvectors.column(k);
    let spread = (eig.eigenvalues[k].max(0.0) / count.max(1.0)).sqrt();
    Some(([normal[0], normal[1], normal[2]], spread))
}

impl Analyzer for Spikes {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "spikes".into(),
            name: "Spikes (isolated outlier vertices)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            interface_version: String::new(),
            kinds: vec![FindingKind::Spike],
            needs: vec![imprint_core::derived::DerivedKind::Adjacency],
            parameters: vec![
                Parameter::new(
                    "isolation",
                    2.5,
                    "A spike must stand this many times further off its ring than \
                                  any neighbour does from its own (a true spike shifts its \
                                  neighbours' rings by ~1/6 of its height; a crease shifts them \
                                  as much as the vertex).",
                ),
                Parameter::new(
                    "min_ratio",
                    1.5,
                    "A vertex is a spike when its offset from its one-ring's centre \
                              exceeds this many times the ring's radius (smooth anatomy stays \
                              below ~0.3; a star stands several radii off).",
                ),
            ],
        }
    }

    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        let scan = ctx.scan();
        let ratio = ctx.param_f64("min_ratio").unwrap_or(1.5) as f32;
        let isolation = ctx.param_f64("isolation").unwrap_or(2.5) as f32;
        let boundary = scan.on_boundary();
        // A vertex's offset along its ring's normal is at most its distance from the ring's
        // centre: that cheap bound leaves the plane fit (an eigen decomposition) to the few
        // candidates and their neighbours.
        let offset = |v: u32| ring_offset(&scan, v as usize).map_or(0.0, |r| r.0);
        let findings = (0..scan.positions().len())
            .filter(|&v| !boundary.get(v).copied().unwrap_or(false))
            .filter(|&v| far_from_ring(&scan, v, ratio))
            .filter_map(|v| {
                let (off, radius) = ring_offset(&scan, v)?;
                if radius <= 0.0 || off <= ratio * radius {
                    return None;
                }
                let neighbours = scan
                    .neighbours(v)
                    .iter()
                    .map(|&n| offset(n))
                    .fold(0.0, f32::max);
                (off > isolation * neighbours).then(|| spike(&scan, v, off, radius))
            })
            .collect();
        Ok(findings)
    }
}

fn spike(scan: &ScanRef<'_, '_>, v: usize, offset: f32, edge: f32) -> Finding {
    let severity = if offset > 0.5 {
        Severity::Major
    } else {
        Severity::Minor
    };
    let mut f = Finding::new(
        FindingKind::Spike,
        severity,
        scan.positions()[v],
        offset,
        format!(
            "Spike: vertex {v} stands {offset:.2} mm off the surface around it ({:.0}x the local \
             point spacing); a scan artefact that distorts the surface a restoration is designed on.",
            offset / edge
        ),
    )
    .with_metric("height_mm", f64::from(offset))
    .with_metric("ratio", f64::from(offset / edge));
    f.vertices = vec![v as u32];
    if let Some(&t) = scan.labels().get(v).filter(|t| **t != 0) {
        f.tooth = Some(t);
    }
    f
}

imprint_core::export_analyzer!(Spikes);
