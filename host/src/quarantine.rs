//! Quarantine for worker mode: a plugin whose worker crashed, hung or ran out of memory
//! [`LIMIT`] times in a row is not started again until its library file changes (size,
//! modification time or SHA-256), so a station running all day does not pay a broken
//! vendor plugin's time limit on every scan. Its runs are then recorded as failed with the
//! reason, and `imprint plugins list` shows it.
//!
//! The record lives in `quarantine.json` in Imprint's state folder: `IMPRINT_STATE_DIR`,
//! else `$XDG_STATE_HOME/imprint`, else `~/.local/state/imprint`. Without any of them
//! nothing is remembered (every run starts clean).

use crate::plugins::LoadedPlugin;
use crate::report::RunStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Failures in a row that quarantine a plugin.
pub const LIMIT: u32 = 3;

/// What is remembered of one plugin library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The library's SHA-256 when it last failed.
    pub sha256: String,
    /// Its size then, bytes.
    pub size: u64,
    /// Its modification time then (seconds since the epoch).
    pub modified: u64,
    /// Worker deaths in a row.
    pub failures: u32,
    /// The last one's reason.
    pub reason: String,
}

/// The quarantine record, shared by the runs of one process.
pub struct Quarantine {
    file: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Entry>>,
}

fn state_file() -> Option<PathBuf> {
    let dir = std::env::var_os("IMPRINT_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("imprint")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/imprint"))
        })?;
    Some(dir.join("quarantine.json"))
}

fn identity(path: &Path) -> (u64, u64) {
    let meta = std::fs::metadata(path).ok();
    let size = meta.as_ref().map_or(0, std::fs::Metadata::len);
    let modified = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    (size, modified)
}

impl Quarantine {
    /// The record from the state folder (empty when there is none or it is unreadable).
    pub fn open() -> Self {
        Self::at(state_file())
    }

    /// The record kept in `file` (nothing kept when `None`).
    pub fn at(file: Option<PathBuf>) -> Self {
        let entries = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            file,
            entries: Mutex::new(entries),
        }
    }

    /// Why `plugin` is quarantined, when it is (and its file has not changed since).
    pub fn reason(&self, plugin: &LoadedPlugin) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(&key(plugin))?;
        let (size, modified) = identity(&plugin.path);
        let same = e.sha256 == plugin.sha256 && e.size == size && e.modified == modified;
        (same && e.failures >= LIMIT).then(|| {
            format!(
                "quarantined after {} worker failures in a row (last: {}); replace or rebuild the library to try it again",
                e.failures, e.reason
            )
        })
    }

    /// Records how a worker run of `plugin` ended: a death counts, anything else clears.
    pub fn record(&self, plugin: &LoadedPlugin, status: RunStatus, reason: &str) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let died = matches!(
            status,
            RunStatus::Crashed | RunStatus::TimedOut | RunStatus::OutOfMemory
        );
        let (size, modified) = identity(&plugin.path);
        let entry = entries.entry(key(plugin)).or_default();
        let same =
            entry.sha256 == plugin.sha256 && entry.size == size && entry.modified == modified;
        let failures = if died && same {
            entry.failures + 1
        } else {
            u32::from(died)
        };
        *entry = Entry {
            sha256: plugin.sha256.clone(),
            size,
            modified,
            failures,
            reason: reason.to_string(),
        };
        if let Some(file) = &self.file {
            if let Ok(bytes) = serde_json::to_vec_pretty(&*entries) {
                let _ = file.parent().map(std::fs::create_dir_all);
                let _ = crate::report::write_atomic(file, &bytes);
            }
        }
    }
}

/// The process's record, opened on first use.
pub fn global() -> &'static Quarantine {
    static RECORD: std::sync::OnceLock<Quarantine> = std::sync::OnceLock::new();
    RECORD.get_or_init(Quarantine::open)
}

fn key(plugin: &LoadedPlugin) -> String {
    let path = plugin
        .path
        .canonicalize()
        .unwrap_or_else(|_| plugin.path.clone());
    path.display().to_string()
}
