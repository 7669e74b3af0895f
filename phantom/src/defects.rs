//! Injecting defects into the generated surface, each recorded with its true location,
//! extent and kind: holes (missing patches), voids (pits), nodules (bumps) and spikes.

use crate::surface::{Band, GridMesh};
use crate::truth::TrueDefect;
use imprint_core::finding::{FindingKind, Severity};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How many of each defect to inject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectMix {
    /// Missing patches, 0.5–6 mm across.
    pub holes: u32,
    /// Pits 0.2–2 mm across, 0.05–1 mm deep.
    pub voids: u32,
    /// Bumps of the same sizes.
    pub nodules: u32,
    /// Single outlier vertices, 0.3–1 mm off the surface.
    pub spikes: u32,
    /// Teeth prepared for crowns (clean margins), chosen among premolars and molars.
    #[serde(default)]
    pub preparations: u32,
    /// Drag marks: sets of 1–3 parallel grooves or ridges, 2–15 mm long, 0.05–0.5 mm deep.
    #[serde(default)]
    pub drags: u32,
    /// Flaws along the prepared teeth's finish lines: tissue over the line, a blurred edge,
    /// a hole across it (in turn).
    #[serde(default)]
    pub margin_flaws: u32,
    /// Of the preparations, how many have the gingiva abutting the line (equigingival
    /// chamfers: the line a concave junction) instead of exposed root below it.
    #[serde(default)]
    pub abutted: u32,
    /// Double surfaces: a patch 2–6 mm across recorded twice, the copy a separate sheet
    /// 0.1–0.5 mm over or under the surface (scan frames that did not register, a re-seated
    /// tray).
    #[serde(default)]
    pub doubles: u32,
    /// Deep undercut locks: a tooth's neck drawn in 0.9–1.3 mm more under its height of
    /// contour on one side (buccal or lingual). Turns on `bulge`.
    #[serde(default)]
    pub locks: u32,
    /// Open embrasures: the papilla between two neighbouring natural teeth lost.
    #[serde(default)]
    pub embrasures: u32,
    /// Teeth the chart gives mobility II–III (the locked teeth first).
    #[serde(default)]
    pub mobile: u32,
    /// 1: every natural crown bulges over a narrower neck (0.4–0.6 mm drawn in buccally and
    /// lingually, a 0.1–0.3 mm natural undercut), as real crowns do.
    #[serde(default)]
    pub bulge: u32,
    /// 1: natural crowns carry fine detail (supplemental grooves and ridges, 30–50 µm RMS,
    /// ~1 mm apart; see `relief.rs`). Turned on by `smears`.
    #[serde(default)]
    pub relief: u32,
    /// Smears: bands 4–8 mm long and 2.5–4 mm wide on natural crowns where the fine
    /// detail is wiped out. Turns on `relief`.
    #[serde(default)]
    pub smears: u32,
    /// 1: steep walls sampled as a scanner samples them: the crowns' feet eased from
    /// vertical, and edges a wall stretches split and flipped until triangles are about as
    /// even there as on a flat (see `refine.rs`). The triangle count stays about as asked.
    #[serde(default)]
    pub walls: u32,
    /// Of the preparations (after the abutted ones), how many have a supragingival finish
    /// line: 1.5–2.5 mm above the gingiva, the root exposed below it.
    #[serde(default)]
    pub supra: u32,
    /// 1: the preparations' occlusal tables meet their axial walls at a crisp line angle
    /// (walls tapered 6°, a flat table, the edge rounded over ~0.15 mm), as a flat-ended bur
    /// leaves it, instead of the rounded shoulder of the default crown form.
    #[serde(default)]
    pub sharp: u32,
    /// 1: the two sides of the arch are alike, not equal: each natural premolar's and
    /// molar's cusps are 0–15 % higher or lower and sit up to 5 % of the crown's width
    /// away from where its partner's sit, and its fissures are 0–20 % deeper or shallower,
    /// as a patient's contralateral teeth differ (see `arch::Asymmetry`).
    #[serde(default)]
    pub asym: u32,
}

impl DefectMix {
    /// The mix asks for any pull-risk part (and so for the natural bulge).
    pub fn has_pull(&self) -> bool {
        self.locks + self.embrasures + self.mobile + self.bulge > 0
    }

    /// The mix asks for fine detail on the crowns (and so do smears, which wipe it out).
    pub fn has_relief(&self) -> bool {
        self.relief + self.smears > 0
    }
}

impl DefectMix {
    /// Parses `clean`, `random`, or
    /// `holes=N,voids=N,nodules=N,spikes=N,drags=N,smears=N,doubles=N,preparations=N,margin_flaws=N,abutted=N,locks=N,embrasures=N,mobile=N,bulge=1,relief=1,walls=1,supra=N,sharp=1,asym=1`
    /// (any subset).
    /// `random` returns `None`: the generator picks a mix from the seed.
    pub fn parse(spec: &str) -> Result<Option<Self>, String> {
        match spec.trim() {
            "random" => return Ok(None),
            "clean" | "none" | "" => return Ok(Some(Self::default())),
            _ => {}
        }
        let mut mix = Self::default();
        for part in spec.split(',') {
            let (name, n) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected KIND=COUNT"))?;
            let n: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("`{part}`: {n} is not a count"))?;
            match name.trim() {
                "holes" => mix.holes = n,
                "voids" => mix.voids = n,
                "nodules" => mix.nodules = n,
                "spikes" => mix.spikes = n,
                "preparations" => mix.preparations = n,
                "drags" => mix.drags = n,
                "margin_flaws" => mix.margin_flaws = n,
                "abutted" => mix.abutted = n,
                "doubles" => mix.doubles = n,
                "locks" => mix.locks = n,
                "embrasures" => mix.embrasures = n,
                "mobile" => mix.mobile = n,
                "bulge" => mix.bulge = n,
                "relief" => mix.relief = n,
                "smears" => mix.smears = n,
                "walls" => mix.walls = n,
                "supra" => mix.supra = n,
                "sharp" => mix.sharp = n,
                "asym" => mix.asym = n,
                other => {
                    return Err(format!(
                    "unknown defect kind `{other}` (holes, voids, nodules, spikes, drags, smears, doubles, preparations, margin_flaws, abutted, locks, embrasures, mobile, bulge, relief, walls, supra, sharp, asym)"
                ))
                }
            }
        }
        Ok(Some(mix))
    }

    /// A mix drawn from the seed: up to 2 holes, 3 voids, 2 nodules, 2 spikes.
    pub fn random(rng: &mut impl Rng) -> Self {
        Self {
            holes: rng.random_range(0..=2),
            voids: rng.random_range(0..=3),
            nodules: rng.random_range(0..=2),
            spikes: rng.random_range(0..=2),
            preparations: u32::from(rng.random_bool(0.3)),
            drags: u32::from(rng.random_bool(0.3)),
            margin_flaws: 0,
            abutted: 0,
            doubles: 0,
            locks: 0,
            embrasures: 0,
            mobile: 0,
            bulge: 0,
            relief: 0,
            smears: 0,
            walls: 0,
            supra: 0,
            sharp: 0,
            asym: 0,
        }
    }
}

/// A defect being placed, before the mesh is compacted and posed.
pub struct Placed {
    /// Its truth (centre still in canonical coordinates).
    pub truth: TrueDefect,
    /// Generator vertex indices it affects.
    pub vertices: Vec<u32>,
    /// Triangles to remove (holes).
    pub remove: Vec<u32>,
}

/// Where defects go: the true surface, the band of the arch the scan covers, and the
/// domain's extent along the arch.
pub struct Ground<'a> {
    /// The true surface by domain coordinates.
    pub surface: &'a crate::drags::SurfaceFn<'a>,
    /// The band across the arch.
    pub band: &'a Band,
    /// First and last arch position of the domain, mm.
    pub domain: (f32, f32),
    /// The fine detail laid on the crowns, and how much of it shows at each vertex (see
    /// [`crate::relief::apply`]); `None` without detail.
    pub relief: Option<(&'a crate::relief::Relief, &'a [f32])>,
}

/// Injects the mix beside the defects `placed` already (kept clear of them); vertex normals
/// are those of the clean surface.
pub fn inject(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    ground: &Ground<'_>,
    mix: &DefectMix,
    mut placed: Vec<Placed>,
    rng: &mut impl Rng,
) -> Vec<Placed> {
    let (band, (s0, s1), surface) = (ground.band, ground.domain, ground.surface);
    let kinds = std::iter::repeat_n(FindingKind::Hole, mix.holes as usize)
        .chain(std::iter::repeat_n(FindingKind::Void, mix.voids as usize))
        .chain(std::iter::repeat_n(
            FindingKind::Nodule,
            mix.nodules as usize,
        ))
        .chain(std::iter::repeat_n(FindingKind::Spike, mix.spikes as usize))
        .chain(std::iter::repeat_n(
            FindingKind::DragMark,
            mix.drags as usize,
        ))
        .chain(std::iter::repeat_n(
            FindingKind::DoubleSurface,
            mix.doubles as usize,
        ))
        .chain(std::iter::repeat_n(FindingKind::Smear, mix.smears as usize));
    for (n, kind) in kinds.enumerate() {
        let radius = match kind {
            FindingKind::Hole => rng.random_range(0.25..3.0f32),
            FindingKind::Spike => 0.0,
            FindingKind::DragMark => rng.random_range(1.0..7.5f32),
            FindingKind::DoubleSurface => rng.random_range(1.0..3.0f32),
            FindingKind::Smear => 3.0,
            _ => rng.random_range(0.1..1.0f32),
        };
        // A smear wipes out detail: it lies where the crown shows all of it.
        let detailed = |v: usize| {
            kind != FindingKind::Smear
                || ground
                    .relief
                    .is_some_and(|(_, shown)| shown.get(v).is_some_and(|w| *w >= 1.0))
        };
        let Some(center) = pick_site(mesh, &placed, radius, band, (s0, s1), &detailed, rng) else {
            continue;
        };
        let id = format!("D{}", n + 1);
        if kind == FindingKind::DragMark {
            placed.extend(crate::drags::drag_set(
                mesh,
                normals,
                surface,
                center,
                2.0 * radius,
                &id,
                rng,
            ));
            continue;
        }
        let p = match kind {
            FindingKind::Hole => hole(mesh, center, radius, id),
            FindingKind::DoubleSurface => {
                let gap = rng.random_range(0.1..0.5f32);
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                double_sheet(mesh, normals, center, radius, sign * gap, id)
            }
            FindingKind::Spike => spike(mesh, normals, center, rng.random_range(0.3..1.0), id),
            FindingKind::Smear => {
                let Some(relief) = ground.relief else {
                    continue;
                };
                crate::relief::smear(mesh, normals, relief, surface, center, id, rng)
            }
            _ => {
                let depth = rng.random_range(0.05..(radius.min(1.0)));
                let sign = if kind == FindingKind::Void { -1.0 } else { 1.0 };
                bubble(
                    mesh,
                    normals,
                    center,
                    radius,
                    sign * depth,
                    kind,
                    rng.random_bool(0.5),
                    id,
                )
            }
        };
        placed.push(p);
    }
    placed
}

/// A vertex away from the scan's border and from earlier defects.
fn pick_site(
    mesh: &GridMesh,
    placed: &[Placed],
    radius: f32,
    band: &Band,
    (s0, s1): (f32, f32),
    suits: &dyn Fn(usize) -> bool,
    rng: &mut impl Rng,
) -> Option<u32> {
    for _ in 0..200 {
        let v = rng.random_range(0..mesh.positions.len());
        if !suits(v) {
            continue;
        }
        let [s, t] = mesh.domain[v];
        let margin = radius + 1.5;
        if s < s0 + margin || s > s1 - margin || t.abs() > band.reach(t) - margin {
            continue;
        }
        let p = mesh.positions[v];
        let clear = placed
            .iter()
            .all(|d| dist(p, d.truth.center) > radius + d.truth.size_mm / 2.0 + 2.0);
        if clear {
            return Some(v as u32);
        }
    }
    None
}

/// Straight distance between two points, mm.
pub(crate) fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt()
}

fn near(mesh: &GridMesh, c: [f32; 3], r: f32) -> impl Iterator<Item = (usize, f32)> + '_ {
    mesh.positions
        .iter()
        .enumerate()
        .map(move |(i, p)| (i, dist(*p, c)))
        .filter(move |(_, d)| *d < r)
}

pub(crate) fn truth(
    id: String,
    kind: FindingKind,
    center: [f32; 3],
    size: f32,
    depth: f32,
    tooth: u8,
) -> TrueDefect {
    TrueDefect {
        id,
        kind,
        cause: None,
        center,
        size_mm: size,
        depth_mm: depth,
        tooth: (tooth != 0).then_some(tooth),
        severity: expected_severity(kind, size, depth, tooth != 0),
        resolvable: true,
        vertices: Vec::new(),
        direction: None,
        width_mm: None,
        path: Vec::new(),
        merged_into: None,
        arc: None,
    }
}

/// What a careful technician would call it by size: on a tooth, holes from 1 mm and bubbles
/// from 0.5 mm across need review; on gingiva, holes from 3 mm; spikes from 0.5 mm high.
/// (On a prepared tooth's finish line, the assembly makes it critical.)
fn expected_severity(kind: FindingKind, size: f32, depth: f32, on_tooth: bool) -> Severity {
    let major = match kind {
        FindingKind::Hole => size >= if on_tooth { 1.0 } else { 3.0 },
        FindingKind::Spike => depth >= 0.5,
        _ => on_tooth && size >= 0.5,
    };
    if major {
        Severity::Major
    } else {
        Severity::Minor
    }
}

/// A missing patch: the triangles within `radius` of the centre that are connected to it
/// (grown across shared edges, so the patch is one piece), with notches closed so its rim is
/// a single loop.
pub(crate) fn hole(mesh: &GridMesh, center: u32, radius: f32, id: String) -> Placed {
    let c = mesh.positions[center as usize];
    let centroid = |t: &[u32; 3]| {
        [0, 1, 2].map(|k| {
            t.iter()
                .map(|&i| mesh.positions[i as usize][k])
                .sum::<f32>()
                / 3.0
        })
    };
    let mut by_edge: std::collections::HashMap<(u32, u32), Vec<u32>> =
        std::collections::HashMap::new();
    for (f, t) in mesh.triangles.iter().enumerate() {
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            by_edge
                .entry((a.min(b), a.max(b)))
                .or_default()
                .push(f as u32);
        }
    }
    let edges = &by_edge;
    let neighbours = move |f: u32| {
        let t = mesh.triangles[f as usize];
        (0..3).flat_map(move |k| {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            edges
                .get(&(a.min(b), a.max(b)))
                .cloned()
                .unwrap_or_default()
        })
    };
    let mut removed = std::collections::HashSet::new();
    let mut stack: Vec<u32> = (0..mesh.triangles.len() as u32)
        .filter(|&f| mesh.triangles[f as usize].contains(&center))
        .collect();
    while let Some(f) = stack.pop() {
        if dist(centroid(&mesh.triangles[f as usize]), c) < radius && removed.insert(f) {
            stack.extend(neighbours(f).filter(|g| !removed.contains(g)));
        }
    }
    // Close notches: a kept triangle with two or three removed neighbours joins the hole.
    loop {
        let notches: Vec<u32> = removed
            .iter()
            .flat_map(|&f| neighbours(f).collect::<Vec<_>>())
            .filter(|g| !removed.contains(g))
            .filter(|&g| {
                neighbours(g)
                    .filter(|h| *h != g && removed.contains(h))
                    .count()
                    >= 2
            })
            .collect();
        if notches.is_empty() {
            break;
        }
        removed.extend(notches);
    }
    Placed {
        truth: truth(
            id,
            FindingKind::Hole,
            c,
            2.0 * radius,
            0.0,
            mesh.labels[center as usize],
        ),
        vertices: Vec::new(),
        // In index order: a hash set's order differs from run to run, and a double
        // surface copies these triangles in this order (the same seed, the same file).
        remove: {
            let mut remove: Vec<u32> = removed.into_iter().collect();
            remove.sort_unstable();
            remove
        },
    }
}

fn spike(mesh: &mut GridMesh, normals: &[[f32; 3]], v: u32, height: f32, id: String) -> Placed {
    let n = normals[v as usize];
    let p = &mut mesh.positions[v as usize];
    *p = [
        p[0] + height * n[0],
        p[1] + height * n[1],
        p[2] + height * n[2],
    ];
    Placed {
        truth: truth(
            id,
            FindingKind::Spike,
            *p,
            height,
            height,
            mesh.labels[v as usize],
        ),
        vertices: vec![v],
        remove: Vec::new(),
    }
}

/// A pit (`offset < 0`) or bump along the surface normal: spherical-cap profile (sharp rim,
/// an air bubble) or cosine profile (blurred, fluid).
#[allow(clippy::too_many_arguments)]
fn bubble(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    center: u32,
    radius: f32,
    offset: f32,
    kind: FindingKind,
    sharp: bool,
    id: String,
) -> Placed {
    let c = mesh.positions[center as usize];
    let n = normals[center as usize];
    let affected: Vec<(usize, f32)> = near(mesh, c, radius).collect();
    for &(i, d) in &affected {
        let x = d / radius;
        let profile = if sharp {
            1.0 - x * x
        } else {
            0.5 * (1.0 + (std::f32::consts::PI * x).cos())
        };
        let p = &mut mesh.positions[i];
        *p = [
            p[0] + offset * profile * n[0],
            p[1] + offset * profile * n[1],
            p[2] + offset * profile * n[2],
        ];
    }
    // The centre is where the clean surface was: the middle of the bubble's rim.
    let t = truth(
        id,
        kind,
        c,
        2.0 * radius,
        offset.abs(),
        mesh.labels[center as usize],
    );
    Placed {
        truth: t,
        vertices: affected.iter().map(|(i, _)| *i as u32).collect(),
        remove: Vec::new(),
    }
}

/// A patch recorded twice: the triangles of a missing-patch sized piece around `center`
/// copied as a separate sheet `offset` mm along the normals (over the surface when positive).
/// The copy's vertices are appended to the mesh; they are the defect's vertices.
fn double_sheet(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    center: u32,
    radius: f32,
    offset: f32,
    id: String,
) -> Placed {
    let patch = hole(mesh, center, radius, id);
    let mut copy: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut triangles = Vec::with_capacity(patch.remove.len());
    for &f in &patch.remove {
        let t = mesh.triangles[f as usize];
        let new = t.map(|v| {
            *copy.entry(v).or_insert_with(|| {
                let (p, n) = (mesh.positions[v as usize], normals[v as usize]);
                mesh.positions
                    .push(std::array::from_fn(|k| p[k] + offset * n[k]));
                mesh.labels.push(mesh.labels[v as usize]);
                mesh.domain.push(mesh.domain[v as usize]);
                (mesh.positions.len() - 1) as u32
            })
        });
        triangles.push(new);
    }
    mesh.triangles.extend(triangles);
    let c = mesh.positions[center as usize];
    let n = normals[center as usize];
    let mut t = truth(
        patch.truth.id,
        FindingKind::DoubleSurface,
        std::array::from_fn(|k| c[k] + 0.5 * offset * n[k]),
        2.0 * radius,
        offset.abs(),
        mesh.labels[center as usize],
    );
    t.severity = if mesh.labels[center as usize] != 0 {
        Severity::Major
    } else {
        Severity::Minor
    };
    Placed {
        truth: t,
        vertices: {
            let mut vertices: Vec<u32> = copy.into_values().collect();
            vertices.sort_unstable();
            vertices
        },
        remove: Vec::new(),
    }
}
