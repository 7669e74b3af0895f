//! Tracing one prepared tooth's finish line and checking its capture, section by section.
//!
//! 1. In every radial section, the finish line candidates are the crisp kinks: convex ones
//!    (a crease: chamfer or shoulder turning down onto exposed root) and concave ones (a
//!    junction: the preparation's wall meeting gingiva that abuts the line).
//! 2. Crisp candidates that agree with their neighbours make the reference line, sharp ones
//!    preferred, detours onto other creases pruned; where no crisp candidate exists, the line
//!    is interpolated from both sides (or taken from the case file's line when one was
//!    given). A crease with only the occlusal table inside it is the crown's top edge (its
//!    occlusal-axial line angle), and the line is searched below it. A crease running
//!    round most of the tooth is the line; otherwise the better of
//!    crease and junction ([`Form`]), except that a junction lying just below the crease
//!    round most of the tooth is the exposed root's foot on the gingiva, and the crease is
//!    then followed through its softer kinks above that foot. A detour dropped from the
//!    line leaves its stretch to a second run through the kinks near the line kept.
//! 3. Each section is then judged against the reference: captured (a crisp kink on the
//!    line), hole (missing surface within the band), tissue (surface lying over the line, a
//!    notch inside the kink, or a kink the surface inside rises to: the outer edge of a hump
//!    over the line, where a preparation's wall would descend), blur (a rounded kink), or gap
//!    (no kink at all).

use crate::profile::{Kink, Profile};
use crate::section::{Sections, ToothFrame};

/// How a stretch of the line was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A crisp finish line where the line runs.
    Captured,
    /// Missing surface in the band around the line.
    Hole,
    /// Surface lying over the line.
    Tissue,
    /// A rounded, unsharp edge.
    Blur,
    /// No edge at all.
    Gap,
}

/// Settings of a trace.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Sections around the tooth.
    pub sections: usize,
    /// Wide turning scale, mm.
    pub wide_mm: f32,
    /// Fine turning scale, mm.
    pub fine_mm: f32,
    /// Smallest angle between the surfaces at a crisp line, degrees.
    pub min_angle_deg: f32,
    /// Smallest fine/wide turning ratio of a crisp line.
    pub min_sharpness: f32,
    /// Half width of the band around the line checked for holes, mm.
    pub band_mm: f32,
}

/// One section's verdict.
#[derive(Debug, Clone, Copy)]
pub struct Station {
    /// The line there, world mm.
    pub point: [f32; 3],
    /// Nearest mesh vertex.
    pub vertex: Option<u32>,
    /// Verdict.
    pub state: State,
    /// The verdict had there been no hole nearby.
    pub without_hole: State,
    /// The kink's fitted angle there, degrees (0 without one).
    pub angle_deg: f32,
    /// A crisp kink was found on the line here.
    pub crisp: bool,
}

/// A finished trace.
pub struct Trace {
    /// One station per section, in angle order.
    pub stations: Vec<Station>,
}

/// Cost of a kink in the line before its reward for turning: kinks turning less than ~24°
/// (the occlusal table's edge, the gingival crest) earn nothing, so the line does not detour
/// over them where the finish line itself is missing.
const KINK_BASE: f32 = 0.8;
/// Change of the line between neighbouring sections that costs nothing, mm (sections ~1°
/// apart are ~0.07 mm apart along the line; a line may climb as steeply as it runs).
const STEP_FREE_MM: f32 = 0.1;
/// Most sections a line may skip from one kink to the next (~0.8 mm of line).
const MAX_SKIP: usize = 10;
/// Cost per skipped section.
const SKIP_COST: f32 = 0.15;
/// Half-width of the profile over which a rounded (blurred) edge's turn is measured, mm.
const ROUNDED_SCALE_MM: f32 = 0.8;
/// A jump between consecutive kinks of the line that splits it into separate runs, mm.
const BREAK_MM: f32 = 0.8;
/// Cost of entering or leaving a run of sections without a kink on the line.
const ENTER_COST: f32 = 1.0;

/// Width inside the line searched for a notch left by tissue lying over it, mm.
const TISSUE_SPAN_MM: f32 = 0.6;
/// Depth of such a notch that means tissue, mm (scan noise stays well below; the thinnest
/// tissue the phantoms lay, 0.1 mm, leaves ~0.05 mm).
const TISSUE_BUMP_MM: f32 = 0.03;

/// A crisp convex kink that the surface inside it *rises* towards by more than this is the
/// outer edge of a hump lying over the line (tissue rolled over it), not the finish line: a
/// preparation's wall or chamfer descends onto its line. Measured on the suite's stations
/// (400k phantoms, seeds 401–406 and 451–460): of ~12,600 crisp readings on clean line 0.2%
/// rise more than 12° (scattered singles, which the verdicts' running median drops), of 285
/// under tissue 86% do. Without this test the trace rode the tissue's edge 0.2 mm off the
/// line and called most of it captured, degrees.
const HUMP_RISE_DEG: f32 = 12.0;

/// Most traces of one tooth (each around the previous line's centre).
const MAX_TRACES: usize = 4;

/// Share of sections with a crisp kink on the line below which a settled trace is doubted
/// and the trace is started again from around its centre (flaw-free lines have 95–98%).
const RESTART_BELOW: f32 = 0.8;

/// How far from the settled centre the other starts lie, mm.
const RESTART_MM: f32 = 1.5;

/// Traces the line around `frame`; while the line's centre lies more than 0.3 mm off the
/// frame's axis (a tooth map's centre of a prepared crown can be millimetres off, and
/// sections from an off-centre axis graze the line), traces again around that centre.
/// A settled line with few crisp stations may be another crease that the off-centre axis
/// made self-consistent: the trace is then started again from four axes `RESTART_MM` around
/// it, and the line with the most crisp stations kept.
/// (Re-aiming the axis at the plane of the line's crisp stations was tried and measured:
/// on phantoms it lost tissue findings, on the real point clouds it did not help.)
pub fn trace_centred<H: Sections>(
    frame: ToothFrame,
    hood: H,
    settings: &Settings,
    given: Option<&[[f32; 3]]>,
    boundary: &[[f32; 3]],
) -> Option<Trace> {
    let (mut best, settled, hood) = settle(frame, hood, settings, given, boundary)?;
    if given.is_some() || best.crisp_share() >= RESTART_BELOW {
        return Some(best);
    }
    for (du, dv) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
        let start = settled.shifted(RESTART_MM * du, RESTART_MM * dv);
        let moved = hood.recentred(&settled, &start);
        if let Some((t, _, _)) = settle(start, moved, settings, given, boundary) {
            if t.crisp_share() > best.crisp_share() {
                best = t;
            }
        }
    }
    Some(best)
}

/// Traces around `frame` and re-centres until the line's centre stays within 0.3 mm of the
/// axis: the trace, and the frame and surface it was made in.
fn settle<H: Sections>(
    frame: ToothFrame,
    hood: H,
    settings: &Settings,
    given: Option<&[[f32; 3]]>,
    boundary: &[[f32; 3]],
) -> Option<(Trace, ToothFrame, H)> {
    let mut traced = trace(&frame, &hood, settings, given, boundary)?;
    let (mut frame, mut hood) = (frame, hood);
    for _ in 1..MAX_TRACES {
        let l = frame.local(traced.centroid());
        if l[0].hypot(l[1]) <= 0.3 {
            break;
        }
        let next = frame.shifted(l[0], l[1]);
        let moved = hood.recentred(&frame, &next);
        match trace(&next, &moved, settings, given, boundary) {
            Some(t) => (traced, frame, hood) = (t, next, moved),
            None => break,
        }
    }
    Some((traced, frame, hood))
}

impl Trace {
    /// Share of its stations with a crisp kink on the line.
    pub fn crisp_share(&self) -> f32 {
        let crisp = self.stations.iter().filter(|s| s.crisp).count();
        crisp as f32 / self.stations.len().max(1) as f32
    }

    /// The line's centroid, each station weighted by the length of line it stands for.
    pub fn centroid(&self) -> [f32; 3] {
        let n = self.stations.len();
        let p = |i: usize| self.stations[i % n].point;
        let d =
            |a: [f32; 3], b: [f32; 3]| (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt();
        let (mut sum, mut total) = ([0.0f32; 3], 0.0f32);
        for i in 0..n {
            let w = 0.5 * (d(p(i), p(i + 1)) + d(p(i + n - 1), p(i)));
            (0..3).for_each(|k| sum[k] += w * p(i)[k]);
            total += w;
        }
        sum.map(|x| x / total.max(1e-6))
    }
}

/// What the finish line looks like in the sections: where the surface beyond it descends
/// (exposed root below a chamfer or shoulder), the line is a convex crease; where the
/// gingiva abuts it (an equigingival margin, as in the real lines the project has), it is a
/// concave junction between the preparation's wall and the gingiva.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A convex crease.
    Crease,
    /// A concave junction.
    Junction,
}

/// The per-section candidates before the reference line exists.
struct Candidate {
    /// Convex kinks, then concave ones.
    kinks: [Vec<Kink>; 2],
    profiles: Vec<Profile>,
}

impl Candidate {
    fn of(&self, form: Form) -> &[Kink] {
        &self.kinks[form as usize]
    }
}

/// Traces and judges the line of the tooth at `frame`. `given`: the case file's line (world
/// points), used as the reference instead of the detection. `boundary`: boundary vertices'
/// positions near the tooth.
pub fn trace(
    frame: &ToothFrame,
    hood: &impl Sections,
    settings: &Settings,
    given: Option<&[[f32; 3]]>,
    boundary: &[[f32; 3]],
) -> Option<Trace> {
    let n = settings.sections;
    let thetas: Vec<f32> = (0..n)
        .map(|k| std::f32::consts::TAU * k as f32 / n as f32)
        .collect();
    let neighbours = hood.has_neighbours();
    let candidates: Vec<Candidate> = thetas
        .iter()
        .map(|&theta| {
            let profiles: Vec<Profile> = hood.section(theta).iter().map(Profile::new).collect();
            let (w, f) = (settings.wide_mm, settings.fine_mm);
            let convex = profiles.iter().flat_map(|p| p.kinks(w, f, 20.0)).collect();
            let concave = profiles
                .iter()
                .flat_map(|p| p.concave_kinks(w, f, 20.0))
                .filter(|k| !(neighbours && at_foot_of_wall(k)))
                .collect();
            Candidate {
                kinks: [convex, concave],
                profiles,
            }
        })
        .collect();
    let (reference, form) = match given {
        Some(line) => {
            let reference = reference_from_line(frame, line, &thetas)?;
            // The form whose kinks lie on the given line more often.
            let on = |form: Form| {
                candidates
                    .iter()
                    .zip(&reference)
                    .filter(|(c, r)| c.of(form).iter().any(|k| dist(k.at, **r) <= 0.15))
                    .count()
            };
            let form = if on(Form::Junction) > on(Form::Crease) {
                Form::Junction
            } else {
                Form::Crease
            };
            (reference, form)
        }
        None => reference_of_either(&candidates, settings)?,
    };
    let mut stations: Vec<Station> = thetas
        .iter()
        .zip(&candidates)
        .zip(&reference)
        .map(|((&theta, c), &r)| judge(frame, theta, c, form, r, settings, boundary))
        .collect();
    narrow_holes(&mut stations, &candidates, &reference, settings.fine_mm);
    Some(Trace { stations })
}

/// The reference `(rho, z)` per section: one crisp kink per section (or none), chosen by
/// dynamic programming around the tooth so the line runs smoothly (small steps between
/// neighbouring sections) through as many sharp kinks as it can: a kink's reward grows with
/// its angle, since the finish line (chamfer or shoulder onto the root, 40–90°) turns more
/// than the occlusal table's edge above it or the gingival crest below it (20–30°). A slight
/// preference for lower kinks breaks ties toward the root. Sections left without one are
/// interpolated. `None` when fewer than a quarter of the sections have one.
fn reference_from_kinks(
    candidates: &[Candidate],
    settings: &Settings,
    form: Form,
    guide: Option<&Guide>,
) -> Option<Reference> {
    let n = candidates.len();
    let (crisp, rewards) = crisp_kinks(candidates, settings, form, guide)?;
    let (chosen, total) = programme(&crisp, &rewards);
    let enough = |c: &[Option<[f32; 2]>]| c.iter().flatten().count() * 4 >= n;
    let mut pruned = chosen.clone();
    prune_detours(&mut pruned);
    // A detour dropped leaves a stretch the line crosses as a chord; the finish line's own
    // kinks there lost to the detour's (a prepared neighbour's sharper line beside it).
    // The programme runs again on the kinks near the line it kept.
    let (chosen, mut pruned) = if pruned != chosen && enough(&pruned) {
        let line = interpolate(&pruned);
        let (near, near_rewards): (Vec<Vec<[f32; 2]>>, Vec<Vec<f32>>) = (0..n)
            .map(|k| {
                crisp[k]
                    .iter()
                    .zip(&rewards[k])
                    .filter(|(q, _)| dist(**q, line[k]) <= CORRIDOR_MM)
                    .unzip()
            })
            .unzip();
        let (again, _) = programme(&near, &near_rewards);
        let mut pruned = again.clone();
        prune_detours(&mut pruned);
        (again, pruned)
    } else {
        (chosen, pruned)
    };
    // Pruning may leave too little from an axis far off the tooth's centre; the rough line
    // still shows where the centre is.
    let coverage = pruned.iter().flatten().count() as f32 / n as f32;
    follow_into_gaps(&mut pruned, &crisp);
    let line = if enough(&pruned) {
        interpolate(&pruned)
    } else if enough(&chosen) {
        interpolate(&chosen)
    } else {
        return None;
    };
    Some(Reference {
        line,
        cost: total,
        coverage,
    })
}

/// Farthest a kink may lie from the line kept after a detour was dropped to be taken in the
/// programme's second run, mm: a chord across the dropped stretch departs from the finish
/// line by up to ~0.25 mm on the phantoms, and a neighbour's line lies 1 mm or more away.
const CORRIDOR_MM: f32 = 0.5;

/// Per section, the crisp kinks of `form` and each one's reward (negative: the programme
/// minimises), or `None` when no section has one.
#[allow(clippy::type_complexity)]
fn crisp_kinks(
    candidates: &[Candidate],
    settings: &Settings,
    form: Form,
    guide: Option<&Guide>,
) -> Option<(Vec<Vec<[f32; 2]>>, Vec<Vec<f32>>)> {
    let base = guide.map_or(KINK_BASE, Guide::base);
    let crisp: Vec<Vec<([f32; 2], f32)>> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.of(form)
                .iter()
                .filter(|k| k.crisp(settings.min_angle_deg, settings.min_sharpness))
                .filter(|k| guide.is_none_or(|g| g.admits(i, k.at)))
                .filter(|k| form == Form::Crease || k.outer_descent_deg <= JUNCTION_MAX_DESCENT_DEG)
                .map(|k| (k.at, k.fitted_deg))
                .collect()
        })
        .collect();
    let low = crisp
        .iter()
        .flatten()
        .map(|p| p.0[1])
        .min_by(f32::total_cmp)?;
    // Toward the root for a crease, toward the crown for a junction (the gingival crest's
    // and the sulcus' corners lie beyond it).
    let rewards = crisp
        .iter()
        .map(|ks| {
            ks.iter()
                .map(|(at, deg)| base - (deg / 30.0).min(2.5) + 0.05 * (at[1] - low))
                .collect()
        })
        .collect();
    let points = crisp
        .into_iter()
        .map(|ks| ks.into_iter().map(|k| k.0).collect())
        .collect();
    Some((points, rewards))
}

/// The dynamic programme round the tooth: per section one of its kinks or none, and the
/// total cost.
fn programme(crisp: &[Vec<[f32; 2]>], rewards: &[Vec<f32>]) -> (Vec<Option<[f32; 2]>>, f32) {
    let n = crisp.len();
    let step = |a: Option<[f32; 2]>, b: Option<[f32; 2]>| match (a, b) {
        (Some(a), Some(b)) => (4.0 * (dist(a, b) - STEP_FREE_MM).max(0.0)).min(8.0),
        (None, None) => 0.0,
        _ => ENTER_COST,
    };
    // Two laps round the tooth; the second lap's choices do not depend on where the first
    // one started. A kink may follow the previous section's state, or a kink up to
    // `MAX_SKIP` sections back (the sections between are interpolated: single sections
    // where the crease reads soft do not break the line).
    let states = |k: usize| -> Vec<Option<[f32; 2]>> {
        std::iter::once(None)
            .chain(crisp[k % n].iter().copied().map(Some))
            .collect()
    };
    let unary = |k: usize, j: usize| j.checked_sub(1).map_or(0.0, |j| rewards[k % n][j]);
    let mut cost: Vec<Vec<f32>> = Vec::with_capacity(2 * n);
    let mut back: Vec<Vec<(usize, usize)>> = Vec::with_capacity(2 * n);
    for k in 0..2 * n {
        let here = states(k);
        let mut row_cost = Vec::with_capacity(here.len());
        let mut row_back = Vec::with_capacity(here.len());
        for (j, s) in here.iter().enumerate() {
            let mut best = (0.0f32, (k, 0));
            if k > 0 {
                best = (f32::INFINITY, (k - 1, 0));
                for (i, q) in states(k - 1).iter().enumerate() {
                    let c = cost[k - 1][i] + step(*q, *s);
                    if c < best.0 {
                        best = (c, (k - 1, i));
                    }
                }
                if s.is_some() {
                    for gap in 2..=MAX_SKIP.min(k) {
                        for (i, q) in states(k - gap).iter().enumerate().skip(1) {
                            let c = cost[k - gap][i] + step(*q, *s) + SKIP_COST * (gap - 1) as f32;
                            if c < best.0 {
                                best = (c, (k - gap, i));
                            }
                        }
                    }
                }
            }
            row_cost.push(best.0 + unary(k, j));
            row_back.push(best.1);
        }
        cost.push(row_cost);
        back.push(row_back);
    }
    let last = 2 * n - 1;
    let mut pick = (
        last,
        cost[last]
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i),
    );
    let total = cost[last][pick.1];
    let mut chosen: Vec<Option<[f32; 2]>> = vec![None; n];
    while pick.0 >= n {
        chosen[pick.0 - n] = states(pick.0)[pick.1];
        pick = back[pick.0][pick.1];
    }
    (chosen, total)
}

/// Largest change of the line between neighbouring sections when following it into a gap, mm.
const FOLLOW_STEP_MM: f32 = 0.12;

/// Extends the line into each stretch the programme left without kinks, from both ends,
/// section by section, through the crisp kink nearest the last one while it lies within
/// `FOLLOW_STEP_MM`: where the line bends faster than the programme's steps allow, the
/// kinks that continue it are kept instead of a chord across the bend.
fn follow_into_gaps(line: &mut [Option<[f32; 2]>], crisp: &[Vec<[f32; 2]>]) {
    let n = line.len();
    if line.iter().all(Option::is_none) {
        return;
    }
    for forward in [true, false] {
        let mut last: Option<[f32; 2]> = None;
        for i in 0..2 * n {
            let k = if forward { i % n } else { (2 * n - 1 - i) % n };
            match line[k] {
                Some(p) => last = Some(p),
                None => {
                    let next = last.and_then(|p| {
                        crisp[k]
                            .iter()
                            .copied()
                            .filter(|q| dist(*q, p) <= FOLLOW_STEP_MM)
                            .min_by(|a, b| dist(*a, p).total_cmp(&dist(*b, p)))
                    });
                    line[k] = next;
                    last = next;
                }
            }
        }
    }
}

/// A reference line chosen from kinks of one form.
struct Reference {
    /// `(rho, z)` per section.
    line: Vec<[f32; 2]>,
    /// Its cost in the dynamic programme (lower is better).
    cost: f32,
    /// Share of sections where a kink (not an interpolation) makes the line.
    coverage: f32,
}

/// Steepest outward descent beyond a junction that can be gingiva abutting the line,
/// degrees: the junction of the axial wall and a chamfer has the chamfer (35–45°) beyond it;
/// gingiva at the line lies flat or rises.
const JUNCTION_MAX_DESCENT_DEG: f32 = 20.0;

/// A concave kink whose outer side rises at least this steeply, degrees ...
const WALL_RISE_DEG: f32 = 50.0;
/// ... while the surface before it falls onto it by less than this, degrees, ...
const WALL_MIN_INNER_DESCENT_DEG: f32 = 15.0;

/// ... is the foot of a wall rising from gingiva: beside a preparation, the collar running
/// up to the neighbouring crown. A preparation's wall or chamfer falls onto its own line (a
/// steep chamfer at ~45°). Only where neighbouring teeth can be in the sections: a shoulder
/// with gingiva rising steeply beyond it reads the same way, and the lone preparations of
/// the real point clouds have such lines.
fn at_foot_of_wall(k: &Kink) -> bool {
    k.outer_descent_deg <= -WALL_RISE_DEG && k.inner_descent_deg < WALL_MIN_INNER_DESCENT_DEG
}

/// Share of sections a crease must cover for the line to be read as one; below it, the
/// better of crease and junction is taken. On the phantoms a chamfer's or shoulder's crease
/// covers 79–100% of the sections; round an equigingival line the other creases (the
/// occlusal table's edge, the gingival ridge's shoulder) cover 20–55%, and at 0.5 one of them
/// was taken for the line (a 69 mm loop round two molars). On the two real (equigingival)
/// clouds the crease covers 7–22% and the junction more.
const CREASE_COVERAGE: f32 = 0.7;

/// The reference line from the kinks: a crease when one runs round most of the tooth,
/// else whichever form the dynamic programme rates better.
fn reference_of_either(
    candidates: &[Candidate],
    settings: &Settings,
) -> Option<(Vec<[f32; 2]>, Form)> {
    let mut crease = reference_from_kinks(candidates, settings, Form::Crease, None);
    // A crease with only the table inside it is the crown's top edge: the line lies below.
    let top = crease
        .as_ref()
        .filter(|c| rise_inside(candidates, &c.line) < TOP_EDGE_RISE_MM)
        .map(|c| c.line.clone());
    let below = top.as_deref().map(Guide::Below);
    if below.is_some() {
        crease = reference_from_kinks(candidates, settings, Form::Crease, below.as_ref());
    }
    if let Some(c) = crease.as_ref().filter(|c| c.coverage >= CREASE_COVERAGE) {
        return Some((c.line.clone(), Form::Crease));
    }
    let junction = reference_from_kinks(candidates, settings, Form::Junction, below.as_ref());
    if let (Some(c), Some(j)) = (&crease, &junction) {
        if root_foot_share(&c.line, &j.line) >= ROOT_FOOT_SHARE {
            let foot = Guide::AboveFoot(&j.line);
            let guided = reference_from_kinks(candidates, settings, Form::Crease, Some(&foot));
            if let Some(g) = guided {
                return Some((g.line, Form::Crease));
            }
        }
    }
    [(crease, Form::Crease), (junction, Form::Junction)]
        .into_iter()
        .filter_map(|(r, form)| r.map(|r| (r, form)))
        .min_by(|a, b| a.0.cost.total_cmp(&b.0.cost))
        .map(|(r, form)| (r.line, form))
}

/// A line already known, `(rho, z)` per section, that confines a second run of the
/// programme.
enum Guide<'a> {
    /// A junction taken for the root's foot: the finish line's kinks lie just above it,
    /// and every crisp one there is rewarded (it may read softer than the foot's corner).
    AboveFoot(&'a [[f32; 2]]),
    /// The crown's top edge: the finish line lies well below it.
    Below(&'a [[f32; 2]]),
}

impl Guide<'_> {
    /// The kink at `at` in section `k` may make the line.
    fn admits(&self, k: usize, at: [f32; 2]) -> bool {
        match self {
            Guide::AboveFoot(foot) => above_foot(at, foot[k]),
            Guide::Below(top) => at[1] <= top[k][1] - BELOW_TOP_MM,
        }
    }

    /// Base cost of a kink before its reward for turning (see [`KINK_BASE`]).
    fn base(&self) -> f32 {
        match self {
            Guide::AboveFoot(_) => 0.0,
            Guide::Below(_) => KINK_BASE,
        }
    }
}

/// `at` lies above the root's foot `foot`, no further out, within [`ROOT_FOOT_MM`].
fn above_foot(at: [f32; 2], foot: [f32; 2]) -> bool {
    at[1] > foot[1] && at[0] <= foot[0] + 0.1 && dist(at, foot) <= ROOT_FOOT_MM
}

/// A crease whose profile rises less than this inside it (median over the sections, mm) is
/// the crown's top edge, the occlusal-axial line angle: inside a finish line the prepared
/// crown rises 2.0-4.3 mm (suite, held-out and walls phantoms), inside the top edge only
/// the table's own relief does (0.17-0.32 mm on phantoms with crisp line angles).
const TOP_EDGE_RISE_MM: f32 = 1.0;
/// How far below the crown's top edge the finish line is searched, mm (the axial walls of a
/// preparation stand 2 mm or more).
const BELOW_TOP_MM: f32 = 1.0;

/// Farthest a crease may lie above a junction for the junction to be the foot of the root
/// below it, mm: the exposed root runs 0.35 mm out and 0.5-1.2 mm down from the line on the
/// phantoms (0.58-0.76 mm apart, median per tooth, where the junction was taken for the line).
const ROOT_FOOT_MM: f32 = 0.8;
/// Share of sections with the crease that close above the junction that makes the junction
/// the root's foot: 0.57-0.81 on the six preparations traced on the root's foot (suite,
/// held-out, walls); 0 on the equigingival and abutted lines, where gingiva meets the line
/// and only the crown's top edge, millimetres up, is a crease above.
const ROOT_FOOT_SHARE: f32 = 0.5;

/// Share of sections where the crease line lies above the junction line, no further out,
/// within [`ROOT_FOOT_MM`]: the junction there is the exposed root meeting the gingiva below
/// a finish line whose kinks read softer than that corner (a concave chamfer's last tenths
/// of a millimetre, bridged by a scan's triangles).
fn root_foot_share(crease: &[[f32; 2]], junction: &[[f32; 2]]) -> f32 {
    let above = crease
        .iter()
        .zip(junction)
        .filter(|(c, j)| above_foot(**c, **j))
        .count();
    above as f32 / crease.len().max(1) as f32
}

/// Median over the sections of how far the profile rises inside `line` above it, mm: the
/// whole prepared crown over a finish line, only the occlusal table's own relief over the
/// crown's top edge (see [`TOP_EDGE_RISE_MM`]).
fn rise_inside(candidates: &[Candidate], line: &[[f32; 2]]) -> f32 {
    let mut rises: Vec<f32> = candidates
        .iter()
        .zip(line)
        .filter_map(|(c, at)| {
            c.profiles
                .iter()
                .flat_map(|p| p.points.iter())
                .filter(|q| q[0] < at[0] - 0.2)
                .map(|q| q[1] - at[1])
                .max_by(f32::total_cmp)
        })
        .collect();
    if rises.is_empty() {
        return 0.0;
    }
    rises.sort_by(f32::total_cmp);
    rises[rises.len() / 2]
}

/// Drops detours from the chosen kinks: where the line jumps by more than `BREAK_MM`
/// between consecutive kinks it splits into runs; the longest run is trusted, and each other
/// run (longest first) is kept only if it lies within `BREAK_MM` of the line interpolated
/// through the runs trusted so far. A detour onto another crease (the occlusal table's
/// edge, a neighbour) across a stretch where the finish line is missing is dropped, and the
/// stretch interpolated.
fn prune_detours(chosen: &mut [Option<[f32; 2]>]) {
    let n = chosen.len();
    let at: Vec<usize> = (0..n).filter(|&k| chosen[k].is_some()).collect();
    let point = |k: usize| chosen[k].unwrap_or_default();
    let breaks: Vec<usize> = (0..at.len())
        .filter(|&j| dist(point(at[j]), point(at[(j + 1) % at.len()])) > BREAK_MM)
        .collect();
    if breaks.len() < 2 {
        return;
    }
    // Runs of `at` indices between breaks: (first position in `at`, count).
    let mut runs: Vec<(usize, usize)> = (0..breaks.len())
        .map(|b| {
            let first = (breaks[b] + 1) % at.len();
            let last = breaks[(b + 1) % breaks.len()];
            (first, (last + at.len() - first) % at.len() + 1)
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.1));
    let at = &at;
    let members = |r: (usize, usize)| (0..r.1).map(move |i| at[(r.0 + i) % at.len()]);
    let mut trusted: Vec<Option<[f32; 2]>> = vec![None; n];
    members(runs[0]).for_each(|k| trusted[k] = chosen[k]);
    for &run in &runs[1..] {
        let line = interpolate(&trusted);
        let off = members(run).map(|k| dist(point(k), line[k])).sum::<f32>() / run.1 as f32;
        if off <= BREAK_MM {
            members(run).for_each(|k| trusted[k] = chosen[k]);
        }
    }
    chosen.copy_from_slice(&trusted);
}

/// The case file's line in section coordinates: for each section, the line's point whose
/// angle is nearest, interpolated between the two that straddle it.
fn reference_from_line(
    frame: &ToothFrame,
    line: &[[f32; 3]],
    thetas: &[f32],
) -> Option<Vec<[f32; 2]>> {
    let tau = std::f32::consts::TAU;
    let mut polar: Vec<(f32, [f32; 2])> = line
        .iter()
        .map(|p| {
            let l = frame.local(*p);
            (l[1].atan2(l[0]).rem_euclid(tau), [l[0].hypot(l[1]), l[2]])
        })
        .collect();
    polar.sort_by(|a, b| a.0.total_cmp(&b.0));
    if polar.len() < 3 {
        return None;
    }
    let n = thetas.len();
    let mut slots: Vec<Option<[f32; 2]>> = vec![None; n];
    for (theta, p) in polar {
        let k = ((theta / tau) * n as f32).round() as usize % n;
        slots[k] = Some(p);
    }
    Some(interpolate(&slots))
}

/// Fills the gaps of a circular sequence linearly between the known neighbours.
fn interpolate(known: &[Option<[f32; 2]>]) -> Vec<[f32; 2]> {
    let n = known.len();
    let idx: Vec<usize> = (0..n).filter(|&i| known[i].is_some()).collect();
    let mut out = vec![[0.0f32; 2]; n];
    for (j, &a) in idx.iter().enumerate() {
        let b = idx[(j + 1) % idx.len()];
        let (pa, pb) = (known[a].unwrap_or_default(), known[b].unwrap_or_default());
        let span = (b + n - a) % n;
        let span = if span == 0 { n } else { span };
        for step in 0..span {
            let w = step as f32 / span as f32;
            out[(a + step) % n] = [pa[0] + w * (pb[0] - pa[0]), pa[1] + w * (pb[1] - pa[1])];
        }
    }
    out
}

/// A hole touching the band but not the line is a hole beside the line: its whole stretch
/// of band stays `Hole`. A hole the line runs into is reported where the line is missing:
/// within each run of `Hole` stations, only from the first to the last station without
/// surface within `reach` of the line (the rest of the run gets the verdict its section
/// would have had without the hole: captured, or whatever it shows).
fn narrow_holes(
    stations: &mut [Station],
    candidates: &[Candidate],
    reference: &[[f32; 2]],
    reach: f32,
) {
    let n = stations.len();
    let missing: Vec<bool> = candidates
        .iter()
        .zip(reference)
        .map(|(c, &r)| nearest_sample(c, r).is_none_or(|(_, _, d)| d > reach))
        .collect();
    let Some(anchor) = (0..n).find(|&i| stations[i].state != State::Hole) else {
        return;
    };
    let mut i = 0;
    while i < n {
        let start = (anchor + i) % n;
        if stations[start].state != State::Hole {
            i += 1;
            continue;
        }
        let run: Vec<usize> = (0..n - i)
            .map(|k| (start + k) % n)
            .take_while(|&k| stations[k].state == State::Hole)
            .collect();
        i += run.len();
        let first = run.iter().position(|&k| missing[k]);
        let last = run.iter().rposition(|&k| missing[k]);
        if let (Some(first), Some(last)) = (first, last) {
            for (j, &k) in run.iter().enumerate() {
                if j < first || j > last {
                    stations[k].state = stations[k].without_hole;
                }
            }
        }
    }
}

/// The verdict at one section, given the reference point `r`.
fn judge(
    frame: &ToothFrame,
    theta: f32,
    c: &Candidate,
    form: Form,
    r: [f32; 2],
    settings: &Settings,
    boundary: &[[f32; 3]],
) -> Station {
    let near = |k: &&Kink, tol: f32| (k.at[0] - r[0]).hypot(k.at[1] - r[1]) <= tol;
    let found = c
        .of(form)
        .iter()
        .filter(|k| near(k, 0.15) && k.crisp(settings.min_angle_deg, settings.min_sharpness))
        .min_by(|a, b| dist(a.at, r).total_cmp(&dist(b.at, r)));
    // Where the search found none, the kink measured at the reference itself: it captures
    // the line there, but neither moves the line nor counts as a crisp station (that share
    // chooses between traces, and some kink can be measured at any reference).
    let measured = found
        .is_none()
        .then(|| measured_at(c, form, r, settings))
        .flatten();
    let crisp = found.or(measured.as_ref());
    let point_of = |p: [f32; 2]| frame.world(theta, p[0], p[1]);
    let reference = point_of(r);
    let band2 = settings.band_mm * settings.band_mm;
    let holed = boundary
        .iter()
        .any(|b| (0..3).map(|k| (b[k] - reference[k]).powi(2)).sum::<f32>() <= band2);
    let over = c
        .profiles
        .iter()
        .filter_map(|p| p.max_z_between(r[0] + 0.05, r[0] + 0.3))
        .fold(f32::NEG_INFINITY, f32::max);
    let blunt = c.of(form).iter().find(|k| near(k, 0.4));
    // A notch inside a crease is tissue; a junction is the gingiva meeting the line anyway.
    let bump = crisp
        .filter(|_| form == Form::Crease)
        .and_then(|k| {
            c.profiles
                .iter()
                .filter_map(|p| p.notch_inside(k.at, TISSUE_SPAN_MM))
                .max_by(f32::total_cmp)
        })
        .unwrap_or(f32::NEG_INFINITY);
    let hump = crisp.is_some_and(|k| form == Form::Crease && k.inner_descent_deg < -HUMP_RISE_DEG);
    let (plain, angle) = if let Some(k) = crisp.filter(|_| bump <= TISSUE_BUMP_MM && !hump) {
        (State::Captured, k.fitted_deg)
    } else if over > r[1] + 0.08 || bump > TISSUE_BUMP_MM || hump {
        (State::Tissue, 0.0)
    } else if let Some(k) = blunt {
        (State::Blur, k.fitted_deg)
    } else if let Some(turn) = rounded_turn(c, r).filter(|&t| t >= settings.min_angle_deg) {
        (State::Blur, turn)
    } else {
        (State::Gap, 0.0)
    };
    let at = found.map_or(r, |k| k.at);
    let vertex = crisp
        .or(blunt)
        .map(|k| k.vertex)
        .or_else(|| nearest_vertex(c, r));
    Station {
        point: point_of(at),
        vertex,
        state: if holed { State::Hole } else { plain },
        without_hole: plain,
        angle_deg: angle,
        crisp: found.is_some(),
    }
}

/// The kink measured at the profile's point nearest `r` (within 0.05 mm), when crisp: a
/// finish line that a stronger kink close beyond it (a neighbouring tooth's wall rising from
/// the gingiva within half a millimetre) hid from the kink search is still captured.
fn measured_at(c: &Candidate, form: Form, r: [f32; 2], settings: &Settings) -> Option<Kink> {
    let (profile, i, d) = nearest_sample(c, r)?;
    let sign = match form {
        Form::Crease => 1.0,
        Form::Junction => -1.0,
    };
    let k = profile.kink_at(i, settings.wide_mm, settings.fine_mm, sign);
    (d <= 0.05 && dist(k.at, r) <= 0.15 && k.crisp(settings.min_angle_deg, settings.min_sharpness))
        .then_some(k)
}

/// The turning of the profile at its point nearest `r` (within 0.3 mm) over a wide scale
/// (`ROUNDED_SCALE_MM` each side): a rounded edge still turns by the angle its surfaces
/// meet at, spread over more than the kink scales see; where no edge exists at all, the
/// profile hardly turns.
fn rounded_turn(c: &Candidate, r: [f32; 2]) -> Option<f32> {
    let (profile, i, d) = nearest_sample(c, r)?;
    if d > 0.3 {
        return None;
    }
    profile.turning(i, ROUNDED_SCALE_MM)
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn nearest_vertex(c: &Candidate, r: [f32; 2]) -> Option<u32> {
    nearest_sample(c, r).map(|(p, i, _)| p.vertices[i])
}

/// The section's profile sample nearest `r`: its profile, index and distance.
fn nearest_sample(c: &Candidate, r: [f32; 2]) -> Option<(&Profile, usize, f32)> {
    c.profiles
        .iter()
        .flat_map(|p| {
            p.points
                .iter()
                .enumerate()
                .map(move |(i, q)| (p, i, dist(*q, r)))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
}
