//! `margin`: each prepared tooth's finish line (margin), traced on the scan, and whether it
//! was captured whole and sharp — where most rejected crown impressions fail.
//!
//! **Tracing.** The mesh is cut by half-planes through the tooth's long axis (the tooth map's
//! crown centre and the arch's occlusal direction), 360 around the tooth, re-centred on the
//! line until its centre settles. In each section the finish line is a crisp kink: convex
//! where the ledge or chamfer turns down onto exposed root, concave where the gingiva abuts
//! the line and the preparation's wall meets it (the form of the two real lines the project
//! has). Its exact place is where lines fitted to the two sides meet, so the line is located
//! between mesh vertices. Crisp kinks that agree with their neighbours make the line; across
//! stretches without one it is interpolated (see [`trace`]). When the case file gives a line,
//! it is snapped to the surface, its offset reported, and the checks run along it instead.
//!
//! **Checks along the line**, one station every ~0.1 mm: a hole within the band around the
//! line (`margin_hole`), surface lying over the line (`margin_tissue`: gingiva, blood or
//! saliva over the finish line), a rounded edge (`margin_blur`: the two surfaces still meet
//! at an angle, but over a radius rather than at a line), and no edge at all (`margin_gap`).
//! Adjacent preparations whose lines come closer than 0.3 mm are reported once per pair
//! (`margin_overlap`, critical): both crowns' margins cannot be made and seated there.
//! Every uncaptured stretch of a crown or bridge margin is critical (DOMAIN.md: labs treat any
//! uncaptured segment as a rescan).
//!
//! **Defaults.** A crisp line: the two surfaces, fitted over 0.3 mm each side, meet at
//! ≥ 20° (a chamfer meets the root at 20–60° measured so, a shoulder at 45–90°), and ≥ 60%
//! of the turn happens within the fine scale (0.15 mm or 0.6 edge lengths) rather than over
//! the wide one (0.4 mm). The hole band is 0.5 mm each side of the line (the band; a
//! crown's margin needs that much to seat). Soft readings shorter than 0.3 mm are the noise of
//! the trace; two stretches less than 1.5 mm of captured line apart are one; a stretch still
//! shorter than 0.5 mm is not reported, nor counted as uncaptured, unless it holds a hole
//! (over 0.5 mm a line curving at a radius of 1 mm or more departs from the chord between its
//! captured ends by at most 0.03 mm). A scan coarser than 0.25 mm mean edge around the tooth cannot place a line
//! within the ~0.1 mm a crown's fit needs: its margin gets one review finding
//! (`margin_unresolved`) asking for a finer rescan instead of stretch-by-stretch verdicts
//! (holes are still reported).

pub mod section;
pub mod trace;

pub mod profile;

pub mod cloud;

use imprint_core::derived::DerivedKind;
use imprint_core::finding::{AnalyzerOutput, Finding, FindingKind, MarginLine, Severity};
use imprint_core::plugin::sdk::{Analyzer, Context, ScanRef};
use imprint_core::plugin::{Manifest, Parameter};
use imprint_core::util::polyline_distance;
use section::{Neighbourhood, ToothFrame};
use trace::{Settings, State, Station};

#[derive(Default)]
struct Margin;

impl Analyzer for Margin {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "margin".into(),
            name: "Margin (finish line) capture".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            interface_version: String::new(),
            kinds: vec![
                FindingKind::MarginGap,
                FindingKind::MarginBlur,
                FindingKind::MarginHole,
                FindingKind::MarginTissue,
                FindingKind::MarginOverlap,
                FindingKind::MarginUnresolved,
            ],
            needs: vec![
                DerivedKind::Adjacency,
                DerivedKind::BoundaryLoops,
                DerivedKind::ToothMap,
                DerivedKind::Bvh,
            ],
            parameters: vec![
                Parameter::new("band_mm", 0.5, "Half width of the band around the line checked for holes, mm."),
                Parameter::new("min_angle_deg", 20.0, "Smallest angle between the surfaces meeting at a crisp finish line, degrees."),
                Parameter::new("min_sharpness", 0.6, "Smallest share of the edge's turn within 0.15 mm for a crisp line (lower: rounded, blurred)."),
                Parameter::new("min_segment_mm", 0.5, "Shortest uncaptured stretch reported, mm (a hole is reported at any length). Over 0.5 mm of line a finish line curving at a radius of 1 mm or more departs from the chord between its captured ends by at most 0.03 mm, well inside a crown's ~0.1 mm fit tolerance, so the line there is set by its ends."),
                Parameter::new("min_clearance_mm", 0.3, "Closest two preparations' margins may come, mm (closer: their crowns' margins cannot both be made and seated)."),
                Parameter::new("max_edge_mm", 0.25, "Coarsest mean edge around a preparation at which its margin is judged, mm (coarser: one review finding asking for a finer rescan; holes still reported)."),
            ],
        }
    }

    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        self.analyze_output(ctx).map(|o| o.findings)
    }

    fn analyze_output(&self, ctx: &Context<'_, '_>) -> Result<AnalyzerOutput, String> {
        let scan = ctx.scan();
        let mut out = AnalyzerOutput::default();
        for prep in prepared_teeth(ctx) {
            let (findings, line) = check_tooth(ctx, &scan, &prep);
            out.findings.extend(findings);
            out.margin_lines.extend(line);
        }
        let clearance = ctx.param_f64("min_clearance_mm").unwrap_or(0.3) as f32;
        out.findings.extend(overlaps(&out.margin_lines, clearance));
        Ok(out)
    }
}

/// A prepared tooth named by the case file, with its drawn line when there is one.
struct Prepared {
    tooth: u8,
    given: Option<Vec<[f32; 3]>>,
}

fn prepared_teeth(ctx: &Context<'_, '_>) -> Vec<Prepared> {
    let case = ctx.case();
    let Some(list) = case["prepared_teeth"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| {
            let tooth = u8::try_from(p["tooth"].as_u64()?).ok()?;
            let given = serde_json::from_value(p["margin"].clone()).ok();
            Some(Prepared { tooth, given })
        })
        .collect()
}

/// The tooth's frame from the tooth map: its crown centre and the arch's occlusal direction.
fn frame_of(map: &serde_json::Value, tooth: u8) -> Option<(ToothFrame, f32, f32)> {
    let inst = map["teeth"]
        .as_array()?
        .iter()
        .find(|t| t["fdi"].as_u64() == Some(u64::from(tooth)))?;
    let vec3 =
        |v: &serde_json::Value| -> Option<[f32; 3]> { serde_json::from_value(v.clone()).ok() };
    let center = vec3(&inst["center"])?;
    let axis = vec3(&map["frame"]["occlusal"]).or_else(|| vec3(&inst["axis"]))?;
    let width = inst["width_mm"].as_f64().unwrap_or(8.0) as f32;
    let arch_s = inst["arch_s"].as_f64().unwrap_or(0.0) as f32;
    Some((ToothFrame::new(center, axis), width, arch_s))
}

fn settings(ctx: &Context<'_, '_>, edge: f32) -> Settings {
    let p = |name: &str, default: f64| ctx.param_f64(name).unwrap_or(default) as f32;
    Settings {
        sections: 360,
        wide_mm: 0.4,
        fine_mm: (0.6 * edge).max(0.15),
        min_angle_deg: p("min_angle_deg", 20.0),
        min_sharpness: p("min_sharpness", 0.6),
        band_mm: p("band_mm", 0.5),
    }
}

/// Traces and checks one prepared tooth: its findings and its line.
fn check_tooth(
    ctx: &Context<'_, '_>,
    scan: &ScanRef<'_, '_>,
    prep: &Prepared,
) -> (Vec<Finding>, Option<MarginLine>) {
    let map = scan.tooth_map();
    let Some((frame, width, arch_s)) = frame_of(&map, prep.tooth) else {
        let f = Finding::new(
            FindingKind::MarginGap,
            Severity::Critical,
            [0.0; 3],
            0.0,
            format!(
                "Prepared tooth {} was not found on the scan, so its margin cannot be checked: \
                 confirm the tooth number or rescan the preparation.",
                prep.tooth
            ),
        );
        return (vec![with_tooth(f, prep.tooth)], None);
    };
    let snapped = prep.given.as_ref().map(|line| snap(scan, line));
    let given = snapped.as_ref().map(|(line, _)| line.as_slice());
    let Some((traced, edge)) = trace_centred(ctx, scan, frame, width, given) else {
        let f = Finding::new(
            FindingKind::MarginGap,
            Severity::Critical,
            frame.center,
            0.0,
            format!(
                "No finish line could be traced on prepared tooth {}: the margin is not captured \
                 crisply anywhere around it. Retract, dry and rescan the preparation.",
                prep.tooth
            ),
        );
        return (vec![with_tooth(f, prep.tooth)], None);
    };
    let min_segment = ctx.param_f64("min_segment_mm").unwrap_or(0.5) as f32;
    let where_ = Orientation::of_line(scan, &traced.stations).unwrap_or(Orientation {
        scan,
        arch_s,
        half_width: width / 2.0,
    });
    let along = Along::new(&traced.stations);
    let uncaptured = stretches(&along, min_segment);
    let line = margin_line(prep.tooth, &along, &uncaptured, snapped.map(|(_, o)| o));
    let max_edge = ctx.param_f64("max_edge_mm").unwrap_or(0.25) as f32;
    let coarse = edge > max_edge;
    // On a scan too coarse to judge the line's sharpness, only holes are reported stretch by
    // stretch (missing surface is missing at any resolution); the rest is one finding.
    let mut findings: Vec<Finding> = uncaptured
        .iter()
        .filter(|s| !coarse || s.state == State::Hole)
        .map(|s| finding(prep.tooth, &along, s, &line, &where_))
        .collect();
    if coarse {
        findings.push(too_coarse(prep.tooth, &along, &line, edge, max_edge));
    }
    (findings, Some(line))
}

/// The finding for a preparation whose scan is too coarse to judge its margin.
fn too_coarse(tooth: u8, along: &Along<'_>, line: &MarginLine, edge: f32, max: f32) -> Finding {
    let mid = along.stations[along.stations.len() / 2].point;
    let message = format!(
        "Margin of {tooth} cannot be judged: the scan around it is too coarse (mean edge \
         {edge:.3} mm; {max:.2} mm or finer is needed to place a finish line within the \
         ~0.1 mm a crown's fit needs). Rescan the preparation at high resolution."
    );
    let mut f = Finding::new(
        FindingKind::MarginUnresolved,
        Severity::Major,
        mid,
        along.total,
        message,
    )
    .with_metric("mean_edge_mm", f64::from(edge))
    .with_metric("line_length_mm", f64::from(along.total))
    .with_metric("captured_fraction", f64::from(line.captured_fraction));
    f.tooth = Some(tooth);
    f.path = line.points.clone();
    f
}

/// Traces the line of the tooth at `frame` (see [`trace::trace_centred`]); with the
/// neighbourhood's mean edge length.
fn trace_centred(
    ctx: &Context<'_, '_>,
    scan: &ScanRef<'_, '_>,
    frame: ToothFrame,
    width: f32,
    given: Option<&[[f32; 3]]>,
) -> Option<(trace::Trace, f32)> {
    let radius = 0.5 * width.max(6.0) + 3.0;
    let hood = Neighbourhood::new(
        &frame,
        scan.positions(),
        scan.triangles(),
        radius,
        (-7.0, 9.0),
    );
    let edge = hood.mean_edge();
    let settings = settings(ctx, edge);
    let boundary: Vec<[f32; 3]> = hood
        .vertices()
        .filter(|&v| scan.on_boundary().get(v as usize).copied().unwrap_or(false))
        .map(|v| scan.positions()[v as usize])
        .collect();
    trace::trace_centred(frame, hood, &settings, given, &boundary).map(|t| (t, edge))
}

/// Pairs of margin lines closer than `clearance` somewhere: one critical finding per pair,
/// at the closest point, with the length of line within the clearance.
fn overlaps(lines: &[MarginLine], clearance: f32) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            let close: Vec<(usize, f32)> = a
                .points
                .iter()
                .enumerate()
                .map(|(k, p)| (k, polyline_distance(*p, &b.points, true)))
                .filter(|&(_, d)| d < clearance)
                .collect();
            let Some(&(at, closest)) = close.iter().min_by(|x, y| x.1.total_cmp(&y.1)) else {
                continue;
            };
            let step = a.length_mm / a.points.len().max(1) as f32;
            let length = step * close.len() as f32;
            let message = format!(
                "Margins of {} and {} come within {closest:.2} mm of each other over {length:.1} mm \
                 (at least {clearance:.1} mm is needed): the two crowns' margins cannot both be \
                 made and seated. Check the proximal reduction between the preparations, or \
                 redraw the lines apart.",
                a.tooth, b.tooth
            );
            let mut f = Finding::new(
                FindingKind::MarginOverlap,
                Severity::Critical,
                a.points[at],
                length,
                message,
            )
            .with_metric("closest_mm", f64::from(closest))
            .with_metric("length_mm", f64::from(length))
            .with_metric("other_tooth", f64::from(b.tooth));
            f.tooth = Some(a.tooth);
            f.path = close.iter().map(|&(k, _)| a.points[k]).collect();
            out.push(f);
        }
    }
    out
}

/// The case file's line snapped to the surface, and its mean offset before snapping.
fn snap(scan: &ScanRef<'_, '_>, line: &[[f32; 3]]) -> (Vec<[f32; 3]>, f32) {
    let mut total = 0.0;
    let snapped: Vec<[f32; 3]> = line
        .iter()
        .map(|p| match scan.closest_point(*p, 2.0) {
            Some(c) => {
                total += c.distance;
                c.point
            }
            None => {
                total += 2.0;
                *p
            }
        })
        .collect();
    let offset = total / line.len().max(1) as f32;
    (snapped, offset)
}

fn with_tooth(mut f: Finding, tooth: u8) -> Finding {
    f.tooth = Some(tooth);
    f
}

/// The stations of a traced line with their cumulative arc length (closed line).
struct Along<'t> {
    stations: &'t [Station],
    /// Arc length at each station from station 0, mm.
    acc: Vec<f32>,
    /// The whole closed line, mm.
    total: f32,
}

impl<'t> Along<'t> {
    fn new(stations: &'t [Station]) -> Self {
        let mut acc = Vec::with_capacity(stations.len());
        let mut s = 0.0;
        for i in 0..stations.len() {
            acc.push(s);
            let (a, b) = (stations[i].point, stations[(i + 1) % stations.len()].point);
            s += (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt();
        }
        Self {
            stations,
            acc,
            total: s,
        }
    }

    /// Arc length of the `len` stations' stretch from `start` (circular).
    fn length(&self, start: usize, len: usize) -> f32 {
        let n = self.stations.len();
        if len >= n {
            return self.total;
        }
        (self.acc[(start + len) % n] - self.acc[start]).rem_euclid(self.total)
    }
}

fn margin_line(
    tooth: u8,
    along: &Along<'_>,
    uncaptured: &[Stretch],
    offset: Option<f32>,
) -> MarginLine {
    let stations = along.stations;
    let of = |pred: &dyn Fn(&Station) -> bool| {
        let l: f32 = (0..stations.len())
            .filter(|&i| pred(&stations[i]))
            .map(|i| along.length(i, 1))
            .sum();
        l / along.total.max(1e-6)
    };
    MarginLine {
        tooth,
        scan: 0,
        points: stations.iter().map(|s| s.point).collect(),
        length_mm: along.total,
        source: if offset.is_some() { "case" } else { "detected" }.into(),
        confidence: of(&|s| s.crisp),
        captured_fraction: 1.0
            - uncaptured
                .iter()
                .map(|s| along.length(s.start, s.len))
                .sum::<f32>()
                / along.total.max(1e-6),
        case_offset_mm: offset,
    }
}

/// An uncaptured stretch of stations, `start..start + len` (circular), and what is wrong
/// there.
struct Stretch {
    state: State,
    start: usize,
    len: usize,
}

/// Circular runs of equal values: `(start, len)`, one run for a constant sequence.
fn runs<T: PartialEq>(v: &[T]) -> Vec<(usize, usize)> {
    let n = v.len();
    let Some(anchor) = (0..n).find(|&i| v[i] != v[(i + n - 1) % n]) else {
        return if n == 0 { Vec::new() } else { vec![(0, n)] };
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let start = (anchor + i) % n;
        let len = (0..n - i)
            .take_while(|&k| v[(start + k) % n] == v[start])
            .count();
        out.push((start, len));
        i += len;
    }
    out
}

/// Captured stretches shorter than this between two uncaptured ones do not split them: one
/// flaw the trace reads in pieces (tissue with a crisp reading through it) is one place for
/// the technician to look at. Flaws further apart stay apart (the phantoms keep theirs 2 mm
/// of line apart), mm.
const BRIDGE_MM: f32 = 1.5;

/// Uncaptured blips shorter than this are noise of the trace, mm; they are dropped before
/// neighbouring stretches are bridged.
const BLIP_MM: f32 = 0.3;

/// The uncaptured stretches worth reporting. After a running median of the verdicts,
/// uncaptured blips shorter than [`BLIP_MM`] are dropped first, unless they hold a hole;
/// then captured stretches shorter than [`BRIDGE_MM`] between the stretches left do not
/// split them; last, stretches still shorter than `min_mm` are dropped (again unless they
/// hold a hole). A stretch is named by its worst verdict: a hole if it has one, else the
/// verdict covering most of it.
fn stretches(along: &Along<'_>, min_mm: f32) -> Vec<Stretch> {
    let stations = along.stations;
    let n = stations.len();
    let mut bad: Vec<bool> = stations
        .iter()
        .map(|s| s.state != State::Captured)
        .collect();
    // A circular median of 7 stations (~0.5 mm): isolated soft readings on a clean line
    // drop out, isolated crisp ones inside a blurred stretch do not split it.
    let raw = bad.clone();
    for (i, b) in bad.iter_mut().enumerate() {
        let votes = (0..7).filter(|k| raw[(i + n + k - 3) % n]).count();
        *b = stations[i].state == State::Hole || votes >= 4;
    }
    let holed =
        |start: usize, len: usize| (0..len).any(|k| stations[(start + k) % n].state == State::Hole);
    let drop_shorter = |bad: &mut Vec<bool>, min: f32| {
        for (start, len) in runs(bad) {
            if bad[start] && along.length(start, len) < min && !holed(start, len) {
                (0..len).for_each(|k| bad[(start + k) % n] = false);
            }
        }
    };
    drop_shorter(&mut bad, BLIP_MM.min(min_mm));
    for (start, len) in runs(&bad) {
        if !bad[start] && len < n && along.length(start, len) < BRIDGE_MM.max(min_mm) {
            (0..len).for_each(|k| bad[(start + k) % n] = true);
        }
    }
    drop_shorter(&mut bad, min_mm);
    runs(&bad)
        .into_iter()
        .filter(|&(start, _)| bad[start])
        .map(|(start, len)| Stretch {
            state: worst(along, start, len),
            start,
            len,
        })
        .collect()
}

/// The verdict naming a stretch: `Hole` if any station has one, else the uncaptured verdict
/// covering the most length.
fn worst(along: &Along<'_>, start: usize, len: usize) -> State {
    let n = along.stations.len();
    let states = (0..len).map(|k| ((start + k) % n, along.stations[(start + k) % n].state));
    if states.clone().any(|(_, s)| s == State::Hole) {
        return State::Hole;
    }
    [State::Tissue, State::Blur, State::Gap]
        .into_iter()
        .max_by(|a, b| {
            let of = |x: State| -> f32 {
                states
                    .clone()
                    .filter(|&(_, s)| s == x)
                    .map(|(i, _)| along.length(i, 1))
                    .sum()
            };
            of(*a).total_cmp(&of(*b))
        })
        .unwrap_or(State::Gap)
}

/// Where on the tooth a point lies, in words.
struct Orientation<'a, 'i, 's> {
    scan: &'a ScanRef<'i, 's>,
    arch_s: f32,
    half_width: f32,
}

impl<'a, 'i, 's> Orientation<'a, 'i, 's> {
    /// Centred on the traced line's own extent along the arch (the tooth map's instance of a
    /// prepared tooth can reach past the crown onto the gingiva behind it, and then a distal
    /// stretch read as mesial); `None` without arch coordinates.
    fn of_line(scan: &'a ScanRef<'i, 's>, stations: &[trace::Station]) -> Option<Self> {
        let s: Vec<f32> = stations
            .iter()
            .filter_map(|st| st.vertex)
            .filter_map(|v| scan.arch_coords(v as usize))
            .map(|c| c[0])
            .collect();
        let lo = s.iter().copied().min_by(f32::total_cmp)?;
        let hi = s.iter().copied().max_by(f32::total_cmp)?;
        Some(Self {
            scan,
            arch_s: 0.5 * (lo + hi),
            half_width: 0.5 * (hi - lo),
        })
    }

    fn words(&self, vertex: Option<u32>) -> &'static str {
        let Some([s, t, _]) = vertex.and_then(|v| self.scan.arch_coords(v as usize)) else {
            return "";
        };
        let along = (s - self.arch_s) / self.half_width.max(1.0);
        let across = t / 4.5;
        let mesial = s.abs() < self.arch_s.abs();
        match (along.abs() > 0.6, across.abs() > 0.5) {
            (true, true) => match (mesial, across > 0.0) {
                (true, true) => "mesiobuccal",
                (true, false) => "mesiolingual",
                (false, true) => "distobuccal",
                (false, false) => "distolingual",
            },
            (true, false) => {
                if mesial {
                    "mesial"
                } else {
                    "distal"
                }
            }
            _ => {
                if across > 0.0 {
                    "buccal"
                } else {
                    "lingual"
                }
            }
        }
    }
}

fn finding(
    tooth: u8,
    along: &Along<'_>,
    s: &Stretch,
    line: &MarginLine,
    where_: &Orientation<'_, '_, '_>,
) -> Finding {
    let stations = along.stations;
    let n = stations.len();
    let (acc, total) = (&along.acc, along.total);
    let end = (s.start + s.len) % n;
    let length = along.length(s.start, s.len);
    let mid = &stations[(s.start + s.len / 2) % n];
    let path: Vec<[f32; 3]> = (0..=s.len.min(n - 1))
        .map(|k| stations[(s.start + k) % n].point)
        .collect();
    let side = where_.words(mid.vertex);
    let (kind, what, why) = match s.state {
        State::Hole => (
            FindingKind::MarginHole,
            "missing surface (a hole) on the finish line",
            "the crown's edge cannot be placed where there is no surface",
        ),
        State::Tissue => (
            FindingKind::MarginTissue,
            "tissue (or fluid) lying over the finish line",
            "the line is hidden, so the crown would end short or over gingiva",
        ),
        State::Blur => (
            FindingKind::MarginBlur,
            "a rounded, blurred finish line",
            "its position is uncertain by more than a crown's marginal gap (~0.1 mm)",
        ),
        State::Gap | State::Captured => (
            FindingKind::MarginGap,
            "no finish line captured",
            "the lab cannot see where the crown must end",
        ),
    };
    let angle: f32 = (0..s.len)
        .map(|k| stations[(s.start + k) % n].angle_deg)
        .sum::<f32>()
        / s.len.max(1) as f32;
    let message = format!(
        "Margin of {tooth}: {length:.1} mm {side}{sep}{what}; {why}. {pct:.0}% of the \
         {total:.1} mm line is captured cleanly. Retract and rescan the preparation.",
        sep = if side.is_empty() { "" } else { " with " },
        pct = 100.0 * line.captured_fraction,
    );
    let mut f = Finding::new(kind, Severity::Critical, mid.point, length, message)
        .with_metric("length_mm", f64::from(length))
        .with_metric("arc_start_mm", f64::from(acc[s.start]))
        .with_metric("arc_end_mm", f64::from(acc[end]))
        .with_metric("line_length_mm", f64::from(total))
        .with_metric("captured_fraction", f64::from(line.captured_fraction))
        .with_metric("edge_angle_deg", f64::from(angle));
    f.tooth = Some(tooth);
    f.path = path;
    f.vertices = (0..s.len)
        .filter_map(|k| stations[(s.start + k) % n].vertex)
        .collect();
    f.vertices.dedup();
    f
}

imprint_core::export_analyzer!(Margin);

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed line of 400 stations 0.1 mm apart, `Tissue` on the given station ranges.
    fn line(tissue: &[std::ops::Range<usize>]) -> Vec<Station> {
        (0..400)
            .map(|i| {
                let a = i as f32 * std::f32::consts::TAU / 400.0;
                let r = 40.0 / std::f32::consts::TAU;
                let state = if tissue.iter().any(|t| t.contains(&i)) {
                    State::Tissue
                } else {
                    State::Captured
                };
                Station {
                    point: [r * a.cos(), r * a.sin(), 0.0],
                    vertex: None,
                    state,
                    without_hole: state,
                    angle_deg: 0.0,
                    crisp: state == State::Captured,
                }
            })
            .collect()
    }

    #[test]
    fn a_flaw_read_in_pieces_is_one_stretch_and_flaws_apart_stay_apart() {
        // Two 1 mm pieces with 1 mm of crisp readings between them: one flaw.
        let pieces = line(&[100..110, 120..130]);
        let found = stretches(&Along::new(&pieces), 0.3);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].len), (100, 30));
        // Two flaws 2.5 mm apart: two.
        let apart = line(&[100..110, 135..145]);
        assert_eq!(stretches(&Along::new(&apart), 0.3).len(), 2);
    }

    #[test]
    fn short_pieces_count_once_bridged_and_a_lone_short_one_is_dropped() {
        // A lone 0.4 mm soft reading: under the 0.5 mm minimum, the line there is set by its
        // ends.
        let lone = line(std::slice::from_ref(&(100..104)));
        assert!(stretches(&Along::new(&lone), 0.5).is_empty());
        // Two such pieces 1 mm apart are one flaw read in pieces: bridged first, 1.8 mm.
        let found = stretches(&Along::new(&line(&[100..104, 114..118])), 0.5);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].len), (100, 18));
    }
}
