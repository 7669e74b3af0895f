//! Scores a tooth map against a phantom's truth: the jaw, the occlusal plane, the FDI number
//! of every tooth vertex, crowns against gingiva, missing teeth, and surface regions.
//!
//! The true occlusal plane is the clinical one, through the cusp tips: the plane fitted to
//! the highest point (along the true occlusal direction) of every present tooth. The true
//! regions come from the same rule as the map's ([`imprint_core::toothmap::regions_from`]),
//! applied with the true labels and the generator's own arch coordinates.

use crate::arch::ArchCurve as TrueCurve;
use crate::truth::Truth;
use imprint_core::toothmap::{regions_from, ArchCoords, ArchCurve, ToothMap};
use nalgebra::{Matrix3, Matrix4, Point3, Vector3};
use serde::{Deserialize, Serialize};

/// How a tooth map compares with the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapScore {
    /// The map names the true jaw.
    pub jaw_right: bool,
    /// Angle between the map's occlusal plane and the true one, degrees.
    pub plane_error_deg: f64,
    /// Share of true tooth vertices given their true FDI number.
    pub fdi_accuracy: f64,
    /// True tooth vertices.
    pub tooth_vertices: usize,
    /// Of which given their true FDI number.
    pub right_vertices: usize,
    /// Intersection over union of tooth vertices (map vs truth).
    pub tooth_iou: f64,
    /// True missing teeth (gaps between present teeth).
    pub missing_true: Vec<u8>,
    /// Missing teeth the map reports.
    pub missing_found: Vec<u8>,
    /// True missing teeth at an end of the arch (no present tooth beyond them): the map need
    /// not find them, but reporting one is no false alarm.
    #[serde(default)]
    pub missing_at_ends: Vec<u8>,
    /// Share of vertices whose region agrees with the truth's (when the arch shape is known).
    pub region_agreement: Option<f64>,
}

impl MapScore {
    /// Under the 95 % of tooth vertices given their true FDI number.
    pub fn below_target(&self) -> bool {
        self.fdi_accuracy < 0.95
    }
}

/// Scores `map` of a phantom scan (`positions`, unit vertex `normals`) against its truth and
/// true per-vertex labels.
pub fn score_map(
    truth: &Truth,
    true_labels: &[u8],
    positions: &[[f32; 3]],
    normals: &[[f32; 3]],
    map: &ToothMap,
) -> MapScore {
    let n = true_labels.len().min(map.labels.len());
    let tooth_vertices = (0..n).filter(|v| true_labels[*v] != 0).count();
    let right = (0..n)
        .filter(|v| true_labels[*v] != 0 && map.labels[*v] == true_labels[*v])
        .count();
    let inter = (0..n)
        .filter(|v| true_labels[*v] != 0 && map.labels[*v] != 0)
        .count();
    let union = (0..n)
        .filter(|v| true_labels[*v] != 0 || map.labels[*v] != 0)
        .count();
    let true_plane = tip_plane(truth, true_labels, positions);
    let plane_error_deg = map.frame.as_ref().map_or(180.0, |f| {
        let est = Vector3::from(f.occlusal).cast::<f64>();
        est.dot(&true_plane).clamp(-1.0, 1.0).acos().to_degrees()
    });
    let interior = interior_missing(truth);
    let missing_at_ends = truth
        .teeth
        .iter()
        .filter(|t| t.missing && !interior.contains(&t.fdi))
        .map(|t| t.fdi)
        .collect();
    MapScore {
        jaw_right: map.jaw == Some(truth.jaw),
        plane_error_deg,
        fdi_accuracy: right as f64 / tooth_vertices.max(1) as f64,
        tooth_vertices,
        right_vertices: right,
        tooth_iou: inter as f64 / union.max(1) as f64,
        missing_true: interior,
        missing_found: map.missing.clone(),
        missing_at_ends,
        region_agreement: region_agreement(truth, true_labels, positions, normals, map),
    }
}

/// Missing teeth with a present tooth on both sides along the arch.
pub fn interior_missing(truth: &Truth) -> Vec<u8> {
    let present: Vec<f32> = truth
        .teeth
        .iter()
        .filter(|t| !t.missing)
        .map(|t| t.s)
        .collect();
    let (lo, hi) = present
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), s| {
            (a.min(*s), b.max(*s))
        });
    truth
        .teeth
        .iter()
        .filter(|t| t.missing && t.s > lo && t.s < hi)
        .map(|t| t.fdi)
        .collect()
}

/// Normal of the plane through each present tooth's highest point, oriented occlusally.
fn tip_plane(truth: &Truth, labels: &[u8], positions: &[[f32; 3]]) -> Vector3<f64> {
    let up = Vector3::from(truth.occlusal).cast::<f64>();
    let mut tips: std::collections::BTreeMap<u8, (f64, Vector3<f64>)> = Default::default();
    for (l, p) in labels.iter().zip(positions).filter(|(l, _)| **l != 0) {
        let p = Vector3::from(*p).cast::<f64>();
        let h = p.dot(&up);
        let e = tips.entry(*l).or_insert((f64::NEG_INFINITY, p));
        if h > e.0 {
            *e = (h, p);
        }
    }
    let pts: Vec<Vector3<f64>> = tips.values().map(|t| t.1).collect();
    if pts.len() < 3 {
        return up;
    }
    let c = pts.iter().sum::<Vector3<f64>>() / pts.len() as f64;
    let cov: Matrix3<f64> = pts.iter().map(|p| (p - c) * (p - c).transpose()).sum();
    let eig = cov.symmetric_eigen();
    let n: Vector3<f64> = eig.eigenvectors.column(eig.eigenvalues.imin()).into();
    if n.dot(&up) < 0.0 {
        -n
    } else {
        n
    }
}

fn region_agreement(
    truth: &Truth,
    labels: &[u8],
    positions: &[[f32; 3]],
    normals: &[[f32; 3]],
    map: &ToothMap,
) -> Option<f64> {
    let shape = truth.arch?;
    let curve = TrueCurve::new(shape.half_width, shape.depth, shape.half_width * 1.6);
    let points = curve.points(10);
    let xs: Vec<f32> = points.iter().map(|p| p[0]).collect();
    let line = ArchCurve::through(points);
    let pose = Matrix4::from_fn(|r, c| truth.pose[r][c]);
    let inverse = pose.try_inverse()?;
    let up = Vector3::from(truth.occlusal);
    let mut coords = ArchCoords::default();
    let mut normal_up = Vec::with_capacity(positions.len());
    for (p, nrm) in positions.iter().zip(normals) {
        let q = inverse.transform_point(&Point3::from(*p));
        let start = xs.partition_point(|x| *x < q.x);
        let (s, t) = line.project(q.x, q.y, start.saturating_sub(1));
        coords.s.push(s);
        coords.t.push(t);
        coords.h.push(q.z);
        normal_up.push(Vector3::from(*nrm).dot(&up));
    }
    let truth_regions = regions_from(labels, &coords, &normal_up);
    let n = truth_regions.len().min(map.regions.len());
    let agree = (0..n)
        .filter(|v| truth_regions[*v] == map.regions[*v])
        .count();
    Some(agree as f64 / n.max(1) as f64)
}

/// Tooth-map scores over a suite.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapSuiteScore {
    /// Scans scored.
    pub scans: usize,
    /// Scans whose jaw the map named right.
    pub jaw_right: usize,
    /// Median occlusal-plane error, degrees.
    pub plane_error_median_deg: f64,
    /// Largest occlusal-plane error, degrees.
    pub plane_error_max_deg: f64,
    /// Share of all true tooth vertices given their true FDI number.
    pub fdi_accuracy: f64,
    /// Scans with under 95 % of their tooth vertices right.
    pub scans_below_95: usize,
    /// Mean tooth-vs-gingiva IoU.
    pub tooth_iou_mean: f64,
    /// Missing teeth in the truth (gaps between present teeth).
    pub missing_true: usize,
    /// Of which the map reported.
    pub missing_found: usize,
    /// Missing teeth the map reported that were not missing.
    pub missing_false: usize,
    /// Mean surface-region agreement.
    pub region_agreement_mean: Option<f64>,
}

impl MapSuiteScore {
    /// Sums per-scan map scores.
    pub fn of(scores: &[MapScore]) -> Self {
        let n = scores.len().max(1) as f64;
        let mut planes: Vec<f64> = scores.iter().map(|s| s.plane_error_deg).collect();
        planes.sort_by(f64::total_cmp);
        let regions: Vec<f64> = scores.iter().filter_map(|s| s.region_agreement).collect();
        let found = |s: &MapScore| {
            s.missing_found
                .iter()
                .filter(|t| s.missing_true.contains(t))
                .count()
        };
        Self {
            scans: scores.len(),
            jaw_right: scores.iter().filter(|s| s.jaw_right).count(),
            plane_error_median_deg: planes.get(planes.len() / 2).copied().unwrap_or(0.0),
            plane_error_max_deg: planes.last().copied().unwrap_or(0.0),
            fdi_accuracy: scores.iter().map(|s| s.right_vertices).sum::<usize>() as f64
                / scores
                    .iter()
                    .map(|s| s.tooth_vertices)
                    .sum::<usize>()
                    .max(1) as f64,
            scans_below_95: scores.iter().filter(|s| s.below_target()).count(),
            tooth_iou_mean: scores.iter().map(|s| s.tooth_iou).sum::<f64>() / n,
            missing_true: scores.iter().map(|s| s.missing_true.len()).sum(),
            missing_found: scores.iter().map(found).sum(),
            missing_false: scores
                .iter()
                .map(|s| {
                    s.missing_found
                        .iter()
                        .filter(|t| !s.missing_true.contains(t) && !s.missing_at_ends.contains(t))
                        .count()
                })
                .sum(),
            region_agreement_mean: (!regions.is_empty())
                .then(|| regions.iter().sum::<f64>() / regions.len() as f64),
        }
    }

    /// One paragraph for a terminal.
    pub fn to_text(&self) -> String {
        format!(
            "tooth map: jaw right {}/{}; occlusal plane error median {:.2}°, max {:.2}°; \
             FDI right on {:.1}% of tooth vertices ({} scans under 95%); tooth/gingiva IoU \
             {:.3}; missing teeth found {}/{} ({} false); region agreement {}\n",
            self.jaw_right,
            self.scans,
            self.plane_error_median_deg,
            self.plane_error_max_deg,
            100.0 * self.fdi_accuracy,
            self.scans_below_95,
            self.tooth_iou_mean,
            self.missing_found,
            self.missing_true,
            self.missing_false,
            self.region_agreement_mean
                .map_or("n/a".into(), |r| format!("{:.1}%", 100.0 * r)),
        )
    }
}

/// How a map's teeth compare with a tooth/gingiva partition given as one class per vertex
/// (0 = gingiva, any other value = one tooth instance; e.g. IOSSeg's colour classes, which
/// carry no FDI numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionScore {
    /// Intersection over union of tooth vertices.
    pub tooth_iou: f64,
    /// True instances (with at least `min_vertices` vertices).
    pub instances: usize,
    /// Of which matched one-to-one by a map tooth with IoU above 0.5.
    pub matched: usize,
}

/// Scores `labels` (the map's FDI per vertex) against `classes`. Instances smaller than
/// `min_vertices` (stray classes) are not counted.
pub fn score_partition(labels: &[u8], classes: &[u32], min_vertices: usize) -> PartitionScore {
    use std::collections::HashMap;
    let n = labels.len().min(classes.len());
    let inter = (0..n)
        .filter(|v| classes[*v] != 0 && labels[*v] != 0)
        .count();
    let union = (0..n)
        .filter(|v| classes[*v] != 0 || labels[*v] != 0)
        .count();
    let mut overlap: HashMap<(u32, u8), usize> = HashMap::new();
    let mut true_size: HashMap<u32, usize> = HashMap::new();
    let mut map_size: HashMap<u8, usize> = HashMap::new();
    for v in 0..n {
        if classes[v] != 0 {
            *true_size.entry(classes[v]).or_default() += 1;
        }
        if labels[v] != 0 {
            *map_size.entry(labels[v]).or_default() += 1;
        }
        if classes[v] != 0 && labels[v] != 0 {
            *overlap.entry((classes[v], labels[v])).or_default() += 1;
        }
    }
    let instances: Vec<(u32, usize)> = true_size
        .into_iter()
        .filter(|(_, size)| *size >= min_vertices)
        .collect();
    // IoU > 0.5 makes a match one-to-one: no two true instances can both exceed it with the
    // same map tooth.
    let matched = instances
        .iter()
        .filter(|(class, size)| {
            overlap
                .iter()
                .filter(|((c, _), _)| c == class)
                .any(|((_, l), o)| *o as f64 / (size + map_size[l] - o) as f64 > 0.5)
        })
        .count();
    PartitionScore {
        tooth_iou: inter as f64 / union.max(1) as f64,
        instances: instances.len(),
        matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(missing_found: Vec<u8>) -> MapScore {
        MapScore {
            jaw_right: true,
            plane_error_deg: 0.0,
            fdi_accuracy: 1.0,
            tooth_vertices: 1,
            right_vertices: 1,
            tooth_iou: 1.0,
            missing_true: vec![15],
            missing_found,
            missing_at_ends: vec![37],
            region_agreement: None,
        }
    }

    #[test]
    fn a_truly_missing_end_tooth_reported_is_no_false_alarm() {
        let total = MapSuiteScore::of(&[score(vec![15, 37])]);
        assert_eq!((total.missing_found, total.missing_false), (1, 0));
        let total = MapSuiteScore::of(&[score(vec![36])]);
        assert_eq!((total.missing_found, total.missing_false), (0, 1));
    }
}
