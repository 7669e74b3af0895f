//! The tooth map and arch frame of a scan: which tooth every vertex belongs to (FDI, 0 for
//! gingiva), the surface region it lies in, and the arch's own directions (occlusal, mesial /
//! distal, buccal / lingual).
//!
//! Labels that came with the scan win. Without them the map is estimated from the geometry:
//!
//! 1. [`frame`]: the occlusal direction (an open arch's vector area, or the thinnest axis of
//!    a closed one), refined to the plane through the cusp tips; the front of the arch (the
//!    side the crowns surround); the arch curve through the crowns; arch coordinates `(s, t,
//!    h)` for every vertex.
//! 2. Crowns against gingiva: a watershed on crease strength from markers near the tip plane
//!    (crowns) and on the trim boundary or far below it (gingiva): the two meet at the
//!    gingival crease.
//! 3. [`split`]: a tooth-width template fitted along the arch names the teeth, finds gaps of a
//!    tooth's width (missing teeth) and tells upper from lower by the widths' proportions; a
//!    second watershed moves each boundary between neighbours into the interproximal valley;
//!    the arch ends where its first and last slots end, and step 2 is run again with the
//!    crown markers past those ends taken for gingiva; a quadrant's last "tooth" that stands
//!    no higher than the gingiva, or rises out of it with no crease at its foot, is the
//!    ridge behind the last molar.
//! 4. Surface regions by [`Region::classify`] in each tooth's frame.
//!
//! ```
//! use imprint_core::{derived::DerivedData, shapes, toothmap::MapSource};
//! let scan = shapes::to_scan(shapes::icosphere(5.0, 3));
//! let derived = DerivedData::new(&scan);
//! let map = derived.tooth_map();
//! // A sphere is no arch: the map says so instead of guessing.
//! assert_eq!(map.source, MapSource::None);
//! assert!(!map.notes.is_empty());
//! ```

mod flood;
pub mod frame;
pub(crate) mod split;

pub use frame::{ArchCoords, ArchCurve, ArchFrame};

use crate::derived::{DerivedData, DerivedKind};
use crate::tooth::{is_fdi, Jaw, Numbering, Region, ToothLocal};
pub use flood::Crease;
use flood::{flood, refine, NONE};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The textbook mean mesiodistal crown width of a permanent tooth, mm; `None` for a primary
/// tooth or a number that is not FDI. A floor for a tooth the map measured narrow (a
/// prepared tooth's reduced crown).
///
/// ```
/// assert_eq!(imprint_core::toothmap::typical_width(36), Some(11.0));
/// assert_eq!(imprint_core::toothmap::typical_width(55), None);
/// ```
pub fn typical_width(fdi: u8) -> Option<f32> {
    let jaw = Jaw::of_fdi(fdi).filter(|_| fdi / 10 <= 4)?;
    Some(split::template(jaw)[(fdi % 10).clamp(1, 8) as usize - 1])
}

/// What the map was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapSource {
    /// Labels that came with the scan.
    Labels,
    /// Estimated from the geometry.
    Geometry,
    /// Nothing usable: the scan is not recognisable as an arch.
    None,
}

/// What the case file states about the scan, for the map to use and check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapHints {
    /// The jaw, when stated.
    pub jaw: Option<Jaw>,
    /// Numbering of the labels that came with the scan (FDI unless stated).
    pub numbering: Numbering,
    /// Known finish lines: tooth and closed polyline, mm.
    pub margins: Vec<(u8, Vec<[f32; 3]>)>,
    /// Teeth the case says are prepared: a reduced crown stands low, and is kept all the same.
    pub prepared: Vec<u8>,
}

/// One tooth found on the scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToothInstance {
    /// FDI number.
    pub fdi: u8,
    /// Centre of the crown (mean of its vertices), mm.
    pub center: [f32; 3],
    /// Unit long axis towards occlusal (the arch's occlusal direction).
    pub axis: [f32; 3],
    /// Vertices on it.
    pub vertices: usize,
    /// Mesiodistal width along the arch, mm.
    pub width_mm: f32,
    /// Position of its middle along the arch, mm from the midline.
    pub arch_s: f32,
    /// 0–1: how well its width and place fit the template (1 for given labels).
    pub confidence: f32,
}

/// The tooth map of one scan.
#[derive(Debug, Clone, Serialize)]
pub struct ToothMap {
    /// What it was made from.
    pub source: MapSource,
    /// The jaw (from labels, the case file, or the template fit).
    pub jaw: Option<Jaw>,
    /// The arch frame, when the scan looks like an arch.
    pub frame: Option<ArchFrame>,
    /// FDI number per vertex, 0 for gingiva (and for everything when the map is empty).
    #[serde(skip)]
    pub labels: Vec<u8>,
    /// Region per vertex.
    #[serde(skip)]
    pub regions: Vec<Region>,
    /// Arch coordinates per vertex (empty without a frame).
    #[serde(skip)]
    pub coords: ArchCoords,
    /// Teeth found, in arch order.
    pub teeth: Vec<ToothInstance>,
    /// Gaps of a tooth's width between present teeth.
    pub missing: Vec<u8>,
    /// Tooth widths relative to textbook means (from the template fit; absent for labels).
    pub size_scale: Option<f32>,
    /// What the map is unsure of, in plain words.
    pub notes: Vec<String>,
}

/// Where on the arch a set of vertices lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// The tooth most of them are on (`None`: gingiva or unknown).
    pub tooth: Option<u8>,
    /// The region most of them are in.
    pub region: Option<Region>,
    /// Share of the vertices on that tooth, 0–1.
    pub agreement: f32,
}

impl Location {
    /// A phrase for messages: "distal surface of 24", "gingiva next to 36", "gingiva".
    pub fn phrase(&self) -> String {
        match (self.tooth, self.region) {
            (Some(t), Some(Region::Gingiva) | None) => format!("tooth {t}"),
            (Some(t), Some(Region::Margin)) => format!("margin of {t}"),
            (Some(t), Some(r)) => format!("{} surface of {t}", r.name()),
            (None, _) => "gingiva".to_string(),
        }
    }
}

/// The tooth most of `vertices` carry in `labels` (FDI per vertex, 0 = gingiva), and the
/// region most of those on it carry in `regions`: what [`ToothMap::locate`] answers, for
/// callers (such as plugins) that hold the map's per-vertex arrays rather than the map.
///
/// ```
/// use imprint_core::tooth::Region;
/// use imprint_core::toothmap::locate_in;
/// let labels = [0, 36, 36, 36];
/// let regions = [Region::Gingiva, Region::Occlusal, Region::Occlusal, Region::Buccal];
/// let at = locate_in(&labels, &regions, &[0, 1, 2, 3]);
/// assert_eq!((at.tooth, at.region), (Some(36), Some(Region::Occlusal)));
/// assert_eq!(at.agreement, 0.75);
/// ```
pub fn locate_in(labels: &[u8], regions: &[Region], vertices: &[u32]) -> Location {
    let mut teeth: std::collections::BTreeMap<u8, usize> = Default::default();
    for v in vertices {
        if let Some(l) = labels.get(*v as usize) {
            *teeth.entry(*l).or_default() += 1;
        }
    }
    let Some((&tooth, &count)) = teeth.iter().max_by_key(|(_, c)| **c) else {
        return Location {
            tooth: None,
            region: None,
            agreement: 0.0,
        };
    };
    let mut counts: std::collections::BTreeMap<Region, usize> = Default::default();
    for v in vertices {
        if labels.get(*v as usize) == Some(&tooth) {
            if let Some(r) = regions.get(*v as usize) {
                *counts.entry(*r).or_default() += 1;
            }
        }
    }
    Location {
        tooth: (tooth != 0).then_some(tooth),
        region: counts.into_iter().max_by_key(|(_, c)| *c).map(|(r, _)| r),
        agreement: count as f32 / vertices.len().max(1) as f32,
    }
}

impl ToothMap {
    fn empty(n: usize, note: &str) -> Self {
        Self {
            source: MapSource::None,
            jaw: None,
            frame: None,
            labels: vec![0; n],
            regions: vec![Region::Gingiva; n],
            coords: ArchCoords::default(),
            teeth: Vec::new(),
            missing: Vec::new(),
            size_scale: None,
            notes: vec![note.to_string()],
        }
    }

    /// The tooth and region most of `vertices` lie on.
    pub fn locate(&self, vertices: &[u32]) -> Location {
        locate_in(&self.labels, &self.regions, vertices)
    }

    /// The map in Teeth3DS form: `jaw`, `labels` (FDI per vertex, 0 = gingiva), `instances`
    /// (instance per vertex, 0 = gingiva, teeth from 1 in arch order), plus Imprint's own
    /// `imprint` object (frame, teeth, missing teeth, notes, regions per vertex).
    pub fn to_teeth3ds(&self, id: &str) -> serde_json::Value {
        let index: std::collections::HashMap<u8, usize> = self
            .teeth
            .iter()
            .enumerate()
            .map(|(i, t)| (t.fdi, i + 1))
            .collect();
        let instances: Vec<usize> = self
            .labels
            .iter()
            .map(|l| index.get(l).copied().unwrap_or(0))
            .collect();
        serde_json::json!({
            "id_patient": id,
            "jaw": self.jaw.map(Jaw::name),
            "labels": self.labels,
            "instances": instances,
            "imprint": {
                "source": self.source,
                "frame": self.frame,
                "teeth": self.teeth,
                "missing": self.missing,
                "notes": self.notes,
                "regions": self.regions.iter().map(|r| *r as u8).collect::<Vec<_>>(),
                "region_names": crate::tooth::Region::ALL.map(Region::name),
            }
        })
    }
}

/// Builds the tooth map of the scan behind `derived`.
pub fn build(derived: &DerivedData<'_>, hints: &MapHints) -> ToothMap {
    let scan = derived.scan();
    let n = scan.vertex_count();
    // The frame needs only the faces' normals and areas; the rest of what the map reads
    // (adjacency, boundary loops, components, vertex normals) is computed beside it.
    let rest: Vec<DerivedKind> = DerivedKind::ToothMap
        .prerequisites()
        .iter()
        .copied()
        .filter(|k| *k != DerivedKind::FaceNormals)
        .collect();
    let (frame, ()) = rayon::join(
        || {
            let (normals, areas) = (derived.face_normals(), derived.face_areas());
            frame::estimate(&scan.positions, &scan.triangles, normals, areas)
        },
        || derived.ensure(&rest),
    );
    let Some(frame) = frame else {
        return ToothMap::empty(n, "the scan is too small or flat to find an arch in");
    };
    let coords = frame.coords(&scan.positions);
    let given = given_labels(derived, hints.numbering);
    let mut map = match given {
        Some(labels) => from_labels(labels),
        None => match from_geometry(derived, &frame, &coords, hints) {
            Some(m) => m,
            None => {
                return ToothMap::empty(n, "no crowns recognisable along an arch curve");
            }
        },
    };
    map.teeth = instances(&scan.positions, &map.labels, &coords, &frame, map.source);
    map.regions = regions(derived, &map.labels, &coords, &frame);
    mark_margins(&mut map, &scan.positions, &hints.margins);
    if let (Some(stated), Some(found)) = (hints.jaw, map.jaw) {
        if stated != found {
            map.notes.push(format!(
                "the case file says {} jaw but the labels say {}",
                stated.name(),
                found.name()
            ));
        }
    }
    map.frame = Some(frame);
    map.coords = coords;
    map
}

/// Per-vertex FDI labels that came with the scan (vertex labels, or face labels by majority
/// of the incident faces), converted from `numbering`; `None` when there are none.
fn given_labels(derived: &DerivedData<'_>, numbering: Numbering) -> Option<Vec<u8>> {
    let scan = derived.scan();
    let convert = |l: i64| -> u8 {
        let Ok(l) = u8::try_from(l) else { return 0 };
        match numbering {
            Numbering::Universal => crate::tooth::universal_to_fdi(l).unwrap_or(0),
            _ if is_fdi(l) => l,
            _ => 0,
        }
    };
    let labels: Vec<u8> = if let Some(l) = &scan.labels {
        l.iter().map(|v| convert(*v as i64)).collect()
    } else if let Some(fl) = &scan.face_labels {
        let vf = derived.vertex_faces();
        (0..scan.vertex_count())
            .map(|v| {
                let mut best = (0u8, 0usize);
                let mut counts: Vec<(u8, usize)> = Vec::new();
                for f in vf.row(v) {
                    let l = convert(fl[*f as usize] as i64);
                    match counts.iter_mut().find(|c| c.0 == l) {
                        Some(c) => c.1 += 1,
                        None => counts.push((l, 1)),
                    }
                }
                for c in counts {
                    if c.1 > best.1 {
                        best = c;
                    }
                }
                best.0
            })
            .collect()
    } else {
        return None;
    };
    labels.iter().any(|l| *l != 0).then_some(labels)
}

fn from_labels(labels: Vec<u8>) -> ToothMap {
    let mut votes = [0usize; 2];
    for l in labels.iter().filter(|l| **l != 0) {
        match Jaw::of_fdi(*l) {
            Some(Jaw::Upper) => votes[0] += 1,
            Some(Jaw::Lower) => votes[1] += 1,
            None => {}
        }
    }
    let jaw = if votes[0] >= votes[1] {
        Jaw::Upper
    } else {
        Jaw::Lower
    };
    let mut notes = Vec::new();
    if votes[0].min(votes[1]) > 0 {
        notes.push(format!(
            "labels name teeth of both jaws ({} upper, {} lower vertices)",
            votes[0], votes[1]
        ));
    }
    ToothMap {
        source: MapSource::Labels,
        jaw: Some(jaw),
        frame: None,
        regions: Vec::new(),
        coords: ArchCoords::default(),
        labels,
        teeth: Vec::new(),
        missing: Vec::new(),
        size_scale: None,
        notes,
    }
}

/// Marker labels of [`crown_markers`] for [`crown_mask`].
const CROWN: u16 = 1;
const GUM: u16 = 0;

/// Crown markers lie within 2 mm of the tip plane, or within 1 mm of the highest point of
/// their stretch of arch when that is no more than 5 mm below it. Gingiva markers lie on the
/// trim boundary, 13 mm and more below the tips (a lower canine's crown, standing proud of
/// the plane, reaches 12 mm below it: at 11 mm the markers on IOSSeg 001_L's canine flooded
/// most of it as gingiva), or face
/// occlusally (within 30°) 4.5 mm and more below the highest point of their stretch of arch
/// (deeper than any fossa; a preparation's ledge sits higher under its own stump).
fn crown_markers(derived: &DerivedData<'_>, frame: &ArchFrame, coords: &ArchCoords) -> Vec<u16> {
    let n = coords.h.len();
    let mut bin_top = vec![f32::NEG_INFINITY; STRETCHES];
    for (s, h) in coords.s.iter().zip(&coords.h) {
        let e = &mut bin_top[stretch(*s)];
        *e = e.max(*h);
    }
    let normals = derived.vertex_normals();
    let up = nalgebra::Vector3::from(frame.occlusal);
    let mut labels: Vec<u16> = (0..n)
        .into_par_iter()
        .map(|v| {
            let top = bin_top[stretch(coords.s[v])];
            let h = coords.h[v];
            let facing_up = nalgebra::Vector3::from(normals[v]).dot(&up) > 0.866;
            // The top of a stretch marks a crown only if it stands within 4 mm of the
            // occlusal plane: a lower top is mostly gingiva (a stretch with no crown in it).
            // With 5 mm the suite's tooth/gingiva IoU was 0.846, with 4 mm 0.872.
            if h > -2.0 || (top > -4.0 && h > top - 1.0) {
                CROWN
            } else if h < -13.0 || (facing_up && h < top - 4.5) {
                GUM
            } else {
                NONE
            }
        })
        .collect();
    for l in derived.boundary_loops().loops.iter().filter(|l| l.is_outer) {
        for v in &l.vertices {
            labels[*v as usize] = GUM;
        }
    }
    labels
}

/// Crowns against gingiva: a watershed on crease strength from the `markers` of
/// [`crown_markers`]. `None` when they hold no gingiva or no crown (not an arch).
fn crown_mask(
    derived: &DerivedData<'_>,
    coords: &ArchCoords,
    crease: &Crease,
    mut labels: Vec<u16>,
) -> Option<Vec<bool>> {
    if crowns_only(derived) {
        return Some(vec![true; labels.len()]);
    }
    if !labels.contains(&GUM) || !labels.contains(&CROWN) {
        return None;
    }
    let adjacency = derived.adjacency();
    let reach = MarkerReach::of(coords, &labels, CROWN);
    flood(adjacency, |_, v| crease.dilated[v], &mut labels, |_| true);
    refine(adjacency, &crease.raw, &mut labels, 2, |_| true);
    // Where a crease is too weak the crown label can spill onto the gingiva; no crown
    // reaches more than 4 mm beyond its top across the arch, or 2 mm beyond its stretch.
    Some(
        (0..labels.len())
            .map(|v| labels[v] == CROWN && reach.contains(coords.s[v], coords.t[v]))
            .collect(),
    )
}

/// The crown markers past the arch's first or last slot (`ends`, along the arch): they stand
/// on the retromolar pad or the tuberosity, and flooded from there the crown label ran back
/// along the gingiva beside the last tooth (IOSSeg 001_L: 28 of the 37's false vertices).
/// Makes them gingiva markers; true if there were any.
fn gum_past_the_ends(markers: &mut [u16], s: &[f32], ends: (f32, f32)) -> bool {
    let mut any = false;
    for (m, s) in markers.iter_mut().zip(s) {
        if *m == CROWN && !(ends.0..=ends.1).contains(s) {
            *m = GUM;
            any = true;
        }
    }
    any
}

/// A segmented export of crowns: four or more closed pieces, none larger than a big molar
/// (bounding-box diagonal under 20 mm), and no trim boundary.
fn crowns_only(derived: &DerivedData<'_>) -> bool {
    let components = derived.components();
    components.count() >= 4
        && derived.boundary_loops().loops.is_empty()
        && components
            .info
            .iter()
            .filter(|c| c.faces >= 20)
            .all(|c| c.bbox_diagonal_mm < 20.0)
}

/// Stretches of arch, 2 mm each, over ±200 mm of arch length.
const STRETCHES: usize = 200;

fn stretch(s: f32) -> usize {
    (((s + 200.0) / 2.0).max(0.0) as usize).min(STRETCHES - 1)
}

/// The across-arch span of crown markers in each stretch of arch.
struct MarkerReach {
    spans: Vec<(f32, f32)>,
}

impl MarkerReach {
    const SLACK: f32 = 4.0;

    fn of(coords: &ArchCoords, labels: &[u16], tooth: u16) -> Self {
        let mut spans = vec![(f32::INFINITY, f32::NEG_INFINITY); STRETCHES];
        for v in (0..labels.len()).filter(|v| labels[*v] == tooth) {
            let e = &mut spans[stretch(coords.s[v])];
            *e = (e.0.min(coords.t[v]), e.1.max(coords.t[v]));
        }
        Self { spans }
    }

    /// Within the slack of the span of this stretch or a neighbouring one.
    fn contains(&self, s: f32, t: f32) -> bool {
        let k = stretch(s);
        (k.saturating_sub(1)..=(k + 1).min(STRETCHES - 1)).any(|j| {
            let (lo, hi) = self.spans[j];
            t >= lo - Self::SLACK && t <= hi + Self::SLACK
        })
    }
}

fn from_geometry(
    derived: &DerivedData<'_>,
    frame: &ArchFrame,
    coords: &ArchCoords,
    hints: &MapHints,
) -> Option<ToothMap> {
    let adjacency = derived.adjacency();
    let crease = Crease::measure(
        adjacency,
        &derived.scan().positions,
        derived.vertex_normals(),
        derived.on_boundary(),
    );
    let mut markers = crown_markers(derived, frame, coords);
    let mut tooth = crown_mask(derived, coords, &crease, markers.clone())?;
    let profile = split::Profile::new(&coords.s, &coords.t, &coords.h, &tooth)?;
    let mut notes = Vec::new();
    let mut layout = split::fit(&profile, None, &hints.prepared)?;
    if let Some(stated) = hints.jaw.filter(|j| *j != layout.jaw) {
        notes.push(format!(
            "the tooth widths suggest the {} jaw but the case file says {}: numbered as {}",
            layout.jaw.name(),
            stated.name(),
            stated.name()
        ));
        layout = split::fit(&profile, Some(stated), &hints.prepared)?;
    }
    let present: Vec<&split::Slot> = layout.slots.iter().filter(|s| !s.missing).collect();
    let (first, last) = (present.first()?, present.last()?);
    if gum_past_the_ends(&mut markers, &coords.s, (first.s.0, last.s.1)) {
        tooth = crown_mask(derived, coords, &crease, markers).unwrap_or(tooth);
    }
    let mut labels = vec![NONE; tooth.len()];
    for v in (0..tooth.len()).filter(|v| tooth[*v]) {
        let s = coords.s[v];
        if let Some(k) = present.iter().position(|slot| {
            let (a, b) = slot.s;
            let core = 0.25 * (b - a);
            s > a + core && s < b - core && coords.h[v] > -4.0
        }) {
            labels[v] = k as u16;
        }
    }
    flood(
        adjacency,
        |_, v| crease.dilated[v],
        &mut labels,
        |w| tooth[w],
    );
    refine(adjacency, &crease.raw, &mut labels, 2, |w| tooth[w]);
    let nearest = |s: f32| -> u16 {
        present
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let d = |slot: &split::Slot| (s - 0.5 * (slot.s.0 + slot.s.1)).abs();
                d(a.1).total_cmp(&d(b.1))
            })
            .map_or(NONE, |(i, _)| i as u16)
    };
    let mut fdi: Vec<u8> = (0..tooth.len())
        .map(|v| match (tooth[v], labels[v]) {
            (false, _) => 0,
            (true, NONE) => present
                .get(nearest(coords.s[v]) as usize)
                .map_or(0, |s| s.fdi),
            (true, k) => present[k as usize].fdi,
        })
        .collect();
    end_at_the_last_slots(&mut fdi, &coords.s, &present);
    let mut dropped = Vec::new();
    if crowns_only(derived) {
        snap_to_components(derived, &mut fdi);
    } else {
        dropped = drop_low_teeth(&mut fdi, &coords.h, &hints.prepared, &mut notes);
        drop_creaseless_ends(
            &mut fdi,
            adjacency,
            &crease.raw,
            &hints.prepared,
            &mut notes,
        );
    }
    if hints.jaw.is_none() && layout.jaw_margin < 4.0 {
        notes.push(format!(
            "jaw uncertain: the {} template fits only slightly better than the other",
            layout.jaw.name()
        ));
    }
    for slot in present.iter().filter(|s| s.width_error > 0.3) {
        notes.push(format!(
            "tooth {} is {:.0}% off its expected width: its number may be wrong",
            slot.fdi,
            slot.width_error * 100.0
        ));
    }
    Some(ToothMap {
        source: MapSource::Geometry,
        jaw: Some(layout.jaw),
        frame: None,
        labels: fdi,
        regions: Vec::new(),
        coords: ArchCoords::default(),
        teeth: Vec::new(),
        missing: layout
            .slots
            .iter()
            .filter(|s| s.missing)
            .map(|s| s.fdi)
            .chain(dropped)
            .collect(),
        size_scale: Some(layout.scale),
        notes,
    })
}

/// The arch ends with its last slots: crown label past the far side of the first or last
/// slot is gingiva. Behind a last molar the gingiva rises into the retromolar pad or the
/// trim's ridge, as high as a crown's neck and with no crease between, and the crown label
/// used to run on over it (IOSSeg 001_L's 47 reached 6 mm past its slot).
fn end_at_the_last_slots(fdi: &mut [u8], s: &[f32], present: &[&split::Slot]) {
    let (Some(first), Some(last)) = (present.first(), present.last()) else {
        return;
    };
    for (label, s) in fdi.iter_mut().zip(s) {
        if (*label == first.fdi && *s < first.s.0) || (*label == last.fdi && *s > last.s.1) {
            *label = 0;
        }
    }
}

/// A crown's top tenth stands higher than this against the occlusal plane, mm; a prepared
/// molar's stands at about −0.7 to −1.7 on the phantoms, the gingival ridge past the last
/// molar at −3.1 to −3.7.
const LOWEST_CROWN_TOP: f32 = -2.5;

/// A crown, even a prepared stump, stands at least this far above the lowest tenth of its
/// own vertices, mm; the ridge of a gap is a low, flat saddle (1.5–1.6 mm on the suite's one
/// gap taken for a tooth, 2.35 mm and more on its low prepared teeth).
const LEAST_CROWN_RELIEF: f32 = 2.0;

/// Drops every "tooth" that stands no higher than the gingiva: even its highest tenth lies
/// below [`LOWEST_CROWN_TOP`]. Past the last tooth of a quadrant that is the gingival ridge
/// behind the last molar, which the split took for one more tooth (or two: each quadrant's
/// end is peeled until a crown stands there). Between teeth a low stump
/// may be a prepared tooth; only a flat one (less than [`LEAST_CROWN_RELIEF`] between its
/// highest and lowest tenths) is the ridge of a gap, and the tooth is missing. Returns the
/// numbers of those missing teeth. A tooth the case says is prepared is kept, however low.
fn drop_low_teeth(fdi: &mut [u8], h: &[f32], prepared: &[u8], notes: &mut Vec<String>) -> Vec<u8> {
    let mut heights: Vec<Vec<f32>> = vec![Vec::new(); 256];
    for (l, h) in fdi.iter().zip(h).filter(|(l, _)| **l != 0) {
        heights[*l as usize].push(*h);
    }
    // (tooth, highest tenth, lowest tenth)
    let mut kept: Vec<(u8, f32, f32)> = (1..=255u8)
        .filter_map(|l| {
            let values = &mut heights[l as usize];
            let top = crate::util::top_tenth(values)?;
            let tenth = values.len() / 10;
            let low = *values.select_nth_unstable_by(tenth, f32::total_cmp).1;
            Some((l, top, low))
        })
        .collect();
    let stands_low =
        |&(tooth, top, _): &(u8, f32, f32)| top < LOWEST_CROWN_TOP && !prepared.contains(&tooth);
    let is_last =
        |kept: &[(u8, f32, f32)], tooth: u8| ends_its_quadrant(kept.iter().map(|x| x.0), tooth);
    // Peel each quadrant's end while it stands no higher than the gingiva: once the ridge
    // past the last molar is dropped, the "tooth" before it is the last one (seed 1006 of the
    // suite: a 54 mm band of gingiva named 17 stayed behind a dropped 18).
    while let Some(i) = kept
        .iter()
        .position(|x| stands_low(x) && is_last(&kept, x.0))
    {
        let (tooth, top, _) = kept.remove(i);
        notes.push(format!(
            "the last 'tooth' of quadrant {} ({tooth}) stands no higher than the gingiva ({:.1} mm below the occlusal plane): taken as gingiva",
            tooth / 10,
            -top
        ));
        erase(fdi, tooth);
    }
    let mut missing = Vec::new();
    for &(tooth, top, low) in kept.iter().filter(|x| stands_low(x)) {
        if top - low < LEAST_CROWN_RELIEF {
            notes.push(format!(
                "'tooth' {tooth} is a low, flat saddle ({:.1} mm below the occlusal plane, {:.1} mm of relief): taken as the ridge of a gap, the tooth missing",
                -top,
                top - low
            ));
            missing.push(tooth);
            erase(fdi, tooth);
        }
    }
    missing
}

/// No tooth of `tooth`'s quadrant among `teeth` lies further from the midline.
fn ends_its_quadrant(mut teeth: impl Iterator<Item = u8>, tooth: u8) -> bool {
    teeth.all(|t| t / 10 != tooth / 10 || t <= tooth)
}

/// A border vertex pair lies on a crease where either vertex is at least this concave, in
/// [`Crease::raw`] units (1/64 mm⁻¹): 0.25 mm⁻¹.
const BORDER_CREASE: u8 = 16;

/// A quadrant's last "tooth" is gingiva when a crease runs along less of its border with the
/// gingiva than this share of what runs along the arch's median tooth's. Measured share
/// against the median, for every quadrant's last tooth: on the suite, walls and held-out
/// margin sets the ridges taken for a tooth 0.00–0.12, the real last molars 0.26 and more;
/// on IOSSeg 001_U the tuberosity taken for 27 0.00, the real last molars 0.22 (001_L's 37,
/// its border partly over the retromolar gingiva) and more. Relative, because the crease's
/// strength scales with the sampling (IOSSeg's 0.9 mm edges see weak creases everywhere).
const LEAST_BORDER_CREASE: f32 = 0.15;

/// Drops each quadrant's last "tooth" while its border with the gingiva runs on no crease
/// (see [`LEAST_BORDER_CREASE`]): a crown meets the gingiva at the gingival crease (a
/// preparation at its margin), while the ridge behind the last molar and the tuberosity rise
/// out of the gingiva without one, yet can stand as high as a crown (seed 541 of the suite:
/// a ridge named 18, 5246 vertices). A tooth the case says is prepared is kept.
fn drop_creaseless_ends(
    fdi: &mut [u8],
    adjacency: &crate::derived::Csr,
    raw: &[u8],
    prepared: &[u8],
    notes: &mut Vec<String>,
) {
    loop {
        let share = border_crease_share(fdi, adjacency, raw);
        let teeth: Vec<(u8, f32)> = (1..=255u8)
            .filter_map(|t| share[t as usize].map(|s| (t, s)))
            .collect();
        if teeth.len() < 4 {
            return;
        }
        let mut shares: Vec<f32> = teeth.iter().map(|x| x.1).collect();
        let median = *shares
            .select_nth_unstable_by(teeth.len() / 2, f32::total_cmp)
            .1;
        let Some(&(tooth, s)) = teeth.iter().find(|(t, s)| {
            *s < LEAST_BORDER_CREASE * median
                && !prepared.contains(t)
                && ends_its_quadrant(teeth.iter().map(|x| x.0), *t)
        }) else {
            return;
        };
        notes.push(format!(
            "the last 'tooth' of quadrant {} ({tooth}) meets the gingiva on a crease along {:.0}% of its border (the arch's median tooth: {:.0}%): taken as the gingival ridge behind the last tooth",
            tooth / 10,
            s * 100.0,
            median * 100.0
        ));
        erase(fdi, tooth);
    }
}

/// Takes `tooth`'s vertices for gingiva.
fn erase(fdi: &mut [u8], tooth: u8) {
    fdi.iter_mut().filter(|l| **l == tooth).for_each(|l| *l = 0);
}

/// Per label, the share of its edges to the gingiva that run on a crease (at least
/// [`BORDER_CREASE`] at either end); `None` for a label with no such edge.
fn border_crease_share(
    fdi: &[u8],
    adjacency: &crate::derived::Csr,
    raw: &[u8],
) -> Vec<Option<f32>> {
    type Counts = ([u32; 256], [u32; 256]);
    const CHUNK: usize = 1 << 14;
    let count = |first: usize, labels: &[u8]| -> Counts {
        let (mut on, mut all) = ([0; 256], [0; 256]);
        for (i, &t) in labels.iter().enumerate().filter(|(_, t)| **t != 0) {
            for &w in adjacency.row(first + i) {
                let w = w as usize;
                if fdi[w] == 0 {
                    all[t as usize] += 1;
                    on[t as usize] += u32::from(raw[first + i].max(raw[w]) >= BORDER_CREASE);
                }
            }
        }
        (on, all)
    };
    let sum = |a: Counts, b: Counts| -> Counts {
        (
            std::array::from_fn(|k| a.0[k] + b.0[k]),
            std::array::from_fn(|k| a.1[k] + b.1[k]),
        )
    };
    let (on, all) = fdi
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, labels)| count(k * CHUNK, labels))
        .reduce(|| ([0; 256], [0; 256]), sum);
    (0..256)
        .map(|t| (all[t] > 0).then(|| on[t] as f32 / all[t] as f32))
        .collect()
}

/// Crowns only (a segmented export): each separate piece is one crown, so it takes the
/// number most of its vertices got.
fn snap_to_components(derived: &DerivedData<'_>, fdi: &mut [u8]) {
    let of_vertex = &derived.components().vertex_component;
    let mut votes: std::collections::HashMap<(u32, u8), usize> = Default::default();
    for (v, c) in of_vertex.iter().enumerate() {
        *votes.entry((*c, fdi[v])).or_default() += 1;
    }
    let mut best: std::collections::HashMap<u32, (u8, usize)> = Default::default();
    for ((c, l), n) in votes {
        let e = best.entry(c).or_insert((l, 0));
        if n > e.1 {
            *e = (l, n);
        }
    }
    for (v, c) in of_vertex.iter().enumerate() {
        fdi[v] = best[c].0;
    }
}

/// Tooth instances from per-vertex labels.
fn instances(
    positions: &[[f32; 3]],
    labels: &[u8],
    coords: &ArchCoords,
    frame: &ArchFrame,
    source: MapSource,
) -> Vec<ToothInstance> {
    let mut acc: std::collections::BTreeMap<u8, ([f64; 3], usize, f32, f32)> = Default::default();
    for (v, l) in labels.iter().enumerate().filter(|(_, l)| **l != 0) {
        let e = acc
            .entry(*l)
            .or_insert(([0.0; 3], 0, f32::INFINITY, f32::NEG_INFINITY));
        for (sum, x) in e.0.iter_mut().zip(positions[v]) {
            *sum += x as f64;
        }
        e.1 += 1;
        e.2 = e.2.min(coords.s[v]);
        e.3 = e.3.max(coords.s[v]);
    }
    let mut teeth: Vec<ToothInstance> = acc
        .into_iter()
        .map(|(fdi, (sum, count, lo, hi))| ToothInstance {
            fdi,
            center: sum.map(|c| (c / count as f64) as f32),
            axis: frame.occlusal,
            vertices: count,
            width_mm: hi - lo,
            arch_s: 0.5 * (lo + hi),
            confidence: 1.0,
        })
        .collect();
    if source == MapSource::Geometry {
        for t in &mut teeth {
            // The geometry numbers permanent teeth only (quadrants 1–4).
            let Some(expected) = typical_width(t.fdi) else {
                continue;
            };
            t.confidence = (1.0 - (t.width_mm - expected).abs() / expected).clamp(0.0, 1.0);
        }
    }
    teeth.sort_by(|a, b| a.arch_s.total_cmp(&b.arch_s));
    teeth
}

/// Per-tooth statistics for the regions: centre in arch coordinates and extents.
struct ToothBox {
    s: (f32, f32),
    t: (f32, f32),
    h: (f32, f32),
}

/// Each tooth's box, indexed by its FDI number (`None` for numbers not on the scan).
fn tooth_boxes(labels: &[u8], coords: &ArchCoords) -> Vec<Option<ToothBox>> {
    let mut values: Vec<[Vec<f32>; 3]> = vec![Default::default(); 256];
    for (v, l) in labels.iter().enumerate().filter(|(_, l)| **l != 0) {
        let e = &mut values[*l as usize];
        e[0].push(coords.s[v]);
        e[1].push(coords.t[v]);
        e[2].push(coords.h[v]);
    }
    let range = |x: &mut Vec<f32>| {
        let mut q = |f: f32| {
            let k = ((x.len() - 1) as f32 * f) as usize;
            *x.select_nth_unstable_by(k, f32::total_cmp).1
        };
        (q(0.02), q(0.98))
    };
    values
        .into_par_iter()
        .map(|[mut s, mut t, mut h]| {
            (!s.is_empty()).then(|| ToothBox {
                s: range(&mut s),
                t: range(&mut t),
                h: range(&mut h),
            })
        })
        .collect()
}

fn regions(
    derived: &DerivedData<'_>,
    labels: &[u8],
    coords: &ArchCoords,
    frame: &ArchFrame,
) -> Vec<Region> {
    let up = nalgebra::Vector3::from(frame.occlusal);
    let normal_up: Vec<f32> = derived
        .vertex_normals()
        .par_iter()
        .map(|n| nalgebra::Vector3::from(*n).dot(&up))
        .collect();
    regions_from(labels, coords, &normal_up)
}

/// Surface regions from per-vertex FDI labels, arch coordinates and the normals' occlusal
/// components, by [`Region::classify`] in each tooth's box (its 2–98 % extents along, across
/// and up the arch). The map and the phantom truth both use it, each with its own labels
/// and frame.
pub fn regions_from(labels: &[u8], coords: &ArchCoords, normal_up: &[f32]) -> Vec<Region> {
    let boxes = tooth_boxes(labels, coords);
    labels
        .par_iter()
        .enumerate()
        .map(|(v, l)| {
            let Some(b) = boxes[*l as usize].as_ref() else {
                return Region::Gingiva;
            };
            let local = local_of(b, coords.s[v], coords.t[v], coords.h[v]);
            Region::classify(
                *l,
                ToothLocal {
                    normal_up: normal_up[v],
                    ..local
                },
            )
        })
        .collect()
}

/// A vertex's place in its tooth's box (see [`ToothLocal`]); `normal_up` left 0.
fn local_of_box(s: (f32, f32), t: (f32, f32), h: (f32, f32), at: [f32; 3]) -> ToothLocal {
    let centre = 0.5 * (s.0 + s.1);
    let towards_midline = if centre > 0.0 { -1.0 } else { 1.0 };
    ToothLocal {
        mesial: towards_midline * (at[0] - centre) / (0.5 * (s.1 - s.0)).max(0.1),
        buccal: (at[1] - 0.5 * (t.0 + t.1)) / (0.5 * (t.1 - t.0)).max(0.1),
        height: (at[2] - h.0) / (h.1 - h.0).max(0.1),
        normal_up: 0.0,
    }
}

fn local_of(b: &ToothBox, s: f32, t: f32, h: f32) -> ToothLocal {
    local_of_box(b.s, b.t, b.h, [s, t, h])
}

/// Vertices of a prepared tooth within 1 mm of its known finish line become [`Region::Margin`].
fn mark_margins(map: &mut ToothMap, positions: &[[f32; 3]], margins: &[(u8, Vec<[f32; 3]>)]) {
    for (_, line) in margins.iter().filter(|(_, l)| l.len() >= 2) {
        let (lo, hi) = line.iter().fold(
            ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |(lo, hi), p| {
                (
                    std::array::from_fn(|c| lo[c].min(p[c] - 1.0)),
                    std::array::from_fn(|c| hi[c].max(p[c] + 1.0)),
                )
            },
        );
        let near: Vec<usize> = (0..positions.len())
            .into_par_iter()
            .filter(|v| {
                let p = positions[*v];
                (0..3).all(|c| p[c] >= lo[c] && p[c] <= hi[c])
                    && crate::util::polyline_distance(p, line, true) <= 1.0
            })
            .collect();
        for v in near {
            map.regions[v] = Region::Margin;
        }
    }
}
