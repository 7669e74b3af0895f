//! Worker mode (third-party plugins by default on the command line, every plugin with
//! `--isolate`; see [`Placement`]): each such plugin runs in a child process of the `imprint`
//! binary (`imprint worker JOB RESULT`), so a plugin that segfaults, aborts, hangs or eats
//! memory costs only its own result, never the host or another analyzer's findings.
//!
//! **Protocol.** The host writes a job file (the scan files, labels, case, the plugin's
//! parameters, threads, the memory cap, the snapshots); the worker checks the plugin's
//! interface (loading it is the handshake: a refused plugin is reported as such before any
//! work), maps the host's snapshots of the scans and their derived data, runs the one plugin
//! and writes its run records and findings to the result file (through a temporary file and a rename). Results never
//! travel on stdout: a plugin that prints cannot corrupt them (the worker's own output goes
//! to a log file the host reads only to explain a failure).
//!
//! **Limits.** A wall-clock timeout per plugin run (the worker is killed at expiry:
//! `timed_out`) and an optional address-space cap the worker sets on itself before loading
//! the plugin (an allocation that fails there aborts it: `out_of_memory`). A worker that dies
//! by a signal or exits without a result is `crashed`, with the signal or code. Any of them
//! marks the report partial, and the decision can then be no better than review.
//!
//! **Shared data.** The host computes the derived data once (as in process) and writes each
//! scan's view, BVH included, to a snapshot file ([`crate::snapshot`]) that every worker
//! memory-maps: a worker reads the host's arrays instead of loading the scan and deriving
//! them again. Should the snapshots fail to write, each worker loads and derives for itself.
//! Plugins are still also loaded in the host (for their manifests).
//!
//! **Quarantine**: a plugin whose worker died [`crate::quarantine::LIMIT`] times in a row is
//! not started again until its library changes (see [`crate::quarantine`]).

use crate::case::CaseFile;
use crate::plugins::LoadedPlugin;
use crate::report::{RunRecord, RunStatus};
use crate::run::Params;
use imprint_core::derived::{DerivedData, DerivedKind};
use imprint_core::finding::AnalyzerOutput;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Limits on one plugin run in worker mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock time for one plugin on the whole case.
    pub timeout: Duration,
    /// Address-space cap of the worker, MiB (none when `None`).
    pub memory_mb: Option<u64>,
    /// The `imprint` executable workers run (`None`: this process's own executable).
    pub exe: Option<PathBuf>,
    /// Keep plugins that keep dying out (see [`crate::quarantine`]).
    pub quarantine: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            memory_mb: None,
            exe: None,
            quarantine: true,
        }
    }
}

/// Which plugins run in worker processes (when worker limits are given).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Placement {
    /// Every plugin (`--isolate`).
    #[default]
    All,
    /// Plugins that are not first-party ([`crate::plugins::FIRST_PARTY`]) and those named in
    /// `workers`, except those named in `trusted` (the command line's default).
    ThirdParty {
        /// Ids to run in workers even if first-party.
        workers: Vec<String>,
        /// Ids to run in process even if third-party.
        trusted: Vec<String>,
    },
}

impl Placement {
    /// Whether `plugin` runs in a worker.
    pub fn in_worker(&self, plugin: &LoadedPlugin) -> bool {
        match self {
            Self::All => true,
            Self::ThirdParty { workers, trusted } => {
                let id = &plugin.manifest.id;
                if workers.contains(id) {
                    true
                } else if trusted.contains(id) {
                    false
                } else {
                    !plugin.is_first_party()
                }
            }
        }
    }
}

/// The case a worker analyzes: what the host loaded it from.
pub struct Inputs<'a> {
    /// Scan files.
    pub scans: &'a [PathBuf],
    /// Label file of the first scan.
    pub labels: Option<&'a Path>,
    /// The case.
    pub case: &'a CaseFile,
    /// Threads each plugin's worker may use (the workers run side by side).
    pub threads: usize,
    /// The host's derived data of the scans, shared with the workers through snapshots.
    pub derived: &'a [DerivedData<'a>],
}

/// What the host hands a worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// The plugin library.
    pub plugin: PathBuf,
    /// Scan files.
    pub scans: Vec<PathBuf>,
    /// Label file of the first scan.
    pub labels: Option<PathBuf>,
    /// The case.
    pub case: CaseFile,
    /// The plugin's parameters (id → values).
    pub params: Params,
    /// Threads the plugin may use.
    pub threads: usize,
    /// Address-space cap, MiB.
    pub memory_mb: Option<u64>,
    /// Snapshots of the host's scans and derived data, one per scan (see
    /// [`crate::snapshot`]); when empty, the worker loads the scans and derives them itself.
    #[serde(default)]
    pub snapshots: Vec<PathBuf>,
}

/// What a worker hands back.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    /// One record per scan.
    pub runs: Vec<RunRecord>,
    /// Findings and margin lines.
    pub output: AnalyzerOutput,
}

/// Runs every plugin in its own worker, side by side, and gathers their records and
/// findings; a worker that failed in any way yields records saying how.
pub fn run_workers(
    plugins: &[LoadedPlugin],
    params: &Params,
    inputs: &Inputs<'_>,
    limits: &Limits,
) -> (Vec<RunRecord>, AnalyzerOutput) {
    use rayon::prelude::*;
    let threads = inputs.threads.max(1);
    // Written once for all the workers; without them (a full disk), each derives its own.
    let shared = snapshot_dir().and_then(|dir| {
        let written = crate::run::write_snapshots(plugins, inputs.derived, inputs.case, dir.path());
        written.ok().map(|paths| (dir, paths))
    });
    let snapshots = shared
        .as_ref()
        .map_or(&[][..], |(_, paths)| paths.as_slice());
    let results: Vec<WorkerResult> = plugins
        .par_iter()
        .map(|p| run_worker(p, params, inputs, snapshots, limits, threads))
        .collect();
    let mut runs = Vec::new();
    let mut output = AnalyzerOutput::default();
    for mut r in results {
        runs.append(&mut r.runs);
        output.findings.append(&mut r.output.findings);
        output.margin_lines.append(&mut r.output.margin_lines);
    }
    (runs, output)
}

/// Where the snapshots go: shared memory where the system has it (`/dev/shm`: the workers
/// map pages that never go to disk; writing 100 MB to a disk-backed temporary folder took
/// 140–310 ms at 1M triangles, to `/dev/shm` 75–85 ms), else the temporary folder.
fn snapshot_dir() -> Option<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let in_shm = shm
        .is_dir()
        .then(|| tempfile::Builder::new().prefix("imprint-").tempdir_in(shm));
    match in_shm {
        Some(Ok(dir)) => Some(dir),
        _ => tempfile::tempdir().ok(),
    }
}

fn run_worker(
    plugin: &LoadedPlugin,
    params: &Params,
    inputs: &Inputs<'_>,
    snapshots: &[PathBuf],
    limits: &Limits,
    threads: usize,
) -> WorkerResult {
    let start = Instant::now();
    let failed = |status: RunStatus, why: String| WorkerResult {
        runs: (0..inputs.scans.len())
            .map(|scan| RunRecord {
                analyzer: plugin.manifest.id.clone(),
                version: plugin.manifest.version.clone(),
                scan,
                status,
                duration_ms: start.elapsed().as_secs_f64() * 1e3,
                findings: 0,
                error: Some(why.clone()),
                in_worker: true,
            })
            .collect(),
        output: AnalyzerOutput::default(),
    };
    let quarantine = limits.quarantine.then(crate::quarantine::global);
    if let Some(why) = quarantine.and_then(|q| q.reason(plugin)) {
        return failed(RunStatus::Failed, why);
    }
    let mut result = match spawn_and_wait(plugin, params, inputs, snapshots, limits, threads) {
        Ok(result) => checked(result, plugin).unwrap_or_else(|why| failed(RunStatus::Failed, why)),
        Err((status, why)) => failed(status, why),
    };
    if let (Some(q), Some(run)) = (quarantine, result.runs.first()) {
        q.record(plugin, run.status, run.error.as_deref().unwrap_or(""));
    }
    result.runs.iter_mut().for_each(|r| r.in_worker = true);
    result
}

/// Findings from a worker go through the same checks as in-process ones.
fn checked(mut result: WorkerResult, plugin: &LoadedPlugin) -> Result<WorkerResult, String> {
    let json = serde_json::to_string(&result.output).map_err(|e| e.to_string())?;
    let scan = result.output.findings.first().map_or(0, |f| f.scan);
    let mut output = crate::run::parse_findings(&json, plugin, scan)?;
    // Keep each finding's scan as the worker recorded it.
    for (f, original) in output.findings.iter_mut().zip(&result.output.findings) {
        f.scan = original.scan;
    }
    result.output = output;
    Ok(result)
}

fn spawn_and_wait(
    plugin: &LoadedPlugin,
    params: &Params,
    inputs: &Inputs<'_>,
    snapshots: &[PathBuf],
    limits: &Limits,
    threads: usize,
) -> Result<WorkerResult, (RunStatus, String)> {
    use wait_timeout::ChildExt;
    let internal = |e: std::io::Error| (RunStatus::Failed, format!("cannot start a worker: {e}"));
    let dir = tempfile::tempdir().map_err(internal)?;
    let (job_path, result_path, log_path) = (
        dir.path().join("job.json"),
        dir.path().join("result.json"),
        dir.path().join("worker.log"),
    );
    let job = Job {
        plugin: plugin.path.clone(),
        scans: inputs.scans.to_vec(),
        labels: inputs.labels.map(Path::to_path_buf),
        case: inputs.case.clone(),
        params: params
            .iter()
            .filter(|(id, _)| **id == plugin.manifest.id)
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect(),
        threads,
        memory_mb: limits.memory_mb,
        snapshots: snapshots.to_vec(),
    };
    let bytes = serde_json::to_vec(&job).map_err(|e| internal(std::io::Error::other(e)))?;
    std::fs::write(&job_path, bytes).map_err(internal)?;
    let log = std::fs::File::create(&log_path).map_err(internal)?;
    let exe = match &limits.exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().map_err(internal)?,
    };
    let mut child = Command::new(exe)
        .arg("worker")
        .arg(&job_path)
        .arg(&result_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(internal)?)
        .stderr(log)
        .spawn()
        .map_err(internal)?;
    let status = match child.wait_timeout(limits.timeout).map_err(internal)? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err((
                RunStatus::TimedOut,
                format!(
                    "killed after {:.0} s (its time limit)",
                    limits.timeout.as_secs_f64()
                ),
            ));
        }
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    match std::fs::read(&result_path) {
        Ok(bytes) if status.success() => serde_json::from_slice(&bytes).map_err(|e| {
            (
                RunStatus::Failed,
                format!("its worker's result is unreadable: {e}"),
            )
        }),
        _ => Err(death(status, &log)),
    }
}

/// How a worker that left no result died.
fn death(status: std::process::ExitStatus, log: &str) -> (RunStatus, String) {
    let tail: String = {
        let lines: Vec<&str> = log.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
    };
    if let Some(line) = log
        .lines()
        .find(|l| l.contains("memory allocation of") || l.contains("out of memory"))
    {
        return (
            RunStatus::OutOfMemory,
            format!("stopped at its memory limit ({})", line.trim()),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (
                RunStatus::Crashed,
                format!(
                    "its worker died of signal {signal} ({})",
                    signal_name(signal)
                ),
            );
        }
    }
    (
        RunStatus::Crashed,
        format!("its worker exited with {status} and no result ({tail})"),
    )
}

#[cfg(unix)]
fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => "SIGILL",
        6 => "SIGABRT: aborted",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV: invalid memory access",
        _ => "signal",
    }
}

/// The worker side (`imprint worker JOB RESULT`): runs one plugin on the job's case and
/// writes the result. Errors before the plugin runs (an unreadable job, a refused plugin, an
/// unreadable scan) are written as a failed run, so the host can say why.
pub fn work(job_path: &Path, result_path: &Path) -> std::io::Result<()> {
    let job: Job =
        serde_json::from_slice(&std::fs::read(job_path)?).map_err(std::io::Error::other)?;
    if let Some(mb) = job.memory_mb {
        cap_memory(mb);
    }
    let result = match run_job(&job) {
        Ok(result) => result,
        Err(why) => WorkerResult {
            runs: (0..job.scans.len())
                .map(|scan| RunRecord {
                    analyzer: job.plugin.display().to_string(),
                    version: String::new(),
                    scan,
                    status: RunStatus::Failed,
                    duration_ms: 0.0,
                    findings: 0,
                    error: Some(why.clone()),
                    in_worker: true,
                })
                .collect(),
            output: AnalyzerOutput::default(),
        },
    };
    let bytes = serde_json::to_vec(&result).map_err(std::io::Error::other)?;
    crate::report::write_atomic(result_path, &bytes)
}

fn run_job(job: &Job) -> Result<WorkerResult, String> {
    // The handshake: the interface is checked here, before any work.
    let plugin = crate::plugins::load(&job.plugin).map_err(|e| format!("refused: {}", e.reason))?;
    let with_bvh = plugin.manifest.needs.contains(&DerivedKind::Bvh);
    let plugins = [plugin];
    if !job.snapshots.is_empty() {
        let shared = job
            .snapshots
            .iter()
            .map(|p| crate::snapshot::SharedScan::open(p, with_bvh))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let none = crate::run::NoSpatial;
        let views = shared
            .iter()
            .map(|s| s.view(&none))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let (runs, output) =
            crate::run::run_views(&plugins, &views, &job.case, &job.params, job.threads);
        return Ok(WorkerResult { runs, output });
    }
    let negative = job.case.is_negative();
    let scans = crate::run::load_scans(&job.scans, job.labels.as_deref(), negative)
        .map_err(|e| e.to_string())?;
    let derived = crate::run::derive(&scans, &job.case);
    let (runs, output) =
        crate::run::run_plugins(&plugins, &derived, &job.case, &job.params, job.threads);
    Ok(WorkerResult { runs, output })
}

/// Caps this process's address space at `mb` MiB (Unix; elsewhere a no-op).
fn cap_memory(mb: u64) {
    #[cfg(unix)]
    {
        let bytes = mb.saturating_mul(1 << 20) as libc::rlim_t;
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        unsafe {
            libc::setrlimit(libc::RLIMIT_AS, &limit);
        }
    }
    #[cfg(not(unix))]
    let _ = mb;
}
