//! `drag-marks`: what a tray or a scan that moved leaves behind — drag marks (long narrow
//! grooves or ridges that share one direction), smears (bands of a crown that lost the fine
//! detail the rest of it shows), and double surfaces (two overlapping sheets a fraction of a
//! millimetre apart, from a re-seated tray or scan frames that failed to register).
//!
//! Drag marks: see `grooves.rs`; smears: see `smears.rs`; double surfaces: see `layers.rs`.
//! All run on the host's shared derived data (adjacency, normals, the tooth map, the BVH).
//!
//! **Fine detail.** Where the crowns carry fine detail (the smear check finds most teeth
//! showing it clear of the noise), a short channel (under 4 mm) shallower than 0.3 mm cannot
//! be told from the detail's own grooves and ridges and is not reported as a drag.
//!
//! **Anatomy is not a drag.** Besides the shape tests of `profile.rs`, a groove on a
//! premolar's or molar's occlusal surface that runs along its mesiodistal or buccolingual
//! axis through the tooth's middle is its fissure, a ridge along it within 1.6 mm of the
//! middle is the fissure's lip (a cusp ridge falling into it), and a channel that runs
//! around a prepared tooth (the case file names them) near its outline is its finish line.
//!
//! **What applies to what.** Drags and smears come from impression material and trays: on an
//! intraoral scan (the case says `scanned: intraoral`) only double surfaces are reported. Without a
//! case file every check runs.
//!
//! **Severity by position**, as for voids (DOMAIN.md): on a prepared tooth's margin band →
//! critical; on a tooth, a drag mark from `major_drag_depth_mm` deep (default 0.1 mm, twice
//! the ~50 µm fit tolerance of a crown) or any double surface → major; otherwise minor.

pub mod grooves;
pub mod layers;
pub mod profile;
pub mod smears;

use grooves::Groove;
use imprint_core::derived::DerivedKind;
use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::plugin::sdk::{Analyzer, Context, ScanRef};
use imprint_core::plugin::{Manifest, Parameter};
use imprint_core::tooth::Region;

#[derive(Default)]
struct DragMarks;

impl Analyzer for DragMarks {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "drag-marks".into(),
            name: "Drag marks and double surfaces".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            interface_version: String::new(),
            kinds: vec![FindingKind::DragMark, FindingKind::Smear, FindingKind::DoubleSurface],
            needs: vec![
                DerivedKind::Adjacency,
                DerivedKind::VertexNormals,
                DerivedKind::ToothMap,
                DerivedKind::Bvh,
                DerivedKind::FaceNormals,
                DerivedKind::Components,
            ],
            parameters: vec![
                Parameter::new("min_drag_depth_mm", 0.05, "Smallest drag-mark depth (or ridge height) reported, mm (raised to 4x the scan's noise)."),
                Parameter::new("min_drag_length_mm", 2.0, "Shortest drag mark reported, mm."),
                Parameter::new("max_drag_width_mm", 0.9, "Widest channel (at half depth, as measured across a 0.4 mm slab of a ~0.2 mm mesh) taken for a drag mark, mm; fissures between cusps and the walls of an embrasure are wider."),
                Parameter::new("max_drag_ridge_width_mm", 0.78, "Widest ridge (at half height) taken for a drag mark, mm. Crests of anatomy (cusp and marginal ridges, a premolar's transverse ridge, the gingiva's contour) measure 0.8-0.9 mm, at the edge of what the measurement spans; drag ridges on phantoms 0.23-0.77 mm, one 0.83."),
                Parameter::new("major_drag_depth_mm", 0.1, "A drag mark on a tooth this deep needs review (twice a crown's ~50 um fit tolerance)."),
                Parameter::new("max_smear_detail", 0.35, "A band carrying less than this share of its tooth's typical fine detail (RMS of the band-passed relief) has been smeared."),
                Parameter::new("min_smear_mm", 3.0, "Shortest smear reported, mm: the core of the band where the detail is gone (a slid tray smears several millimetres; fine relief has quiet patches of its own up to ~3 x 2 mm)."),
                Parameter::new("min_smear_width_mm", 2.0, "Narrowest smear reported, mm (the core, as for the length)."),
                Parameter::new("max_layer_gap_mm", 1.0, "Two sheets closer than this, facing the same way, are a double surface, mm."),
                Parameter::new("min_layer_mm", 0.5, "Smallest double surface reported (across), mm."),
            ],
        }
    }

    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        ctx.in_pool(|| analyze_in_pool(ctx))?
    }
}

fn analyze_in_pool(ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
    let scan = ctx.scan();
    let get = |name: &str, default: f64| ctx.param_f64(name).unwrap_or(default) as f32;
    let place = Places::new(ctx, &scan);
    let edge = scan.mean_edge();
    let mut findings = Vec::new();
    let intraoral = ctx.case()["scanned"].as_str() == Some("intraoral");
    if !intraoral && scan.positions().len() >= 50 {
        let (marks, detail) = marks_and_smears(&scan, edge, &get);
        let major = get("major_drag_depth_mm", 0.1);
        findings.extend(drag_findings(
            &scan,
            &place,
            &marks,
            (major, detail.detailed),
        ));
        for smear in &detail.smears {
            findings.push(smear_finding(&place, smear));
        }
    }
    let layer_settings = layers::Settings {
        max_gap: get("max_layer_gap_mm", 1.0),
        min_size: get("min_layer_mm", 0.5),
    };
    for layer in layers::find(&scan, edge, &layer_settings) {
        findings.push(layer_finding(&place, &layer));
    }
    Ok(findings)
}

/// The drag marks and the smear check, on one band-passed view of the surface.
fn marks_and_smears(
    scan: &ScanRef<'_, '_>,
    edge: f32,
    get: &dyn Fn(&str, f64) -> f32,
) -> (Vec<Groove>, smears::Detail) {
    let settings = grooves::Settings {
        min_depth: get("min_drag_depth_mm", 0.05),
        min_length: get("min_drag_length_mm", 2.0),
        max_width: get("max_drag_width_mm", 0.9),
        max_ridge_width: get("max_drag_ridge_width_mm", 0.78),
    };
    let (offsets, items) = scan.adjacency_rows();
    let surface = grooves::Surface {
        positions: scan.positions(),
        normals: scan.vertex_normals(),
        offsets,
        items,
        boundary: scan.on_boundary(),
        edge,
        teeth: scan.tooth_of_vertex(),
    };
    let rounds = grooves::rounds_for(surface.edge);
    let reference = scan.smoothed(rounds);
    let raw = grooves::raw_heights(&surface, &reference, grooves::QUIET_ROUNDS);
    let heights = grooves::band_pass(&surface, &raw, rounds);
    let marks = grooves::find(&surface, &heights, &raw, &settings);
    drop((heights, raw));
    let smear_settings = smears::Settings {
        max_ratio: get("max_smear_detail", 0.35),
        min_length: get("min_smear_mm", 3.0),
        min_width: get("min_smear_width_mm", 2.0),
    };
    let scale = smears::rounds_for(edge).max(rounds);
    // Smoothing is linear: the detail's reference goes on from the drags'.
    let reference = imprint_core::derived::laplacian_smooth(
        |v| scan.neighbours(v),
        &reference,
        scan.on_boundary(),
        scale - rounds,
        1.0,
    );
    let detail = smears::find(&surface, &reference, scale, &smear_settings);
    (marks, detail)
}

/// Where findings lie: the tooth map and the case's prepared teeth.
struct Places<'i, 'a> {
    teeth: &'i [u8],
    regions: Vec<Region>,
    prepared: Vec<u8>,
    /// Centre, unit axis and mesiodistal width of each prepared tooth the map found.
    preparations: Vec<([f32; 3], [f32; 3], f32)>,
    /// Arch positions (mm along the arch) of the gaps on either side of each prepared tooth.
    gaps: Vec<f32>,
    /// Each tooth's centre in arch coordinates (along, across), from its vertices.
    centres: std::collections::HashMap<u8, [f32; 2]>,
    scan: ScanRef<'i, 'a>,
}

/// A finding's place.
struct Place {
    tooth: Option<u8>,
    at_margin: bool,
}

impl<'i, 'a> Places<'i, 'a> {
    fn new(ctx: &Context<'_, '_>, scan: &ScanRef<'i, 'a>) -> Self {
        let prepared = ctx.prepared_teeth();
        let map = scan.tooth_map();
        let vec3 = |v: &serde_json::Value| serde_json::from_value::<[f32; 3]>(v.clone()).ok();
        let preparations = map["teeth"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["fdi"]
                    .as_u64()
                    .is_some_and(|f| prepared.iter().any(|&p| u64::from(p) == f))
            })
            .filter_map(|t| {
                let axis = vec3(&map["frame"]["occlusal"]).or_else(|| vec3(&t["axis"]))?;
                // The map measures a prepared tooth's reduced crown narrow; its collar lies
                // around the tooth it was.
                let typical = t["fdi"]
                    .as_u64()
                    .and_then(|f| imprint_core::toothmap::typical_width(f as u8))
                    .unwrap_or(0.0);
                let width = (t["width_mm"].as_f64()? as f32).max(typical);
                Some((vec3(&t["center"])?, axis, width))
            })
            .collect();
        let gaps = preparation_gaps(&map, &prepared);
        Self {
            gaps,
            centres: tooth_centres(scan),
            teeth: scan.tooth_of_vertex(),
            regions: scan.region_of_vertex(),
            prepared,
            preparations,
            scan: *scan,
        }
    }

    /// A channel that runs around a prepared tooth near its outline is the finish line (or
    /// the gingiva's junction with it), not a drag: most of its path lies within
    /// [`FINISH_REACH_MM`] outside the tooth's outline and runs across the radius from the
    /// tooth's axis (a short mark, of at most [`SHORT_PATH`] stations: its chord at its
    /// middle does).
    fn rings_preparation(&self, m: &Groove) -> bool {
        self.preparations.iter().any(|&(c, axis, width)| {
            let flat = |v: [f32; 3]| {
                let along: f32 = (0..3).map(|k| v[k] * axis[k]).sum();
                std::array::from_fn::<f32, 3, _>(|k| v[k] - along * axis[k])
            };
            let norm = |v: [f32; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            let tangential = |from: [f32; 3], step: [f32; 3]| {
                let r = flat(std::array::from_fn(|k| from[k] - c[k]));
                let d = flat(step);
                let (nr, nd) = (norm(r), norm(d));
                let radial: f32 = (0..3).map(|k| r[k] * d[k]).sum::<f32>() / (nr * nd).max(1e-6);
                nr <= 0.5 * BUCCOLINGUAL * width + FINISH_REACH_MM && radial.abs() < 0.5
            };
            let around = m
                .path
                .windows(2)
                .filter(|w| tangential(w[0], std::array::from_fn(|k| w[1][k] - w[0][k])))
                .count();
            // A short mark (a few stations) is judged by its chord at its middle: one
            // station's wobble is a large share of its path.
            let short = m.path.len() <= SHORT_PATH && tangential(m.centre(), m.axis);
            short || around * 10 >= m.path.len().saturating_sub(1) * 7
        })
    }

    /// The papilla or embrasure beside a prepared tooth, not a drag: a channel that runs
    /// across the arch (or up the tooth) and lies, for most of its vertices, within
    /// [`GAP_REACH_MM`] along the arch of the gap between the preparation and its neighbour.
    /// A reduced crown leaves that gap wide, and its papilla's crest stands as a ridge.
    fn in_preparation_gap(&self, m: &Groove, arch_dir: Option<[f32; 3]>) -> bool {
        let Some(d) = arch_dir else {
            return false;
        };
        if d[0].abs() >= 0.5 || self.gaps.is_empty() {
            return false;
        }
        let near = m
            .vertices
            .iter()
            .filter(|&&v| {
                self.scan
                    .arch_coords(v as usize)
                    .is_some_and(|a| self.gaps.iter().any(|g| (a[0] - g).abs() <= GAP_REACH_MM))
            })
            .count();
        near * 10 >= m.vertices.len() * 7
    }

    fn of(&self, vertices: &[u32]) -> Place {
        let at = imprint_core::toothmap::locate_in(self.teeth, &self.regions, vertices);
        let prepared = at.tooth.is_some_and(|t| self.prepared.contains(&t));
        Place {
            tooth: at.tooth,
            at_margin: prepared && matches!(at.region, Some(Region::Margin | Region::Cervical)),
        }
    }

    /// A mark's direction in the arch frame (along the arch, across it, up the tooth), a
    /// unit vector, from its end vertices' arch coordinates.
    fn arch_direction(&self, from: u32, to: u32) -> Option<[f32; 3]> {
        let a = self.scan.arch_coords(from as usize)?;
        let b = self.scan.arch_coords(to as usize)?;
        let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        (n > 1e-6).then(|| d.map(|x| x / n))
    }

    /// A posterior tooth's central or transverse fissure, or a lip of it, not a drag: a groove
    /// (or a ridge) that lies on the occlusal surface of one premolar or molar, within that
    /// tooth, running mesiodistally or buccolingually through its middle (see
    /// [`Self::through_centre`]).
    fn is_fissure(&self, m: &Groove, arch_dir: Option<[f32; 3]>) -> bool {
        let at = imprint_core::toothmap::locate_in(self.teeth, &self.regions, &m.vertices);
        let (Some(tooth), Some(Region::Occlusal), Some(d)) = (at.tooth, at.region, arch_dir) else {
            return false;
        };
        let on_tooth = m
            .vertices
            .iter()
            .filter(|&&v| self.teeth.get(v as usize) == Some(&tooth))
            .count();
        // Along or across the arch in the occlusal plane, and roughly level with it.
        let level = d[0].hypot(d[1]);
        let aligned = d[0].abs().max(d[1].abs()) >= FISSURE_ALIGN_DEG.to_radians().cos() * level
            && level >= FISSURE_LEVEL;
        // A ridge beside the fissure is its lip, or the cusp ridge that falls into it.
        let offset = if m.depth > 0.0 && tooth % 10 >= 6 {
            LIP_OFFSET_MOLAR_MM
        } else if m.depth > 0.0 {
            LIP_OFFSET_MM
        } else {
            FISSURE_OFFSET_MM
        };
        tooth % 10 >= 4
            && on_tooth * 10 >= m.vertices.len() * 9
            && aligned
            && self.through_centre(m, tooth, d[0].abs() >= d[1].abs(), offset)
    }

    /// A fissure runs through the middle of the occlusal table: the groove's vertices lie,
    /// on average, within `offset` ([`FISSURE_OFFSET_MM`] for a groove, [`LIP_OFFSET_MM`]
    /// for a ridge beside it) of the tooth's centre across their run (a drag that happens to
    /// run along the arch lies anywhere on the table).
    fn through_centre(&self, m: &Groove, tooth: u8, along_arch: bool, offset: f32) -> bool {
        let Some(c) = self.centres.get(&tooth) else {
            return true;
        };
        let across = usize::from(along_arch);
        let (sum, n) = m
            .vertices
            .iter()
            .filter_map(|&v| self.scan.arch_coords(v as usize))
            .fold((0.0f32, 0usize), |(s, n), a| (s + a[across], n + 1));
        n == 0 || (sum / n as f32 - c[across]).abs() <= offset
    }
}

/// Each tooth's centre in arch coordinates (along, across): the mean over its vertices.
fn tooth_centres(scan: &ScanRef<'_, '_>) -> std::collections::HashMap<u8, [f32; 2]> {
    let mut sums: std::collections::HashMap<u8, [f32; 3]> = Default::default();
    for (v, &t) in scan.tooth_of_vertex().iter().enumerate() {
        if let (true, Some(a)) = (t != 0, scan.arch_coords(v)) {
            let e = sums.entry(t).or_default();
            *e = [e[0] + a[0], e[1] + a[1], e[2] + 1.0];
        }
    }
    sums.into_iter()
        .map(|(t, s)| (t, [s[0] / s[2], s[1] / s[2]]))
        .collect()
}

/// The arch positions of the gaps beside each prepared tooth: halfway to the neighbouring
/// tooth in the map, or half a typical width out where the map has no neighbour.
fn preparation_gaps(map: &serde_json::Value, prepared: &[u8]) -> Vec<f32> {
    let mut teeth: Vec<(u8, f32)> = map["teeth"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["fdi"].as_u64()? as u8, t["arch_s"].as_f64()? as f32)))
        .collect();
    teeth.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut gaps = Vec::new();
    for (i, &(fdi, s)) in teeth.iter().enumerate() {
        if !prepared.contains(&fdi) {
            continue;
        }
        let half = 0.5 * imprint_core::toothmap::typical_width(fdi).unwrap_or(7.0);
        let before = i.checked_sub(1).map(|j| teeth[j].1);
        gaps.push(before.map_or(s - half, |b| 0.5 * (b + s)));
        gaps.push(teeth.get(i + 1).map_or(s + half, |a| 0.5 * (a.1 + s)));
    }
    gaps
}

/// A mark of at most this many stations is judged around a preparation by its chord.
const SHORT_PATH: usize = 5;

/// A channel within this distance along the arch of a prepared tooth's gap lies in it, mm.
const GAP_REACH_MM: f32 = 1.5;
/// A channel this far outside a prepared tooth's half width (from its centre, across the
/// axis) can still follow its finish line, the gingival collar around it or the collar's
/// foot, mm.
const FINISH_REACH_MM: f32 = 4.5;
/// A premolar is up to this many times wider buccolingually than its mesiodistal width (the
/// map's), so its outline lies that far out across the arch.
const BUCCOLINGUAL: f32 = 1.4;
/// A fissure runs within this angle of the tooth's mesiodistal or buccolingual axis ...
const FISSURE_ALIGN_DEG: f32 = 25.0;
/// ... and rises or falls at most ~45° against the occlusal plane (cosine) ...
const FISSURE_LEVEL: f32 = 0.7;
/// ... and passes within this distance of the tooth's centre, mm.
const FISSURE_OFFSET_MM: f32 = 1.2;
/// A ridge along the fissure within this distance of the tooth's centre is the fissure's lip
/// or a cusp ridge falling into it, mm (a premolar's cusp tips stand ~2 mm off the centre).
const LIP_OFFSET_MM: f32 = 1.6;
/// The same on a molar, whose table is ~1.35 times as wide buccolingually (10-11 mm against
/// a premolar's 7.6-9), so its cusp tips stand ~2.7 mm off the centre, mm.
const LIP_OFFSET_MOLAR_MM: f32 = 2.1;

fn direction_words(d: [f32; 3]) -> &'static str {
    let a = d.map(f32::abs);
    if a[0] >= a[1] && a[0] >= a[2] {
        "mesiodistally (along the arch)"
    } else if a[1] >= a[2] {
        "buccolingually (across the arch)"
    } else {
        "occlusogingivally (up and down the tooth)"
    }
}

/// Marks within this angle of each other, and near each other, run parallel.
const PARALLEL_DEG: f32 = 15.0;
/// ... when their centre lines pass within this distance, mm.
const PARALLEL_REACH_MM: f32 = 4.0;

fn parallel_count(marks: &[&Groove], i: usize) -> usize {
    let a = marks[i];
    let cos = PARALLEL_DEG.to_radians().cos();
    marks
        .iter()
        .filter(|b| {
            let c: f32 = (0..3).map(|k| a.axis[k] * b.axis[k]).sum();
            let d: f32 = (0..3)
                .map(|k| (a.centre()[k] - b.centre()[k]).powi(2))
                .sum::<f32>()
                .sqrt();
            c.abs() >= cos && d <= PARALLEL_REACH_MM + 0.5 * a.length.max(b.length)
        })
        .count()
}

fn drag_findings(
    scan: &ScanRef<'_, '_>,
    places: &Places<'_, '_>,
    marks: &[Groove],
    (major_depth, detailed): (f32, bool),
) -> Vec<Finding> {
    let arch: Vec<Option<[f32; 3]>> = marks
        .iter()
        .map(|m| end_vertices(scan, m).and_then(|(a, b)| places.arch_direction(a, b)))
        .collect();
    let keep: Vec<usize> = (0..marks.len())
        .filter(|&i| {
            !places.is_fissure(&marks[i], arch[i])
                && !places.rings_preparation(&marks[i])
                && !places.in_preparation_gap(&marks[i], arch[i])
        })
        .collect();
    let marks: Vec<&Groove> = keep.iter().map(|&i| &marks[i]).collect();
    keep.iter()
        .enumerate()
        .filter(|&(j, _)| !detailed || stands_out_of_detail(marks[j]))
        .map(|(j, &i)| {
            let m = marks[j];
            let place = places.of(&m.vertices);
            let parallel = parallel_count(&marks, j);
            let severity = if place.at_margin {
                Severity::Critical
            } else if place.tooth.is_some() && m.depth.abs() >= major_depth {
                Severity::Major
            } else {
                Severity::Minor
            };
            let words = arch[i].map(direction_words);
            let mut f = Finding::new(
                FindingKind::DragMark,
                severity,
                m.centre(),
                m.length,
                drag_message(m, &place, parallel, words),
            )
            .with_metric("length_mm", f64::from(m.length))
            .with_metric("width_mm", f64::from(m.width))
            .with_metric("depth_mm", f64::from(m.depth.abs()))
            .with_metric("ridge", f64::from(u8::from(m.depth > 0.0)))
            .with_metric("parallel_marks", parallel as f64)
            .with_metric("depth_spread", f64::from(m.spread))
            .with_metric("band_peak_mm", f64::from(m.peak))
            .with_metric("direction_x", f64::from(m.axis[0]))
            .with_metric("direction_y", f64::from(m.axis[1]))
            .with_metric("direction_z", f64::from(m.axis[2]));
            f.tooth = place.tooth;
            f.vertices = m.vertices.clone();
            f.path = m.path.clone();
            f
        })
        .collect()
}

/// On crowns that carry fine detail (supplemental grooves and ridges ~1 mm apart), a short
/// channel is that detail, alone or beside another: a drag stands out of it by running long
/// or deep.
fn stands_out_of_detail(m: &Groove) -> bool {
    m.length >= DETAILED_MIN_LENGTH_MM || m.depth.abs() >= DETAILED_MIN_DEPTH_MM
}

/// On a detailed scan, a drag mark shorter than this ...
const DETAILED_MIN_LENGTH_MM: f32 = 4.0;
/// ... and shallower than this is taken for the detail, mm.
const DETAILED_MIN_DEPTH_MM: f32 = 0.3;

/// The region vertices nearest the two ends of a mark's path.
fn end_vertices(scan: &ScanRef<'_, '_>, m: &Groove) -> Option<(u32, u32)> {
    let p = scan.positions();
    let nearest = |q: [f32; 3]| {
        m.vertices.iter().copied().min_by(|&a, &b| {
            let d = |v: u32| {
                (0..3)
                    .map(|k| (p[v as usize][k] - q[k]).powi(2))
                    .sum::<f32>()
            };
            d(a).total_cmp(&d(b))
        })
    };
    Some((nearest(*m.path.first()?)?, nearest(*m.path.last()?)?))
}

fn drag_message(m: &Groove, place: &Place, parallel: usize, words: Option<&str>) -> String {
    let what = if m.depth < 0.0 { "groove" } else { "ridge" };
    let run = words.map(|w| format!(", running {w}")).unwrap_or_default();
    let set = if parallel >= 2 {
        format!("; one of {parallel} parallel marks, the signature of a tray that moved while the material set")
    } else {
        String::new()
    };
    let why = if place.at_margin {
        "the finish line is distorted here, so the crown margin will not fit"
    } else if place.tooth.is_some() {
        "the tooth's surface is distorted along it, so a restoration made on it will bind or rock"
    } else {
        "the soft tissue is distorted along it, so a denture or tray border made on it will not seal"
    };
    format!(
        "Drag mark ({what}) {:.1} mm long, {:.2} mm wide, {:.2} mm deep{run}{set}: {why}.",
        m.length,
        m.width,
        m.depth.abs()
    )
}

fn smear_finding(places: &Places<'_, '_>, smear: &smears::Smear) -> Finding {
    let place = places.of(&smear.vertices);
    let severity = if place.at_margin {
        Severity::Critical
    } else {
        Severity::Minor
    };
    let run = places
        .arch_direction(smear.ends.0, smear.ends.1)
        .map(|d| format!(", running {}", direction_words(d)))
        .unwrap_or_default();
    let mut f = Finding::new(
        FindingKind::Smear,
        severity,
        smear.centre,
        smear.length,
        format!(
            "Smear {:.1} mm long, {:.1} mm wide{run}: the surface here keeps {:.0}% of the fine detail the rest of the tooth shows, so grooves and contacts in it are not recorded (material that slid while it set).",
            smear.length,
            smear.width,
            100.0 * smear.ratio
        ),
    )
    .with_metric("length_mm", f64::from(smear.length))
    .with_metric("width_mm", f64::from(smear.width))
    .with_metric("detail_ratio", f64::from(smear.ratio))
    .with_metric("direction_x", f64::from(smear.axis[0]))
    .with_metric("direction_y", f64::from(smear.axis[1]))
    .with_metric("direction_z", f64::from(smear.axis[2]));
    f.tooth = place.tooth.or(Some(smear.tooth));
    f.vertices = smear.vertices.clone();
    f
}

fn layer_finding(places: &Places<'_, '_>, layer: &layers::Layer) -> Finding {
    let place = places.of(&layer.vertices);
    let severity = if place.at_margin {
        Severity::Critical
    } else if place.tooth.is_some() {
        Severity::Major
    } else {
        Severity::Minor
    };
    let why = if place.tooth.is_some() {
        "the tooth's true surface is ambiguous here (a re-seated tray or scan frames that did not register), so a restoration cannot be designed on it"
    } else {
        "the soft tissue is recorded twice here, so its true position is unknown"
    };
    let mut f = Finding::new(
        FindingKind::DoubleSurface,
        severity,
        layer.centre,
        layer.size,
        format!(
            "Double surface {:.1} mm across: two sheets {:.2} mm apart{}: {why}.",
            layer.size,
            layer.gap,
            if layer.separate_shell {
                ", the outer one a separate shell"
            } else {
                ""
            }
        ),
    )
    .with_metric("gap_mm", f64::from(layer.gap))
    .with_metric("area_mm2", f64::from(layer.area))
    .with_metric("separate_shell", f64::from(u8::from(layer.separate_shell)));
    f.tooth = place.tooth;
    f.vertices = layer.vertices.clone();
    f
}

imprint_core::export_analyzer!(DragMarks);
