//! The case file (`--case`, JSON): what the scans are, what was scanned, what the lab will
//! make, and the chart. Unknown fields are errors (a misspelt field must not be silently
//! ignored); every error names the file and the line, column or field.
//!
//! The committed schema `schemas/case.schema.json` is generated from these types and checked
//! against them in the tests.

use imprint_core::tooth::{is_fdi, parse_tooth, Numbering};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A scan's role in the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Upper arch.
    Upper,
    /// Lower arch.
    Lower,
    /// Bite registration.
    Bite,
    /// Unspecified.
    Scan,
}

/// The kind of impression, which sets how strictly it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImpressionKind {
    /// Study casts, diagnostic models: gross defects only.
    Preliminary,
    /// For fabrication: strict.
    Final,
    /// How the arches meet.
    BiteRegistration,
}

/// What the scanner saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scanned {
    /// The mouth itself.
    Intraoral,
    /// A stone cast poured from an impression (a positive).
    Cast,
    /// The impression itself: the negative of the mouth. The host turns it into the positive
    /// surface once, so every analyzer sees the mouth's shape.
    Impression,
}

/// Impression material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Material {
    /// Irreversible hydrocolloid.
    Alginate,
    /// Vinyl polysiloxane.
    Vps,
    /// Polyether.
    Polyether,
    /// Digital impression (no material).
    Digital,
    /// Anything else.
    Other,
}

/// What the lab will make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Restoration {
    /// Single crown.
    Crown,
    /// Bridge.
    Bridge,
    /// Inlay or onlay.
    InlayOnlay,
    /// Veneer.
    Veneer,
    /// Complete or partial denture.
    Denture,
    /// Immediate denture.
    ImmediateDenture,
    /// Clear aligner.
    Aligner,
    /// Retainer.
    Retainer,
    /// Night guard.
    NightGuard,
    /// Implant-borne restoration.
    Implant,
    /// Study model only.
    StudyModel,
    /// Anything else.
    Other,
}

/// One scan of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseScan {
    /// The file (relative paths are relative to the case file); matched by file name.
    pub path: String,
    /// Its role.
    pub role: Role,
}

/// A prepared tooth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreparedTooth {
    /// The tooth: an FDI number, or a designation in the case's `numbering`.
    #[schemars(schema_with = "tooth_schema")]
    pub tooth: u8,
    /// The margin (finish line) as a closed polyline in mm, when the designer drew one.
    #[serde(default)]
    pub margin: Option<Vec<[f32; 3]>>,
}

/// What the chart says of one tooth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartEntry {
    /// The tooth: an FDI number, or a designation in the case's `numbering`.
    #[schemars(schema_with = "tooth_schema")]
    pub tooth: u8,
    /// Miller mobility grade 0–III.
    #[serde(default)]
    pub mobility: Option<u8>,
    /// The tooth is missing.
    #[serde(default)]
    pub missing: bool,
    /// Periodontal notes.
    #[serde(default)]
    pub periodontal: Option<String>,
}

/// The case file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The lab's case id.
    #[serde(default)]
    pub id: Option<String>,
    /// How the case's teeth (and the scan's label file) are numbered: `fdi` (the default),
    /// `universal` (1–32, primary A–T) or `palmer` (`UR6`, `LL-E`). Reports always use FDI.
    #[serde(default)]
    pub numbering: Numbering,
    /// The scans and their roles.
    #[serde(default)]
    pub scans: Vec<CaseScan>,
    /// Kind of impression.
    #[serde(default)]
    pub impression: Option<ImpressionKind>,
    /// What was scanned.
    #[serde(default)]
    pub scanned: Option<Scanned>,
    /// Impression material.
    #[serde(default)]
    pub material: Option<Material>,
    /// What the lab will make.
    #[serde(default)]
    pub restoration: Option<Restoration>,
    /// Prepared teeth, with optional margin lines.
    #[serde(default)]
    pub prepared_teeth: Vec<PreparedTooth>,
    /// Tooth chart.
    #[serde(default)]
    pub chart: Vec<ChartEntry>,
    /// Path of withdrawal of the tray (a direction in scan coordinates), when known.
    #[serde(default)]
    pub withdrawal: Option<[f32; 3]>,
}

/// Why a case file cannot be used; displays as one line naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CaseError {
    /// The case file.
    pub path: String,
    /// What is wrong, with the line and column or the field.
    pub message: String,
}

impl CaseFile {
    /// Reads and checks a case file.
    pub fn read(path: &Path) -> Result<Self, CaseError> {
        let fail = |message: String| CaseError {
            path: path.display().to_string(),
            message,
        };
        let bytes =
            std::fs::read(path).map_err(|e| fail(format!("cannot read the case file: {e}")))?;
        Self::parse(&bytes).map_err(fail)
    }

    /// Parses and checks case JSON held in memory; tooth designations in the case's
    /// numbering become FDI numbers.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        // Parsed straight from the bytes, errors carry line and column; only a case in
        // another numbering (or with teeth written as text) goes through a JSON value first.
        let case: CaseFile = match serde_json::from_slice::<CaseFile>(bytes) {
            Ok(case) if case.numbering == Numbering::Fdi => case,
            direct => {
                let mut value: serde_json::Value =
                    serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                let rewrote = to_fdi(&mut value)?;
                match direct {
                    Err(e) if !rewrote => return Err(e.to_string()),
                    _ => serde_json::from_value(value).map_err(|e| e.to_string())?,
                }
            }
        };
        case.check()?;
        Ok(case)
    }

    /// Semantic checks serde cannot express.
    pub fn check(&self) -> Result<(), String> {
        for (i, p) in self.prepared_teeth.iter().enumerate() {
            check_fdi(p.tooth, &format!("prepared_teeth[{i}].tooth"))?;
            if let Some(m) = &p.margin {
                if m.len() < 3 {
                    return Err(format!("prepared_teeth[{i}].margin has {} points; a closed margin needs at least 3", m.len()));
                }
                if m.iter().flatten().any(|c| !c.is_finite()) {
                    return Err(format!(
                        "prepared_teeth[{i}].margin has a non-finite coordinate"
                    ));
                }
            }
        }
        for (i, c) in self.chart.iter().enumerate() {
            check_fdi(c.tooth, &format!("chart[{i}].tooth"))?;
            if let Some(m) = c.mobility.filter(|m| *m > 3) {
                return Err(format!(
                    "chart[{i}].mobility is {m}; Miller grades are 0 to 3"
                ));
            }
        }
        if let Some(w) = self.withdrawal {
            let len = w.iter().map(|c| c * c).sum::<f32>().sqrt();
            if !len.is_finite() || len < 1e-6 {
                return Err(format!("withdrawal {w:?} is not a direction"));
            }
        }
        for role in [Role::Upper, Role::Lower, Role::Bite] {
            if self.scans.iter().filter(|s| s.role == role).count() > 1 {
                return Err(format!("scans: more than one scan has the role {role:?}"));
            }
        }
        Ok(())
    }

    /// The role of the `i`-th scan given on the command line at `path`: matched by file name,
    /// else by position, else `scan`.
    pub fn role_of(&self, i: usize, path: &Path) -> Role {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let by_name = self
            .scans
            .iter()
            .find(|s| Path::new(&s.path).file_name().and_then(|n| n.to_str()) == Some(name));
        by_name
            .or_else(|| self.scans.get(i))
            .map_or(Role::Scan, |s| s.role)
    }

    /// The scan is of the impression itself (a negative).
    pub fn is_negative(&self) -> bool {
        self.scanned == Some(Scanned::Impression)
    }
}

/// Rewrites every `tooth` of `prepared_teeth` and `chart` from the case's numbering to FDI;
/// `false` when there was nothing to rewrite.
fn to_fdi(value: &mut serde_json::Value) -> Result<bool, String> {
    let numbering: Numbering = match value.get("numbering") {
        Some(n) => serde_json::from_value(n.clone()).map_err(|e| format!("numbering: {e}"))?,
        None => Numbering::Fdi,
    };
    let mut rewrote = false;
    for list in ["prepared_teeth", "chart"] {
        let Some(items) = value.get_mut(list).and_then(|v| v.as_array_mut()) else {
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            let Some(tooth) = item.get_mut("tooth") else {
                continue;
            };
            let text = match &*tooth {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => continue, // serde reports the wrong type with its position
            };
            if numbering == Numbering::Fdi && tooth.is_number() {
                continue; // checked (with the number in the message) by `check`
            }
            let fdi =
                parse_tooth(&text, numbering).map_err(|e| format!("{list}[{i}].tooth: {e}"))?;
            *tooth = serde_json::Value::from(fdi);
            rewrote = true;
        }
    }
    Ok(rewrote)
}

fn tooth_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "FDI number, or a designation in the case's numbering",
        "oneOf": [
            {"type": "integer", "minimum": 11, "maximum": 85},
            {"type": "string"}
        ]
    })
}

fn check_fdi(n: u8, field: &str) -> Result<(), String> {
    if is_fdi(n) {
        Ok(())
    } else {
        Err(format!(
            "{field} is {n}, not an FDI tooth number (11–48, primary 51–85)"
        ))
    }
}

/// The case file's JSON Schema, generated from the types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(CaseFile)).unwrap_or_default()
}
