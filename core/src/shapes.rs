//! Constructed meshes with known answers, for tests and benchmarks: an icosphere (curvature
//! `1/r`), a grid plane (optionally punched with round holes), an open box, and a wavy
//! scan-like surface of any size.

use crate::scan::Scan;

/// A triangle mesh under construction.
pub type Mesh = (Vec<[f32; 3]>, Vec<[u32; 3]>);

/// An icosphere of the given radius: an icosahedron subdivided `levels` times, projected on
/// the sphere. Level 4 has 2,562 vertices and 5,120 triangles.
pub fn icosphere(radius: f32, levels: u32) -> Mesh {
    let t = (1.0 + 5f32.sqrt()) / 2.0;
    let mut positions: Vec<[f32; 3]> = [
        [-1.0, t, 0.0],
        [1.0, t, 0.0],
        [-1.0, -t, 0.0],
        [1.0, -t, 0.0],
        [0.0, -1.0, t],
        [0.0, 1.0, t],
        [0.0, -1.0, -t],
        [0.0, 1.0, -t],
        [t, 0.0, -1.0],
        [t, 0.0, 1.0],
        [-t, 0.0, -1.0],
        [-t, 0.0, 1.0],
    ]
    .to_vec();
    let mut triangles: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    for _ in 0..levels {
        let mut mid = std::collections::HashMap::new();
        let mut next = Vec::with_capacity(triangles.len() * 4);
        for [a, b, c] in triangles {
            let mut m = |i: u32, j: u32| -> u32 {
                *mid.entry((i.min(j), i.max(j))).or_insert_with(|| {
                    let (p, q) = (positions[i as usize], positions[j as usize]);
                    positions.push([
                        (p[0] + q[0]) / 2.0,
                        (p[1] + q[1]) / 2.0,
                        (p[2] + q[2]) / 2.0,
                    ]);
                    positions.len() as u32 - 1
                })
            };
            let (ab, bc, ca) = (m(a, b), m(b, c), m(c, a));
            next.extend([[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]);
        }
        triangles = next;
    }
    for p in &mut positions {
        let len = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        *p = p.map(|c| c / len * radius);
    }
    (positions, triangles)
}

/// A square grid in the XY plane, `n` cells a side, `size` mm wide, normals along +Z.
pub fn grid_plane(n: u32, size: f32) -> Mesh {
    let step = size / n as f32;
    let positions = (0..=n)
        .flat_map(|j| (0..=n).map(move |i| [i as f32 * step, j as f32 * step, 0.0]))
        .collect();
    let mut triangles = Vec::with_capacity(2 * (n * n) as usize);
    let id = |i: u32, j: u32| j * (n + 1) + i;
    for j in 0..n {
        for i in 0..n {
            triangles.push([id(i, j), id(i + 1, j), id(i + 1, j + 1)]);
            triangles.push([id(i, j), id(i + 1, j + 1), id(i, j + 1)]);
        }
    }
    (positions, triangles)
}

/// Removes the triangles whose centroid lies within `radius` of any centre (in XY).
pub fn punch_holes(mesh: Mesh, centres: &[[f32; 2]], radius: f32) -> Mesh {
    let (positions, triangles) = mesh;
    let kept = triangles
        .into_iter()
        .filter(|t| {
            let c = t.iter().fold([0.0f32; 2], |acc, &i| {
                let p = positions[i as usize];
                [acc[0] + p[0] / 3.0, acc[1] + p[1] / 3.0]
            });
            centres
                .iter()
                .all(|h| (c[0] - h[0]).hypot(c[1] - h[1]) > radius)
        })
        .collect();
    (positions, kept)
}

/// A cube of side `size` with `n` cells per face edge and its top (+Z) face removed,
/// wound outward; its one boundary loop is the rim, `4 × size` long.
pub fn open_box(size: f32, n: u32) -> Mesh {
    let mut soup: Vec<[f32; 3]> = Vec::new();
    let (plane, tris) = grid_plane(n, size);
    // Each face: map the plane (u, v) to 3-D, wound so the normal points outward.
    type FaceMap = fn([f32; 3], f32) -> [f32; 3];
    let faces: [FaceMap; 5] = [
        |p, _| [p[1], p[0], 0.0], // bottom, normal -Z
        |p, _| [p[0], 0.0, p[1]], // front y=0, normal -Y
        |p, s| [s, p[0], p[1]],   // right x=s, normal +X
        |p, s| [p[1], s, p[0]],   // back y=s, normal +Y
        |p, _| [0.0, p[1], p[0]], // left x=0, normal -X
    ];
    for f in faces {
        for t in &tris {
            for &i in t {
                soup.push(f(plane[i as usize], size));
            }
        }
    }
    crate::io::weld(&soup, crate::io::Weld::Exact)
}

/// A wavy, open, scan-like surface of about `triangles` triangles over a 60 × 60 mm square,
/// with gentle bumps (tooth-sized) and a deterministic jitter so the lattice is irregular.
pub fn wavy_surface(triangles: usize) -> Mesh {
    let n = ((triangles as f64 / 2.0).sqrt().round() as u32).max(2);
    let (mut positions, tris) = grid_plane(n, 60.0);
    let step = 60.0 / n as f32;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for p in &mut positions {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let jx = ((state & 0xffff) as f32 / 65535.0 - 0.5) * 0.3 * step;
        let jy = (((state >> 16) & 0xffff) as f32 / 65535.0 - 0.5) * 0.3 * step;
        let (x, y) = (p[0] + jx, p[1] + jy);
        let z = 3.0 * (x * 0.6).sin() * (y * 0.6).cos() + 0.5 * (x * 2.1 + y * 1.3).sin();
        *p = [x, y, z];
    }
    (positions, tris)
}

/// Wraps a constructed mesh into a validated [`Scan`].
pub fn to_scan(mesh: Mesh) -> Scan {
    match Scan::new(mesh.0, mesh.1) {
        Ok(scan) => scan,
        Err(e) => panic!("constructed mesh is invalid: {e}"),
    }
}
