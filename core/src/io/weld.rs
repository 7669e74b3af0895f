//! Welding: merging the unshared vertices of triangle soups (STL) into an indexed mesh.
//!
//! Vertices keep the order of their first occurrence, so per-vertex label files written for
//! the welded mesh line up. Exact welding merges bit-identical positions (with `-0.0 == 0.0`);
//! tolerance welding merges positions closer than a distance.

use crate::util::FastMap;
use rayon::prelude::*;
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
        _ => weld_keys(
            &soup
                .par_iter()
                .with_min_len(1 << 14)
                .map(Key::of)
                .collect::<Vec<_>>(),
        ),
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

/// Welds exact keys (three per triangle) into positions and triangles.
pub(crate) fn weld_keys(keys: &[Key]) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let ids = exact_ids(keys);
    let mut positions = Vec::with_capacity(keys.len() / 5);
    for (k, &id) in keys.iter().zip(&ids) {
        if id as usize == positions.len() {
            positions.push(k.position());
        }
    }
    let triangles = ids.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
    (positions, triangles)
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

/// Ids of a run of keys in first-occurrence order, its map, and its distinct keys in order.
fn local_ids(keys: &[Key]) -> (Vec<u32>, FastMap<Key, u32>, Vec<Key>) {
    let mut map: FastMap<Key, u32> = FastMap::default();
    map.reserve(keys.len() / 5);
    let mut distinct = Vec::with_capacity(keys.len() / 5);
    let ids = keys
        .iter()
        .map(|k| {
            *map.entry(*k).or_insert_with(|| {
                distinct.push(*k);
                distinct.len() as u32 - 1
            })
        })
        .collect();
    (ids, map, distinct)
}

/// For each key, the id of its first equal key (ids in first-occurrence order).
///
/// The two halves are deduplicated in parallel; the first half's map is then the global map,
/// and the second half's distinct keys, taken in their own first-occurrence order, either
/// find their id there or take the next new one — which is global first-occurrence order.
/// (Hash-sharded variants with more parts were measured on 2 cores: their scatter back to
/// index order is memory-bound and lost.)
fn exact_ids(keys: &[Key]) -> Vec<u32> {
    if keys.len() < 1 << 16 || rayon::current_num_threads() < 2 {
        return local_ids(keys).0;
    }
    let mid = keys.len() / 2;
    let ((mut ids, map, first), (tail, _, distinct)) =
        rayon::join(|| local_ids(&keys[..mid]), || local_ids(&keys[mid..]));
    let mut next = first.len() as u32;
    let remap: Vec<u32> = distinct
        .iter()
        .map(|k| {
            map.get(k).copied().unwrap_or_else(|| {
                next += 1;
                next - 1
            })
        })
        .collect();
    ids.extend(tail.iter().map(|&j| remap[j as usize]));
    ids
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
