//! Many cases in one call (`imprint batch`): every scan or case file under the given paths
//! becomes one report in the output folder (`NAME.report.json`, NAME its path below the
//! input folder with `_` for `/`), plus `summary.json` and `summary.csv` (one row
//! per case: decision, risk, top reasons, time, or why it failed).
//!
//! **Cases.** A case file (JSON with `scans`) is one case; a scan file that no case file in
//! the same folder names is a case of one. **Nothing stops the batch**: a scan that cannot be
//! read is a failed row with its reason. **Resuming**: beside each report a `.key` file
//! holds the SHA-256 of the case's input bytes and of the session (plugins, parameters,
//! policy); a case whose key matches is skipped as up to date, so an interrupted batch
//! picks up where it stopped. **Parallelism**: with more cases than threads each case runs
//! on one thread, cases side by side; a lone case gets every thread.

use crate::case::CaseFile;
use crate::report::Report;
use crate::run::{AnalyzeError, Session};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File extensions read as scans.
pub const SCAN_EXTENSIONS: [&str; 3] = ["stl", "ply", "obj"];

/// One case of a batch: a case file with its scans, or a lone scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The case file, if any.
    pub case: Option<PathBuf>,
    /// The scans (for a case file, as it names them, resolved against its folder).
    pub scans: Vec<PathBuf>,
    /// The report's name (`NAME.report.json`, `NAME.key`), unique within the batch.
    pub name: String,
}

/// What became of one case.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    /// The case file or lone scan.
    pub input: String,
    /// `ok`, `skipped` (its report is up to date) or `failed`.
    pub status: String,
    /// accept / review / reject, when analyzed.
    pub decision: Option<String>,
    /// The case's risk in [0, 1], when analyzed.
    pub risk: Option<f64>,
    /// The report's first reasons (at most three).
    pub reasons: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Wall time, seconds (0 when skipped).
    pub seconds: f64,
    /// The report file, relative to the output folder.
    pub report: Option<String>,
}

impl Row {
    /// One line for a person following the run: status, input, and the decision or error.
    pub fn line(&self) -> String {
        let outcome = self.error.as_ref().or(self.decision.as_ref());
        format!(
            "{} {}: {}",
            self.status,
            self.input,
            outcome.map_or("", String::as_str)
        )
    }
}

/// The cases under `inputs` (files, or folders searched recursively), in path order.
pub fn discover(inputs: &[PathBuf]) -> Vec<Job> {
    let mut found = BTreeMap::new();
    for input in inputs {
        let root = if input.is_dir() {
            input.as_path()
        } else {
            input.parent().unwrap_or(Path::new(""))
        };
        collect(root, input, &mut found);
    }
    let files: BTreeSet<PathBuf> = found.keys().cloned().collect();
    let name = |f: &Path| found.get(f).cloned().unwrap_or_else(|| stem(f));
    let mut jobs = Vec::new();
    let mut named: BTreeSet<PathBuf> = BTreeSet::new();
    for f in files.iter().filter(|f| has_ext(f, &["json"])) {
        // A JSON file that is not a case with scans (a label file, a report) is not a case.
        let Ok(case) = CaseFile::read(f) else {
            continue;
        };
        if case.scans.is_empty() {
            continue;
        }
        let dir = f.parent().unwrap_or(Path::new("."));
        let scans: Vec<PathBuf> = case.scans.iter().map(|s| dir.join(&s.path)).collect();
        named.extend(scans.iter().cloned());
        jobs.push(Job {
            case: Some(f.clone()),
            scans,
            name: name(f),
        });
    }
    for f in files
        .iter()
        .filter(|f| has_ext(f, &SCAN_EXTENSIONS) && !named.contains(*f))
    {
        jobs.push(Job {
            case: None,
            scans: vec![f.clone()],
            name: name(f),
        });
    }
    jobs.sort_by_key(Job::input);
    unique_names(&mut jobs);
    jobs
}

/// Every scan or JSON file under `path`, with its report name: its path below `root`
/// without the extension, folders joined by `_` (`clinic_a/case7.json` → `clinic_a_case7`).
fn collect(root: &Path, path: &Path, out: &mut BTreeMap<PathBuf, String>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for e in entries.flatten() {
            collect(root, &e.path(), out);
        }
    } else if has_ext(path, &SCAN_EXTENSIONS) || has_ext(path, &["json"]) {
        let relative = path.strip_prefix(root).unwrap_or(path).with_extension("");
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("_");
        out.insert(path.to_path_buf(), name);
    }
}

fn has_ext(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "case".into(), |s| s.to_string_lossy().into_owned())
}

/// Two cases with the same file name get `name`, `name-2`, …
fn unique_names(jobs: &mut [Job]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for job in jobs.iter_mut() {
        let n = seen.entry(job.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            job.name = format!("{}-{n}", job.name);
        }
    }
}

impl Job {
    /// The input the summary names: the case file, or the lone scan.
    pub fn input(&self) -> String {
        self.case
            .as_ref()
            .or(self.scans.first())
            .map_or_else(String::new, |p| p.display().to_string())
    }

    /// SHA-256 of the session and of every input file's bytes, hex; `None` when an input
    /// cannot be read (the analysis then reports why).
    pub fn key(&self, session: &str) -> Option<String> {
        let mut h = Sha256::new();
        h.update(session.as_bytes());
        for p in self.case.iter().chain(&self.scans) {
            h.update(p.display().to_string().as_bytes());
            h.update(std::fs::read(p).ok()?);
        }
        Some(crate::plugins::hex(&h.finalize()))
    }
}

/// How a batch runs.
pub struct BatchOptions<'a> {
    /// Where reports, keys and the summary go.
    pub out: &'a Path,
    /// Threads in all.
    pub threads: usize,
    /// Called after each case, with its row (progress).
    pub progress: &'a (dyn Fn(&Row) + Sync),
}

/// Runs every job, writing its report (and key) into the output folder as it finishes, and
/// returns the rows in job order.
pub fn run(session: &Session, jobs: &[Job], opts: &BatchOptions<'_>) -> Vec<Row> {
    use rayon::prelude::*;
    let fingerprint = session.fingerprint();
    let threads = opts.threads.max(1);
    // Cases side by side when there are enough of them; otherwise threads within a case.
    let side_by_side = jobs.len().clamp(1, threads);
    let per_case = (threads / side_by_side).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(side_by_side)
        .build();
    let work = |job: &Job| {
        let row = run_one(session, job, &fingerprint, opts.out, per_case);
        (opts.progress)(&row);
        row
    };
    match pool {
        Ok(pool) => pool.install(|| jobs.par_iter().map(work).collect()),
        Err(_) => jobs.iter().map(work).collect(),
    }
}

fn run_one(session: &Session, job: &Job, fingerprint: &str, out: &Path, threads: usize) -> Row {
    let started = Instant::now();
    let report_name = format!("{}.report.json", job.name);
    let report_path = out.join(&report_name);
    let key_path = out.join(format!("{}.key", job.name));
    let key = job.key(fingerprint);
    let mut row = Row {
        input: job.input(),
        status: "ok".into(),
        decision: None,
        risk: None,
        reasons: Vec::new(),
        error: None,
        seconds: 0.0,
        report: Some(report_name),
    };
    if let Some(k) = &key {
        let stored = std::fs::read_to_string(&key_path).unwrap_or_default();
        if stored.trim() == k && report_path.exists() {
            row.status = "skipped".into();
            fill_from_saved(&mut row, &report_path);
            return row;
        }
    }
    match analyze(session, job, threads) {
        Ok(report) => {
            fill_from_report(&mut row, &report);
            let written = report.write_atomic(&report_path).and_then(|()| match &key {
                Some(k) => crate::report::write_atomic(&key_path, k.as_bytes()),
                None => Ok(()),
            });
            if let Err(e) = written {
                row.status = "failed".into();
                row.error = Some(format!(
                    "{}: cannot write the report: {e}",
                    report_path.display()
                ));
            }
        }
        Err(e) => {
            row.status = "failed".into();
            row.error = Some(e.to_string());
            row.report = None;
        }
    }
    row.seconds = started.elapsed().as_secs_f64();
    row
}

fn analyze(session: &Session, job: &Job, threads: usize) -> Result<Report, AnalyzeError> {
    let case = job.case.as_deref().map(CaseFile::read).transpose()?;
    session
        .analyze(&job.scans, None, case.as_ref(), threads)
        .map(|(report, _)| report)
}

fn fill_from_report(row: &mut Row, report: &Report) {
    row.decision = Some(imprint_core::util::serde_name(&report.decision));
    row.risk = report.risk.as_ref().map(|r| r.case_risk);
    row.reasons = report.reasons.iter().take(3).cloned().collect();
    if report.partial {
        row.reasons
            .insert(0, "partial: an analyzer did not finish".into());
    }
}

/// A skipped case's row from the report already written.
fn fill_from_saved(row: &mut Row, path: &Path) {
    let Ok(v) = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string()))
    else {
        return;
    };
    row.decision = v["decision"].as_str().map(str::to_string);
    row.risk = v["risk"]["case_risk"].as_f64();
    row.reasons = v["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .take(3)
        .collect();
}

/// Writes `summary.json` and `summary.csv` (atomically) into `out`.
pub fn write_summary(out: &Path, rows: &[Row]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "schema": "imprint.batch/1",
        "cases": rows,
    }))
    .map_err(std::io::Error::other)?;
    crate::report::write_atomic(&out.join("summary.json"), &json)?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "input", "status", "decision", "risk", "reasons", "seconds", "report", "error",
    ])
    .map_err(std::io::Error::other)?;
    for r in rows {
        csv.write_record([
            r.input.clone(),
            r.status.clone(),
            r.decision.clone().unwrap_or_default(),
            r.risk.map(|x| format!("{x:.3}")).unwrap_or_default(),
            r.reasons.join(" | "),
            format!("{:.3}", r.seconds),
            r.report.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ])
        .map_err(std::io::Error::other)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::report::write_atomic(&out.join("summary.csv"), &bytes)
}

/// The batch's exit code: its worst decision; a failed case counts as review (a person must
/// look at why), so a gate never passes a batch with an unread scan.
pub fn exit_code(rows: &[Row]) -> i32 {
    use crate::exit;
    rows.iter()
        .map(|r| match (r.status.as_str(), r.decision.as_deref()) {
            ("failed", _) => exit::REVIEW,
            (_, Some("reject")) => exit::REJECT,
            (_, Some("review")) => exit::REVIEW,
            _ => exit::ACCEPT,
        })
        .max()
        .unwrap_or(exit::ACCEPT)
}
