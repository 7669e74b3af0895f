//! Fine surface detail on natural crowns, and smears that wipe it out.
//!
//! A stone cast or an impression records more than cusps and fissures: supplemental grooves,
//! ridges and the texture of enamel, a few hundredths of a millimetre deep and about a
//! millimetre apart. A tray that slid while the material set smears a band of that detail
//! away ("smeared, low-detail bands", DOMAIN.md). The phantom's detail is a sum of plane
//! waves in space (wavelengths 0.8–1.2 mm, random directions and phases, RMS
//! 30–50 µm), laid along the surface normals of unprepared crowns (a preparation is cut
//! smooth by the bur) and faded in over the first 0.4 mm of crown above the gingiva, so no
//! step marks the crown's edge. A smear is a band 4–8 mm long and 2.5–4 mm wide, in any
//! direction, where 90 % of that detail is gone.
//!
//! Detail is opt-in (`relief=1`, implied by `smears`): texture strong enough for a smear to be
//! measured against 5–15 µm of noise reads as nodules, voids and short drags to the bubble and
//! drag detectors, so it is a stress test of its own (`eval/detail.toml`), kept out of the main
//! suite.

use crate::defects::{truth, Placed};
use crate::surface::GridMesh;
use imprint_core::finding::{FindingKind, Severity};
use rand::Rng;

/// Waves summed into the detail.
const WAVES: usize = 32;
/// Share of the detail a smear removes.
const WIPED: f32 = 0.9;
/// Fade at a smear band's edges, mm.
const SMEAR_FADE: f32 = 0.3;

/// The detail of one phantom: plane waves in space.
#[derive(Debug, Clone)]
pub struct Relief {
    /// Wave vector (rad/mm, in space) and phase of each wave.
    waves: Vec<([f32; 3], f32)>,
    /// RMS height, mm.
    pub amplitude: f32,
}

impl Relief {
    /// Draws a relief.
    pub fn random(rng: &mut impl Rng) -> Self {
        let waves = (0..WAVES)
            .map(|_| {
                let wavelength = rng.random_range(0.8..1.2f32);
                // A direction uniform on the sphere.
                let z = rng.random_range(-1.0..1.0f32);
                let angle = rng.random_range(0.0..std::f32::consts::TAU);
                let r = (1.0 - z * z).sqrt();
                let k = std::f32::consts::TAU / wavelength;
                (
                    [k * r * angle.cos(), k * r * angle.sin(), k * z],
                    rng.random_range(0.0..std::f32::consts::TAU),
                )
            })
            .collect();
        Self {
            waves,
            amplitude: rng.random_range(0.03..0.05),
        }
    }

    /// The detail's height at point `p` (canonical frame), mm (RMS [`Relief::amplitude`]).
    pub fn at(&self, p: [f32; 3]) -> f32 {
        let sum: f32 = self
            .waves
            .iter()
            .map(|(k, phase)| (k[0] * p[0] + k[1] * p[1] + k[2] * p[2] + phase).cos())
            .sum();
        // Each cosine has mean square ½.
        self.amplitude * sum / (0.5 * WAVES as f32).sqrt()
    }
}

impl Relief {
    /// The detail that [`apply`] laid at a point now at `p` (moved along `n` by its weight
    /// `w` times the detail at where it was), mm.
    fn lifted(&self, p: [f32; 3], n: [f32; 3], w: f32) -> f32 {
        let mut h = 0.0;
        for _ in 0..4 {
            h = self.at(std::array::from_fn(|k| p[k] - w * h * n[k]));
        }
        h
    }
}

/// Lays the detail on the mesh along `normals`, weighted per vertex by `weight` (0 where
/// there is no natural crown); returns each vertex's weight.
pub fn apply(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    relief: &Relief,
    weight: impl Fn(f32, f32) -> f32 + Sync,
) -> Vec<f32> {
    use rayon::prelude::*;
    let shown: Vec<f32> = mesh.domain.par_iter().map(|&[s, t]| weight(s, t)).collect();
    for ((p, n), w) in mesh.positions.iter_mut().zip(normals).zip(&shown) {
        if *w > 0.0 {
            let h = w * relief.at(*p);
            *p = std::array::from_fn(|k| p[k] + h * n[k]);
        }
    }
    shown
}

/// A smear centred on vertex `centre`: a band along a random domain direction where the
/// detail laid on the mesh (`relief`, shown at each vertex by its weight) is wiped out.
/// `surface` gives the true surface's points, for the band's direction in space.
pub fn smear(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    (relief, shown): (&Relief, &[f32]),
    surface: &crate::drags::SurfaceFn<'_>,
    centre: u32,
    id: String,
    rng: &mut impl Rng,
) -> Placed {
    let length = rng.random_range(4.0..8.0f32);
    let width = rng.random_range(2.5..4.0f32);
    let angle = rng.random_range(0.0..std::f32::consts::PI);
    let (c, s) = (angle.cos(), angle.sin());
    let [s0, t0] = mesh.domain[centre as usize];
    let fade = |d: f32, half: f32| ((half - d.abs()) / SMEAR_FADE).clamp(0.0, 1.0);
    let mut vertices = Vec::new();
    for (i, [si, ti]) in mesh.domain.iter().enumerate() {
        let (ds, dt) = (si - s0, ti - t0);
        let mask = fade(ds * c + dt * s, length / 2.0) * fade(dt * c - ds * s, width / 2.0);
        let w = shown.get(i).copied().unwrap_or(0.0);
        if mask <= 0.0 || w <= 0.0 {
            continue;
        }
        let (p, n) = (&mut mesh.positions[i], normals[i]);
        let h = w * relief.lifted(*p, n, w);
        *p = std::array::from_fn(|k| p[k] - WIPED * mask * h * n[k]);
        vertices.push(i as u32);
    }
    let end = |sign: f32| surface(s0 + sign * 0.5 * length * c, t0 + sign * 0.5 * length * s);
    let (a, b) = (end(-1.0), end(1.0));
    let chord = (0..3).map(|k| (b[k] - a[k]).powi(2)).sum::<f32>().sqrt();
    let mut t = truth(
        id,
        FindingKind::Smear,
        mesh.positions[centre as usize],
        // On a steep wall the band's domain length stretches over more surface.
        length.max(chord),
        relief.amplitude,
        mesh.labels[centre as usize],
    );
    t.direction = Some(std::array::from_fn(|k| (b[k] - a[k]) / chord.max(1e-6)));
    t.width_mm = Some(width);
    t.severity = Severity::Minor;
    Placed {
        truth: t,
        vertices,
        remove: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_detail_has_its_rms_height() {
        let relief = Relief::random(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        let n = 200;
        let mean_square: f32 = (0..n * n)
            .map(|i| {
                let (s, t) = ((i % n) as f32 * 0.137, (i / n) as f32 * 0.113);
                relief.at([s, t, 0.3 * s]).powi(2)
            })
            .sum::<f32>()
            / (n * n) as f32;
        let rms = mean_square.sqrt();
        assert!(
            (rms - relief.amplitude).abs() < 0.2 * relief.amplitude,
            "rms {rms} against {}",
            relief.amplitude
        );
    }
}
