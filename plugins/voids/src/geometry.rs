//! Small geometry shared by the detectors: vector helpers, a smoothed reference surface, and
//! the mean edge length.

use imprint_core::plugin::sdk::ScanRef;

pub fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

/// Mean edge length over the adjacency, mm.
pub fn mean_edge(scan: &ScanRef<'_, '_>) -> f32 {
    imprint_core::derived::mean_edge_length(|v| scan.neighbours(v), scan.positions())
}

/// The scan smoothed by `rounds` of one-ring averaging (each vertex moved to its ring's
/// mean; boundary vertices held): a reference from which features narrower than about
/// `edge × √(2·rounds)` have been removed.
pub fn smoothed(scan: &ScanRef<'_, '_>, rounds: usize) -> Vec<[f32; 3]> {
    imprint_core::derived::laplacian_smooth(
        |v| scan.neighbours(v),
        scan.positions(),
        scan.on_boundary(),
        rounds,
        1.0,
    )
}
