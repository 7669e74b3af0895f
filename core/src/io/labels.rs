//! Per-vertex tooth labels: Teeth3DS / 3DTeethSeg22 JSON sidecars (`labels`: one FDI number
//! per vertex, 0 = gingiva; `instances`; `jaw`), and integer labels carried inside a PLY.

use super::error::{LoadError, LoadErrorKind, Location};
use crate::scan::{Scan, ScanWarning};
use crate::tooth::is_fdi;
use serde::{Deserialize, Serialize};
use std::path::Path;

const LABELS: &str = "label JSON";

/// A Teeth3DS-style label file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelFile {
    /// Patient id, when given.
    #[serde(default)]
    pub id_patient: Option<String>,
    /// `upper` or `lower`, when given.
    #[serde(default)]
    pub jaw: Option<String>,
    /// One FDI number per vertex (0 = gingiva).
    pub labels: Vec<u8>,
    /// Instance id per vertex, when given (0 = none).
    #[serde(default)]
    pub instances: Vec<u32>,
}

#[derive(Deserialize)]
struct RawLabelFile {
    #[serde(default)]
    id_patient: Option<String>,
    #[serde(default)]
    jaw: Option<String>,
    labels: Vec<i64>,
    #[serde(default)]
    instances: Vec<i64>,
}

/// Reads and checks a label file (every label 0 or a valid FDI number).
pub fn read_label_file(path: impl AsRef<Path>) -> Result<LabelFile, LoadError> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| LoadError::new(path, LoadErrorKind::Io(e.to_string())))?;
    parse_label_file(&bytes).map_err(|k| LoadError::new(path, k))
}

/// Parses label JSON held in memory.
pub fn parse_label_file(bytes: &[u8]) -> Result<LabelFile, LoadErrorKind> {
    let raw: RawLabelFile = serde_json::from_slice(bytes)
        .map_err(|e| LoadErrorKind::malformed(LABELS, Location::Line(e.line()), format!("{e}")))?;
    let labels = raw
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            u8::try_from(l)
                .ok()
                .filter(|&l| l == 0 || is_fdi(l))
                .ok_or_else(|| {
                    LoadErrorKind::malformed(
                        LABELS,
                        Location::Field(format!("labels[{i}]")),
                        format!("{l} is neither 0 (gingiva) nor an FDI tooth number"),
                    )
                })
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let instances = raw
        .instances
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v).map_err(|_| {
                LoadErrorKind::malformed(
                    LABELS,
                    Location::Field(format!("instances[{i}]")),
                    format!("{v} is not an instance id"),
                )
            })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    Ok(LabelFile {
        id_patient: raw.id_patient,
        jaw: raw.jaw,
        labels,
        instances,
    })
}

/// Attaches a label file to a scan; the counts must agree.
pub fn attach(scan: &mut Scan, file: &LabelFile, path: &Path) -> Result<(), LoadError> {
    if file.labels.len() != scan.vertex_count() {
        return Err(LoadError::new(
            path,
            LoadErrorKind::malformed(
                LABELS,
                Location::Field("labels".into()),
                format!(
                    "has {} labels but the scan has {} vertices",
                    file.labels.len(),
                    scan.vertex_count()
                ),
            ),
        ));
    }
    scan.labels = Some(file.labels.clone());
    Ok(())
}

/// Keeps integer vertex labels from a PLY when they are FDI numbers; otherwise warns.
pub(crate) fn attach_raw_vertex_labels(scan: &mut Scan, labels: Option<Vec<i64>>) {
    let Some(labels) = labels else { return };
    let fdi: Option<Vec<u8>> = labels
        .iter()
        .map(|&l| u8::try_from(l).ok().filter(|&l| l == 0 || is_fdi(l)))
        .collect();
    match fdi {
        Some(fdi) => scan.labels = Some(fdi),
        None => scan.warnings.push(ScanWarning::new(
            "labels_not_fdi",
            "the PLY's per-vertex labels are not FDI numbers (0 = gingiva); they were ignored",
        )),
    }
}
