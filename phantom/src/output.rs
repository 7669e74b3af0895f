//! Turning a generated surface into what a lab receives, and writing it: `scan.stl`,
//! `scan.ply`, `labels.json` (Teeth3DS form), `case.json`, `truth.json`, and `truth.ply` (the
//! truth in colour, for a person in MeshLab).

use crate::arch::{Jaw, PlacedTooth};
use crate::defects::Placed;
use crate::surface::GridMesh;
use crate::truth::{MeshStats, Truth};
use crate::{Phantom, PhantomSpec, Scanned};
use imprint_core::finding::FindingKind;
use imprint_core::io::{write_ply_binary, write_stl_binary};
use imprint_core::Scan;
use nalgebra::{Isometry3, Point3, Vector3};
use std::io::BufWriter;
use std::path::Path;

/// Removes hole triangles, renumbers vertices in first-occurrence order (so a welded STL,
/// the PLY and the label file share one vertex order), poses, and records the truth.
/// What the generator made, before assembly.
pub(crate) struct Parts {
    pub jaw: Jaw,
    pub teeth: Vec<PlacedTooth>,
    pub mesh: GridMesh,
    pub placed: Vec<Placed>,
    /// Prepared teeth: FDI, finish, true margin in the canonical frame.
    pub margins: Vec<(u8, crate::arch::Finish, Vec<[f32; 3]>)>,
    pub noise_um: f32,
    pub pose: Isometry3<f32>,
    pub arch: crate::truth::ArchShape,
    /// Chart mobility given to teeth.
    pub chart: Vec<crate::truth::ChartTruth>,
}

/// The defect (centre still canonical) lies on a prepared tooth within 1 mm of its finish
/// line, counting from its rim.
fn at_margin(
    d: &crate::truth::TrueDefect,
    margins: &[(u8, crate::arch::Finish, Vec<[f32; 3]>)],
) -> bool {
    margins.iter().any(|(tooth, _, line)| {
        d.tooth == Some(*tooth)
            && imprint_core::util::polyline_distance(d.center, line, true) <= 1.0 + d.size_mm / 2.0
    })
}

pub(crate) fn assemble(spec: &PhantomSpec, parts: Parts) -> Phantom {
    let Parts {
        jaw,
        teeth,
        mesh,
        placed,
        margins,
        noise_um,
        pose,
        arch,
        chart,
    } = parts;
    let removed: std::collections::HashSet<u32> = placed
        .iter()
        .flat_map(|p| p.remove.iter().copied())
        .collect();
    let kept: Vec<[u32; 3]> = mesh
        .triangles
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(&(*i as u32)))
        .map(|(_, t)| *t)
        .collect();
    let mut new_id = vec![u32::MAX; mesh.positions.len()];
    let mut order = Vec::with_capacity(mesh.positions.len());
    for &v in kept.iter().flatten() {
        if new_id[v as usize] == u32::MAX {
            new_id[v as usize] = order.len() as u32;
            order.push(v);
        }
    }
    let place = |p: [f32; 3]| {
        let q = pose * Point3::new(p[0], p[1], p[2]);
        [q.x, q.y, q.z]
    };
    let positions: Vec<[f32; 3]> = order
        .iter()
        .map(|&v| place(mesh.positions[v as usize]))
        .collect();
    let labels: Vec<u8> = order.iter().map(|&v| mesh.labels[v as usize]).collect();
    let triangles: Vec<[u32; 3]> = kept.iter().map(|t| t.map(|v| new_id[v as usize])).collect();
    let edge_at = EdgeLengths::new(&positions, &triangles);
    let mean_edge = edge_at.mean();
    let mut defects = placed
        .into_iter()
        .map(|p| {
            let mut d = p.truth;
            if at_margin(&d, &margins) {
                // DOMAIN.md: a defect on a prepared tooth's finish line is a rescan.
                d.severity = imprint_core::finding::Severity::Critical;
            }
            d.center = place(d.center);
            d.path = d.path.iter().map(|p| place(*p)).collect();
            d.direction = d.direction.map(|v| {
                let r = pose.rotation * Vector3::new(v[0], v[1], v[2]);
                [r.x, r.y, r.z]
            });
            d.vertices = p
                .vertices
                .iter()
                .map(|&v| new_id[v as usize])
                .filter(|&v| v != u32::MAX)
                .collect();
            use imprint_core::finding::KindGroup;
            // A smear is judged over an area, where the noise averages out and the detail
            // it wiped does not: detail three times the noise is enough to miss.
            let noise_multiple = if d.kind == FindingKind::Smear {
                3.0
            } else {
                4.0
            };
            let deep_enough = matches!(d.kind.group(), KindGroup::Margin | KindGroup::Pull)
                || d.kind == FindingKind::Hole
                || d.depth_mm >= noise_multiple * noise_um / 1000.0;
            // The edge length that counts for a pit or nodule is the mesh's where it lies (a
            // steep wall sampled from the occlusal grid has edges up to three times the
            // mean), never finer than the mean.
            let edge = match d.kind {
                FindingKind::Void | FindingKind::Nodule => {
                    edge_at.around(&d.vertices).max(mean_edge)
                }
                _ => mean_edge,
            };
            // A spike is one vertex: only its height against the noise decides.
            // A drag mark is resolved when its channel is 2 edges wide.
            let wide_enough = match (d.kind, d.width_mm) {
                (FindingKind::Spike, _) => true,
                (_, Some(w)) => w >= 2.0 * edge,
                _ => d.size_mm >= 3.0 * edge,
            };
            d.resolvable = wide_enough && deep_enough;
            d.cause = cause(spec.scanned, d.kind);
            d
        })
        .collect::<Vec<_>>();
    crate::drags::merge_channels(&mut defects);
    let occlusal = pose.rotation * Vector3::z();
    let stats = MeshStats {
        vertices: positions.len(),
        triangles: triangles.len(),
        mean_edge_mm: mean_edge,
        noise_um,
    };
    let mut scan = Scan::new(positions, triangles)
        .unwrap_or_else(|e| panic!("generated mesh is invalid: {e}"));
    scan.labels = Some(labels);
    if spec.scanned == Scanned::Impression {
        // The impression is the negative: the same surface, turned inside out.
        scan.reverse_winding();
    }
    let truth = Truth {
        schema: "imprint.truth/1".into(),
        seed: spec.seed,
        jaw,
        scanned: imprint_core::util::serde_name(&spec.scanned),
        pose: crate::truth::matrix_rows(&pose),
        occlusal: [occlusal.x, occlusal.y, occlusal.z],
        arch: Some(arch),
        teeth,
        chart,
        decision: Truth::decide(&defects),
        defects,
        preparations: margins
            .into_iter()
            .map(|(tooth, finish, line)| crate::truth::TruePreparation {
                tooth,
                finish,
                margin: line.into_iter().map(place).collect(),
            })
            .collect(),
        mesh: stats,
    };
    Phantom { scan, truth }
}

/// The physical defect behind a kind seen on the positive surface.
fn cause(scanned: Scanned, kind: FindingKind) -> Option<String> {
    let text = match (scanned, kind) {
        (Scanned::Cast, FindingKind::Nodule) => "air bubble in the impression, cast as a bump",
        (Scanned::Cast, FindingKind::Void) => "air bubble in the stone",
        (Scanned::Impression, FindingKind::Nodule) => "air bubble in the impression material",
        (Scanned::Impression, FindingKind::Void) => "excess or torn impression material",
        (Scanned::Cast | Scanned::Impression, FindingKind::Smear) => {
            "impression material that slid while it set"
        }
        _ => return None,
    };
    Some(text.into())
}

/// Each vertex's incident edge lengths, summed and counted, for the edge length around a
/// defect.
struct EdgeLengths {
    sum: Vec<f32>,
    count: Vec<u32>,
}

impl EdgeLengths {
    fn new(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Self {
        let mut sum = vec![0.0f32; positions.len()];
        let mut count = vec![0u32; positions.len()];
        for t in triangles {
            for k in 0..3 {
                let (a, b) = (t[k] as usize, t[(k + 1) % 3] as usize);
                let length = crate::defects::dist(positions[a], positions[b]);
                for v in [a, b] {
                    sum[v] += length;
                    count[v] += 1;
                }
            }
        }
        Self { sum, count }
    }

    /// The mean edge length of the whole mesh (each triangle's edges counted once per
    /// triangle, as every edge is seen from both its ends).
    fn mean(&self) -> f32 {
        let sum: f64 = self.sum.iter().map(|s| f64::from(*s)).sum();
        let count: u64 = self.count.iter().map(|c| u64::from(*c)).sum();
        (sum / count.max(1) as f64) as f32
    }

    /// The mean length of the edges at `vertices`; infinite when the defect moved no vertex
    /// (the mesh does not show it at all).
    fn around(&self, vertices: &[u32]) -> f32 {
        let (sum, n) = vertices.iter().fold((0.0f32, 0u32), |(s, n), &v| {
            (s + self.sum[v as usize], n + self.count[v as usize])
        });
        if n == 0 {
            f32::INFINITY
        } else {
            sum / n as f32
        }
    }
}

/// Writes every phantom file into `dir` (created if needed).
pub fn write(phantom: &Phantom, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let scan = &phantom.scan;
    let truth = &phantom.truth;
    let create = |name: &str| std::fs::File::create(dir.join(name)).map(BufWriter::new);
    write_stl_binary(&scan.positions, &scan.triangles, &mut create("scan.stl")?)?;
    let mut plain = scan.clone();
    plain.labels = None;
    write_ply_binary(&plain, &mut create("scan.ply")?)?;
    let labels = scan.labels.clone().unwrap_or_default();
    let instances: Vec<u32> = labels
        .iter()
        .map(|&l| {
            truth
                .teeth
                .iter()
                .position(|t| t.fdi == l && l != 0)
                .map_or(0, |i| i as u32 + 1)
        })
        .collect();
    let jaw = if truth.jaw == Jaw::Upper {
        "upper"
    } else {
        "lower"
    };
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).map_err(std::io::Error::other);
    std::fs::write(
        dir.join("labels.json"),
        json(
            &serde_json::json!({"id_patient": format!("phantom-{}", truth.seed), "jaw": jaw, "labels": labels, "instances": instances}),
        )?,
    )?;
    let material = if truth.scanned == "intraoral" {
        "digital"
    } else {
        "vps"
    };
    let mut case = serde_json::json!({
        "id": format!("phantom-{}", truth.seed),
        "scans": [{"path": "scan.stl", "role": jaw}],
        "impression": "final",
        "scanned": truth.scanned,
        "material": material,
    });
    if !truth.preparations.is_empty() {
        // The margins are the analyzer's to find: the case names the teeth only.
        case["restoration"] = "crown".into();
        case["prepared_teeth"] = truth
            .preparations
            .iter()
            .map(|p| serde_json::json!({"tooth": p.tooth}))
            .collect();
    }
    if !truth.chart.is_empty() {
        case["chart"] = truth
            .chart
            .iter()
            .map(|c| serde_json::json!({"tooth": c.tooth, "mobility": c.mobility}))
            .collect();
    }
    std::fs::write(dir.join("case.json"), json(&case)?)?;
    std::fs::write(
        dir.join("truth.json"),
        serde_json::to_vec_pretty(truth).map_err(std::io::Error::other)?,
    )?;
    write_ply_binary(&coloured_truth(phantom), &mut create("truth.ply")?)
}

/// The scan coloured by truth: gingiva pink, teeth ivory shaded by FDI, defects red.
fn coloured_truth(phantom: &Phantom) -> Scan {
    let mut scan = phantom.scan.clone();
    let labels = scan.labels.take().unwrap_or_default();
    let mut colours: Vec<[u8; 3]> = labels
        .iter()
        .map(|&l| {
            if l == 0 {
                [222, 140, 150]
            } else {
                [235, 230 - (l % 10) * 12, 200 - (l / 10) * 20]
            }
        })
        .collect();
    for d in &phantom.truth.defects {
        for &v in &d.vertices {
            if let Some(c) = colours.get_mut(v as usize) {
                *c = [220, 20, 20];
            }
        }
    }
    scan.colors = Some(colours);
    scan
}
