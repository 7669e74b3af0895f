//! The `imprint` command line: a thin edge over `imprint-host`. Errors become one line on
//! stderr and a documented exit code (see `imprint_host::exit`).

use clap::{Parser, Subcommand};
use imprint_host::{exit, inspect};
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
    },
}

fn main() -> ExitCode {
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
        Command::Inspect { scan, labels, json } => {
            let report = inspect::inspect(&scan, labels.as_deref())
                .map_err(|e| exit::Coded::new(exit::INVALID_INPUT, e))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(exit::ACCEPT)
        }
    }
}
