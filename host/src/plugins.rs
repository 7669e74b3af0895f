//! Plugin discovery and checked loading.
//!
//! Search order: each `--plugins` path (a library file, or a directory), then every directory
//! in `IMPRINT_PLUGIN_PATH`, then the directory of the `imprint` executable. In directories,
//! only files named `*imprint_plugin_*` with the platform's library extension are plugins.
//! A library exporting `imprint_c_analyzer` is a C plugin ([`crate::cplugin`]); any other
//! is loaded as a Rust plugin with `lib_header_from_path(..)?.init_root_module()` — not the
//! `load_from_*` helpers, which cache the first module per interface type and would return it
//! for every later path.

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use imprint_core::plugin::{AnalyzerModRef, Manifest};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A plugin that loaded and passed the interface checks.
pub struct LoadedPlugin {
    /// The library file.
    pub path: PathBuf,
    /// SHA-256 of the library file.
    pub sha256: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// How it is called.
    pub backend: Backend,
}

/// The ids of the analyzers that ship with Imprint. Other plugins run in worker processes by
/// default on the command line (see [`crate::isolate::Placement`]). An id is a claim, not a
/// proof: this keeps a buggy third-party analyzer from taking the station down, it is no
/// defence against a hostile library (which can do anything in a worker too).
pub const FIRST_PARTY: [&str; 6] = [
    "voids",
    "spikes",
    "margin",
    "drag-marks",
    "pull-risk",
    "bite",
];

impl LoadedPlugin {
    /// Whether it claims one of the [`FIRST_PARTY`] ids.
    pub fn is_first_party(&self) -> bool {
        FIRST_PARTY.contains(&self.manifest.id.as_str())
    }
}

/// How a plugin is called: through its abi_stable root module (Rust), or through the C
/// interface's descriptor.
pub enum Backend {
    /// A Rust plugin built with the SDK.
    Rust(AnalyzerModRef),
    /// A C or C++ plugin (see `core/include/imprint_analyzer.h`).
    C(crate::cplugin::CPlugin),
}

/// A library that could not be used, with a one-line reason and the full detail.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PluginLoadError {
    /// The library file.
    pub path: PathBuf,
    /// One line, for the report and the terminal.
    pub reason: String,
    /// The full text (e.g. abi_stable's layout diff), for logs and `plugins inspect`.
    #[serde(skip)]
    pub detail: String,
}

/// The platform's dynamic-library extension.
pub const LIB_EXTENSION: &str = std::env::consts::DLL_EXTENSION;

/// Library files to try, in search order, each once (by canonical path). With
/// `defaults`, `IMPRINT_PLUGIN_PATH` and the executable's directory follow `explicit`.
pub fn discover(explicit: &[PathBuf], defaults: bool) -> Vec<PathBuf> {
    let mut dirs_or_files: Vec<PathBuf> = explicit.to_vec();
    if defaults {
        if let Some(env) = std::env::var_os("IMPRINT_PLUGIN_PATH") {
            dirs_or_files.extend(std::env::split_paths(&env));
        }
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            dirs_or_files.push(dir);
        }
    }
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in dirs_or_files {
        let files = if p.is_dir() {
            plugin_files_in(&p)
        } else {
            vec![p]
        };
        for f in files {
            let key = f.canonicalize().unwrap_or_else(|_| f.clone());
            if seen.insert(key) {
                out.push(f);
            }
        }
    }
    out
}

fn plugin_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()) == Some(LIB_EXTENSION)
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.contains("imprint_plugin_"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Loads one library and checks it against this host's interface.
pub fn load(path: &Path) -> Result<LoadedPlugin, PluginLoadError> {
    let fail = |reason: String, detail: String| PluginLoadError {
        path: path.to_path_buf(),
        reason,
        detail,
    };
    let bytes =
        std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}"), e.to_string()))?;
    let sha256 = hex(&Sha256::digest(&bytes));
    match crate::cplugin::CPlugin::load(path) {
        Ok((plugin, manifest)) => {
            return Ok(LoadedPlugin {
                path: path.to_path_buf(),
                sha256,
                manifest,
                backend: Backend::C(plugin),
            })
        }
        Err(crate::cplugin::CLoadError::Refused(reason)) => {
            return Err(fail(reason, String::new()))
        }
        Err(crate::cplugin::CLoadError::NotC) => {}
    }
    let module = lib_header_from_path(path)
        .and_then(|h| h.init_root_module::<AnalyzerModRef>())
        .map_err(|e| fail(one_line(&e), e.to_string()))?;
    let json = (module.manifest())();
    let manifest: Manifest = serde_json::from_str(json.as_str())
        .map_err(|e| fail(format!("its manifest is not valid: {e}"), json.to_string()))?;
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        sha256,
        manifest,
        backend: Backend::Rust(module),
    })
}

/// One line for a load failure; the full text goes to the detail.
fn one_line(e: &LibraryError) -> String {
    let host = AnalyzerModRef::VERSION_STRINGS;
    match e {
        LibraryError::OpenError { .. } => "not a loadable library".to_string(),
        LibraryError::GetSymbolError { .. } => "not an Imprint plugin (no abi_stable root module)".to_string(),
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => format!(
            "built against plugin interface {actual_version}, incompatible with this host's {host}: rebuild it against imprint-core {host}"
        ),
        LibraryError::AbiInstability(_) => format!(
            "built against a changed plugin interface (version {host} but different type layouts: {}); rebuild it against this imprint-core",
            layout_error_tail(&e.to_string())
        ),
        other => other.to_string().lines().next().unwrap_or("unknown error").to_string(),
    }
}

/// The last `Error:` block of abi_stable's layout report, on one line
/// (e.g. `mismatched package, expected imprint-core, found …`).
fn layout_error_tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let Some(start) = lines.iter().rposition(|l| l.starts_with("Error:")) else {
        return "see `imprint plugins inspect` for the layout diff".into();
    };
    let mut parts = vec![lines[start].trim_start_matches("Error:").trim().to_string()];
    for l in lines[start + 1..].iter().take(6) {
        match *l {
            "Expected:" => parts.push("expected".into()),
            "Found:" => parts.push("found".into()),
            other => parts.push(other.to_string()),
        }
    }
    parts.join(" ")
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads every discovered library. A second library with an id already loaded is refused,
/// unless it is the same file content (same hash), which is skipped.
pub fn load_all(paths: &[PathBuf]) -> (Vec<LoadedPlugin>, Vec<PluginLoadError>) {
    let mut ok: Vec<LoadedPlugin> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match load(p) {
            Ok(plugin) => {
                if let Some(first) = ok.iter().find(|o| o.manifest.id == plugin.manifest.id) {
                    if first.sha256 == plugin.sha256 {
                        continue;
                    }
                    errors.push(PluginLoadError {
                        path: p.clone(),
                        reason: format!(
                            "duplicate plugin id `{}` (already loaded from {})",
                            plugin.manifest.id,
                            first.path.display()
                        ),
                        detail: String::new(),
                    });
                } else {
                    ok.push(plugin);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}
