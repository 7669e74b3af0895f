//! Radial cross-sections of a prepared tooth: the mesh cut by half-planes through the tooth's
//! long axis, one every few tenths of a degree, each an ordered profile in the plane
//! (`rho` outward from the axis, `z` along it). The finish line is a kink in every profile;
//! finding it there is a 1-D problem on exact mesh geometry (no resampling of the surface).

use imprint_core::util::FastMap;

/// A local cylindrical frame around a tooth's long axis.
#[derive(Debug, Clone, Copy)]
pub struct ToothFrame {
    /// A point on the axis (the crown's centre).
    pub center: [f32; 3],
    /// Unit axis towards occlusal.
    pub axis: [f32; 3],
    /// Unit vectors spanning the plane across the axis (`u × v = axis`).
    pub u: [f32; 3],
    /// See `u`.
    pub v: [f32; 3],
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt().max(1e-12);
    [a[0] / n, a[1] / n, a[2] / n]
}

impl ToothFrame {
    /// The frame at `center` with long axis `axis` (normalised here).
    pub fn new(center: [f32; 3], axis: [f32; 3]) -> Self {
        let axis = normalize(axis);
        let helper = if axis[0].abs() < 0.9 {
            [1.0, 0.0, 0.0]
        } else {
            [0.0, 1.0, 0.0]
        };
        let u = normalize(cross(helper, axis));
        let v = cross(axis, u);
        Self { center, axis, u, v }
    }

    /// `(x, y, z)` of a point: across the axis (`x` along `u`, `y` along `v`) and along it.
    pub fn local(&self, p: [f32; 3]) -> [f32; 3] {
        let d = [
            p[0] - self.center[0],
            p[1] - self.center[1],
            p[2] - self.center[2],
        ];
        [dot(d, self.u), dot(d, self.v), dot(d, self.axis)]
    }

    /// The same frame with its axis moved by `x` along `u` and `y` along `v`.
    pub fn shifted(&self, x: f32, y: f32) -> Self {
        Self::new(self.to_world([x, y, 0.0]), self.axis)
    }

    /// The world point of local coordinates `l` (see [`ToothFrame::local`]).
    pub fn to_world(&self, l: [f32; 3]) -> [f32; 3] {
        std::array::from_fn(|k| {
            self.center[k] + l[0] * self.u[k] + l[1] * self.v[k] + l[2] * self.axis[k]
        })
    }

    /// The world point at angle `theta`, radius `rho` and height `z`.
    pub fn world(&self, theta: f32, rho: f32, z: f32) -> [f32; 3] {
        let (s, c) = theta.sin_cos();
        self.to_world([rho * c, rho * s, z])
    }
}

/// One connected piece of a section: points `(rho, z)` ordered outward, each with the mesh
/// vertex nearest to it.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// Points in the section plane.
    pub points: Vec<[f32; 2]>,
    /// Nearest mesh vertex per point.
    pub vertices: Vec<u32>,
}

/// Anything a tooth can be cut into radial sections from: a mesh neighbourhood, or a point
/// cloud's slabs (see [`crate::cloud`]).
pub trait Sections: Sized {
    /// The section at angle `theta`: its connected pieces, each ordered outward.
    fn section(&self, theta: f32) -> Vec<Chain>;

    /// The same surface in the frame `new` (this one's frame: `old`).
    fn recentred(&self, old: &ToothFrame, new: &ToothFrame) -> Self;

    /// Neighbouring teeth can be in the sections (a scan of the arch; not a lone tooth's
    /// point cloud).
    fn has_neighbours(&self) -> bool {
        false
    }
}

/// The mesh around one tooth, in its cylindrical frame, with its triangles bucketed by the
/// angles they span so a section visits only the triangles it can cut.
pub struct Neighbourhood<'a> {
    /// The scan's vertex positions and triangles, to cut again around a new frame.
    scan: (&'a [[f32; 3]], &'a [[u32; 3]]),
    /// The frame the triangles were gathered around, their radius and height range.
    gathered: (ToothFrame, f32, (f32, f32)),
    /// Local `(x, y, z)` per kept vertex.
    local: Vec<[f32; 3]>,
    /// The scan's vertex index per kept vertex.
    global: Vec<u32>,
    /// Kept triangles, in kept-vertex indices.
    triangles: Vec<[u32; 3]>,
    /// Triangles whose angular span covers each bucket.
    buckets: Vec<Vec<u32>>,
    /// Triangles around the axis itself (they span every angle).
    around_axis: Vec<u32>,
}

/// Angular buckets (0.5° each).
const BUCKETS: usize = 720;

impl<'a> Neighbourhood<'a> {
    /// The triangles with every vertex within `radius` of the axis and within `[below,
    /// above]` along it.
    pub fn new(
        frame: &ToothFrame,
        positions: &'a [[f32; 3]],
        triangles: &'a [[u32; 3]],
        radius: f32,
        (below, above): (f32, f32),
    ) -> Self {
        const OUTSIDE: u32 = u32::MAX;
        let mut hood = Self {
            scan: (positions, triangles),
            gathered: (*frame, radius, (below, above)),
            local: Vec::new(),
            global: Vec::new(),
            triangles: Vec::new(),
            buckets: vec![Vec::new(); BUCKETS],
            around_axis: Vec::new(),
        };
        // One sequential pass over the vertices, then over the triangles.
        let slot: Vec<u32> = positions
            .iter()
            .enumerate()
            .map(|(v, p)| {
                let l = frame.local(*p);
                if l[0] * l[0] + l[1] * l[1] <= radius * radius && (below..=above).contains(&l[2]) {
                    hood.local.push(l);
                    hood.global.push(v as u32);
                    (hood.local.len() - 1) as u32
                } else {
                    OUTSIDE
                }
            })
            .collect();
        let kept = |v: u32| slot.get(v as usize).copied().filter(|&s| s != OUTSIDE);
        hood.triangles = triangles
            .iter()
            .filter_map(|t| Some([kept(t[0])?, kept(t[1])?, kept(t[2])?]))
            .collect();
        hood.bucket();
        hood
    }

    /// Files each triangle under the buckets its angular span covers.
    fn bucket(&mut self) {
        let tau = std::f32::consts::TAU;
        let width = tau / BUCKETS as f32;
        for (i, t) in self.triangles.iter().enumerate() {
            let mut angles = t.map(|v| {
                let l = self.local[v as usize];
                l[1].atan2(l[0]).rem_euclid(tau)
            });
            angles.sort_by(f32::total_cmp);
            // The smallest arc holding all three: the circle minus its largest empty gap.
            let gaps = [
                angles[1] - angles[0],
                angles[2] - angles[1],
                angles[0] + tau - angles[2],
            ];
            let (largest, gap) = gaps
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or((0, 0.0), |(k, g)| (k, *g));
            let span = tau - gap;
            if span >= std::f32::consts::PI {
                self.around_axis.push(i as u32);
                continue;
            }
            let start = angles[(largest + 1) % 3];
            let first = (start / width) as usize;
            let last = ((start + span) / width) as usize;
            for b in first..=last {
                self.buckets[b % BUCKETS].push(i as u32);
            }
        }
    }

    /// The section at angle `theta`: the pieces of the mesh's cut by the half-plane there.
    pub fn cut(&self, theta: f32) -> Vec<Chain> {
        let (s, c) = theta.sin_cos();
        let side = |l: &[f32; 3]| c * l[1] - s * l[0];
        let tau = std::f32::consts::TAU;
        let bucket = ((theta.rem_euclid(tau) / tau) * BUCKETS as f32) as usize % BUCKETS;
        let mut segments: Vec<[(u32, u32); 2]> = Vec::new();
        let mut points: FastMap<(u32, u32), ([f32; 2], u32)> = FastMap::default();
        for &i in self.buckets[bucket].iter().chain(&self.around_axis) {
            let t = self.triangles[i as usize];
            let l = t.map(|v| self.local[v as usize]);
            let d = l.map(|p| side(&p));
            let mut ends = [((0u32, 0u32), 0.0f32); 3];
            let mut count = 0;
            for k in 0..3 {
                let (a, b) = (k, (k + 1) % 3);
                if (d[a] < 0.0) != (d[b] < 0.0) {
                    let w = d[a] / (d[a] - d[b]);
                    let p: [f32; 3] = std::array::from_fn(|i| l[a][i] + w * (l[b][i] - l[a][i]));
                    let rho = c * p[0] + s * p[1];
                    let key = (t[a].min(t[b]), t[a].max(t[b]));
                    let nearest = self.global[if w < 0.5 { t[a] } else { t[b] } as usize];
                    points.insert(key, ([rho, p[2]], nearest));
                    ends[count] = (key, rho);
                    count += 1;
                }
            }
            if count == 2 && ends[0].1 > 0.0 && ends[1].1 > 0.0 {
                segments.push([ends[0].0, ends[1].0]);
            }
        }
        chains(&segments, &points)
    }
}

/// Joins segments that share a crossing point into chains, each ordered outward.
fn chains(
    segments: &[[(u32, u32); 2]],
    points: &FastMap<(u32, u32), ([f32; 2], u32)>,
) -> Vec<Chain> {
    // The (up to two) segments at each crossing point; a third, at a non-manifold edge, is
    // left out of the chains.
    const NONE: u32 = u32::MAX;
    let mut at: FastMap<(u32, u32), [u32; 2]> = FastMap::default();
    for (i, s) in segments.iter().enumerate() {
        for e in s {
            let slots = at.entry(*e).or_insert([NONE; 2]);
            if let Some(free) = slots.iter_mut().find(|x| **x == NONE) {
                *free = i as u32;
            }
        }
    }
    let mut used = vec![false; segments.len()];
    let next = |p: &(u32, u32), used: &[bool]| {
        at.get(p).and_then(|v| {
            v.iter()
                .find(|&&i| i != NONE && !used[i as usize])
                .map(|&i| i as usize)
        })
    };
    let mut out = Vec::new();
    // Open chains first (start at a point with one segment), then closed loops.
    let mut starts: Vec<(u32, u32)> = at
        .iter()
        .filter(|(_, v)| v[1] == NONE)
        .map(|(k, _)| *k)
        .collect();
    starts.sort_unstable();
    let loops = segments.iter().map(|s| s[0]);
    for start in starts.into_iter().chain(loops) {
        if next(&start, &used).is_none() {
            continue;
        }
        let mut keys = vec![start];
        let mut current = start;
        while let Some(seg) = next(&current, &used) {
            used[seg] = true;
            let s = segments[seg];
            current = if s[0] == current { s[1] } else { s[0] };
            keys.push(current);
        }
        if keys.len() < 3 {
            continue;
        }
        let mut chain = Chain {
            points: keys.iter().map(|k| points[k].0).collect(),
            vertices: keys.iter().map(|k| points[k].1).collect(),
        };
        let (first, last) = (chain.points[0], chain.points[chain.points.len() - 1]);
        if first[0] > last[0] {
            chain.points.reverse();
            chain.vertices.reverse();
        }
        out.push(chain);
    }
    out
}

/// How far a new frame's axis may lie from the one the triangles were gathered around
/// before they are gathered again, mm: the line lies 3-6 mm from the axis and the radius
/// gathered reaches 3 mm past a crown's half width, so beyond this the far side's gingiva
/// (where an abutted line's junction lies) would be cut off.
const REGATHER_MM: f32 = 1.0;

impl Sections for Neighbourhood<'_> {
    fn section(&self, theta: f32) -> Vec<Chain> {
        self.cut(theta)
    }

    fn recentred(&self, old: &ToothFrame, new: &ToothFrame) -> Self {
        let (at, radius, range) = self.gathered;
        let shift = at.local(new.center);
        if shift[0].hypot(shift[1]) > REGATHER_MM {
            return Self::new(new, self.scan.0, self.scan.1, radius, range);
        }
        let mut hood = Self {
            scan: self.scan,
            gathered: self.gathered,
            local: self
                .local
                .iter()
                .map(|l| new.local(old.to_world(*l)))
                .collect(),
            global: self.global.clone(),
            triangles: self.triangles.clone(),
            buckets: vec![Vec::new(); BUCKETS],
            around_axis: Vec::new(),
        };
        hood.bucket();
        hood
    }

    fn has_neighbours(&self) -> bool {
        true
    }
}

impl Neighbourhood<'_> {
    /// The scan's indices of the vertices it holds.
    pub fn vertices(&self) -> impl Iterator<Item = u32> + '_ {
        self.global.iter().copied()
    }

    /// Mean edge length of its triangles, mm.
    pub fn mean_edge(&self) -> f32 {
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for t in &self.triangles {
            for k in 0..3 {
                let (a, b) = (
                    self.local[t[k] as usize],
                    self.local[t[(k + 1) % 3] as usize],
                );
                sum += f64::from((0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f32>().sqrt());
                n += 1;
            }
        }
        if n == 0 {
            0.2
        } else {
            (sum / n as f64) as f32
        }
    }
}
