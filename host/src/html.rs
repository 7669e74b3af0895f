//! The HTML report: one self-contained file (pictures embedded as PNG data, no scripts, no
//! network) a technician reads at a glance — the decision banner, the reasons, the fit risk
//! by tooth, the checklist, an occlusal overview of each scan with every finding ringed and
//! numbered in its severity's colour, a close-up of each major or critical finding with its
//! message, and the table of all findings.

use crate::heatmap::{colour, severities, FINE};
use crate::picture::{overview, render, Camera, Image};
use crate::report::{Decision, Report};
use base64::Engine;
use imprint_core::finding::{Finding, Severity};
use imprint_core::scan::Scan;
use std::fmt::Write;

/// Overview size, px.
const OVERVIEW: (u32, u32) = (900, 640);
/// Close-up size, px.
const CLOSE: u32 = 320;
/// At most this many close-ups.
const MAX_CLOSE_UPS: usize = 12;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn name<T: serde::Serialize>(v: &T) -> String {
    imprint_core::util::serde_name(v)
}

fn css_colour(c: [u8; 3]) -> String {
    format!("rgb({},{},{})", c[0], c[1], c[2])
}

fn data_uri(image: &Image) -> Result<String, png::EncodingError> {
    let png = image.png()?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// The whole report as one HTML page.
pub fn page(report: &Report, scans: &[Scan]) -> Result<String, png::EncodingError> {
    let mut h = String::new();
    head(&mut h, report);
    banner(&mut h, report);
    reasons(&mut h, report);
    risk_table(&mut h, report);
    checklist(&mut h, report);
    for (i, scan) in scans.iter().enumerate() {
        scan_pictures(&mut h, report, scan, i)?;
    }
    findings_table(&mut h, report);
    h.push_str("</body></html>\n");
    Ok(h)
}

fn head(h: &mut String, report: &Report) {
    let title = report.case["id"].as_str().unwrap_or("scan");
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Imprint report: {}</title><style>{}</style></head><body>",
        esc(title),
        STYLE
    );
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1000px}\
.banner{padding:.8em 1.2em;border-radius:6px;color:#fff;font-size:1.6em;font-weight:bold}\
.accept{background:#2e7d32}.review{background:#e08a00}.reject{background:#c62828}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
.fig{position:relative;display:inline-block}.fig img{display:block;border:1px solid #ccc}\
.mark{position:absolute;transform:translate(-50%,-140%);font-size:11px;font-weight:bold;color:#fff;padding:0 3px;border-radius:3px}\
.close{display:inline-block;width:330px;margin:0 .6em 1em 0;vertical-align:top;font-size:.9em}\
.sev{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em}";

fn banner(h: &mut String, report: &Report) {
    let class = match report.decision {
        Decision::Accept => "accept",
        Decision::Review => "review",
        Decision::Reject => "reject",
    };
    let risk = report
        .risk
        .as_ref()
        .map(|r| format!(" — fit risk {:.2}", r.case_risk))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<div class=\"banner {class}\">{}{}{}</div>",
        class.to_uppercase(),
        if report.partial { " (partial)" } else { "" },
        esc(&risk)
    );
}

fn reasons(h: &mut String, report: &Report) {
    h.push_str("<h2>Why</h2><ul>");
    if report.reasons.is_empty() {
        h.push_str("<li>No finding needs review under the policy.</li>");
    }
    for r in &report.reasons {
        let _ = write!(h, "<li>{}</li>", esc(r));
    }
    h.push_str("</ul>");
}

fn risk_table(h: &mut String, report: &Report) {
    let Some(risk) = &report.risk else {
        return;
    };
    let _ = write!(
        h,
        "<h2>Fit risk by tooth</h2><p>Policy {}; judged as a {} impression for {} work.</p><table><tr><th>scan</th><th>tooth</th><th>risk</th><th>defects (findings)</th></tr>",
        esc(&risk.policy),
        name(&risk.impression),
        name(&risk.purpose)
    );
    for t in &risk.teeth {
        let defects: Vec<String> = t
            .defects
            .iter()
            .filter_map(|id| risk.defects.iter().find(|d| &d.id == id))
            .map(|d| format!("{} ({})", d.id, d.findings.join(", ")))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            t.scan,
            t.tooth.map_or("not on a tooth".into(), |n| n.to_string()),
            t.risk,
            esc(&defects.join("; "))
        );
    }
    h.push_str("</table>");
}

fn checklist(h: &mut String, report: &Report) {
    let Some(items) = report.checklist.as_ref().filter(|i| !i.is_empty()) else {
        return;
    };
    h.push_str("<h2>Checklist</h2><table><tr><th>item</th><th>status</th><th>detail</th></tr>");
    for i in items {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.item),
            esc(&i.status),
            esc(&i.detail)
        );
    }
    h.push_str("</table>");
}

/// A finding's ring radius in the overview, px.
fn ring_radius(s: Severity) -> f32 {
    match s {
        Severity::Critical => 15.0,
        Severity::Major => 12.0,
        _ => 8.0,
    }
}

fn scan_pictures(
    h: &mut String,
    report: &Report,
    scan: &Scan,
    i: usize,
) -> Result<(), png::EncodingError> {
    let colours: Vec<[u8; 3]> = severities(scan, i, &report.findings)
        .into_iter()
        .map(|s| s.map_or(FINE, colour))
        .collect();
    let occlusal = report
        .scans
        .get(i)
        .and_then(|r| r.tooth_map.as_ref())
        .and_then(|m| m.occlusal)
        .unwrap_or([0.0, 0.0, 1.0]);
    let down = occlusal.map(|x| -x);
    let (w, ht) = OVERVIEW;
    let camera = overview(scan, down, [0.0, 1.0, 0.0], w as f32 / ht as f32);
    let mut image = render(scan, &colours, &camera, w, ht);
    let placed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.scan == i && f.size_mm > 0.0)
        .collect();
    let mut marks = String::new();
    for f in &placed {
        let (x, y, _) = camera.project(f.center, w, ht);
        image.ring((x, y), ring_radius(f.severity), 3.0, colour(f.severity));
        let _ = write!(
            marks,
            "<span class=\"mark\" style=\"left:{:.2}%;top:{:.2}%;background:{}\">{}</span>",
            100.0 * x / w as f32,
            100.0 * y / ht as f32,
            css_colour(colour(f.severity)),
            esc(&f.id)
        );
    }
    let role = report.scans.get(i).map_or("scan", |r| r.role.as_str());
    let _ = write!(
        h,
        "<h2>Scan {i} ({}): occlusal view</h2><div class=\"fig\"><img alt=\"occlusal view of scan {i}\" width=\"{w}\" height=\"{ht}\" src=\"{}\">{marks}</div>",
        esc(role),
        data_uri(&image)?
    );
    close_ups(h, report, scan, i, &colours)
}

fn close_ups(
    h: &mut String,
    report: &Report,
    scan: &Scan,
    i: usize,
    colours: &[[u8; 3]],
) -> Result<(), png::EncodingError> {
    let serious: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.scan == i && f.severity >= Severity::Major && f.size_mm > 0.0)
        .take(MAX_CLOSE_UPS)
        .collect();
    if serious.is_empty() {
        return Ok(());
    }
    h.push_str("<h3>Close-ups</h3>");
    let normals = imprint_core::derived::vertex_normals(&scan.positions, &scan.triangles);
    for f in serious {
        let camera = close_camera(scan, &normals, f);
        let mut image = render(scan, colours, &camera, CLOSE, CLOSE);
        let (x, y, _) = camera.project(f.center, CLOSE, CLOSE);
        let px_per_mm = CLOSE as f32 / camera.mm;
        image.ring(
            (x, y),
            (0.5 * f.size_mm * px_per_mm).max(10.0) + 4.0,
            2.5,
            colour(f.severity),
        );
        let _ = write!(
            h,
            "<div class=\"close\"><img alt=\"close-up of {id}\" width=\"{CLOSE}\" height=\"{CLOSE}\" src=\"{}\"><div><span class=\"sev\" style=\"background:{}\"></span><b>{id}</b> {} {}: {}</div></div>",
            data_uri(&image)?,
            css_colour(colour(f.severity)),
            name(&f.severity),
            name(&f.kind),
            esc(&f.message),
            id = esc(&f.id),
        );
    }
    Ok(())
}

/// Looking straight at a finding from outside the surface, 6 mm across at least.
fn close_camera(scan: &Scan, normals: &[[f32; 3]], f: &Finding) -> Camera {
    let reach = (0.5 * f.size_mm).max(1.0);
    let mut n = [0.0f32; 3];
    for (p, m) in scan.positions.iter().zip(normals) {
        let d: f32 = (0..3)
            .map(|k| (p[k] - f.center[k]).powi(2))
            .sum::<f32>()
            .sqrt();
        if d <= reach {
            (0..3).for_each(|k| n[k] += m[k]);
        }
    }
    let forward = if n.iter().all(|x| x.abs() < 1e-9) {
        [0.0, 0.0, -1.0]
    } else {
        n.map(|x| -x)
    };
    Camera::looking(
        f.center,
        forward,
        [0.0, 0.0, 1.0],
        (2.5 * f.size_mm).max(6.0),
    )
}

fn findings_table(h: &mut String, report: &Report) {
    h.push_str("<h2>Findings</h2><table><tr><th>id</th><th>severity</th><th>kind</th><th>tooth</th><th>surface</th><th>size mm</th><th>message</th></tr>");
    for f in &report.findings {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><span class=\"sev\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            esc(&f.id),
            css_colour(colour(f.severity)),
            name(&f.severity),
            name(&f.kind),
            f.tooth.map_or("-".into(), |t| t.to_string()),
            f.surface.map_or("-".to_string(), |s| s.name().to_string()),
            f.size_mm,
            esc(&f.message)
        );
    }
    h.push_str("</table>");
}
