//! The `imprint` command line: a thin edge over `imprint-host`. Errors become one line on
//! stderr and a documented exit code (see `imprint_host::exit`).

use clap::{Parser, Subcommand};
use imprint_host::run::{AnalyzeError, AnalyzeOptions};
use imprint_host::{exit, inspect, plugins};
use std::path::PathBuf;
use std::process::ExitCode;

/// Checks dental impression scans before a lab fabricates from them.
#[derive(Parser)]
#[command(name = "imprint", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what a scan file holds: format, counts, boundary loops, components, warnings.
    Inspect {
        /// The scan (STL, PLY or OBJ; the format is detected from content).
        scan: PathBuf,
        /// A Teeth3DS-style label JSON with one FDI number per vertex.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also compute every piece of derived data (normals, curvature, BVH…) and time each.
        #[arg(long)]
        derived: bool,
        /// Write the tooth map (FDI per vertex, 0 = gingiva; instances) in Teeth3DS form.
        #[arg(long, value_name = "OUT.json")]
        tooth_map: Option<PathBuf>,
    },
    /// Analyze scans with every discovered analyzer plugin and write the report.
    Analyze {
        /// Scan files of one case (upper, lower, bite…).
        #[arg(required = true)]
        scans: Vec<PathBuf>,
        /// Case file (JSON).
        #[arg(long)]
        case: Option<PathBuf>,
        /// Label JSON for the first scan.
        #[arg(long)]
        labels: Option<PathBuf>,
        #[command(flatten)]
        analyzers: PluginArgs,
        /// Write the JSON report here (atomically).
        #[arg(long)]
        out: Option<PathBuf>,
        /// What to print on stdout.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the scan coloured by finding severity (green fine, yellow minor, orange
        /// major, red critical) as a PLY here; one file per scan for a case of several.
        #[arg(long = "colored-ply")]
        colored_ply: Option<PathBuf>,
        /// Write a self-contained HTML report with pictures here.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Analyze every scan or case file under the paths: a report per case plus
    /// summary.json and summary.csv in --out; cases already reported are skipped.
    Batch {
        /// Scan files, case files (JSON with `scans`) or folders (searched recursively).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Folder for the reports and the summary (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Threads in all (default: every core).
        #[arg(short = 'j', long)]
        jobs: Option<usize>,
        #[command(flatten)]
        analyzers: PluginArgs,
    },
    /// Watch a folder: analyze each scan or case file once it is completely written (stable
    /// for --settle-ms, or a NAME.ready marker), report into --out, move it to done/ or
    /// failed/; stop with Ctrl-C.
    Watch {
        /// The folder scans arrive in.
        dir: PathBuf,
        /// Folder for the reports and the summary.
        #[arg(long)]
        out: PathBuf,
        /// How often to look, milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// How long a file must stay unchanged to count as written, milliseconds.
        #[arg(long, default_value_t = 2000)]
        settle_ms: u64,
        /// Threads for one case (default: every core).
        #[arg(short = 'j', long)]
        jobs: Option<usize>,
        #[command(flatten)]
        analyzers: PluginArgs,
    },
    /// Run one plugin on one job for `analyze --isolate` (internal: the host starts it).
    #[command(hide = true)]
    Worker {
        /// The job file the host wrote.
        job: PathBuf,
        /// Where to write the result.
        result: PathBuf,
    },
    /// Generate a synthetic scan with known defects (ground truth) into a directory.
    Phantom {
        /// Seed: the same seed gives the same files.
        #[arg(long)]
        seed: u64,
        /// Approximate number of triangles.
        #[arg(long, default_value_t = 200_000)]
        triangles: usize,
        /// Jaw (random from the seed if not given).
        #[arg(long, value_enum)]
        jaw: Option<JawArg>,
        /// Defects: `random`, `clean`, or counts of holes, voids, nodules, spikes, drags,
        /// doubles, preparations, margin_flaws, abutted, locks, embrasures, mobile (and
        /// bulge=1; surface options relief=1, walls=1, sharp=1, asym=1), e.g.
        /// `holes=2,voids=3` or `locks=2,embrasures=1,mobile=2`.
        #[arg(long, default_value = "random")]
        defects: String,
        /// What was scanned: intraoral, cast or impression (the negative).
        #[arg(long, value_enum, default_value = "cast")]
        scanned: ScannedArg,
        /// Keep the canonical pose (teeth along +Z for a lower jaw) instead of a random one.
        #[arg(long)]
        no_pose: bool,
        /// Make a bite case instead: an upper and a lower arch in occlusion
        /// (`upper.stl`, `lower.stl`) with this bite record (`bite.stl`): `buccal` (a
        /// digital buccal bite scan), `wax` (a two-sided negative), `none`, or `random`
        /// (record, misregistration and preparation drawn from the seed).
        #[arg(long, value_enum)]
        bite: Option<BiteArg>,
        /// With `--bite`: move the exported lower arch off the recorded relation by
        /// `SHIFT_MM[,ROTATION_DEG]` (random directions from the seed).
        #[arg(long, requires = "bite")]
        misregister: Option<String>,
        /// With `--bite`: crown preparations on the lower arch.
        #[arg(long, requires = "bite", default_value_t = 0)]
        preparations: u32,
        /// With `--bite`: pull each preparation's antagonist down to 0.4–0.8 mm above it.
        #[arg(long, requires = "bite")]
        tight_clearance: bool,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Score a report against a phantom's truth, or run a whole accuracy suite.
    Eval {
        /// The phantom's truth.json.
        #[arg(long, required_unless_present = "suite", requires = "report")]
        truth: Option<PathBuf>,
        /// The report written by `imprint analyze --out`.
        #[arg(long)]
        report: Option<PathBuf>,
        /// A suite file (e.g. eval/suite.toml): generate, analyze and score every phantom.
        #[arg(long, conflicts_with_all = ["truth", "report"])]
        suite: Option<PathBuf>,
        /// With --suite: which analyzers, and their parameters.
        #[command(flatten)]
        analyzers: PluginArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List discovered plugins, or inspect one library.
    Plugins {
        #[command(subcommand)]
        action: Option<PluginsAction>,
        /// Plugin library or directory to search first.
        #[arg(long = "plugins", global = true)]
        plugins: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
}

/// Which analyzers run, and with what parameters.
#[derive(clap::Args)]
struct PluginArgs {
    /// Plugin library or directory, searched before IMPRINT_PLUGIN_PATH and the executable's directory.
    #[arg(long = "plugins")]
    plugins: Vec<PathBuf>,
    /// Run only these analyzer ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Override a parameter: ID.PARAM=VALUE (repeatable; over the policy's parameters).
    #[arg(long = "set")]
    set: Vec<String>,
    /// Decision policy (TOML; see docs/policy.md). Default: the built-in policy.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Run every plugin in a worker process: a crash, hang or runaway allocation costs only
    /// that plugin's result. Without it, plugins that are not first-party run in workers and
    /// Imprint's own analyzers in process.
    #[arg(long, conflicts_with = "in_process")]
    isolate: bool,
    /// Run every plugin in process, third-party ones too (fastest; a crashing plugin then
    /// takes the run down).
    #[arg(long)]
    in_process: bool,
    /// Run this analyzer in a worker even if first-party (repeatable, comma-separated).
    #[arg(long = "worker", value_delimiter = ',', conflicts_with = "in_process")]
    workers: Vec<String>,
    /// Run this third-party analyzer in process (repeatable, comma-separated).
    #[arg(long = "trust", value_delimiter = ',')]
    trusted: Vec<String>,
    /// Seconds one plugin in a worker may take on a case before it is killed.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    /// The address space one worker may use, MiB.
    #[arg(long)]
    memory_mb: Option<u64>,
}

impl PluginArgs {
    /// The run's options: these plugins, parameters, policy and limits, on `scans`.
    fn options(
        self,
        scans: Vec<PathBuf>,
        labels: Option<PathBuf>,
        case: Option<PathBuf>,
    ) -> AnalyzeOptions {
        AnalyzeOptions {
            isolation: self.isolation(),
            placement: if self.isolate {
                imprint_host::isolate::Placement::All
            } else {
                imprint_host::isolate::Placement::ThirdParty {
                    workers: self.workers,
                    trusted: self.trusted,
                }
            },
            scans,
            labels,
            case,
            plugin_paths: self.plugins,
            only: self.only,
            set: self.set,
            threads: 0,
            default_plugin_paths: true,
            policy: self.policy,
        }
    }

    /// The worker limits, unless --in-process rules workers out.
    fn isolation(&self) -> Option<imprint_host::isolate::Limits> {
        (!self.in_process).then(|| imprint_host::isolate::Limits {
            timeout: std::time::Duration::from_secs(self.timeout_s.max(1)),
            memory_mb: self.memory_mb,
            exe: None,
            quarantine: true,
        })
    }
}

#[derive(Subcommand)]
enum PluginsAction {
    /// Every plugin found, with status.
    List,
    /// One library: its manifest, or the full reason it is refused.
    Inspect {
        /// The library file.
        path: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum JawArg {
    Upper,
    Lower,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BiteArg {
    None,
    Buccal,
    Wax,
    Random,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScannedArg {
    Intraoral,
    Cast,
    Impression,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Text,
}

/// Blocks of 1 MiB and more (a scan's arrays, the derived data, the analyzers' work arrays)
/// are mapped from the system and handed back when freed. glibc's default threshold rises
/// as soon as one large block is freed, after which large arrays come from per-thread arenas
/// that keep them: with the host's and every plugin's threads, a 250k-triangle analysis
/// peaked at 62-65 MB RSS (5.2x its STL) and 56 MB with the threshold fixed.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imprint: {e:#}");
            e.downcast_ref::<exit::Coded>()
                .map_or(exit::INTERNAL, |c| c.code)
        }
    };
    ExitCode::from(code as u8)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Inspect {
            scan,
            labels,
            json,
            derived,
            tooth_map,
        } => {
            let options = inspect::InspectOptions {
                labels: labels.as_deref(),
                all_derived: derived,
                tooth_map: tooth_map.as_deref(),
            };
            let report = inspect::inspect(&scan, options).map_err(|e| {
                let code = match e {
                    inspect::InspectError::Load(_) => exit::INVALID_INPUT,
                    inspect::InspectError::Write { .. } => exit::USAGE,
                };
                exit::Coded::new(code, e)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(exit::ACCEPT)
        }
        Command::Analyze {
            scans,
            case,
            labels,
            analyzers,
            out,
            format,
            colored_ply,
            html,
        } => {
            let opts = analyzers.options(scans, labels, case);
            let (report, scans) = imprint_host::run::analyze_scans(&opts).map_err(|e| {
                let code = match e {
                    AnalyzeError::Usage(_) => exit::USAGE,
                    _ => exit::INVALID_INPUT,
                };
                exit::Coded::new(code, e)
            })?;
            for refused in &report.provenance.refused_plugins {
                eprintln!(
                    "imprint: plugin {} refused: {}",
                    refused.path.display(),
                    refused.reason
                );
            }
            if let Some(path) = &out {
                report.write_atomic(path).map_err(|e| {
                    anyhow::anyhow!("{}: cannot write the report: {e}", path.display())
                })?;
            }
            if let Some(path) = &html {
                let page = imprint_host::html::page(&report, &scans).map_err(|e| {
                    anyhow::anyhow!("{}: cannot draw the pictures: {e}", path.display())
                })?;
                imprint_host::report::write_atomic(path, page.as_bytes()).map_err(|e| {
                    anyhow::anyhow!("{}: cannot write the HTML report: {e}", path.display())
                })?;
            }
            if let Some(path) = &colored_ply {
                imprint_host::heatmap::write(path, &scans, &report).map_err(|e| {
                    anyhow::anyhow!("{}: cannot write the heat map: {e}", path.display())
                })?;
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Text => {
                    use std::io::IsTerminal;
                    let tty = std::io::stdout().is_terminal();
                    print!("{}", imprint_host::report::to_text_styled(&report, tty));
                }
            }
            Ok(report.exit_code())
        }
        Command::Batch {
            inputs,
            out,
            jobs,
            analyzers,
        } => run_batch(&inputs, &out, jobs, analyzers),
        Command::Watch {
            dir,
            out,
            interval_ms,
            settle_ms,
            jobs,
            analyzers,
        } => run_watch(&dir, &out, (interval_ms, settle_ms), jobs, analyzers),
        Command::Worker { job, result } => {
            imprint_host::isolate::work(&job, &result)
                .map_err(|e| anyhow::anyhow!("{}: {e}", job.display()))?;
            Ok(exit::ACCEPT)
        }
        Command::Phantom {
            seed,
            triangles,
            jaw,
            defects,
            scanned,
            no_pose,
            bite,
            misregister,
            preparations,
            tight_clearance,
            out,
        } => match bite {
            Some(record) => {
                let spec = bite_spec(seed, triangles, record, misregister.as_deref())?;
                let spec = imprint_phantom::bite::BiteSpec {
                    preparations: spec.preparations.max(preparations),
                    tight_clearance: spec.tight_clearance || tight_clearance,
                    ..spec
                };
                run_bite_phantom(&spec, &out)
            }
            None => run_phantom(seed, triangles, jaw, &defects, scanned, no_pose, &out),
        },
        Command::Eval {
            truth,
            report,
            suite,
            analyzers,
            json,
        } => match (suite, truth, report) {
            (Some(suite), _, _) => run_eval_suite(&suite, analyzers, json),
            (None, Some(truth), Some(report)) => run_eval(&truth, &report, json),
            _ => Err(exit::Coded::new(
                exit::USAGE,
                std::io::Error::other("eval needs --truth and --report, or --suite"),
            )
            .into()),
        },
        Command::Plugins {
            action,
            plugins: paths,
            json,
        } => match action {
            Some(PluginsAction::Inspect { path }) => inspect_plugin(&path, json),
            _ => list_plugins(&paths, json),
        },
    }
}

fn run_phantom(
    seed: u64,
    triangles: usize,
    jaw: Option<JawArg>,
    defects: &str,
    scanned: ScannedArg,
    no_pose: bool,
    out: &std::path::Path,
) -> anyhow::Result<i32> {
    use imprint_phantom::{DefectMix, Jaw, PhantomSpec, Scanned};
    let defects = DefectMix::parse(defects).map_err(|e| {
        exit::Coded::new(
            exit::USAGE,
            std::io::Error::other(format!("--defects: {e}")),
        )
    })?;
    let spec = PhantomSpec {
        seed,
        triangles,
        jaw: jaw.map(|j| match j {
            JawArg::Upper => Jaw::Upper,
            JawArg::Lower => Jaw::Lower,
        }),
        defects,
        scanned: match scanned {
            ScannedArg::Intraoral => Scanned::Intraoral,
            ScannedArg::Cast => Scanned::Cast,
            ScannedArg::Impression => Scanned::Impression,
        },
        random_pose: !no_pose,
    };
    let phantom = imprint_phantom::generate(&spec);
    imprint_phantom::write(&phantom, out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let t = &phantom.truth;
    println!(
        "phantom {} ({:?}, {} triangles, mean edge {:.3} mm, noise {:.1} µm): {} defect(s), expected {:?} -> {}",
        t.seed,
        t.jaw,
        t.mesh.triangles,
        t.mesh.mean_edge_mm,
        t.mesh.noise_um,
        t.defects.len(),
        t.decision,
        out.display()
    );
    Ok(exit::ACCEPT)
}

/// The bite phantom's spec from the command line.
fn bite_spec(
    seed: u64,
    triangles: usize,
    record: BiteArg,
    misregister: Option<&str>,
) -> anyhow::Result<imprint_phantom::bite::BiteSpec> {
    use imprint_phantom::bite::{BiteRecord, BiteSpec, Motion};
    let mut spec = BiteSpec::random(seed, triangles);
    spec.record = match record {
        BiteArg::Random => spec.record,
        BiteArg::None => BiteRecord::None,
        BiteArg::Buccal => BiteRecord::Buccal,
        BiteArg::Wax => BiteRecord::Wax,
    };
    if record != BiteArg::Random {
        spec.misregistration = None;
        spec.preparations = 0;
        spec.tight_clearance = false;
    }
    if let Some(text) = misregister {
        spec.misregistration =
            Some(Motion::parse(seed, text).map_err(|e| {
                exit::Coded::new(exit::USAGE, std::io::Error::other(format!("--{e}")))
            })?);
    }
    Ok(spec)
}

fn run_bite_phantom(
    spec: &imprint_phantom::bite::BiteSpec,
    out: &std::path::Path,
) -> anyhow::Result<i32> {
    let phantom = imprint_phantom::bite::generate_bite(spec);
    imprint_phantom::bite::write(&phantom, out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let t = &phantom.truth;
    println!(
        "bite phantom {} ({:?} record, {} contact pair(s), misregistration {}, clearance {}) -> {}",
        spec.seed,
        spec.record,
        t.contacts.iter().filter(|c| c.area_mm2 >= 0.05).count(),
        t.misregistration
            .as_ref()
            .map_or("none".into(), |m| format!(
                "{:.2} mm at the teeth",
                m.max_displacement_mm
            )),
        if t.clearances.is_empty() {
            "-".to_string()
        } else {
            t.clearances
                .iter()
                .map(|c| format!("{} {:.2} mm", c.tooth, c.clearance_mm))
                .collect::<Vec<_>>()
                .join(", ")
        },
        out.display()
    );
    Ok(exit::ACCEPT)
}

fn run_eval_suite(
    suite: &std::path::Path,
    analyzers: PluginArgs,
    json: bool,
) -> anyhow::Result<i32> {
    // The suite runs in process (its phantoms live in memory, not in files a worker reads).
    let PluginArgs {
        plugins: paths,
        only,
        set,
        policy,
        ..
    } = analyzers;
    let invalid = |m: String| exit::Coded::new(exit::INVALID_INPUT, std::io::Error::other(m));
    let text =
        std::fs::read_to_string(suite).map_err(|e| invalid(format!("{}: {e}", suite.display())))?;
    let spec = imprint_phantom::suite::SuiteSpec::parse(&text)
        .map_err(|e| invalid(format!("{}: {e}", suite.display())))?;
    let (mut loaded, refused) = plugins::load_all(&plugins::discover(&paths, true));
    if let Some(only) = &only {
        loaded.retain(|p| only.contains(&p.manifest.id));
    }
    let policy = match &policy {
        Some(path) => imprint_host::policy::Policy::read(path)
            .map_err(|e| exit::Coded::new(exit::USAGE, e))?,
        None => imprint_host::policy::Policy::builtin().clone(),
    };
    let mut settings = policy.settings();
    settings.extend(set);
    let params = imprint_host::run::parameters(&loaded, &settings)
        .map_err(|e| exit::Coded::new(exit::USAGE, e))?;
    let ctx = imprint_host::run::Loaded {
        plugins: &loaded,
        refused: &refused,
        params: &params,
        policy: &policy,
    };
    let start = std::time::Instant::now();
    let (each, total) = imprint_host::suite::run_suite(&spec, &ctx, rayon_threads());
    if json {
        let rows: Vec<serde_json::Value> = each
            .iter()
            .map(|(g, seed, s)| serde_json::json!({"group": g, "seed": seed, "score": s}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"suite": total, "phantoms": rows}))?
        );
    } else {
        print!("{}", total.to_text());
        let weak: Vec<String> = each
            .iter()
            .filter(|(_, _, s)| s.tooth_map.as_ref().is_some_and(|m| m.below_target()))
            .map(|(_, seed, _)| seed.to_string())
            .collect();
        if !weak.is_empty() {
            println!("tooth map under 95% FDI on seeds {}", weak.join(", "));
        }
        println!(
            "analyzers: {}; {:.1} s",
            loaded
                .iter()
                .map(|p| p.manifest.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(exit::ACCEPT)
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn run_eval(truth: &std::path::Path, report: &std::path::Path, json: bool) -> anyhow::Result<i32> {
    let read = |p: &std::path::Path| -> anyhow::Result<serde_json::Value> {
        let bytes = std::fs::read(p).map_err(|e| {
            exit::Coded::new(
                exit::INVALID_INPUT,
                std::io::Error::other(format!("{}: {e}", p.display())),
            )
        })?;
        Ok(serde_json::from_slice(&bytes).map_err(|e| {
            exit::Coded::new(
                exit::INVALID_INPUT,
                std::io::Error::other(format!("{}: {e}", p.display())),
            )
        })?)
    };
    let bad = |p: &std::path::Path, e: serde_json::Error| {
        exit::Coded::new(
            exit::INVALID_INPUT,
            std::io::Error::other(format!("{}: {e}", p.display())),
        )
    };
    let truth_value = read(truth)?;
    let t: imprint_phantom::Truth =
        serde_json::from_value(truth_value).map_err(|e| bad(truth, e))?;
    let r = read(report)?;
    let findings: Vec<imprint_core::finding::Finding> =
        serde_json::from_value(r["findings"].clone()).map_err(|e| bad(report, e))?;
    let findings: Vec<_> = findings.into_iter().filter(|f| f.scan == 0).collect();
    // Reports from before margin lines existed have none.
    let lines: Vec<imprint_core::finding::MarginLine> = match &r["margin_lines"] {
        serde_json::Value::Null => Vec::new(),
        v => serde_json::from_value(v.clone()).map_err(|e| bad(report, e))?,
    };
    let lines: Vec<_> = lines.into_iter().filter(|l| l.scan == 0).collect();
    let decision = r["decision"].as_str().map(str::to_string);
    let score =
        imprint_phantom::eval::score(&t, &findings, decision).with_margins(&t, &findings, &lines);
    if json {
        println!("{}", serde_json::to_string_pretty(&score)?);
    } else {
        print!("{}", score.to_text());
    }
    Ok(exit::ACCEPT)
}

fn list_plugins(paths: &[PathBuf], json: bool) -> anyhow::Result<i32> {
    let (loaded, refused) = plugins::load_all(&plugins::discover(paths, true));
    let rows: Vec<serde_json::Value> = loaded
        .iter()
        .map(|p| {
            let quarantined = imprint_host::quarantine::Quarantine::open().reason(p);
            let status = if quarantined.is_some() { "quarantined" } else { "ok" };
            let runs_in = if p.is_first_party() { "process" } else { "worker" };
            serde_json::json!({"status": status, "reason": quarantined, "runs_in": runs_in, "path": p.path, "sha256": p.sha256, "manifest": p.manifest})
        })
        .chain(refused.iter().map(|r| serde_json::json!({"status": "refused", "path": r.path, "reason": r.reason})))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let quarantine = imprint_host::quarantine::Quarantine::open();
        for p in &loaded {
            let m = &p.manifest;
            let runs_in = if p.is_first_party() { "" } else { "  [worker]" };
            println!(
                "{:<12} {:<8} {}{runs_in}  ({})",
                m.id,
                m.version,
                m.name,
                p.path.display()
            );
            if let Some(why) = quarantine.reason(p) {
                println!("{:<12} {why}", "");
            }
        }
        for r in &refused {
            println!("{:<12} refused  {}  ({})", "-", r.reason, r.path.display());
        }
    }
    Ok(exit::ACCEPT)
}

fn inspect_plugin(path: &std::path::Path, json: bool) -> anyhow::Result<i32> {
    match plugins::load(path) {
        Ok(p) if json => println!("{}", serde_json::to_string_pretty(&p.manifest)?),
        Ok(p) => println!("{}", serde_json::to_string_pretty(&p.manifest)?),
        Err(e) => {
            eprintln!("{}: {}", path.display(), e.reason);
            if !e.detail.is_empty() && e.detail != e.reason {
                eprintln!("\n{}", e.detail);
            }
            return Ok(exit::INVALID_INPUT);
        }
    }
    Ok(exit::ACCEPT)
}

fn session_for(analyzers: PluginArgs) -> anyhow::Result<imprint_host::run::Session> {
    let opts = analyzers.options(Vec::new(), None, None);
    Ok(imprint_host::run::Session::start(&opts).map_err(|e| exit::Coded::new(exit::USAGE, e))?)
}

fn run_batch(
    inputs: &[PathBuf],
    out: &std::path::Path,
    jobs: Option<usize>,
    analyzers: PluginArgs,
) -> anyhow::Result<i32> {
    use imprint_host::batch;
    use std::io::IsTerminal;
    let session = session_for(analyzers)?;
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the output folder: {e}", out.display()))?;
    let cases = batch::discover(inputs);
    if cases.is_empty() {
        return Err(exit::Coded::new(
            exit::USAGE,
            std::io::Error::other("no scan or case file under the given paths"),
        )
        .into());
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} cases, {elapsed} (eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |row: &batch::Row| {
        let line = row.line();
        match &bar {
            Some(bar) => {
                bar.set_message(line);
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    };
    let threads = jobs.unwrap_or_else(rayon::current_num_threads);
    let rows = batch::run(
        &session,
        &cases,
        &batch::BatchOptions {
            out,
            threads,
            progress: &progress,
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    batch::write_summary(out, &rows)
        .map_err(|e| anyhow::anyhow!("{}: cannot write the summary: {e}", out.display()))?;
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    println!(
        "{} cases: {} analyzed, {} up to date, {} failed; summary in {}",
        rows.len(),
        count("ok"),
        count("skipped"),
        count("failed"),
        out.join("summary.csv").display()
    );
    Ok(batch::exit_code(&rows))
}

fn run_watch(
    dir: &std::path::Path,
    out: &std::path::Path,
    (interval_ms, settle_ms): (u64, u64),
    jobs: Option<usize>,
    analyzers: PluginArgs,
) -> anyhow::Result<i32> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    if !dir.is_dir() {
        return Err(exit::Coded::new(
            exit::USAGE,
            std::io::Error::other(format!("{}: not a folder", dir.display())),
        )
        .into());
    }
    let session = session_for(analyzers)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| anyhow::anyhow!("cannot catch Ctrl-C: {e}"))?;
    let progress = |row: &imprint_host::batch::Row| eprintln!("{}", row.line());
    eprintln!("watching {} (Ctrl-C stops)", dir.display());
    let rows = imprint_host::watch::watch(
        &session,
        &imprint_host::watch::WatchOptions {
            dir,
            out,
            interval: Duration::from_millis(interval_ms),
            settle: Duration::from_millis(settle_ms),
            threads: jobs.unwrap_or_else(rayon::current_num_threads),
            stop: &stop,
            progress: &progress,
        },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    println!("stopped after {} cases", rows.len());
    Ok(exit::ACCEPT)
}
