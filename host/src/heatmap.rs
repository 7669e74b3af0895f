//! The heat-map PLY: each scan with per-vertex colours by the worst finding that touches the
//! vertex — green where nothing was found, yellow for minor, orange for major, red for
//! critical — to open in MeshLab or any viewer. A finding touches its own vertices, or when
//! it lists none, the vertices within its radius (at least 0.5 mm) of its centre or of its
//! path. Where two opposing teeth touch (the bite analyzer's contact map) and nothing worse
//! was found, the vertex is blue.

use crate::report::Report;
use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::scan::Scan;
use std::path::{Path, PathBuf};

/// Colour where nothing was found.
pub const FINE: [u8; 3] = [150, 205, 150];

/// Colour of a contact with the opposing arch.
pub const CONTACT: [u8; 3] = [60, 110, 230];

/// The colour of a severity.
pub fn colour(severity: Severity) -> [u8; 3] {
    match severity {
        Severity::Info => FINE,
        Severity::Minor => [235, 205, 60],
        Severity::Major => [245, 135, 35],
        Severity::Critical => [215, 35, 35],
    }
}

/// The worst severity touching each vertex of scan `index`.
pub fn severities(scan: &Scan, index: usize, findings: &[Finding]) -> Vec<Option<Severity>> {
    let mut worst: Vec<Option<Severity>> = vec![None; scan.positions.len()];
    let mut mark = |v: usize, s: Severity| {
        if let Some(w) = worst.get_mut(v) {
            *w = (*w).max(Some(s));
        }
    };
    for f in findings.iter().filter(|f| f.scan == index) {
        if !f.vertices.is_empty() {
            f.vertices
                .iter()
                .for_each(|&v| mark(v as usize, f.severity));
            continue;
        }
        if f.size_mm <= 0.0 && f.path.is_empty() {
            continue;
        }
        let reach = (0.5 * f.size_mm).max(0.5);
        for (v, p) in scan.positions.iter().enumerate() {
            let d = if f.path.is_empty() {
                (0..3)
                    .map(|k| (p[k] - f.center[k]).powi(2))
                    .sum::<f32>()
                    .sqrt()
            } else {
                imprint_core::util::polyline_distance(*p, &f.path, false)
            };
            let limit = if f.path.is_empty() { reach } else { 0.5 };
            if d <= limit {
                mark(v, f.severity);
            }
        }
    }
    worst
}

/// The vertices of scan `index` that touch the opposing arch.
pub fn contacts(scan: &Scan, index: usize, findings: &[Finding]) -> Vec<bool> {
    let mut touch = vec![false; scan.positions.len()];
    let contact_findings = findings
        .iter()
        .filter(|f| f.scan == index && f.kind == FindingKind::BiteContact);
    for v in contact_findings.flat_map(|f| &f.vertices) {
        if let Some(t) = touch.get_mut(*v as usize) {
            *t = true;
        }
    }
    touch
}

/// Writes one coloured PLY per scan: `path` itself for a single scan, else `path` with
/// `_<index>_<role>` before the extension. Returns the files written.
pub fn write(path: &Path, scans: &[Scan], report: &Report) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (i, scan) in scans.iter().enumerate() {
        let touching = contacts(scan, i, &report.findings);
        let colours: Vec<[u8; 3]> = severities(scan, i, &report.findings)
            .into_iter()
            .zip(touching)
            .map(|(s, touch)| match s {
                Some(s) if s > Severity::Info => colour(s),
                _ if touch => CONTACT,
                _ => FINE,
            })
            .collect();
        let painted = Scan {
            colors: Some(colours),
            labels: None,
            ..scan.clone()
        };
        let file = if scans.len() == 1 {
            path.to_path_buf()
        } else {
            let role = report.scans.get(i).map_or("scan", |r| r.role.as_str());
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("heatmap");
            path.with_file_name(format!("{stem}_{i}_{role}.ply"))
        };
        let mut bytes = Vec::new();
        imprint_core::io::write_ply_binary(&painted, &mut bytes)?;
        crate::report::write_atomic(&file, &bytes)?;
        written.push(file);
    }
    Ok(written)
}
