//! Small shared utilities: a fast non-cryptographic hasher for integer keys (hash maps on
//! vertex and edge keys are on the hot path of loading and topology).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hasher for small integer keys (the FxHash scheme). Not DoS-resistant;
/// keys here are mesh coordinates and indices.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The serde name of a unit enum value (`FindingKind::DragMark` → `"drag_mark"`); empty for
/// values that do not serialise to a string.
pub fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A `HashMap` using [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Distance from `p` to a polyline (closed: the last point joins the first), mm.
///
/// ```
/// use imprint_core::util::polyline_distance;
/// let square = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]];
/// assert!((polyline_distance([0.5, 0.5, 0.0], &square, true) - 0.5).abs() < 1e-6);
/// assert!((polyline_distance([-0.5, 0.5, 0.0], &square, false) - 0.7071).abs() < 1e-3);
/// ```
pub fn polyline_distance(p: [f32; 3], line: &[[f32; 3]], closed: bool) -> f32 {
    polyline_project(p, line, closed).map_or(f32::INFINITY, |(d, _, _)| d)
}

/// The point of a polyline nearest to `p`: `(distance, segment, fraction)`, the segment
/// from point `segment` to the next and the fraction along it; `None` for an empty line.
///
/// ```
/// use imprint_core::util::polyline_project;
/// let l = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 2.0, 0.0]];
/// let (d, seg, f) = polyline_project([2.5, 1.5, 0.0], &l, false).unwrap();
/// assert_eq!(seg, 1);
/// assert!((d - 0.5).abs() < 1e-6 && (f - 0.75).abs() < 1e-6);
/// ```
pub fn polyline_project(p: [f32; 3], line: &[[f32; 3]], closed: bool) -> Option<(f32, usize, f32)> {
    let n = line.len();
    let first = line.first()?;
    let mut best = (
        (0..3).map(|c| (p[c] - first[c]).powi(2)).sum::<f32>(),
        0,
        0.0,
    );
    let segments = if closed { n } else { n.saturating_sub(1) };
    for i in 0..segments {
        let (a, b) = (line[i], line[(i + 1) % n]);
        let d: [f32; 3] = std::array::from_fn(|c| b[c] - a[c]);
        let len2: f32 = d.iter().map(|x| x * x).sum();
        let f = if len2 > 0.0 {
            ((0..3).map(|c| (p[c] - a[c]) * d[c]).sum::<f32>() / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let dist2: f32 = (0..3).map(|c| (p[c] - a[c] - f * d[c]).powi(2)).sum();
        if dist2 < best.0 {
            best = (dist2, i, f);
        }
    }
    Some((best.0.sqrt(), best.1, best.2))
}

/// Sums `term(i)` over `0..n` in parallel, in fixed chunks added in index order: the same
/// result on every run. (A rayon `reduce` adds in whatever tree the scheduler built, so a
/// float sum can differ in its last bits from run to run, and a threshold downstream flip.)
///
/// ```
/// let s = imprint_core::util::ordered_sum(100_000, 0.0f32, |a, b| a + b, |i| i as f32 * 1e-3);
/// assert_eq!(s, imprint_core::util::ordered_sum(100_000, 0.0f32, |a, b| a + b, |i| i as f32 * 1e-3));
/// ```
pub fn ordered_sum<T: Copy + Send + Sync>(
    n: usize,
    zero: T,
    add: impl Fn(T, T) -> T + Sync,
    term: impl Fn(usize) -> T + Sync,
) -> T {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    let parts: Vec<T> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).fold(zero, |acc, i| add(acc, term(i))))
        .collect();
    parts.into_iter().fold(zero, &add)
}

/// The top tenth's lowest value of `values` (the element at rank `len × 9 / 10`, reordering
/// `values`): how high a crown stands, robust to its few highest vertices; `None` when empty.
///
/// ```
/// let mut v: Vec<f32> = (0..10).map(|i| i as f32).collect();
/// assert_eq!(imprint_core::util::top_tenth(&mut v), Some(9.0));
/// assert_eq!(imprint_core::util::top_tenth(&mut []), None);
/// ```
pub fn top_tenth(values: &mut [f32]) -> Option<f32> {
    let k = (values.len() * 9 / 10).min(values.len().checked_sub(1)?);
    Some(*values.select_nth_unstable_by(k, f32::total_cmp).1)
}
