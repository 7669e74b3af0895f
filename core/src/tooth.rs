//! Teeth: FDI numbers (the only numbering Imprint reports), conversion from the Universal and
//! Palmer systems accepted on input, jaws, and the surface regions of a tooth.
//!
//! FDI numbers have two digits: the quadrant (1 upper right, 2 upper left, 3 lower left,
//! 4 lower right; 5–8 the same for primary teeth) and the position from the midline (1 central
//! incisor … 8 third molar; primary teeth 1–5).

use serde::{Deserialize, Serialize};

/// True when `n` is a valid FDI tooth number, permanent or primary.
///
/// ```
/// use imprint_core::tooth::is_fdi;
/// assert!(is_fdi(36) && is_fdi(85) && !is_fdi(19) && !is_fdi(86));
/// ```
pub fn is_fdi(n: u8) -> bool {
    let (quadrant, position) = (n / 10, n % 10);
    match quadrant {
        1..=4 => (1..=8).contains(&position),
        5..=8 => (1..=5).contains(&position),
        _ => false,
    }
}

/// Upper or lower jaw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jaw {
    /// Maxilla.
    Upper,
    /// Mandible.
    Lower,
}

impl Jaw {
    /// The jaw an FDI number belongs to.
    pub fn of_fdi(fdi: u8) -> Option<Jaw> {
        match fdi / 10 {
            1 | 2 | 5 | 6 if is_fdi(fdi) => Some(Jaw::Upper),
            3 | 4 | 7 | 8 if is_fdi(fdi) => Some(Jaw::Lower),
            _ => None,
        }
    }

    /// Lower-case name (`upper`, `lower`).
    pub fn name(self) -> &'static str {
        match self {
            Jaw::Upper => "upper",
            Jaw::Lower => "lower",
        }
    }
}

/// Tooth numbering systems accepted on input.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Numbering {
    /// FDI / ISO 3950 (`36`).
    #[default]
    Fdi,
    /// Universal (ADA): permanent 1–32 from the upper right third molar, primary `A`–`T`.
    Universal,
    /// Palmer: quadrant and position, written `UR6`, `LL3`, `UL-E` (primary as letters).
    Palmer,
}

/// Converts a Universal permanent number (1–32) to FDI.
///
/// ```
/// use imprint_core::tooth::universal_to_fdi;
/// assert_eq!(universal_to_fdi(1), Some(18));
/// assert_eq!(universal_to_fdi(19), Some(36));
/// assert_eq!(universal_to_fdi(30), Some(46));
/// assert_eq!(universal_to_fdi(33), None);
/// ```
pub fn universal_to_fdi(n: u8) -> Option<u8> {
    match n {
        1..=8 => Some(10 + 9 - n),
        9..=16 => Some(20 + n - 8),
        17..=24 => Some(30 + 25 - n),
        25..=32 => Some(40 + n - 24),
        _ => None,
    }
}

/// Converts a Universal primary letter (`A`–`T`) to FDI.
fn universal_primary_to_fdi(c: char) -> Option<u8> {
    let i = (c.to_ascii_uppercase() as u8).checked_sub(b'A')?;
    match i {
        0..=4 => Some(50 + 5 - i),
        5..=9 => Some(60 + i - 4),
        10..=14 => Some(70 + 15 - i),
        15..=19 => Some(80 + i - 14),
        _ => None,
    }
}

/// Why a tooth designation could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a tooth in {system:?} numbering: {why}")]
pub struct ToothParseError {
    /// What was given.
    pub text: String,
    /// The system it was read in.
    pub system: Numbering,
    /// What is wrong.
    pub why: &'static str,
}

/// Reads a tooth designation in `system` and returns its FDI number.
///
/// ```
/// use imprint_core::tooth::{parse_tooth, Numbering};
/// assert_eq!(parse_tooth("36", Numbering::Fdi).unwrap(), 36);
/// assert_eq!(parse_tooth("19", Numbering::Universal).unwrap(), 36);
/// assert_eq!(parse_tooth("K", Numbering::Universal).unwrap(), 75);
/// assert_eq!(parse_tooth("UR6", Numbering::Palmer).unwrap(), 16);
/// assert_eq!(parse_tooth("LL-E", Numbering::Palmer).unwrap(), 75);
/// assert!(parse_tooth("19", Numbering::Fdi).is_err());
/// ```
pub fn parse_tooth(text: &str, system: Numbering) -> Result<u8, ToothParseError> {
    let err = |why| ToothParseError {
        text: text.to_string(),
        system,
        why,
    };
    let t = text.trim().trim_start_matches('#');
    match system {
        Numbering::Fdi => {
            let n: u8 = t.parse().map_err(|_| err("expected a two-digit number"))?;
            is_fdi(n).then_some(n).ok_or(err("no such FDI tooth"))
        }
        Numbering::Universal => match t.parse::<u8>() {
            Ok(n) => universal_to_fdi(n).ok_or(err("permanent teeth are 1–32")),
            Err(_) => {
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        universal_primary_to_fdi(c).ok_or(err("primary teeth are A–T"))
                    }
                    _ => Err(err("expected 1–32 or a letter A–T")),
                }
            }
        },
        Numbering::Palmer => parse_palmer(t).ok_or(err("expected UR, UL, LL or LR and 1–8 or A–E")),
    }
}

fn parse_palmer(t: &str) -> Option<u8> {
    let upper = t.to_ascii_uppercase();
    let (q, rest) = upper.split_at_checked(2)?;
    let rest = rest.trim_start_matches(['-', ' ']);
    let quadrant = match q {
        "UR" => 1,
        "UL" => 2,
        "LL" => 3,
        "LR" => 4,
        _ => return None,
    };
    let mut chars = rest.chars();
    let (c, None) = (chars.next()?, chars.next()) else {
        return None;
    };
    let fdi = match c {
        '1'..='8' => quadrant * 10 + (c as u8 - b'0'),
        'A'..='E' => (quadrant + 4) * 10 + (c as u8 - b'A' + 1),
        _ => return None,
    };
    Some(fdi)
}

/// The surface region of a vertex, as findings name it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Region {
    /// Not on a tooth.
    Gingiva = 0,
    /// The biting surface of a premolar or molar.
    Occlusal = 1,
    /// The cutting edge of an incisor or canine.
    Incisal = 2,
    /// Facing the cheek or lip.
    Buccal = 3,
    /// Facing the tongue or palate.
    Lingual = 4,
    /// Facing the previous tooth towards the midline (contact area).
    Mesial = 5,
    /// Facing the next tooth away from the midline (contact area).
    Distal = 6,
    /// The band next to the gingiva.
    Cervical = 7,
    /// Within the margin band of a prepared tooth.
    Margin = 8,
}

/// The teeth beside `fdi` in its arch, each with the surface of `fdi` that faces it and the
/// neighbour's surface that faces back (across the midline both are mesial).
///
/// ```
/// use imprint_core::tooth::{neighbours, Region};
/// assert_eq!(neighbours(36), [(35, Region::Mesial, Region::Distal), (37, Region::Distal, Region::Mesial)]);
/// assert_eq!(neighbours(11)[0], (21, Region::Mesial, Region::Mesial));
/// assert_eq!(neighbours(48).len(), 1);
/// assert_eq!(neighbours(55).len(), 1);
/// ```
pub fn neighbours(fdi: u8) -> Vec<(u8, Region, Region)> {
    if !is_fdi(fdi) {
        return Vec::new();
    }
    let (quadrant, position) = (fdi / 10, fdi % 10);
    let last = if quadrant <= 4 { 8 } else { 5 };
    let mut out = Vec::new();
    if position == 1 {
        let across = if quadrant % 2 == 1 {
            quadrant + 1
        } else {
            quadrant - 1
        };
        out.push((across * 10 + 1, Region::Mesial, Region::Mesial));
    } else {
        out.push((fdi - 1, Region::Mesial, Region::Distal));
    }
    if position < last {
        out.push((fdi + 1, Region::Distal, Region::Mesial));
    }
    out
}

impl Region {
    /// Every region, by code.
    pub const ALL: [Region; 9] = [
        Region::Gingiva,
        Region::Occlusal,
        Region::Incisal,
        Region::Buccal,
        Region::Lingual,
        Region::Mesial,
        Region::Distal,
        Region::Cervical,
        Region::Margin,
    ];

    /// The region with code `c`.
    pub fn from_code(c: u8) -> Option<Region> {
        Self::ALL.get(c as usize).copied()
    }

    /// Lower-case name, as reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Region::Gingiva => "gingiva",
            Region::Occlusal => "occlusal",
            Region::Incisal => "incisal",
            Region::Buccal => "buccal",
            Region::Lingual => "lingual",
            Region::Mesial => "mesial",
            Region::Distal => "distal",
            Region::Cervical => "cervical",
            Region::Margin => "margin",
        }
    }

    /// Occlusal, incisal or a contact area: where DOMAIN.md calls a defect serious.
    pub fn is_functional(self) -> bool {
        matches!(
            self,
            Region::Occlusal | Region::Incisal | Region::Mesial | Region::Distal
        )
    }
}

/// A vertex's place on its tooth, in the tooth's own frame, for [`Region::classify`].
#[derive(Debug, Clone, Copy)]
pub struct ToothLocal {
    /// Offset along the arch towards the midline (mesial positive), in half mesiodistal widths.
    pub mesial: f32,
    /// Offset across the arch towards the cheek (buccal positive), in half buccolingual widths.
    pub buccal: f32,
    /// Height between the tooth's lowest (0) and highest (1) point.
    pub height: f32,
    /// Component of the unit surface normal along the occlusal direction.
    pub normal_up: f32,
}

impl Region {
    /// The region of a tooth vertex (positions 1–3 have an incisal edge, 4–8 an occlusal
    /// surface). The rule, shared by the map and the phantom truth:
    /// the top 45 % of the crown facing occlusally (normal within 53° of the axis) is
    /// occlusal or incisal; the bottom 20 % is cervical; the rest goes by the larger of the
    /// mesiodistal and buccolingual offsets.
    ///
    /// ```
    /// use imprint_core::tooth::{Region, ToothLocal};
    /// let top = ToothLocal { mesial: 0.0, buccal: 0.1, height: 0.95, normal_up: 0.98 };
    /// assert_eq!(Region::classify(36, top), Region::Occlusal);
    /// let side = ToothLocal { mesial: -0.9, buccal: 0.2, height: 0.5, normal_up: 0.1 };
    /// assert_eq!(Region::classify(36, side), Region::Distal);
    /// ```
    pub fn classify(fdi: u8, at: ToothLocal) -> Region {
        if at.height > 0.55 && at.normal_up > 0.6 {
            if fdi % 10 <= 3 {
                Region::Incisal
            } else {
                Region::Occlusal
            }
        } else if at.height < 0.2 {
            Region::Cervical
        } else if at.mesial.abs() > at.buccal.abs() {
            if at.mesial > 0.0 {
                Region::Mesial
            } else {
                Region::Distal
            }
        } else if at.buccal > 0.0 {
            Region::Buccal
        } else {
            Region::Lingual
        }
    }
}
