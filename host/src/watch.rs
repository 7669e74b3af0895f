//! A folder the QA station watches (`imprint watch IN --out OUT`): every scan or case file
//! that lands in it is analyzed once it is completely written, its report goes to OUT, and
//! its files move to `IN/done/` (or `IN/failed/`, with the reason in the summary). Bad files
//! never stop it; Ctrl-C (or SIGTERM) stops it between cases, so no report is left half
//! written (reports are written through a temporary file and a rename anyway).
//!
//! **Completely written** means: a sidecar `NAME.ready` exists (a scanner's export can write
//! one last), or the file's size and modification time have not changed for `settle`.

use crate::batch::{self, Job, Row};
use crate::run::Session;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Folders under the watched one that hold what was processed.
pub const DONE: &str = "done";
/// See [`DONE`].
pub const FAILED: &str = "failed";

/// How a watch runs.
pub struct WatchOptions<'a> {
    /// The watched folder.
    pub dir: &'a Path,
    /// Where reports and the summary go.
    pub out: &'a Path,
    /// How often the folder is looked at.
    pub interval: Duration,
    /// How long a file must stay unchanged to count as written.
    pub settle: Duration,
    /// Threads for one case.
    pub threads: usize,
    /// Set to stop (by the Ctrl-C handler, or a test).
    pub stop: &'a AtomicBool,
    /// Called after each case.
    pub progress: &'a (dyn Fn(&Row) + Sync),
}

/// What a file looked like when last seen, and since when.
#[derive(Clone, Copy, PartialEq)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    since: Instant,
}

/// Watches until `stop` is set; returns every case's row.
pub fn watch(session: &Session, opts: &WatchOptions<'_>) -> std::io::Result<Vec<Row>> {
    std::fs::create_dir_all(opts.out)?;
    let mut seen: BTreeMap<PathBuf, Seen> = BTreeMap::new();
    let mut rows = Vec::new();
    while !opts.stop.load(Ordering::SeqCst) {
        let ready: Vec<Job> = batch::discover(&[opts.dir.to_path_buf()])
            .into_iter()
            .filter(|job| !processed(opts.dir, job))
            .filter(|job| inputs(job).all(|p| settled(&mut seen, &p, opts.settle)))
            .collect();
        for job in ready {
            if opts.stop.load(Ordering::SeqCst) {
                break;
            }
            let batch_opts = batch::BatchOptions {
                out: opts.out,
                threads: opts.threads,
                progress: opts.progress,
            };
            let row = batch::run(session, std::slice::from_ref(&job), &batch_opts)
                .pop()
                .unwrap_or_else(|| failed_row(&job, "the case did not run"));
            let to = if row.status == "failed" { FAILED } else { DONE };
            file_away(opts.dir, &job, to)?;
            for p in inputs(&job) {
                seen.remove(&p);
            }
            rows.push(row);
            batch::write_summary(opts.out, &rows)?;
        }
        sleep_unless_stopped(opts.interval, opts.stop);
    }
    Ok(rows)
}

fn inputs(job: &Job) -> impl Iterator<Item = PathBuf> + '_ {
    job.case.iter().chain(&job.scans).cloned()
}

/// Already filed under `done/` or `failed/`.
fn processed(dir: &Path, job: &Job) -> bool {
    inputs(job).any(|p| {
        p.strip_prefix(dir)
            .ok()
            .and_then(|r| r.components().next())
            .is_some_and(|c| c.as_os_str() == DONE || c.as_os_str() == FAILED)
    })
}

/// The file has a `.ready` sidecar, or has kept its size and time for `settle`.
fn settled(seen: &mut BTreeMap<PathBuf, Seen>, path: &Path, settle: Duration) -> bool {
    let mut marker = path.as_os_str().to_owned();
    marker.push(".ready");
    if Path::new(&marker).exists() {
        return true;
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let now = Seen {
        len: meta.len(),
        modified: meta.modified().ok(),
        since: Instant::now(),
    };
    match seen.get(path) {
        Some(old) if old.len == now.len && old.modified == now.modified => {
            old.since.elapsed() >= settle
        }
        _ => {
            seen.insert(path.to_path_buf(), now);
            false
        }
    }
}

/// Moves a case's files (and their `.ready` markers) into `dir/to/`, keeping their paths
/// below `dir`.
fn file_away(dir: &Path, job: &Job, to: &str) -> std::io::Result<()> {
    for p in inputs(job) {
        let mut marker = p.as_os_str().to_owned();
        marker.push(".ready");
        for file in [p.clone(), PathBuf::from(marker)] {
            if !file.exists() {
                continue;
            }
            let relative = file.strip_prefix(dir).unwrap_or(&file);
            let target = dir.join(to).join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&file, &target)?;
        }
    }
    Ok(())
}

fn failed_row(job: &Job, why: &str) -> Row {
    Row {
        input: job.input(),
        status: "failed".into(),
        decision: None,
        risk: None,
        reasons: Vec::new(),
        error: Some(why.into()),
        seconds: 0.0,
        report: None,
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let start = Instant::now();
    while start.elapsed() < total && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step.min(total));
    }
}
