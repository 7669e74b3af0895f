//! The spaces between teeth that set material flows into: open embrasures (the papilla
//! lost, a "black triangle"), edentulous spans beside a tooth, and the clinical crown height
//! that long crowns show after recession.
//!
//! Everything here runs in the host's arch coordinates: `s` along the arch, `t` across it,
//! `h` along the occlusal direction.

use imprint_core::tooth::Jaw;

/// A tooth as the tooth map found it.
#[derive(Debug, Clone, Copy)]
pub struct MapTooth {
    /// FDI number.
    pub fdi: u8,
    /// Arch position of its centre, mm.
    pub s: f32,
    /// Mesiodistal width, mm.
    pub width: f32,
    /// The map's confidence in the tooth's segmentation and number, 0–1.
    pub confidence: f32,
}

/// Per-vertex arch coordinates and tooth labels.
pub struct ArchPoints<'a> {
    /// `(s, t, h)` per vertex.
    pub coords: &'a [[f32; 3]],
    /// FDI per vertex, 0 for gingiva.
    pub labels: &'a [u8],
    /// For a gingiva vertex beside a tooth's vertex: that tooth's FDI; else 0.
    pub border: &'a [u8],
}

/// For every gingiva vertex beside a tooth's vertex, that tooth (see [`ArchPoints::border`]).
pub fn borders<'n>(labels: &[u8], neighbours: impl Fn(usize) -> &'n [u32]) -> Vec<u8> {
    (0..labels.len())
        .map(|v| {
            if labels[v] != 0 {
                return 0;
            }
            neighbours(v)
                .iter()
                .map(|&n| labels.get(n as usize).copied().unwrap_or(0))
                .find(|&l| l != 0)
                .unwrap_or(0)
        })
        .collect()
}

/// The fill of one interproximal space: how high the tissue under the contact stands above
/// the two teeth's gingival margins (their mean).
#[derive(Debug, Clone, Copy)]
pub struct Papilla {
    /// The tooth towards lower `s`.
    pub a: u8,
    /// The tooth towards higher `s`.
    pub b: u8,
    /// Height of the lowest point under the contact (across the middle 3 mm of the
    /// embrasure) above the teeth's gingival margins, mm.
    pub fill_mm: f32,
    /// Height of the highest gingiva between the teeth above their margins, mm, when the
    /// tooth map gave any vertex there to the gingiva.
    pub papilla_mm: Option<f32>,
    /// Where the contact is: arch `s`, mm.
    pub contact_s: f32,
}

/// Of a set of measurements of one arch, the value below which one stands out as low (or,
/// for [`Outliers::high`], above which it stands out as high): `k` robust standard
/// deviations (1.4826 × the median absolute deviation, at least `floor`) from the median.
/// The patient's own arch is the norm: real crowns carry undercuts and slots of every depth,
/// and only what is unlike the rest of the arch is a finding. `None` with fewer than 4
/// values.
#[derive(Debug, Clone, Copy)]
pub struct Outliers {
    median: f32,
    spread: f32,
}

impl Outliers {
    /// The spread of `values` (with `floor` as the smallest spread).
    pub fn of(values: &[f32], floor: f32) -> Option<Self> {
        if values.len() < 4 {
            return None;
        }
        let centre = median(values.to_vec());
        let mad: f32 = median(values.iter().map(|v| (v - centre).abs()).collect());
        Some(Self {
            median: centre,
            spread: (1.4826 * mad).max(floor),
        })
    }

    /// The value below which one is low.
    pub fn low(&self, k: f32) -> f32 {
        self.median - k * self.spread
    }

    /// The value above which one is high.
    pub fn high(&self, k: f32) -> f32 {
        self.median + k * self.spread
    }
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// How many robust standard deviations from the arch's median make an undercut a lock.
pub const OUTLIER_K: f32 = 5.0;
/// How many make an embrasure open (its two measures scatter less than undercuts).
const EMBRASURE_K: f32 = 4.0;
/// Gingiva between two teeth standing no higher than this above their margins is no papilla,
/// mm (a healthy one stands 2 mm and more; the phantom's molar papillae 0.7–1.0 mm).
const NO_PAPILLA_MM: f32 = 0.0;

/// The open embrasures among `pairs`: tissue under the contact lower than `min_fill` above
/// the margins (unless the map found gingiva standing higher between the teeth), or gingiva
/// between the teeth under a quarter of it — and, either way, low against the arch's other
/// embrasures.
pub fn open_pairs(pairs: &[Papilla], min_fill: f32) -> Vec<Papilla> {
    let under: Vec<f32> = pairs.iter().map(|p| p.fill_mm).collect();
    let papillae: Vec<f32> = pairs.iter().filter_map(|p| p.papilla_mm).collect();
    let (under, papillae) = (Outliers::of(&under, 0.1), Outliers::of(&papillae, 0.1));
    pairs
        .iter()
        .filter(|p| {
            // A papilla the map found standing between the teeth overrules a low point
            // under the contact (scans of closed contacts dip into deep slots).
            let by_under = p.fill_mm < min_fill
                && under.is_none_or(|o| p.fill_mm < o.low(EMBRASURE_K))
                && p.papilla_mm.is_none_or(|x| x < min_fill);
            // Gingiva between the teeth no higher than their margins is no papilla at all,
            // however much the arch's others vary, where the scan holds the space under the
            // contact (a coarse or trimmed scan leaves it below the margins).
            let none = |x: f32| x <= NO_PAPILLA_MM && p.fill_mm >= 0.0;
            let by_papilla = p.papilla_mm.is_some_and(|x| {
                x < 0.25 * min_fill && (none(x) || papillae.is_none_or(|o| x < o.low(EMBRASURE_K)))
            });
            by_under || by_papilla
        })
        .copied()
        .collect()
}

impl Papilla {
    /// The lower of the two heights, mm.
    pub fn lowest_mm(&self) -> f32 {
        self.papilla_mm
            .map_or(self.fill_mm, |p| p.min(self.fill_mm))
    }
}

/// Teeth that touch: neighbours in one quadrant, or the two central incisors.
pub fn neighbours(a: u8, b: u8) -> bool {
    imprint_core::tooth::neighbours(a)
        .iter()
        .any(|(n, _, _)| *n == b)
}

/// Height of a tooth's gingival margin: the median height of the gingiva bordering it
/// within 1.5 mm of its centre along the arch (its mid-buccal and mid-lingual margins; a
/// median, so a patch of crown the map gave to the gingiva does not lift it).
fn margin_level(points: &ArchPoints<'_>, tooth: &MapTooth) -> Option<f32> {
    let h: Vec<f32> = points
        .border
        .iter()
        .zip(points.coords)
        .filter(|(&b, c)| b == tooth.fdi && (c[0] - tooth.s).abs() < 1.5)
        .map(|(_, c)| c[2])
        .collect();
    (h.len() >= 3).then(|| median(h))
}

/// Pairs with a tooth segmented less surely than this are not judged.
const MIN_CONFIDENCE: f32 = 0.5;

/// Neighbouring teeth further apart along the arch than this are not in contact, mm.
const MAX_GAP: f32 = 1.5;

/// The papilla fill of every pair of neighbouring teeth in contact (by arch position),
/// skipping pairs with a prepared tooth (the gingiva is retracted there on purpose) or a
/// tooth the map is unsure of.
pub fn papillae(points: &ArchPoints<'_>, teeth: &[MapTooth], prepared: &[u8]) -> Vec<Papilla> {
    let mut sorted: Vec<MapTooth> = teeth.to_vec();
    sorted.sort_by(|x, y| x.s.total_cmp(&y.s));
    let mut out = Vec::new();
    for w in sorted.windows(2) {
        let (a, b) = (w[0], w[1]);
        if !neighbours(a.fdi, b.fdi) || prepared.contains(&a.fdi) || prepared.contains(&b.fdi) {
            continue;
        }
        // Around a tooth the map is unsure of (next to a gap it misread) the space between
        // its guesses is no embrasure.
        if a.confidence.min(b.confidence) < MIN_CONFIDENCE {
            continue;
        }
        // Teeth that touch leave no space along the arch; a wide one is a missing tooth's
        // gap the map did not see (or a diastema), not an embrasure.
        let gap = (b.s - b.width / 2.0) - (a.s + a.width / 2.0);
        if gap.abs() > MAX_GAP {
            continue;
        }
        let contact = ((a.s + a.width / 2.0) + (b.s - b.width / 2.0)) / 2.0;
        // Whatever fills the space under the contact (papilla, or the teeth themselves where
        // they touch low): its lowest point across the middle of the embrasure. Labels are
        // not trusted here: an estimated map may give the papilla to a tooth.
        let under: Vec<f32> = points
            .coords
            .iter()
            .filter(|c| (c[0] - contact).abs() < 0.3 && c[1].abs() < 1.5)
            .map(|c| c[2])
            .collect();
        if under.len() < 3 {
            continue;
        }
        let tip = under.iter().copied().fold(f32::MAX, f32::min);
        // And the highest gingiva between the teeth, when the map gave the papilla to it.
        let papilla = points
            .labels
            .iter()
            .zip(points.coords)
            .filter(|(&l, c)| l == 0 && (c[0] - contact).abs() < 1.2 && c[1].abs() < 3.0)
            .map(|(_, c)| c[2])
            .fold(f32::MIN, f32::max);
        let (Some(la), Some(lb)) = (margin_level(points, &a), margin_level(points, &b)) else {
            continue;
        };
        out.push(Papilla {
            a: a.fdi,
            b: b.fdi,
            fill_mm: tip - (la + lb) / 2.0,
            papilla_mm: (papilla > f32::MIN).then(|| papilla - (la + lb) / 2.0),
            contact_s: contact,
        });
    }
    out
}

/// Teeth beside an edentulous span: a missing tooth with both its neighbours present.
pub fn beside_spans(present: &[u8], missing: &[u8]) -> Vec<(u8, u8)> {
    let mut out = Vec::new();
    for &m in missing {
        let near: Vec<u8> = present
            .iter()
            .copied()
            .filter(|&p| neighbours(p, m))
            .collect();
        if near.len() >= 2 {
            out.extend(near.into_iter().map(|p| (p, m)));
        }
    }
    out
}

/// A tooth's clinical crown height: from its gingival margin to its highest point, mm.
pub fn crown_height(points: &ArchPoints<'_>, tooth: &MapTooth) -> Option<f32> {
    let low = margin_level(points, tooth)?;
    let top = points
        .labels
        .iter()
        .zip(points.coords)
        .filter(|(&l, _)| l == tooth.fdi)
        .map(|(_, c)| c[2])
        .fold(f32::MIN, f32::max);
    Some(top - low)
}

/// Typical clinical crown height of a permanent tooth (textbook means; the visible crown is
/// about 80% of the anatomical one), mm.
pub fn typical_crown_height(jaw: Option<Jaw>, fdi: u8) -> Option<f32> {
    let upper = match jaw {
        Some(j) => j == Jaw::Upper,
        None => matches!(fdi / 10, 1 | 2),
    };
    let h = match (upper, fdi % 10) {
        (true, 1) => 8.5,
        (true, 2) => 7.5,
        (true, 3) => 8.5,
        (true, 4) => 7.0,
        (true, 5) => 6.5,
        (true, 6) => 6.0,
        (true, 7) => 5.8,
        (true, 8) => 5.5,
        (false, 1) => 7.5,
        (false, 2) => 7.8,
        (false, 3) => 9.0,
        (false, 4) => 7.2,
        (false, 5) => 6.8,
        (false, 6) => 6.0,
        (false, 7) => 5.8,
        (false, 8) => 5.5,
        _ => return None,
    };
    (fdi / 10 <= 4).then_some(h)
}
