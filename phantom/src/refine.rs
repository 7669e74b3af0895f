//! Refinement of the height-field triangulation where it stands steep.
//!
//! A grid laid over the arch's `(s, t)` domain has edges of about the grid spacing in plan,
//! but where a crown's wall rises several millimetres within one step an edge across it is
//! many spacings long in space: stretched triangles no scanner makes. A scanner samples the
//! surface it sees at about even spacing, walls included. This module splits every edge that
//! is much longer in space than in plan (and longer than the limit) at its midpoint in the
//! domain, puts the new vertex on the true surface, and re-triangulates each triangle by how
//! many of its edges were split (one split: two triangles, two: three, three: four), so the
//! mesh stays conforming. It repeats until no such edge is left (three passes at most); then edges are flipped to
//! the Delaunay condition in space, which evens out the slivers the splits leave, but never
//! where the new diagonal would lie further off the true surface than the old (across a
//! crease a flip cuts the corner off), nor where a vertex would keep fewer than four faces.
//! Used only for phantoms asked for with scanner-like walls (`walls=1`).

use std::collections::HashMap;

use crate::surface::GridMesh;

/// The surface at a domain point: its position in the canonical frame and its label.
pub(crate) type SurfaceAt<'a> = dyn Fn(f32, f32) -> ([f32; 3], u8) + Sync + 'a;

/// An edge is split when it is longer than `limit` in space and this many times longer than in
/// plan: flat stretches, whose length is the jittered grid's, are left as they are.
const STEEPNESS: f32 = 1.3;
/// Passes at most; each halves the edges it splits.
const MAX_PASSES: usize = 3;

/// Splits the steep edges of `mesh` (see the module docs) until none is longer than `limit`
/// mm or [`MAX_PASSES`] are done (a wall's foot steeper than ~85° may keep a few longer
/// edges), placing new vertices with `at`, then flips. Returns how many vertices were added.
pub(crate) fn steep_edges(mesh: &mut GridMesh, limit: f32, at: &SurfaceAt<'_>) -> usize {
    let before = mesh.positions.len();
    for _ in 0..MAX_PASSES {
        if split_pass(mesh, limit, at) == 0 {
            break;
        }
    }
    delaunay_flips(mesh, before as u32, at);
    mesh.positions.len() - before
}

/// One pass: every long steep edge gets its midpoint; every triangle touching one is
/// re-triangulated. Returns the number of edges split.
fn split_pass(mesh: &mut GridMesh, limit: f32, at: &SurfaceAt<'_>) -> usize {
    let mut mids: HashMap<(u32, u32), u32> = HashMap::new();
    for tri in &mesh.triangles {
        for k in 0..3 {
            let (a, b) = (tri[k], tri[(k + 1) % 3]);
            let key = (a.min(b), a.max(b));
            if !mids.contains_key(&key) && is_steep(mesh, a, b, limit) {
                mids.insert(key, u32::MAX);
            }
        }
    }
    if mids.is_empty() {
        return 0;
    }
    let mut keys: Vec<(u32, u32)> = mids.keys().copied().collect();
    // Sorted, so the new vertices' order (and so the phantom) is the same on every run.
    keys.sort_unstable();
    for key in &keys {
        let (da, db) = (mesh.domain[key.0 as usize], mesh.domain[key.1 as usize]);
        let (s, t) = ((da[0] + db[0]) / 2.0, (da[1] + db[1]) / 2.0);
        let (p, label) = at(s, t);
        mids.insert(*key, mesh.positions.len() as u32);
        mesh.positions.push(p);
        mesh.labels.push(label);
        mesh.domain.push([s, t]);
    }
    let old = std::mem::take(&mut mesh.triangles);
    mesh.triangles.reserve(old.len() + 3 * keys.len());
    for tri in old {
        let mid = |k: usize| {
            let (a, b) = (tri[k], tri[(k + 1) % 3]);
            mids.get(&(a.min(b), a.max(b))).copied()
        };
        let split = [mid(0), mid(1), mid(2)];
        subdivide(mesh, tri, split);
    }
    keys.len()
}

/// A flip may leave its new diagonal this much further off the surface than the old, mm.
const FLIP_TOLERANCE_MM: f32 = 0.002;

/// Faces a vertex keeps at least after a flip.
const MIN_VALENCE: u32 = 4;

/// Flips passes at most.
const MAX_FLIP_PASSES: usize = 4;

/// Flips edges to the 3D Delaunay condition (the two angles facing an inner edge sum to at
/// most π), as a scanner's mesher leaves them: splits alone leave fans of slivers around
/// the old grid vertices, whose skewed one-rings bias any umbrella smoothing. A flip is made
/// only where the quad is convex in the domain, so the surface never folds.
/// Only triangles with a vertex from `first_new` on (made by the splits) take part: the
/// flats keep the jittered grid's random diagonals.
fn delaunay_flips(mesh: &mut GridMesh, first_new: u32, at: &SurfaceAt<'_>) {
    let refined: Vec<usize> = (0..mesh.triangles.len())
        .filter(|&i| mesh.triangles[i].iter().any(|&v| v >= first_new))
        .collect();
    for _ in 0..MAX_FLIP_PASSES {
        if flip_pass(mesh, &refined, at) == 0 {
            break;
        }
    }
}

/// One pass of [`delaunay_flips`] over the triangles `among`; each triangle changes at most
/// once. Returns the flips.
fn flip_pass(mesh: &mut GridMesh, among: &[usize], at: &SurfaceAt<'_>) -> usize {
    let around = Corners::new(mesh, among);
    // The face holding directed edge `x → y` (among those not yet changed this pass). A
    // flip keeps two corners of each of its faces, so a face made this pass is still listed
    // at one end of each of its edges.
    let face_of = |mesh: &GridMesh, x: u32, y: u32| {
        [x, y]
            .into_iter()
            .flat_map(|v| around.of(v))
            .copied()
            .find(|&f| {
                let t = mesh.triangles[f];
                (0..3).any(|k| t[k] == x && t[(k + 1) % 3] == y)
            })
    };
    let mut touched = vec![false; mesh.triangles.len()];
    let mut valence = vec![0u32; mesh.positions.len()];
    for tri in &mesh.triangles {
        tri.iter().for_each(|&v| valence[v as usize] += 1);
    }
    let mut flips = 0;
    for &i in among {
        for k in 0..3 {
            if touched[i] {
                break;
            }
            let [a, b, c] = rotate(mesh.triangles[i], k);
            let Some(j) = face_of(mesh, b, a).filter(|&j| j != i && !touched[j]) else {
                continue;
            };
            let d = mesh.triangles[j]
                .into_iter()
                .find(|&v| v != a && v != b)
                .unwrap_or(a);
            let exists = face_of(mesh, c, d).is_some() || face_of(mesh, d, c).is_some();
            // A flip takes a face from `a` and `b`: none is left with fewer than four, whose
            // ring would give no plane to judge the surface by.
            let thin = valence[a as usize].min(valence[b as usize]) <= MIN_VALENCE;
            if d == a || exists || thin || !wants_flip(mesh, [a, b, c, d], at) {
                continue;
            }
            valence[a as usize] -= 1;
            valence[b as usize] -= 1;
            valence[c as usize] += 1;
            valence[d as usize] += 1;
            mesh.triangles[i] = [a, d, c];
            mesh.triangles[j] = [d, b, c];
            touched[i] = true;
            touched[j] = true;
            flips += 1;
        }
    }
    flips
}

/// The faces around each vertex, among some of a mesh's faces (compressed rows).
struct Corners {
    start: Vec<u32>,
    faces: Vec<usize>,
}

impl Corners {
    fn new(mesh: &GridMesh, among: &[usize]) -> Self {
        let mut start = vec![0u32; mesh.positions.len() + 1];
        for &f in among {
            for v in mesh.triangles[f] {
                start[v as usize + 1] += 1;
            }
        }
        for v in 1..start.len() {
            start[v] += start[v - 1];
        }
        let mut fill = start.clone();
        let mut faces = vec![0usize; 3 * among.len()];
        for &f in among {
            for v in mesh.triangles[f] {
                faces[fill[v as usize] as usize] = f;
                fill[v as usize] += 1;
            }
        }
        Self { start, faces }
    }

    fn of(&self, v: u32) -> &[usize] {
        let v = v as usize;
        &self.faces[self.start[v] as usize..self.start[v + 1] as usize]
    }
}

/// Whether edge `a`–`b` between triangles `a b c` and `b a d` should become `c`–`d`: the
/// angles at `c` and `d` sum to more than π, and the quad `a d b c` is convex in the domain.
fn wants_flip(mesh: &GridMesh, [a, b, c, d]: [u32; 4], at: &SurfaceAt<'_>) -> bool {
    let p = |v: u32| mesh.positions[v as usize];
    let angle = |at: u32| {
        let (u, w) = (sub(p(a), p(at)), sub(p(b), p(at)));
        let cos = dot(u, w) / (dot(u, u) * dot(w, w)).sqrt().max(1e-12);
        cos.clamp(-1.0, 1.0).acos()
    };
    if angle(c) + angle(d) <= std::f32::consts::PI + 1e-3 {
        return false;
    }
    let q = |v: u32| mesh.domain[v as usize];
    // Only where the new diagonal lies on the surface as closely as the old one: across a
    // crease (a finish line, a crown's rim) a flip would cut the corner off and round it.
    let off_surface = |x: u32, y: u32| {
        let (dx, dy) = (q(x), q(y));
        let (on, _) = at((dx[0] + dy[0]) / 2.0, (dx[1] + dy[1]) / 2.0);
        let chord = std::array::from_fn::<f32, 3, _>(|k| (p(x)[k] + p(y)[k]) / 2.0);
        let d = sub(on, chord);
        dot(d, d).sqrt()
    };
    if off_surface(c, d) > off_surface(a, b) + FLIP_TOLERANCE_MM {
        return false;
    }
    let side = |o: [f32; 2], e: [f32; 2], x: [f32; 2]| {
        (e[0] - o[0]) * (x[1] - o[1]) - (e[1] - o[1]) * (x[0] - o[0])
    };
    // a and b on opposite sides of c–d, and the flipped triangles keep the winding.
    side(q(c), q(d), q(a)) * side(q(c), q(d), q(b)) < 0.0
        && side(q(a), q(d), q(c)) > 0.0
        && side(q(d), q(b), q(c)) > 0.0
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Whether edge `a`–`b` is long in space and steep (much longer in space than in plan).
fn is_steep(mesh: &GridMesh, a: u32, b: u32, limit: f32) -> bool {
    let (pa, pb) = (mesh.positions[a as usize], mesh.positions[b as usize]);
    let space = dist(pa, pb);
    if space <= limit {
        return false;
    }
    let (da, db) = (mesh.domain[a as usize], mesh.domain[b as usize]);
    let plan = ((da[0] - db[0]).powi(2) + (da[1] - db[1]).powi(2)).sqrt();
    space > STEEPNESS * plan
}

/// Replaces triangle `tri` (corners `a b c`, edges `ab bc ca`) by its pieces given the
/// midpoints of its split edges, keeping the winding.
fn subdivide(mesh: &mut GridMesh, tri: [u32; 3], split: [Option<u32>; 3]) {
    let count = split.iter().flatten().count();
    match count {
        0 => mesh.triangles.push(tri),
        1 => {
            // Rotate so the split edge is the first (a–b).
            let k = split.iter().position(Option::is_some).unwrap_or(0);
            let [a, b, c] = rotate(tri, k);
            let m = split[k].unwrap_or(a);
            mesh.triangles.extend([[a, m, c], [m, b, c]]);
        }
        2 => {
            // Rotate so the unsplit edge is the last (c–a).
            let k = (split.iter().position(Option::is_none).unwrap_or(2) + 1) % 3;
            let [a, b, c] = rotate(tri, k);
            let (m1, m2) = (split[k].unwrap_or(a), split[(k + 1) % 3].unwrap_or(b));
            mesh.triangles.push([m1, b, m2]);
            // The quad a m1 m2 c: cut along its shorter diagonal.
            let p = |v: u32| mesh.positions[v as usize];
            if dist(p(a), p(m2)) <= dist(p(m1), p(c)) {
                mesh.triangles.extend([[a, m1, m2], [a, m2, c]]);
            } else {
                mesh.triangles.extend([[a, m1, c], [m1, m2, c]]);
            }
        }
        _ => {
            let [a, b, c] = tri;
            let (m1, m2, m3) = (
                split[0].unwrap_or(a),
                split[1].unwrap_or(b),
                split[2].unwrap_or(c),
            );
            mesh.triangles
                .extend([[a, m1, m3], [m1, b, m2], [m3, m2, c], [m1, m2, m3]]);
        }
    }
}

/// The triangle's corners starting from corner `k`.
fn rotate(tri: [u32; 3], k: usize) -> [u32; 3] {
    [tri[k % 3], tri[(k + 1) % 3], tri[(k + 2) % 3]]
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step 4 mm high across a 4 × 4 grid of 1 mm cells: the edges over the step are split
    /// until none is longer than the limit, and the mesh stays conforming (every inner edge
    /// shared by exactly two triangles).
    #[test]
    fn a_step_is_split_until_no_edge_is_long_and_the_mesh_stays_conforming() {
        let height = |s: f32| (s - 1.8).clamp(0.0, 0.4) * 10.0;
        let at = |s: f32, t: f32| ([s, t, height(s)], 0u8);
        let mut mesh = grid(4, &at);
        let flat_before = mesh.triangles.len();
        let added = steep_edges(&mut mesh, 1.5, &at);
        assert!(added > 0);
        assert!(mesh.triangles.len() > flat_before);
        for tri in &mesh.triangles {
            for k in 0..3 {
                let (a, b) = (tri[k], tri[(k + 1) % 3]);
                let len = dist(mesh.positions[a as usize], mesh.positions[b as usize]);
                assert!(
                    len <= 1.5 * 1.01 || !is_steep(&mesh, a, b, 1.5),
                    "edge {len}"
                );
            }
        }
        let mut uses: HashMap<(u32, u32), i32> = HashMap::new();
        for tri in &mesh.triangles {
            for k in 0..3 {
                let (a, b) = (tri[k], tri[(k + 1) % 3]);
                // Directed: each inner edge once each way, so the winding is consistent.
                *uses.entry((a, b)).or_default() += 1;
                *uses.entry((b, a)).or_default() -= 1;
            }
        }
        let boundary = uses.values().filter(|&&n| n != 0).count();
        // The outer square, 4 cells a side, each cell edge possibly split: counted both ways.
        assert!(boundary >= 2 * 16, "boundary edges {boundary}");
        assert!(uses.values().all(|&n| n.abs() <= 1));
        // Flat cells far from the step are left alone.
        let untouched = mesh
            .triangles
            .iter()
            .filter(|t| t.iter().all(|&v| mesh.domain[v as usize][0] <= 1.0))
            .count();
        assert_eq!(untouched, 8);
    }

    fn grid(n: u32, at: &SurfaceAt<'_>) -> GridMesh {
        let mut mesh = GridMesh {
            positions: Vec::new(),
            triangles: Vec::new(),
            labels: Vec::new(),
            domain: Vec::new(),
        };
        for j in 0..=n {
            for i in 0..=n {
                let (p, l) = at(i as f32, j as f32);
                mesh.positions.push(p);
                mesh.labels.push(l);
                mesh.domain.push([i as f32, j as f32]);
            }
        }
        let id = |i: u32, j: u32| j * (n + 1) + i;
        for j in 0..n {
            for i in 0..n {
                let (a, b, c, d) = (id(i, j), id(i + 1, j), id(i + 1, j + 1), id(i, j + 1));
                mesh.triangles.extend([[a, b, c], [a, c, d]]);
            }
        }
        mesh
    }
}
