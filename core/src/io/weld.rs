//! Welding: merging the unshared vertices of triangle soups (STL) into an indexed mesh.
//!
//! Vertices keep the order of their first occurrence, so per-vertex label files written for
//! the welded mesh line up. Exact welding merges bit-identical positions (with `-0.0 == 0.0`);
//! tolerance welding merges positions closer than a distance.

use crate::util::FastMap;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// How duplicate vertices are merged.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Weld {
    /// Merge positions that are exactly equal.
    #[default]
    Exact,
    /// Merge positions within this distance (mm) of a vertex already kept.
    Tolerance(f32),
}

/// Welds a triangle soup (three positions per triangle) into positions and triangles.
///
/// ```
/// use imprint_core::io::{weld, Weld};
/// let soup = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
///             [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]];
/// let (positions, triangles) = weld(&soup, Weld::Exact);
/// assert_eq!(positions.len(), 4);
/// assert_eq!(triangles[1], [1, 3, 2]);
/// ```
pub fn weld(soup: &[[f32; 3]], mode: Weld) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    match mode {
        Weld::Tolerance(tol) if tol > 0.0 && tol.is_finite() => {
            assemble(soup, &tolerance_ids(soup, tol))
        }
        _ => {
            let welded = weld_exact(soup.len() / 3, |i| Key::of(&soup[i]));
            (welded.positions, welded.triangles)
        }
    }
}

/// A position's bit patterns: the exact-weld key. Hashed as one u64 and one u32 rather than
/// through the slice path of `[u32; 3]`'s `Hash`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key([u32; 3]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0[0]) | (u64::from(self.0[1]) << 32));
        state.write_u32(self.0[2]);
    }
}

impl Key {
    /// The key of a position (`-0.0` and `+0.0` are the same point).
    pub(crate) fn of(p: &[f32; 3]) -> Self {
        Self::from_bits(p.map(f32::to_bits))
    }

    /// The key of a position given as raw bit patterns.
    pub(crate) fn from_bits(bits: [u32; 3]) -> Self {
        Self(bits.map(|b| if b == 0x8000_0000 { 0 } else { b }))
    }

    /// The position this key stands for.
    pub(crate) fn position(self) -> [f32; 3] {
        self.0.map(f32::from_bits)
    }

    /// All three coordinates are finite.
    pub(crate) fn is_finite(&self) -> bool {
        self.0.iter().all(|&b| f32::from_bits(b).is_finite())
    }
}

/// An exactly welded mesh, and the first corner whose key is not finite (if any).
pub(crate) struct Welded {
    pub positions: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
    pub first_non_finite: Option<usize>,
}

/// Welds `triangles` triangles whose corner keys `key_at(3 t + v)` gives, reading each key
/// once and storing none: loaders pass a reader over their own bytes.
///
/// The two halves of the triangles are deduplicated in parallel; the first half's map is then
/// the global map, and the second half's distinct keys, taken in their own first-occurrence
/// order, either find their id there or take the next new one — which is global
/// first-occurrence order. (Hash-sharded variants with more parts were measured on 2 cores:
/// their scatter back to index order is memory-bound and lost.)
pub(crate) fn weld_exact<F>(triangles: usize, key_at: F) -> Welded
where
    F: Fn(usize) -> Key + Sync,
{
    if triangles < 1 << 14 || rayon::current_num_threads() < 2 {
        return local_weld(0..triangles, &key_at).into_welded();
    }
    let mid = triangles / 2;
    let (head, tail) = rayon::join(
        || local_weld(0..mid, &key_at),
        || local_weld(mid..triangles, &key_at),
    );
    head.append(tail)
}

/// One run of triangles welded on its own: local ids in first-occurrence order.
struct Local {
    triangles: Vec<[u32; 3]>,
    map: FastMap<Key, u32>,
    distinct: Vec<Key>,
    first_non_finite: Option<usize>,
}

fn local_weld<F: Fn(usize) -> Key>(range: std::ops::Range<usize>, key_at: &F) -> Local {
    let mut map: FastMap<Key, u32> = FastMap::default();
    map.reserve(range.len() / 2 + 16);
    let mut distinct = Vec::with_capacity(range.len() / 2 + 16);
    let mut first_non_finite = None;
    let triangles = range
        .map(|t| {
            [0, 1, 2].map(|v| {
                let key = key_at(3 * t + v);
                *map.entry(key).or_insert_with(|| {
                    if first_non_finite.is_none() && !key.is_finite() {
                        first_non_finite = Some(3 * t + v);
                    }
                    distinct.push(key);
                    distinct.len() as u32 - 1
                })
            })
        })
        .collect();
    Local {
        triangles,
        map,
        distinct,
        first_non_finite,
    }
}

impl Local {
    fn into_welded(self) -> Welded {
        Welded {
            positions: self.distinct.iter().map(|k| k.position()).collect(),
            triangles: self.triangles,
            first_non_finite: self.first_non_finite,
        }
    }

    /// This run followed by `tail`, with `tail`'s ids made global.
    fn append(self, tail: Local) -> Welded {
        let mut positions: Vec<[f32; 3]> = self.distinct.iter().map(|k| k.position()).collect();
        let remap: Vec<u32> = tail
            .distinct
            .iter()
            .map(|k| {
                self.map.get(k).copied().unwrap_or_else(|| {
                    positions.push(k.position());
                    positions.len() as u32 - 1
                })
            })
            .collect();
        let mut triangles = self.triangles;
        triangles.extend(tail.triangles.iter().map(|t| t.map(|j| remap[j as usize])));
        Welded {
            positions,
            triangles,
            first_non_finite: self.first_non_finite.or(tail.first_non_finite),
        }
    }
}

fn assemble(soup: &[[f32; 3]], ids: &[u32]) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let mut positions = Vec::with_capacity(soup.len() / 5);
    for (p, &id) in soup.iter().zip(ids) {
        if id as usize == positions.len() {
            positions.push(*p);
        }
    }
    (
        positions,
        ids.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect(),
    )
}

fn tolerance_ids(soup: &[[f32; 3]], tol: f32) -> Vec<u32> {
    let cell = |p: &[f32; 3]| p.map(|c| (c / tol).floor() as i64);
    let mut grid: HashMap<[i64; 3], Vec<(u32, [f32; 3])>> = HashMap::new();
    let mut next = 0u32;
    let mut ids = Vec::with_capacity(soup.len());
    for p in soup {
        let c = cell(p);
        let found = neighbours(c).find_map(|n| {
            grid.get(&n)?
                .iter()
                .find(|(_, q)| dist2(p, q) <= tol * tol)
                .map(|(id, _)| *id)
        });
        let id = found.unwrap_or_else(|| {
            grid.entry(c).or_default().push((next, *p));
            next += 1;
            next - 1
        });
        ids.push(id);
    }
    ids
}

fn neighbours(c: [i64; 3]) -> impl Iterator<Item = [i64; 3]> {
    (0..27).map(move |k: i64| [c[0] + k % 3 - 1, c[1] + (k / 3) % 3 - 1, c[2] + k / 9 - 1])
}

fn dist2(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]) * (a[k] - b[k])).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A soup of `n` triangles over a small grid of points, so keys repeat across both halves.
    fn soup(n: usize) -> Vec<[f32; 3]> {
        let mut state = 12345u64;
        (0..3 * n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let c = (state >> 33) % 40_000;
                [(c % 200) as f32 * 0.1, (c / 200) as f32 * 0.1, 0.0]
            })
            .collect()
    }

    /// First-occurrence ids the plain way, one map over everything.
    fn reference(soup: &[[f32; 3]]) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let mut map = HashMap::new();
        let mut positions = Vec::new();
        let ids: Vec<u32> = soup
            .iter()
            .map(|p| {
                *map.entry(Key::of(p)).or_insert_with(|| {
                    positions.push(*p);
                    positions.len() as u32 - 1
                })
            })
            .collect();
        (
            positions,
            ids.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect(),
        )
    }

    #[test]
    fn halves_welded_apart_give_global_first_occurrence_order() {
        let soup = soup(50_000);
        let welded = weld_exact(50_000, |i| Key::of(&soup[i]));
        let (positions, triangles) = reference(&soup);
        assert_eq!(welded.positions, positions);
        assert_eq!(welded.triangles, triangles);
        assert_eq!(welded.first_non_finite, None);
    }

    #[test]
    fn the_first_non_finite_corner_is_found_in_either_half() {
        let mut soup = soup(50_000);
        soup[120_001][1] = f32::INFINITY;
        soup[140_000][0] = f32::NAN;
        let at = |s: &[[f32; 3]]| weld_exact(s.len() / 3, |i| Key::of(&s[i])).first_non_finite;
        assert_eq!(at(&soup), Some(120_001), "in the second half");
        soup[7][2] = f32::NAN;
        assert_eq!(at(&soup), Some(7), "the first half wins");
    }
}
