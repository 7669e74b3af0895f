//! The report: one JSON document per run (`schema` = `imprint.report/1`), written atomically.

use imprint_core::finding::Finding;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The schema id; new optional fields keep `/1`.
pub const SCHEMA: &str = "imprint.report/1";

/// One scan of the case.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScanRecord {
    /// Index in the case.
    pub index: usize,
    /// Role: upper, lower, bite or scan.
    pub role: String,
    /// The file.
    pub path: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Detected format.
    pub format: String,
    /// Vertices after welding.
    pub vertices: usize,
    /// Triangles.
    pub triangles: usize,
    /// Always `mm` (STL has no units; millimetres are assumed).
    pub units: &'static str,
    /// `as_scanned`, or `positive_from_impression` when the scan was of the impression (the
    /// negative) and the host turned it into the mouth's shape before analysis: findings then
    /// describe the positive surface, and their `cause` names the physical defect.
    pub surface: &'static str,
    /// Load and validation warnings.
    pub warnings: Vec<String>,
    /// The scan's tooth map: jaw, teeth, missing teeth, and what it is unsure of.
    pub tooth_map: Option<crate::locate::MapSummary>,
}

/// How an analyzer run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Finished; its findings are in the report.
    Ok,
    /// Returned an error, panicked, or returned findings the host rejected.
    Failed,
    /// Not run (excluded by `--only`, or not applicable).
    Skipped,
    /// Its worker process died (worker mode).
    Crashed,
    /// Killed at its time limit (worker mode).
    TimedOut,
    /// Killed at its memory limit (worker mode).
    OutOfMemory,
}

/// One analyzer run on one scan.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct RunRecord {
    /// Analyzer id.
    pub analyzer: String,
    /// Analyzer version.
    pub version: String,
    /// Scan index.
    pub scan: usize,
    /// How it ended.
    pub status: RunStatus,
    /// Wall time, ms.
    pub duration_ms: f64,
    /// Findings it contributed.
    pub findings: usize,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// It ran in a worker process (third-party plugins by default, every plugin with
    /// `--isolate`), not in the host's.
    #[serde(default)]
    pub in_worker: bool,
}

/// One plugin in the provenance record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginRecord {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Interface version it was built against.
    pub interface_version: String,
    /// Library file.
    pub path: String,
    /// SHA-256 of the library file.
    pub sha256: String,
}

/// Where the report came from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Provenance {
    /// Imprint's version.
    pub imprint_version: &'static str,
    /// Plugins that ran.
    pub plugins: Vec<PluginRecord>,
    /// Libraries that were refused, with one-line reasons.
    pub refused_plugins: Vec<crate::plugins::PluginLoadError>,
    /// The decision policy (`name` version).
    pub policy: Option<String>,
    /// SHA-256 of the decision policy's text.
    pub policy_hash: Option<String>,
    /// Parameters used, per analyzer.
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// Counts for a quick look.
#[derive(Debug, Clone, Serialize, Default, JsonSchema)]
pub struct Summary {
    /// Findings in all.
    pub findings: usize,
    /// Per severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Per kind.
    pub by_kind: BTreeMap<String, usize>,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Fabricate.
    Accept,
    /// A person looks first.
    Review,
    /// Rescan or retake.
    Reject,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// `imprint.report/1`.
    pub schema: &'static str,
    /// The scans of the case.
    pub scans: Vec<ScanRecord>,
    /// The case file as given (null when none).
    pub case: serde_json::Value,
    /// Versions, hashes and parameters.
    pub provenance: Provenance,
    /// One record per analyzer per scan.
    pub runs: Vec<RunRecord>,
    /// Findings of every analyzer that finished.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// Accept, review or reject.
    pub decision: Decision,
    /// Why, citing finding ids.
    pub reasons: Vec<String>,
    /// A required analyzer did not finish.
    pub partial: bool,
    /// Fit risk per tooth and per case, and the defects behind it.
    pub risk: Option<crate::risk::FitRisk>,
    /// What labs check before they start: terminal molars, expected and prepared teeth,
    /// opposing arch and bite.
    pub checklist: Option<Vec<crate::checklist::Item>>,
    /// Prepared teeth's finish lines, as the margin analyzers traced them.
    #[serde(default)]
    pub margin_lines: Vec<imprint_core::finding::MarginLine>,
}

impl Report {
    /// Fills summary, fit risk, decision, reasons and `partial` from the findings and runs,
    /// under `policy`: the decision is the worst of the risk thresholds and the rules a
    /// finding matches; a partial run is no better than review.
    pub fn conclude(
        &mut self,
        policy: &crate::policy::Policy,
        case: Option<&crate::case::CaseFile>,
    ) {
        let mut summary = Summary {
            findings: self.findings.len(),
            ..Summary::default()
        };
        for f in &self.findings {
            *summary.by_severity.entry(name(&f.severity)).or_default() += 1;
            *summary.by_kind.entry(name(&f.kind)).or_default() += 1;
        }
        self.summary = summary;
        self.partial = self
            .runs
            .iter()
            .any(|r| r.status != RunStatus::Ok && r.status != RunStatus::Skipped);
        let (risk, decision, reasons) = crate::risk::assess(&self.findings, case, policy);
        self.provenance.policy = Some(risk.policy.clone());
        self.provenance.policy_hash = Some(policy.hash.clone());
        self.risk = Some(risk);
        self.decision = decision;
        self.reasons = reasons;
        if self.partial {
            self.decision = self.decision.max(Decision::Review);
            for r in self
                .runs
                .iter()
                .filter(|r| r.status != RunStatus::Ok && r.status != RunStatus::Skipped)
            {
                self.reasons.push(format!(
                    "analyzer `{}` did not finish on scan {} ({}): {}",
                    r.analyzer,
                    r.scan,
                    name(&r.status),
                    r.error.as_deref().unwrap_or("no detail")
                ));
            }
        }
    }

    /// The exit code for this report (see the README).
    pub fn exit_code(&self) -> i32 {
        use crate::exit;
        match (self.decision, self.partial) {
            (Decision::Reject, _) => exit::REJECT,
            (_, true) => exit::PARTIAL,
            (Decision::Review, false) => exit::REVIEW,
            (Decision::Accept, false) => exit::ACCEPT,
        }
    }

    /// Writes the report as JSON through a temporary file and a rename, so a crash never
    /// leaves half a report.
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(path, &json)
    }
}

/// Writes bytes through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("report");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

use imprint_core::util::serde_name as name;

/// Per tooth, worst first: its risk and its findings (id, severity, kind).
fn tooth_table(s: &mut String, r: &Report, risk: &crate::risk::FitRisk) {
    use std::fmt::Write;
    for t in risk.teeth.iter().take(12) {
        let findings: Vec<String> = t
            .defects
            .iter()
            .filter_map(|id| risk.defects.iter().find(|d| &d.id == id))
            .flat_map(|d| &d.findings)
            .filter_map(|id| r.findings.iter().find(|f| &f.id == id))
            .map(|f| format!("{} {} {}", f.id, name(&f.severity), name(&f.kind)))
            .collect();
        let place = t
            .tooth
            .map_or("off-tooth".to_string(), |n| format!("tooth {n}"));
        let _ = writeln!(s, "  {place:<10} {:.2}  {}", t.risk, findings.join("; "));
    }
}

/// A one-screen text summary: decision, reasons, analyzer runs, findings.
pub fn to_text(r: &Report) -> String {
    to_text_styled(r, false)
}

/// [`to_text`], with the decision in its colour (green, amber, red) for a terminal.
pub fn to_text_styled(r: &Report, colour: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let (on, off) = match (colour, r.decision) {
        (false, _) => ("", ""),
        (true, Decision::Accept) => ("\x1b[1;32m", "\x1b[0m"),
        (true, Decision::Review) => ("\x1b[1;33m", "\x1b[0m"),
        (true, Decision::Reject) => ("\x1b[1;31m", "\x1b[0m"),
    };
    let _ = writeln!(
        s,
        "decision: {on}{}{}{off}",
        name(&r.decision).to_uppercase(),
        if r.partial { " (partial)" } else { "" }
    );
    for reason in &r.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
    if let Some(risk) = &r.risk {
        let _ = writeln!(
            s,
            "fit risk {:.2} ({} {}, policy {})",
            risk.case_risk,
            name(&risk.impression),
            name(&risk.purpose),
            risk.policy
        );
        tooth_table(&mut s, r, risk);
    }
    if let Some(items) = r.checklist.as_ref().filter(|i| !i.is_empty()) {
        let line: Vec<String> = items
            .iter()
            .map(|i| {
                if i.status == "missing" {
                    format!("{} MISSING ({})", i.item, i.detail)
                } else {
                    format!("{} {}", i.item, i.status)
                }
            })
            .collect();
        let _ = writeln!(s, "checklist: {}", line.join("; "));
    }
    for scan in &r.scans {
        let _ = writeln!(
            s,
            "scan {} [{}] {}: {} triangles",
            scan.index, scan.role, scan.path, scan.triangles
        );
    }
    for run in &r.runs {
        let _ = writeln!(
            s,
            "  {:<12} scan {} {:<9} {:>8.1} ms  {} finding(s){}",
            run.analyzer,
            run.scan,
            name(&run.status),
            run.duration_ms,
            run.findings,
            run.error
                .as_ref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    for f in r.findings.iter().take(20) {
        let tooth = f
            .tooth
            .map(|t| format!("tooth {t}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  {} {:<8} {:<10} {:<9} {}",
            f.id,
            name(&f.severity),
            name(&f.kind),
            tooth,
            f.message
        );
    }
    if r.findings.len() > 20 {
        let _ = writeln!(s, "  … {} more in the JSON report", r.findings.len() - 20);
    }
    s
}

/// The report's JSON Schema, generated from the types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}
