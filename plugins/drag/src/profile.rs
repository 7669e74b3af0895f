//! The measure of one candidate region: its centre line, and its cross-section every
//! [`STATION_MM`] along it.
//!
//! **Centre line.** The region's two ends are found by a double sweep of graph distances
//! inside it; the distance from the first end orders its vertices along the mark, so the line
//! follows a mark that bends over a crown as a real scratch does. Each station is the mean of
//! the region's vertices in a short stretch of that order, with the local direction (from its
//! neighbours) and normal.
//!
//! **Cross-section.** At each station, the scan's own points in a thin slab across the mark:
//! a parabola fitted to the shoulders on both sides is the surface as it should be (curved
//! over a cusp or a wall); the mark's depth and its width at half depth are read against it.
//! A drag mark is a narrow channel in a continuous surface, so lines fitted to the two
//! shoulders separately fold little the way the channel does; at a crease (the gingival
//! crease, a finish line, the junction of a fissure's walls) they fold into it. Shoulders
//! folding the other way (a groove over a cusp's crown, a ridge across a valley) are the
//! curve of the tooth, not a crease; so is a ridge's convex ground (a ridge traced over a
//! cusp). Stations on a crease, or whose two shoulders lie on
//! different teeth or on a tooth and the gingiva, do not count as a mark. A parallel channel
//! of the same sign beside it (another mark of the tray's set, 1.4–2.3 mm off) is left out
//! of the shoulders (see [`Channels`]).
//!
//! **Length.** The stations stop short of a mark's tapered ends (they count only where it is
//! deep enough, every half millimetre): once they have traced most of the shortest mark
//! reported, the length is as far as the region reaches along the mark.

use crate::grooves::{Groove, Settings, Surface};
use imprint_core::util::FastMap;
use nalgebra::Vector3;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

type V3 = Vector3<f32>;

fn v3(p: [f32; 3]) -> V3 {
    V3::new(p[0], p[1], p[2])
}

/// Surface per vertex, in squared edge lengths (a regular triangulation).
const VERTEX_AREA: f32 = 0.87;
/// A region this many times wider (on average) than the widest mark is a broad shape.
const WIDE_REGION: f32 = 2.0;
/// Longer lines are anatomy (the gingival crease along the arch), not a tray's slide, mm.
const MAX_LENGTH_MM: f32 = 25.0;
/// Station spacing along a mark, mm.
const STATION_MM: f32 = 0.5;
/// Half the thickness of a station's slab, mm.
const SLAB_MM: f32 = 0.2;
/// The shoulders lie this far either side of the mark's centre, mm.
const SHOULDER_MM: (f32, f32) = (0.6, 1.3);
/// A station whose two shoulders fold the way the mark does by a larger angle lies on a
/// crease, degrees.
const MAX_BEND_DEG: f32 = 25.0;
/// Largest fold of the shoulders against the mark's sense, degrees: a mark across a cusp
/// (shoulders ~1 mm out on a crown of 2–3 mm radius fold 40–60°).
const MAX_COUNTER_BEND_DEG: f32 = 70.0;
/// Deeper channels are anatomy (an embrasure, a deep fissure), not a mark on the surface, mm.
const MAX_DEPTH_MM: f32 = 1.0;
/// Marks shorter than this may not curl ...
const CURL_BELOW_MM: f32 = 5.0;
/// ... their ends lie at least this share of their length apart.
const MIN_SPAN: f32 = 0.85;
/// The ends of a longer mark lie at least this share of its length apart: a tray slides one
/// way, and its mark bends only with the surface it crosses; an arc through 120° (from a
/// cusp's buccal wall over its tip onto its lingual wall) still spans 0.83 of its length.
const MIN_SPAN_LONG: f32 = 0.8;
/// A channel this close to a tooth outline runs along it, mm.
pub const OUTLINE_MM: f32 = 1.2;

/// A candidate region to measure: its vertices, its sign (negative: a groove) and its
/// index among the candidates (see [`Channels::candidate`]).
pub struct Candidate<'r> {
    region: &'r [u32],
    sign: f32,
    id: u32,
}

/// Which candidate region (and of which sign) each vertex belongs to, and each region's
/// long axis, so a station can leave a parallel channel out of its shoulders.
pub struct Channels {
    owner: Vec<u32>,
    signs: Vec<f32>,
    /// Per region, the unit direction of its greatest spread, if it is elongated.
    axes: Vec<Option<V3>>,
}

impl Channels {
    const NONE: u32 = u32::MAX;

    /// The owners of `regions`' vertices, each region's sign from the `heights` at its
    /// first (seed) vertex, and its long axis.
    pub fn new(s: &Surface<'_>, regions: &[Vec<u32>], heights: &[f32]) -> Self {
        let mut owner = vec![Self::NONE; heights.len()];
        for (i, r) in regions.iter().enumerate() {
            for &v in r {
                if let Some(o) = owner.get_mut(v as usize) {
                    *o = i as u32;
                }
            }
        }
        let signs = regions
            .iter()
            .map(|r| heights.get(r[0] as usize).map_or(0.0, |h| h.signum()))
            .collect();
        let axes = regions.par_iter().map(|r| long_axis(s, r)).collect();
        Self { owner, signs, axes }
    }

    /// Region `id` (of those given to [`Channels::new`]) as a candidate to measure, with its
    /// sign.
    pub fn candidate<'r>(&self, id: usize, region: &'r [u32]) -> Candidate<'r> {
        Candidate {
            region,
            sign: self.signs.get(id).copied().unwrap_or(0.0),
            id: id as u32,
        }
    }

    /// Whether `v` lies in another candidate channel of the same sign as `c`, running
    /// parallel to it: a mark of the same set (1.4–2.3 mm apart) reaches into a station's
    /// shoulders, and a parabola fitted through it reads the mark shallow, wide or misfitted.
    fn foreign(&self, v: u32, c: &Candidate<'_>, dir: &V3) -> bool {
        match self.owner.get(v as usize) {
            Some(&o) if o != Self::NONE && o != c.id => {
                self.signs[o as usize] == c.sign
                    && self.axes[o as usize].is_some_and(|a| a.dot(dir).abs() >= PARALLEL_COS)
            }
            _ => false,
        }
    }
}

/// Channels within ~25° of each other run parallel.
const PARALLEL_COS: f32 = 0.9;

/// The direction of a region's greatest spread, when it spreads at least 1.5 times as far
/// that way as any other.
fn long_axis(s: &Surface<'_>, region: &[u32]) -> Option<V3> {
    let (_, variance, axes) = s.spread(region);
    (variance[0] >= 2.25 * variance[1].max(1e-9)).then_some(axes[0])
}

/// Shape and profile of a candidate region; `None` when it is not a drag mark.
pub fn measure(
    s: &Surface<'_>,
    candidate: &Candidate<'_>,
    channels: &Channels,
    settings: &Settings,
) -> Option<Groove> {
    let (region, sign) = (candidate.region, candidate.sign);
    // Cheap first: too short, or (area over the least length it can have) too wide.
    let reach = extent(s, region);
    let area = region.len() as f32 * VERTEX_AREA * s.edge * s.edge;
    if 2.0 * reach < 0.75 * settings.min_length
        || reach > MAX_LENGTH_MM
        || area / (2.0 * reach) > WIDE_REGION * settings.max_width
    {
        return None;
    }
    let (line, index) = centre_line(s, region)?;
    let length = line.len() as f32 * STATION_MM;
    if length < 0.75 * settings.min_length
        || length > MAX_LENGTH_MM
        || area / length > WIDE_REGION * settings.max_width
    {
        return None;
    }
    // Per frame: for a ridge, its share of the region's surroundings (its own slab exposes
    // the crests of anatomy, see [`slab_hood`]); for a groove, its region vertices, from
    // which each station gathers its own surroundings.
    let ridge = sign > 0.0;
    let by_frame = if ridge {
        neighbourhood(s, &index, line.len(), HOOD_ACROSS_MM)
    } else {
        members(&index, line.len())
    };
    let stations: Vec<Station> = (0..line.len())
        .filter_map(|k| {
            let nearby = &by_frame[k.saturating_sub(1)..(k + 2).min(line.len())];
            let near = if ridge {
                nearby.concat()
            } else {
                slab_hood(s, nearby, &line[k])
            };
            let foreign = |v: u32| channels.foreign(v, candidate, &line[k].dir);
            station(s, &near, (&index, &foreign), &line[k], sign)
        })
        .collect();
    let good: Vec<&Station> = stations
        .iter()
        .filter(|st| st.depth.abs() >= 0.5 * settings.min_depth && unbent(st.bend, sign))
        .collect();
    if good.len() < 3 || good.len() * 2 < line.len() {
        return None;
    }
    if good.iter().filter(|st| st.split).count() * 2 > good.len() {
        return None;
    }
    let depth = median(good.iter().map(|st| st.depth).collect());
    let spread = {
        let mut d: Vec<f32> = good.iter().map(|st| st.depth.abs()).collect();
        d.sort_by(f32::total_cmp);
        let q = |f: f32| d[((d.len() - 1) as f32 * f).round() as usize];
        (q(0.9) - q(0.1)) / depth.abs().max(1e-6)
    };
    let width = median(good.iter().map(|st| st.width).collect());
    let misfit = median(good.iter().map(|st| st.misfit).collect());
    if depth.abs() < settings.min_depth
        || depth.abs() > MAX_DEPTH_MM
        || width > settings.max_width
        || (sign > 0.0 && width > settings.max_ridge_width)
        // Narrower than an edge is not a channel the scan resolves.
        || width < s.edge
        || misfit > 0.5 * depth.abs()
    {
        return None;
    }
    // Last, as the dearest test: a channel along a tooth outline is anatomy.
    if follows_outline(s, &good) {
        return None;
    }
    let path: Vec<[f32; 3]> = good.iter().map(|st| st.point).collect();
    let arc: f32 = path.windows(2).map(|w| (v3(w[1]) - v3(w[0])).norm()).sum();
    let traced = arc + STATION_MM;
    let ends = v3(path[path.len() - 1]) - v3(path[0]);
    let span = ends.norm();
    let chord = ends.try_normalize(1e-6)?;
    // A short mark that curls (its ends much closer than its length) is the rim of a bubble
    // or a pit, not a tray's slide; a longer one that meanders is a chain of the crown's fine
    // detail (supplemental grooves and ridges crossing each other), not a slide either.
    let least_span = if traced < CURL_BELOW_MM {
        MIN_SPAN
    } else {
        MIN_SPAN_LONG
    };
    let curls = span < least_span * arc;
    // The stations, every half millimetre and only where the mark is deep enough, stop short
    // of its tapered ends: its length is as far as the region reaches along it, once the
    // stations have traced most of the shortest mark reported (a shorter piece is a pit's
    // rim or a fissure's segment that its region only stretches).
    let length = if traced >= TRACED_SHARE * settings.min_length {
        traced.max(region_span(s, region, path[0], chord))
    } else {
        traced
    };
    if length < settings.min_length || curls {
        return None;
    }
    Some(Groove {
        path,
        axis: chord.into(),
        length,
        width,
        depth,
        spread,
        peak: 0.0,
        vertices: region.to_vec(),
    })
}

/// The share of the shortest reported length the stations must trace before the region's
/// reach counts (see [`region_span`]).
const TRACED_SHARE: f32 = 0.75;

/// How far the region reaches along its path's unit chord `axis` (from the path's first
/// point `start`), end to end, mm.
fn region_span(s: &Surface<'_>, region: &[u32], start: [f32; 3], axis: V3) -> f32 {
    let a = v3(start);
    let (lo, hi) = region.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| {
        let t = (v3(s.positions[v as usize]) - a).dot(&axis);
        (lo.min(t), hi.max(t))
    });
    (hi - lo).max(0.0)
}

/// The farthest any region vertex lies from its first, mm (at least half its extent).
fn extent(s: &Surface<'_>, region: &[u32]) -> f32 {
    let first = v3(s.positions[region[0] as usize]);
    region
        .iter()
        .map(|&v| (v3(s.positions[v as usize]) - first).norm())
        .fold(0.0, f32::max)
}

/// Most of the mark keeps within [`OUTLINE_MM`] of a tooth outline: it runs along the
/// gingival crease, a finish line or an embrasure (a drag that crosses an outline is near it
/// for a short stretch only).
fn follows_outline(s: &Surface<'_>, stations: &[&Station]) -> bool {
    let near = stations
        .iter()
        .filter(|st| near_outline(s, st.vertex))
        .count();
    near * 10 >= stations.len() * 7
}

/// Whether a tooth outline (a vertex with a differently labelled neighbour) lies within
/// [`OUTLINE_MM`] of `v` along the surface; never without labels.
fn near_outline(s: &Surface<'_>, v: u32) -> bool {
    if s.teeth.len() != s.positions.len() {
        return false;
    }
    let label = |w: u32| s.teeth[w as usize];
    let reached = graph_distances(s, &[(v, 0)], &|_| true, OUTLINE_MM);
    reached
        .keys()
        .any(|&w| s.ring(w as usize).iter().any(|&x| label(x) != label(w)))
}

/// A place on the centre line: position, direction along the mark, surface normal.
struct Frame {
    centre: V3,
    dir: V3,
    normal: V3,
}

#[derive(PartialEq)]
struct Item(f32, u32);

impl Eq for Item {}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0)
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Graph distances from `sources` over vertices `allowed` admits, out to `reach` mm, each
/// vertex with the label of the source it is nearest.
fn graph_distances(
    s: &Surface<'_>,
    sources: &[(u32, usize)],
    allowed: &dyn Fn(u32) -> bool,
    reach: f32,
) -> FastMap<u32, (f32, usize)> {
    let mut dist: FastMap<u32, (f32, usize)> = FastMap::default();
    let mut heap = BinaryHeap::new();
    for &(v, label) in sources {
        dist.insert(v, (0.0, label));
        heap.push(Item(0.0, v));
    }
    while let Some(Item(d, v)) = heap.pop() {
        let Some(&(best, label)) = dist.get(&v) else {
            continue;
        };
        if d > best {
            continue;
        }
        let p = v3(s.positions[v as usize]);
        for &w in s.ring(v as usize) {
            if !allowed(w) {
                continue;
            }
            let nd = d + (v3(s.positions[w as usize]) - p).norm();
            if nd <= reach && dist.get(&w).is_none_or(|&(b, _)| nd < b) {
                dist.insert(w, (nd, label));
                heap.push(Item(nd, w));
            }
        }
    }
    dist
}

/// The region's centre line, a frame every [`STATION_MM`] from one end to the other, and
/// the frame each region vertex belongs to.
fn centre_line(s: &Surface<'_>, region: &[u32]) -> Option<(Vec<Frame>, FastMap<u32, usize>)> {
    let members: FastMap<u32, ()> = region.iter().map(|&v| (v, ())).collect();
    let inside = |v: u32| members.contains_key(&v);
    let from_first = graph_distances(s, &[(*region.first()?, 0)], &inside, f32::MAX);
    let (&a, _) = from_first.iter().max_by(|x, y| x.1 .0.total_cmp(&y.1 .0))?;
    let along = graph_distances(s, &[(a, 0)], &inside, f32::MAX);
    let length = along.values().map(|x| x.0).fold(0.0f32, f32::max);
    let count = (length / STATION_MM).floor() as usize + 1;
    let step = length / count as f32;
    let bucket = |u: f32| ((u / step) as usize).min(count - 1);
    let mut sums = vec![(V3::zeros(), V3::zeros(), 0usize); count];
    for (&v, &(u, _)) in &along {
        let k = bucket(u);
        sums[k].0 += v3(s.positions[v as usize]);
        sums[k].1 += v3(s.normals[v as usize]);
        sums[k].2 += 1;
    }
    // Frame index of each bucket (empty buckets take the previous frame).
    let mut frame_of = vec![0usize; count];
    let mut centres: Vec<(V3, V3)> = Vec::new();
    for (k, (p, n, c)) in sums.into_iter().enumerate() {
        if let Some(n) = n.try_normalize(1e-6).filter(|_| c > 0) {
            centres.push((p / c as f32, n));
        }
        frame_of[k] = centres.len().saturating_sub(1);
    }
    let n = centres.len();
    let frames = (0..n)
        .map(|k| {
            let (prev, next) = (
                centres[k.saturating_sub(2)].0,
                centres[(k + 2).min(n - 1)].0,
            );
            let (centre, normal) = centres[k];
            let d = next - prev;
            let dir = (d - normal * d.dot(&normal)).try_normalize(1e-6)?;
            Some(Frame {
                centre,
                dir,
                normal,
            })
        })
        .collect::<Option<Vec<Frame>>>()?;
    let index = along
        .into_iter()
        .map(|(v, (u, _))| (v, frame_of[bucket(u)]))
        .collect();
    Some((frames, index))
}

/// The surface around the region out to `reach` mm (straight distance from the region
/// vertex it was reached from), in buckets by that vertex's frame.
fn neighbourhood(
    s: &Surface<'_>,
    index: &FastMap<u32, usize>,
    frames: usize,
    reach: f32,
) -> Vec<Vec<u32>> {
    let mut from: FastMap<u32, u32> = index.keys().map(|&v| (v, v)).collect();
    let mut queue: std::collections::VecDeque<u32> = index.keys().copied().collect();
    let mut buckets = vec![Vec::new(); frames];
    while let Some(v) = queue.pop_front() {
        let source = from[&v];
        buckets[index[&source]].push(v);
        let origin = v3(s.positions[source as usize]);
        for &w in s.ring(v as usize) {
            if !from.contains_key(&w) && (v3(s.positions[w as usize]) - origin).norm() <= reach {
                from.insert(w, source);
                queue.push_back(w);
            }
        }
    }
    buckets
}

/// How far across a station its surroundings are gathered: the shoulders reach
/// [`SHOULDER_MM`] from the deepest point, which lies within ~0.3 mm of the centre line, mm.
const HOOD_ACROSS_MM: f32 = SHOULDER_MM.1 + 0.3;
/// How far from a station's centre its surroundings are gathered over a curved surface, mm.
const HOOD_REACH_MM: f32 = SHOULDER_MM.1 + 0.6;

/// The surface around a groove's station: reached over the mesh from `members`, the
/// region's vertices of its frame and the two beside it, within the station's box (a little
/// thicker than its slab, [`HOOD_ACROSS_MM`] across, [`HOOD_REACH_MM`] from its centre).
///
/// The frames' own shares of the region's surroundings ([`neighbourhood`]) suffice along a
/// narrow region; where the region is wide or branched (a groove joined by a fissure or a
/// crease), its vertices' frames interleave, each frame's share holds scraps on either side,
/// and the stations could not be measured (held-out 2405's 10.4 mm groove on 44, 2505's
/// 5.2 mm groove on 24). A ridge keeps [`neighbourhood`]: measured with its own slab, the
/// crests of anatomy (a molar's cusp and marginal ridges, the gingiva's contour) pass as
/// ridges (even-walls phantoms: 6 false ridges, clean controls 0.29 false drags per scan),
/// and no measure of the ridges' cross-sections (width over height, misfit, fold) tells
/// them from the low, broad drag ridges. Nor does any slab measure a groove where the
/// surface folds within its shoulders: held-out 2611's 7.5 mm groove, running into the
/// embrasure between 23 and 24, still has none of its 17 stations measured.
fn slab_hood(s: &Surface<'_>, members: &[Vec<u32>], frame: &Frame) -> Vec<u32> {
    let Some(across) = frame.normal.cross(&frame.dir).try_normalize(1e-6) else {
        return Vec::new();
    };
    let inside = |v: u32| {
        let d = v3(s.positions[v as usize]) - frame.centre;
        d.dot(&frame.dir).abs() <= SLAB_MM + 0.3
            && d.dot(&across).abs() <= HOOD_ACROSS_MM
            && d.norm() <= HOOD_REACH_MM
    };
    let mut hood: Vec<u32> = members
        .iter()
        .flatten()
        .copied()
        .filter(|&v| inside(v))
        .collect();
    let mut seen: FastMap<u32, ()> = hood.iter().map(|&v| (v, ())).collect();
    let mut next = 0;
    while let Some(&v) = hood.get(next) {
        next += 1;
        for &w in s.ring(v as usize) {
            if inside(w) && seen.insert(w, ()).is_none() {
                hood.push(w);
            }
        }
    }
    hood
}

/// The region's vertices by the frame they belong to.
fn members(index: &FastMap<u32, usize>, frames: usize) -> Vec<Vec<u32>> {
    let mut members = vec![Vec::new(); frames];
    for (&v, &k) in index {
        members[k].push(v);
    }
    members
}

/// A cross-section of the mark.
struct Station {
    /// The mark's centre on the surface.
    point: [f32; 3],
    /// The vertex there.
    vertex: u32,
    /// Signed depth against the shoulders' curve, mm.
    depth: f32,
    /// Width at half depth, mm.
    width: f32,
    /// RMS misfit of the shoulders' curve, mm.
    misfit: f32,
    /// The angle between the left and the right shoulder, degrees (see [`bend_deg`]).
    bend: f32,
    /// The two shoulders lie on different teeth, or one on a tooth and one on the gingiva.
    split: bool,
}

fn station(
    s: &Surface<'_>,
    hood: &[u32],
    (in_region, foreign): (&FastMap<u32, usize>, &dyn Fn(u32) -> bool),
    frame: &Frame,
    sign: f32,
) -> Option<Station> {
    let across = frame.normal.cross(&frame.dir).try_normalize(1e-6)?;
    // (vertex, x across, z along the normal) of the slab's points.
    let slab: Vec<(u32, f32, f32)> = hood
        .iter()
        .filter_map(|&v| {
            let d = v3(s.positions[v as usize]) - frame.centre;
            let (x, z) = (d.dot(&across), d.dot(&frame.normal));
            (d.dot(&frame.dir).abs() <= SLAB_MM && x.abs() <= SHOULDER_MM.1 + 0.5)
                .then_some((v, x, z))
        })
        .collect();
    let core: Vec<&(u32, f32, f32)> = slab
        .iter()
        .filter(|p| in_region.contains_key(&p.0))
        .collect();
    if core.is_empty() {
        return None;
    }
    let centroid = core.iter().map(|p| p.1).sum::<f32>() / core.len() as f32;
    // Centre on the deepest point of a first fit, then fit again around it.
    let (_, c, _) = cross_section(&slab, centroid, foreign)?;
    let x0 = deepest(&slab, c, centroid, sign)?;
    let (shoulders, c, misfit) = cross_section(&slab, x0, foreign)?;
    let inner: Vec<(f32, f32)> = slab
        .iter()
        .filter(|p| (p.1 - x0).abs() < SHOULDER_MM.0)
        .map(|p| (p.1, sign * (p.2 - eval(c, p.1))))
        .collect();
    let mut deep: Vec<f32> = inner.iter().map(|p| p.1).collect();
    deep.sort_by(|p, q| q.total_cmp(p));
    let take = deep.len().min(3);
    if take == 0 {
        return None;
    }
    let depth = deep[..take].iter().sum::<f32>() / take as f32;
    let half = inner.iter().filter(|p| p.1 >= 0.5 * depth).map(|p| p.0);
    let (lo, hi) = half.fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let centre = frame.centre + across * x0;
    let vertex = core
        .iter()
        .min_by(|a, b| {
            let d = |v: u32| (v3(s.positions[v as usize]) - centre).norm_squared();
            d(a.0).total_cmp(&d(b.0))
        })?
        .0;
    Some(Station {
        point: s.positions[vertex as usize],
        vertex,
        depth: sign * depth,
        width: (hi - lo).max(0.0),
        misfit,
        bend: bend_deg(&shoulders, x0, sign),
        split: split_shoulders(s, &slab, x0),
    })
}

/// The shoulders about `x0` (at least two points each side, none in a `foreign` channel),
/// the parabola through them and its misfit.
#[allow(clippy::type_complexity)]
fn cross_section(
    slab: &[(u32, f32, f32)],
    x0: f32,
    foreign: &dyn Fn(u32) -> bool,
) -> Option<(Vec<(f32, f32)>, [f32; 3], f32)> {
    let shoulders: Vec<(f32, f32)> = slab
        .iter()
        .filter(|p| (SHOULDER_MM.0..=SHOULDER_MM.1).contains(&(p.1 - x0).abs()))
        .filter(|p| !foreign(p.0))
        .map(|p| (p.1, p.2))
        .collect();
    let left = shoulders.iter().filter(|(x, _)| *x < x0).count();
    if left < 2 || shoulders.len() - left < 2 {
        return None;
    }
    let (c, misfit) = fit_parabola(&shoulders)?;
    Some((shoulders, c, misfit))
}

/// Across position of the channel's deepest part (mean of the three points deepest against
/// the curve `c` within the shoulders' inner edge of `x0`).
fn deepest(slab: &[(u32, f32, f32)], c: [f32; 3], x0: f32, sign: f32) -> Option<f32> {
    let mut inner: Vec<(f32, f32)> = slab
        .iter()
        .filter(|p| (p.1 - x0).abs() < SHOULDER_MM.0)
        .map(|p| (p.1, sign * (p.2 - eval(c, p.1))))
        .collect();
    inner.sort_by(|a, b| b.1.total_cmp(&a.1));
    let take = inner.len().min(3);
    (take > 0).then(|| inner[..take].iter().map(|p| p.0).sum::<f32>() / take as f32)
}

/// Whether the majority label of the left shoulder differs from the right one's.
fn split_shoulders(s: &Surface<'_>, slab: &[(u32, f32, f32)], x0: f32) -> bool {
    if s.teeth.is_empty() {
        return false;
    }
    let side = |left: bool| {
        let mut counts: Vec<(u8, usize)> = Vec::new();
        for &(v, x, _) in slab {
            let x = x - x0;
            if (x < 0.0) == left && (SHOULDER_MM.0..=SHOULDER_MM.1).contains(&x.abs()) {
                let t = s.teeth.get(v as usize).copied().unwrap_or(0);
                match counts.iter_mut().find(|(l, _)| *l == t) {
                    Some(c) => c.1 += 1,
                    None => counts.push((t, 1)),
                }
            }
        }
        counts.into_iter().max_by_key(|c| c.1).map(|c| c.0)
    };
    side(true) != side(false)
}

/// The shoulders of a station fold little enough for a mark (see [`bend_deg`]). A groove
/// whose shoulders fold into it lies in a crease; a ridge whose shoulders fall away from it
/// lies on a convex surface (over a cusp, round a crown), as a ridge traced over a tooth
/// does: it may fold as far as a groove across a cusp.
fn unbent(bend: f32, sign: f32) -> bool {
    let most = if sign > 0.0 {
        MAX_COUNTER_BEND_DEG
    } else {
        MAX_BEND_DEG
    };
    (-MAX_COUNTER_BEND_DEG..=most).contains(&bend)
}

/// The angle between lines fitted to the left and the right shoulder, degrees, positive
/// where they fold the way the mark does (a valley round a groove, a crest under a ridge: the
/// form of a crease), negative where they fold against it (a groove across a cusp's crown).
fn bend_deg(shoulders: &[(f32, f32)], x0: f32, sign: f32) -> f32 {
    let slope = |left: bool| {
        let side: Vec<(f32, f32)> = shoulders
            .iter()
            .copied()
            .filter(|(x, _)| (*x < x0) == left)
            .collect();
        fit_line(&side).atan()
    };
    (sign * (slope(true) - slope(false))).to_degrees()
}

/// The slope of the least-squares line through points (0 when they do not spread).
fn fit_line(points: &[(f32, f32)]) -> f32 {
    let n = points.len().max(1) as f32;
    let (mx, mz) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, z)| (a + x / n, b + z / n));
    let (sxx, sxz) = points.iter().fold((0.0, 0.0), |(a, b), (x, z)| {
        (a + (x - mx).powi(2), b + (x - mx) * (z - mz))
    });
    if sxx > 1e-9 {
        sxz / sxx
    } else {
        0.0
    }
}

/// The least-squares parabola `z = c0 + c1·x + c2·x²` through the shoulders and its RMS
/// misfit.
fn fit_parabola(points: &[(f32, f32)]) -> Option<([f32; 3], f32)> {
    let mut ata = nalgebra::Matrix3::<f64>::zeros();
    let mut atb = nalgebra::Vector3::<f64>::zeros();
    for &(x, z) in points {
        let row = nalgebra::Vector3::new(1.0, f64::from(x), f64::from(x * x));
        ata += row * row.transpose();
        atb += row * f64::from(z);
    }
    let c = ata.lu().solve(&atb)?;
    let c = [c[0] as f32, c[1] as f32, c[2] as f32];
    let n = points.len().max(1) as f32;
    let sq: f32 = points.iter().map(|&(x, z)| (z - eval(c, x)).powi(2)).sum();
    Some((c, (sq / n).sqrt()))
}

fn eval(c: [f32; 3], x: f32) -> f32 {
    c[0] + c[1] * x + c[2] * x * x
}

fn median(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let m = v.len() / 2;
    v.select_nth_unstable_by(m, f32::total_cmp);
    v[m]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat grid, its vertex graph as compressed rows, and normals facing +z.
    struct Sheet {
        positions: Vec<[f32; 3]>,
        offsets: Vec<u32>,
        items: Vec<u32>,
        normals: Vec<[f32; 3]>,
        boundary: Vec<bool>,
    }

    impl Sheet {
        /// `n` cells a side, `size` mm wide, centred on the origin.
        fn grid(n: u32, size: f32) -> Self {
            let (mut positions, triangles) = imprint_core::shapes::grid_plane(n, size);
            for p in &mut positions {
                *p = [p[0] - 0.5 * size, p[1] - 0.5 * size, 0.0];
            }
            let scan = imprint_core::shapes::to_scan((positions, triangles));
            let rows = imprint_core::derived::DerivedData::new(&scan)
                .adjacency()
                .clone();
            let count = scan.positions.len();
            Self {
                positions: scan.positions,
                offsets: rows.offsets,
                items: rows.items,
                normals: vec![[0.0, 0.0, 1.0]; count],
                boundary: vec![false; count],
            }
        }

        /// The sheet as the detectors see it, without tooth labels.
        fn surface(&self, edge: f32) -> Surface<'_> {
            Surface {
                positions: &self.positions,
                normals: &self.normals,
                offsets: &self.offsets,
                items: &self.items,
                boundary: &self.boundary,
                edge,
                teeth: &[],
            }
        }
    }

    /// A wide region whose right half is ordered the other way along the mark: its frames
    /// interleave across it, as on a groove joined by a crease. The frame at the middle must
    /// still see the surface on both sides, out to its shoulders.
    #[test]
    fn a_station_sees_both_shoulders_when_the_frames_interleave() {
        let sheet = Sheet::grid(60, 12.0);
        let (s, positions) = (sheet.surface(0.2), &sheet.positions);
        // Region: |x| <= 0.5, |y| <= 3, in 12 frames along y; the right half's frames are
        // shifted by half the mark, so beside frame 6 on the right lie frames 0 and 11.
        let frames = 12;
        let frame_of = |p: [f32; 3]| {
            let k = (((p[1] + 3.0) / 0.5) as usize).min(frames - 1);
            if p[0] > 0.0 {
                (k + frames / 2) % frames
            } else {
                k
            }
        };
        let index: FastMap<u32, usize> = positions
            .iter()
            .enumerate()
            .filter(|(_, p)| p[0].abs() <= 0.5 && p[1].abs() <= 3.0)
            .map(|(v, &p)| (v as u32, frame_of(p)))
            .collect();
        let frame = Frame {
            centre: V3::new(0.0, 0.25, 0.0),
            dir: V3::new(0.0, 1.0, 0.0),
            normal: V3::new(0.0, 0.0, 1.0),
        };
        let k = frame_of([-0.1, 0.25, 0.0]);
        let shoulders = |near: &[u32]| {
            let across: Vec<f32> = near
                .iter()
                .map(|&v| positions[v as usize])
                .filter(|p| (p[1] - 0.25).abs() <= SLAB_MM)
                .map(|p| p[0])
                .collect();
            let side = |sign: f32| {
                across
                    .iter()
                    .filter(|&&x| (SHOULDER_MM.0..=SHOULDER_MM.1).contains(&(sign * x)))
                    .count()
            };
            (side(-1.0), side(1.0))
        };
        // The frames' own shares of the surroundings leave the right shoulder out ...
        let buckets = neighbourhood(&s, &index, frames, HOOD_ACROSS_MM);
        let (left, right) = shoulders(&buckets[k - 1..=k + 1].concat());
        assert!(left >= 2 && right == 0, "left {left}, right {right}");
        // ... the station's own slab has both, and nothing outside its box.
        let members = members(&index, frames);
        let hood = slab_hood(&s, &members[k - 1..=k + 1], &frame);
        let (left, right) = shoulders(&hood);
        assert!(left >= 6 && right >= 6, "left {left}, right {right}");
        assert!(hood.iter().all(|&v| {
            let p = positions[v as usize];
            p[0].abs() <= HOOD_ACROSS_MM + 1e-4 && (p[1] - 0.25).abs() <= SLAB_MM + 0.3 + 1e-4
        }));
    }

    /// Two parallel grooves 1.4 mm apart, as a tray's set leaves them: the shallow one's
    /// shoulders reach into the deep one. Measured with the deep one as a channel of its
    /// own, the shallow one reads its true depth; measured through it, it does not.
    #[test]
    fn a_parallel_channel_stays_out_of_the_shoulders() {
        let mut sheet = Sheet::grid(120, 12.0);
        let groove = |x: f32, centre: f32, half: f32, depth: f32| {
            let d = (x - centre).abs();
            if d < half {
                -depth * (1.0 - (d / half).powi(2))
            } else {
                0.0
            }
        };
        for p in &mut sheet.positions {
            if p[1].abs() <= 3.0 {
                p[2] = groove(p[0], -0.65, 0.4, 0.3) + groove(p[0], 0.75, 0.25, 0.08);
            }
        }
        let (s, positions) = (sheet.surface(0.1), &sheet.positions);
        let heights: Vec<f32> = positions.iter().map(|p| p[2]).collect();
        // Each region as the analyzer grows it: down to 30% of its deepest point.
        let region = |left: bool, depth: f32| -> Vec<u32> {
            let mut r: Vec<u32> = (0..positions.len() as u32)
                .filter(|&v| {
                    let p = positions[v as usize];
                    (p[0] < 0.0) == left && p[2] <= -0.3 * depth
                })
                .collect();
            r.sort_by(|&a, &b| heights[a as usize].total_cmp(&heights[b as usize]));
            r
        };
        let regions = vec![region(true, 0.3), region(false, 0.08)];
        let settings = Settings {
            min_depth: 0.05,
            min_length: 2.0,
            max_width: 0.9,
            max_ridge_width: 0.78,
        };
        let shallow = Candidate {
            region: &regions[1],
            sign: -1.0,
            id: 1,
        };
        let apart = Channels::new(&s, &regions, &heights);
        let mark = measure(&s, &shallow, &apart, &settings).expect("the shallow groove");
        assert!((mark.depth + 0.08).abs() < 0.02, "depth {}", mark.depth);
        assert!((mark.length - 6.0).abs() < 0.6, "length {}", mark.length);
        // Without the deep groove as a channel of its own, its wall lies in the shoulders.
        let unknown = Channels::new(&s, &regions[1..], &heights);
        let through = measure(&s, &shallow, &unknown, &settings);
        assert!(
            through
                .as_ref()
                .is_none_or(|m| (m.depth + 0.08).abs() > 0.04),
            "measured through the deep groove: {:?}",
            through.map(|m| m.depth)
        );
    }
}
