//! `scarab-report`: the command-line front end of the `scarab-report` crate, called by
//! `ci/report`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scarab_report::annotate::annotate;
use scarab_report::layout::{Layout, LayoutError};
use scarab_report::report::{render_report, render_table, ReportMeta};
use scarab_report::run::read_run;

/// Read a scarab-plugins benchmark run and print or write a report.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the run as a table (Ir and wall time per benchmark).
    Table {
        /// Run directory written by ci/bench.
        #[arg(long, default_value = "target/irgate/run")]
        run: PathBuf,
    },
    /// Write docs/PERFORMANCE_REPORT.md from a run with both suites.
    Report {
        /// Run directory written by ci/bench and ci/bench --wall.
        #[arg(long, default_value = "target/irgate/run")]
        run: PathBuf,
        /// Where to write the report.
        #[arg(long, default_value = "docs/PERFORMANCE_REPORT.md")]
        out: PathBuf,
        /// The command that produced the run, named in the report.
        #[arg(long, default_value = "ci/report")]
        command: String,
        /// Commit the run was made on.
        #[arg(long)]
        commit: Option<String>,
        /// When the run was made.
        #[arg(long)]
        date: Option<String>,
    },
}

/// Errors of the command line: each names the file or benchmark involved.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Read(#[from] scarab_report::run::ReadError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("cannot write the report: {0}")]
    Write(#[from] irgate_core::BaselineError),
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let layout = Layout::builtin()?;
    let suite = layout.suite_id()?;
    match cli.command {
        Cmd::Table { run } => {
            let r = read_run(&run, &suite)?;
            print!("{}", render_table(&r));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Report {
            run,
            out,
            command,
            commit,
            date,
        } => {
            let r = read_run(&run, &suite)?;
            layout.check(&r)?;
            let mut profiles = BTreeMap::new();
            for n in layout.bottlenecks.profiled() {
                let id = layout.id(n)?;
                let p = match r.ir.get(&id).and_then(|x| x.callgrind_out.as_ref()) {
                    Some(file) => annotate(file).map_err(|e| e.to_string()),
                    None => Err("no Callgrind profile beside its summary".to_owned()),
                };
                profiles.insert(id, p);
            }
            let cores = std::thread::available_parallelism().map_or(0, usize::from);
            let meta = ReportMeta {
                command: &command,
                commit: commit.as_deref(),
                date: date.as_deref(),
                machine: vec![("cores".to_owned(), cores.to_string())],
            };
            let text = render_report(&r, &layout, &profiles, &meta)?;
            irgate_core::baseline::write_atomic(&out, text.as_bytes())?;
            println!(
                "wrote {} ({} benchmarks with Ir, {} with wall time)",
                out.display(),
                r.ir.len(),
                r.wall.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scarab-report: {e}");
            ExitCode::from(2)
        }
    }
}
