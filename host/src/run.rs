//! One analysis run: load the scans, load the plugins, compute the derived data once for the
//! union of their needs, hand every plugin borrowed views of every scan, collect findings.

use crate::case::CaseFile;
use crate::plugins::{self, Backend, LoadedPlugin, PluginLoadError};
use crate::report::{PluginRecord, Provenance, Report, RunRecord, RunStatus, ScanRecord, SCHEMA};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RRef;
use abi_stable::std_types::{ROption, RSlice, RStr};
use imprint_core::derived::{ClosestPoint, DerivedData, DerivedKind, RayHit};
use imprint_core::finding::{AnalyzerOutput, Finding};
use imprint_core::io::{self, labels, LoadError};
use imprint_core::plugin::{AnalyzeInput, ScanView, SpatialQuery, SpatialQuery_TO};
use imprint_core::Scan;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to analyze and how.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Scan files.
    pub scans: Vec<PathBuf>,
    /// Label sidecar for the first scan.
    pub labels: Option<PathBuf>,
    /// Case file.
    pub case: Option<PathBuf>,
    /// `--plugins` paths (files or directories), searched first.
    pub plugin_paths: Vec<PathBuf>,
    /// Run only these analyzer ids.
    pub only: Option<Vec<String>>,
    /// `--set ID.PARAM=VALUE` overrides.
    pub set: Vec<String>,
    /// Threads for the whole run (0 = all cores).
    pub threads: usize,
    /// Also search `IMPRINT_PLUGIN_PATH` and the executable's directory.
    pub default_plugin_paths: bool,
    /// `--policy FILE` (the built-in policy when none).
    pub policy: Option<PathBuf>,
    /// Worker limits: with them, the plugins `placement` picks run in worker processes;
    /// without, every plugin runs in process.
    pub isolation: Option<crate::isolate::Limits>,
    /// Which plugins run in workers when `isolation` is set (all of them by default).
    pub placement: crate::isolate::Placement,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A scan or label file is unreadable or invalid.
    #[error(transparent)]
    Input(#[from] LoadError),
    /// The case file is unreadable or invalid.
    #[error(transparent)]
    Case(#[from] crate::case::CaseError),
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
}

/// Answers spatial queries with nothing, for plugins that did not ask for the BVH.
pub struct NoSpatial;

impl SpatialQuery for NoSpatial {
    fn cast_ray(&self, _: &[f32; 3], _: &[f32; 3], _: f32) -> ROption<RayHit> {
        ROption::RNone
    }
    fn closest_point(&self, _: &[f32; 3], _: f32) -> ROption<ClosestPoint> {
        ROption::RNone
    }
}

/// Per-scan data the views borrow that the derived set does not hold directly.
struct Extras {
    role: String,
    path: String,
    /// The plugins asked for topology, so the boundary flags were computed.
    topological: bool,
    loops_json: String,
    /// Region codes per vertex, when the plugins asked for the tooth map.
    regions: Vec<u8>,
    map_json: String,
}

/// Parameter values per analyzer id.
pub type Params = BTreeMap<String, serde_json::Map<String, serde_json::Value>>;

/// The derived data the plugins need, together.
pub fn needs_of(plugins: &[LoadedPlugin]) -> Vec<DerivedKind> {
    let needs: BTreeSet<DerivedKind> = plugins
        .iter()
        .flat_map(|p| p.manifest.needs.iter().copied())
        .collect();
    needs.into_iter().collect()
}

/// Runs every plugin on every scan of a case: computes the derived data they need (once; a
/// no-op for pieces already computed), builds the borrowed views, and runs the plugins side
/// by side, each with `threads` threads (see [`run_views`]). Failures become run records.
pub fn run_plugins(
    plugins: &[LoadedPlugin],
    derived: &[DerivedData<'_>],
    case: &CaseFile,
    params: &Params,
    threads: usize,
) -> (Vec<RunRecord>, AnalyzerOutput) {
    let needs = needs_of(plugins);
    derived.par_iter().for_each(|d| d.ensure(&needs));
    // Everything the views borrow is created before them (the views are invariant in their
    // lifetime: they hold a trait object).
    let no_spatial = NoSpatial;
    let extras: Vec<Extras> = derived
        .iter()
        .enumerate()
        .map(|(i, d)| extras(i, d.scan(), d, &needs, case))
        .collect();
    let views: Vec<ScanView<'_>> = derived
        .iter()
        .zip(&extras)
        .map(|(d, e)| view(d, e, &needs, &no_spatial))
        .collect();
    run_views(plugins, &views, case, params, threads)
}

/// Runs every plugin on every scan's view (a worker's views come from snapshots, the host's
/// from its derived data). The plugins run side by side and each may use all `threads`:
/// the system shares the cores among them, and the analyzer that finishes last has every
/// core to itself (at 1M triangles, five analyzers on 2 cores took 0.50 s this way against
/// 0.64 s with the cores split among them up front).
pub(crate) fn run_views(
    plugins: &[LoadedPlugin],
    views: &[ScanView<'_>],
    case: &CaseFile,
    params: &Params,
    threads: usize,
) -> (Vec<RunRecord>, AnalyzerOutput) {
    let case_json = serde_json::to_string(case).unwrap_or_else(|_| "null".into());
    let params_json: BTreeMap<&str, String> = params
        .iter()
        .map(|(id, map)| (id.as_str(), serde_json::to_string(map).unwrap_or_default()))
        .collect();
    let per_plugin = threads.max(1) as u32;
    let mut runs = Vec::new();
    let mut output = AnalyzerOutput::default();
    for (scan_index, scan) in views.iter().enumerate() {
        // A bite record is an input to the analyzers of the arches (through every scan's
        // view), not a scan to judge on its own: its holes and edges are by design.
        if scan.role.as_str() == "bite" {
            continue;
        }
        let results: Vec<(RunRecord, AnalyzerOutput)> = plugins
            .par_iter()
            .map(|p| {
                let params = params_json.get(p.manifest.id.as_str());
                let input = AnalyzeInput {
                    scans: RSlice::from_slice(views),
                    scan_index: scan_index as u32,
                    params_json: RStr::from_str(params.map_or("{}", String::as_str)),
                    case_json: RStr::from_str(&case_json),
                    threads: per_plugin,
                };
                run_one(p, &input, scan_index)
            })
            .collect();
        for (record, mut found) in results {
            runs.push(record);
            output.findings.append(&mut found.findings);
            output.margin_lines.append(&mut found.margin_lines);
        }
    }
    (runs, output)
}

/// Writes a snapshot of every scan's view, as the plugins would see it in process, into
/// `dir` (one file per scan, in case order), for worker processes to map.
pub fn write_snapshots(
    plugins: &[LoadedPlugin],
    derived: &[DerivedData<'_>],
    case: &CaseFile,
    dir: &Path,
) -> Result<Vec<PathBuf>, crate::snapshot::SnapshotError> {
    let needs = needs_of(plugins);
    derived.par_iter().for_each(|d| d.ensure(&needs));
    let no_spatial = NoSpatial;
    derived
        .par_iter()
        .enumerate()
        .map(|(i, d)| {
            let e = extras(i, d.scan(), d, &needs, case);
            let path = dir.join(format!("scan-{i}.snap"));
            let bvh = needs.contains(&DerivedKind::Bvh).then(|| d.bvh());
            crate::snapshot::write_view(&path, &view(d, &e, &needs, &no_spatial), bvh)?;
            Ok(path)
        })
        .collect()
}

/// Runs an analysis and returns the report (not yet written).
pub fn analyze(opts: &AnalyzeOptions) -> Result<Report, AnalyzeError> {
    analyze_scans(opts).map(|(report, _)| report)
}

/// Runs an analysis and returns the report (not yet written) and the scans as analyzed (an
/// impression already turned positive), for pictures and heat maps.
pub fn analyze_scans(opts: &AnalyzeOptions) -> Result<(Report, Vec<Scan>), AnalyzeError> {
    let session = Session::start(opts)?;
    let case = read_case(opts)?;
    let threads = if opts.threads == 0 {
        rayon::current_num_threads()
    } else {
        opts.threads
    };
    session.analyze(&opts.scans, opts.labels.as_deref(), case.as_ref(), threads)
}

/// Everything a run needs besides its scans, set up once: the plugins (loaded and refused),
/// their parameters and the policy. A batch shares one session among all its cases.
pub struct Session {
    plugins: Vec<LoadedPlugin>,
    refused: Vec<PluginLoadError>,
    params: Params,
    policy: crate::policy::Policy,
    /// The worker limits (`None`: every plugin in process).
    pub isolation: Option<crate::isolate::Limits>,
    /// `plugins[first_in_worker..]` run in workers (when `isolation` is set), the rest in
    /// process.
    first_in_worker: usize,
}

impl Session {
    /// Discovers and loads the plugins, reads the policy and resolves the parameters (the
    /// plugins' defaults, then the policy's, then `--set`); keeps the worker limits.
    pub fn start(opts: &AnalyzeOptions) -> Result<Self, AnalyzeError> {
        let (mut plugins, refused) = plugins::load_all(&plugins::discover(
            &opts.plugin_paths,
            opts.default_plugin_paths,
        ));
        if let Some(only) = &opts.only {
            plugins.retain(|p| only.contains(&p.manifest.id));
        }
        // In-process plugins first (a stable sort keeps the discovery order within each).
        let isolated = |p: &LoadedPlugin| opts.isolation.is_some() && opts.placement.in_worker(p);
        plugins.sort_by_key(|p| isolated(p));
        let first_in_worker = plugins.iter().take_while(|p| !isolated(p)).count();
        let policy = match &opts.policy {
            Some(path) => {
                crate::policy::Policy::read(path).map_err(|e| AnalyzeError::Usage(e.to_string()))?
            }
            None => crate::policy::Policy::builtin().clone(),
        };
        let mut set = policy.settings();
        set.extend(opts.set.iter().cloned());
        let params = parameters(&plugins, &set)?;
        Ok(Self {
            plugins,
            refused,
            params,
            policy,
            isolation: opts.isolation.clone(),
            first_in_worker,
        })
    }

    /// The plugins, parameters and policy, ready to run.
    pub fn loaded(&self) -> Loaded<'_> {
        Loaded {
            plugins: &self.plugins,
            refused: &self.refused,
            params: &self.params,
            policy: &self.policy,
        }
    }

    /// What decides whether an earlier report of the same inputs still holds: the plugins'
    /// ids and versions, their parameters and the policy, as text.
    pub fn fingerprint(&self) -> String {
        let plugins: Vec<String> = self
            .plugins
            .iter()
            .map(|p| format!("{}@{}", p.manifest.id, p.manifest.version))
            .collect();
        format!(
            "{}|{}|{}",
            plugins.join(","),
            serde_json::to_string(&self.params).unwrap_or_default(),
            self.policy.hash
        )
    }

    /// Loads `scans` (labels for the first, an impression turned positive) and analyzes them
    /// as one case with `threads` threads.
    pub fn analyze(
        &self,
        scans: &[PathBuf],
        labels: Option<&Path>,
        case: Option<&CaseFile>,
        threads: usize,
    ) -> Result<(Report, Vec<Scan>), AnalyzeError> {
        let negative = case.is_some_and(CaseFile::is_negative);
        let files = scans;
        let scans = load_scans(files, labels, negative)?;
        let loaded = self.loaded();
        let (inside, outside) = self.plugins.split_at(self.first_in_worker);
        let report = match &self.isolation {
            Some(limits) if !outside.is_empty() => {
                report_with(&scans, case, &loaded, |derived, case| {
                    let (mut runs, mut output) =
                        run_plugins(inside, derived, case, loaded.params, threads.max(1));
                    let job = crate::isolate::Inputs {
                        scans: files,
                        labels,
                        case,
                        threads: threads.max(1),
                        derived,
                    };
                    let (mut more, mut found) =
                        crate::isolate::run_workers(outside, loaded.params, &job, limits);
                    runs.append(&mut more);
                    output.findings.append(&mut found.findings);
                    output.margin_lines.append(&mut found.margin_lines);
                    (runs, output)
                })
            }
            _ => report_for(&scans, case, &loaded, threads.max(1)),
        };
        Ok((report, scans.into_iter().map(|(s, _)| s).collect()))
    }
}

/// Plugins ready to run: those loaded, those refused (for the provenance), their parameters.
pub struct Loaded<'a> {
    /// Loaded plugins.
    pub plugins: &'a [LoadedPlugin],
    /// Refused libraries.
    pub refused: &'a [PluginLoadError],
    /// Parameters per analyzer.
    pub params: &'a Params,
    /// The decision policy.
    pub policy: &'a crate::policy::Policy,
}

/// Runs the plugins on scans already in memory (each with its file's SHA-256, or empty) and
/// concludes the report. A case scanned as an impression must already be turned positive.
pub fn report_for(
    scans: &[(Scan, String)],
    case: Option<&CaseFile>,
    loaded: &Loaded<'_>,
    threads: usize,
) -> Report {
    report_with(scans, case, loaded, |derived, case| {
        run_plugins(loaded.plugins, derived, case, loaded.params, threads)
    })
}

/// What runs the plugins of a case: in process ([`run_plugins`]), or in worker processes
/// ([`crate::isolate`]).
pub type Runner<'r> =
    dyn FnOnce(&[DerivedData<'_>], &CaseFile) -> (Vec<RunRecord>, AnalyzerOutput) + 'r;

/// [`report_for`] with the plugins run by `run` (given the host's derived data and the case).
pub fn report_with(
    scans: &[(Scan, String)],
    case: Option<&CaseFile>,
    loaded: &Loaded<'_>,
    run: impl FnOnce(&[DerivedData<'_>], &CaseFile) -> (Vec<RunRecord>, AnalyzerOutput),
) -> Report {
    let negative = case.is_some_and(CaseFile::is_negative);
    let case_ref = case.cloned().unwrap_or_default();
    let derived = derive(scans, &case_ref);
    let (runs, output) = run(&derived, &case_ref);
    let AnalyzerOutput {
        mut findings,
        margin_lines,
    } = output;
    crate::locate::place_findings(&mut findings, &derived);
    let records: Vec<_> = scans
        .iter()
        .enumerate()
        .zip(&derived)
        .map(|((i, (s, sha)), d)| {
            let mut record = scan_record(i, s, sha, &case_ref, negative);
            record.tooth_map = Some(crate::locate::MapSummary::of(d.tooth_map()));
            record
        })
        .collect();
    let roles: Vec<(String, Option<&crate::locate::MapSummary>)> = records
        .iter()
        .map(|r| (r.role.clone(), r.tooth_map.as_ref()))
        .collect();
    let (checklist, missing) = crate::checklist::check(&crate::checklist::Inputs {
        case,
        scans: &roles,
        margin_lines: &margin_lines,
        findings: &findings,
    });
    findings.extend(missing);
    for (n, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{:04}", n + 1);
    }
    let mut report = Report {
        schema: SCHEMA,
        scans: records,
        case: serde_json::to_value(case).unwrap_or_default(),
        provenance: provenance(
            loaded.plugins,
            loaded.refused.to_vec(),
            loaded.params.clone(),
        ),
        runs,
        findings,
        summary: Default::default(),
        decision: crate::report::Decision::Accept,
        reasons: Vec::new(),
        partial: false,
        risk: None,
        checklist: Some(checklist),
        margin_lines,
    };
    report.conclude(loaded.policy, case);
    report
}

/// The derived data of each scan, with what the case says about it (for the tooth map).
pub fn derive<'s>(scans: &'s [(Scan, String)], case: &CaseFile) -> Vec<DerivedData<'s>> {
    scans
        .iter()
        .enumerate()
        .map(|(i, (s, _))| {
            let path = std::path::PathBuf::from(source_path(s));
            DerivedData::with_hints(s, crate::locate::hints_for(case, i, &path))
        })
        .collect()
}

fn read_case(opts: &AnalyzeOptions) -> Result<Option<CaseFile>, AnalyzeError> {
    Ok(match &opts.case {
        Some(path) => Some(CaseFile::read(path)?),
        None => None,
    })
}

/// Loads every scan; an impression scan (the negative) is turned into the positive surface
/// once, by reversing its triangles' winding, so every analyzer sees the mouth's shape.
pub fn load_scans(
    paths: &[PathBuf],
    labels: Option<&Path>,
    negative: bool,
) -> Result<Vec<(Scan, String)>, AnalyzeError> {
    if paths.is_empty() {
        return Err(AnalyzeError::Usage("no scan given".into()));
    }
    let mut out = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let mut scan = io::load(path)?;
        if let (0, Some(lp)) = (i, labels) {
            let file = labels::read_label_file(lp)?;
            labels::attach(&mut scan, &file, lp)?;
        }
        if negative {
            scan.reverse_winding();
        }
        let sha = file_sha256(path).unwrap_or_default();
        out.push((scan, sha));
    }
    Ok(out)
}

/// SHA-256 of a file's bytes, hex, read through a memory map (no copy of a large scan).
fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(plugins::hex(&Sha256::digest([])));
    }
    // SAFETY: read-only and only for this call, as in `imprint_core::io::load` (a file
    // truncated by another process while mapped could fault; scans are written before they
    // are analysed, the documented contract the watch mode keeps).
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(plugins::hex(&Sha256::digest(&map[..])))
}

/// Defaults from each manifest, overridden by `--set ID.PARAM=VALUE`.
pub fn parameters(
    plugins: &[LoadedPlugin],
    set: &[String],
) -> Result<BTreeMap<String, serde_json::Map<String, serde_json::Value>>, AnalyzeError> {
    let mut params: BTreeMap<_, _> = plugins
        .iter()
        .map(|p| {
            let defaults: serde_json::Map<String, serde_json::Value> = p
                .manifest
                .parameters
                .iter()
                .map(|q| (q.name.clone(), q.default.clone()))
                .collect();
            (p.manifest.id.clone(), defaults)
        })
        .collect();
    for s in set {
        let bad = |why: &str| AnalyzeError::Usage(format!("--set {s}: {why}"));
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| bad("expected ID.PARAM=VALUE"))?;
        let (id, name) = key
            .split_once('.')
            .ok_or_else(|| bad("expected ID.PARAM=VALUE"))?;
        let plugin = plugins
            .iter()
            .find(|p| p.manifest.id == id)
            .ok_or_else(|| bad("no loaded analyzer has that id"))?;
        if !plugin.manifest.parameters.iter().any(|q| q.name == name) {
            return Err(bad("that analyzer has no such parameter"));
        }
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        if let Some(map) = params.get_mut(id) {
            map.insert(name.to_string(), value);
        }
    }
    Ok(params)
}

fn extras(
    i: usize,
    scan: &Scan,
    d: &DerivedData<'_>,
    needs: &[DerivedKind],
    case: &CaseFile,
) -> Extras {
    let topological = needs.iter().any(|k| {
        matches!(
            k,
            DerivedKind::EdgeMap
                | DerivedKind::BoundaryLoops
                | DerivedKind::Adjacency
                | DerivedKind::Curvature
        )
    });
    if topological {
        d.on_boundary();
    }
    let loops_json = if needs.contains(&DerivedKind::BoundaryLoops) {
        serde_json::to_string(&d.boundary_loops().loops).unwrap_or_default()
    } else {
        String::new()
    };
    let path = scan
        .source
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let (regions, map_json) = if needs.contains(&DerivedKind::ToothMap) {
        let map = d.tooth_map();
        (
            map.regions.iter().map(|r| *r as u8).collect(),
            serde_json::to_string(map).unwrap_or_default(),
        )
    } else {
        (Vec::new(), String::new())
    };
    Extras {
        role: role_name(case, i, &path),
        path,
        topological,
        loops_json,
        regions,
        map_json,
    }
}

fn view<'a>(
    d: &'a DerivedData<'a>,
    e: &'a Extras,
    needs: &[DerivedKind],
    none: &'a NoSpatial,
) -> ScanView<'a> {
    let has = |k: DerivedKind| needs.contains(&k);
    let scan = d.scan();
    let curvature = has(DerivedKind::Curvature).then(|| d.curvature());
    let adjacency = has(DerivedKind::Adjacency).then(|| d.adjacency());
    let map = has(DerivedKind::ToothMap).then(|| d.tooth_map());
    let (normals, areas): (&[[f32; 3]], &[f32]) = if has(DerivedKind::FaceNormals) {
        (d.face_normals(), d.face_areas())
    } else {
        (&[], &[])
    };
    let spatial = if has(DerivedKind::Bvh) {
        SpatialQuery_TO::from_ptr(RRef::new(d.bvh()), TD_Opaque)
    } else {
        SpatialQuery_TO::from_ptr(RRef::new(none), TD_Opaque)
    };
    ScanView {
        role: RStr::from_str(&e.role),
        path: RStr::from_str(&e.path),
        positions: RSlice::from_slice(&scan.positions),
        triangles: RSlice::from_slice(&scan.triangles),
        labels: RSlice::from_slice(scan.labels.as_deref().unwrap_or(&[])),
        vertex_normals: RSlice::from_slice(if has(DerivedKind::VertexNormals) {
            d.vertex_normals()
        } else {
            &[]
        }),
        face_normals: RSlice::from_slice(normals),
        face_areas: RSlice::from_slice(areas),
        mean_curvature: RSlice::from_slice(curvature.map_or(&[][..], |c| &c.mean)),
        gaussian_curvature: RSlice::from_slice(curvature.map_or(&[][..], |c| &c.gaussian)),
        adjacency_offsets: RSlice::from_slice(adjacency.map_or(&[][..], |a| &a.offsets)),
        adjacency: RSlice::from_slice(adjacency.map_or(&[][..], |a| &a.items)),
        face_component: RSlice::from_slice(if has(DerivedKind::Components) {
            &d.components().face_component
        } else {
            &[]
        }),
        on_boundary: RSlice::from_slice(if e.topological { d.on_boundary() } else { &[] }),
        boundary_loops_json: RStr::from_str(&e.loops_json),
        tooth: RSlice::from_slice(map.map_or(&[][..], |m| &m.labels)),
        region: RSlice::from_slice(&e.regions),
        arch_s: RSlice::from_slice(map.map_or(&[][..], |m| &m.coords.s)),
        arch_t: RSlice::from_slice(map.map_or(&[][..], |m| &m.coords.t)),
        arch_h: RSlice::from_slice(map.map_or(&[][..], |m| &m.coords.h)),
        tooth_map_json: RStr::from_str(&e.map_json),
        spatial,
    }
}

fn source_path(scan: &Scan) -> String {
    let path = scan.source.path.as_ref();
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

/// The role's report name (`upper`, `lower`, `bite`, `scan`).
fn role_name(case: &CaseFile, i: usize, path: &str) -> String {
    imprint_core::util::serde_name(&case.role_of(i, std::path::Path::new(path)))
}

/// Runs one plugin on one scan; a failure is recorded, never propagated.
fn run_one(
    p: &LoadedPlugin,
    input: &AnalyzeInput<'_, '_>,
    scan: usize,
) -> (RunRecord, AnalyzerOutput) {
    let start = Instant::now();
    let outcome = match &p.backend {
        Backend::Rust(module) => match (module.analyze())(input).into_result() {
            Ok(json) => parse_findings(json.as_str(), p, scan),
            Err(message) => Err(message.to_string()),
        },
        Backend::C(plugin) => {
            let view = &input.scans[input.scan_index as usize];
            plugin
                .analyze(
                    view,
                    input.params_json.as_str(),
                    input.case_json.as_str(),
                    input.threads,
                )
                .and_then(|findings| {
                    let json = serde_json::to_string(&findings).map_err(|e| e.to_string())?;
                    parse_findings(&json, p, scan)
                })
        }
    };
    let duration_ms = start.elapsed().as_secs_f64() * 1e3;
    let (status, error, output) = match outcome {
        Ok(f) => (RunStatus::Ok, None, f),
        Err(e) => (RunStatus::Failed, Some(e), AnalyzerOutput::default()),
    };
    let record = RunRecord {
        analyzer: p.manifest.id.clone(),
        version: p.manifest.version.clone(),
        scan,
        status,
        duration_ms,
        findings: output.findings.len(),
        error,
        in_worker: false,
    };
    (record, output)
}

/// Parses and checks a plugin's output (an [`AnalyzerOutput`] object, or a bare array of
/// findings from plugins that trace no margins); any malformed finding fails the whole run.
pub(crate) fn parse_findings(
    json: &str,
    p: &LoadedPlugin,
    scan: usize,
) -> Result<AnalyzerOutput, String> {
    let mut output: AnalyzerOutput = if json.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Finding>>(json).map(AnalyzerOutput::from)
    } else {
        serde_json::from_str(json)
    }
    .map_err(|e| format!("returned malformed findings: {e}"))?;
    for (i, f) in output.findings.iter_mut().enumerate() {
        if !f.center.iter().all(|c| c.is_finite()) || !f.size_mm.is_finite() || f.size_mm < 0.0 {
            return Err(format!(
                "finding {i} has a non-finite centre or a negative size"
            ));
        }
        if f.message.trim().is_empty() {
            return Err(format!("finding {i} has no message"));
        }
        if !p.manifest.kinds.contains(&f.kind) {
            return Err(format!(
                "finding {i} is of kind {:?}, which its manifest does not declare",
                f.kind
            ));
        }
        f.analyzer = p.manifest.id.clone();
        f.scan = scan;
    }
    for (i, line) in output.margin_lines.iter_mut().enumerate() {
        if line.points.len() < 3 || line.points.iter().flatten().any(|c| !c.is_finite()) {
            return Err(format!(
                "margin line {i} has fewer than 3 points or a non-finite one"
            ));
        }
        line.scan = scan;
    }
    Ok(output)
}

fn scan_record(index: usize, s: &Scan, sha: &str, case: &CaseFile, negative: bool) -> ScanRecord {
    let path = source_path(s);
    ScanRecord {
        index,
        role: role_name(case, index, &path),
        path,
        sha256: sha.to_string(),
        format: s.source.format.name().to_string(),
        vertices: s.vertex_count(),
        triangles: s.triangle_count(),
        units: "mm",
        surface: if negative {
            "positive_from_impression"
        } else {
            "as_scanned"
        },
        warnings: s.warnings.iter().map(|w| w.message.clone()).collect(),
        tooth_map: None,
    }
}

fn provenance(
    plugins: &[LoadedPlugin],
    refused: Vec<PluginLoadError>,
    params: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
) -> Provenance {
    Provenance {
        imprint_version: env!("CARGO_PKG_VERSION"),
        policy: None,
        plugins: plugins
            .iter()
            .map(|p| PluginRecord {
                id: p.manifest.id.clone(),
                version: p.manifest.version.clone(),
                interface_version: p.manifest.interface_version.clone(),
                path: p.path.display().to_string(),
                sha256: p.sha256.clone(),
            })
            .collect(),
        refused_plugins: refused,
        policy_hash: None,
        parameters: params
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::Object(v)))
            .collect(),
    }
}
