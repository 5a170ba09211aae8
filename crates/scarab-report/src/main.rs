//! `bench-report`: the command-line front end of the `bench-report` crate, called by
//! `ci/gate`, `ci/determinism` and `ci/report`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bench_report::annotate::annotate;
use bench_report::report::{diff_ir, render_report, render_table, ReportMeta, PROFILED};
use bench_report::run::{read_ir, read_run, BenchName};
use clap::{Parser, Subcommand};

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
    /// Require two runs to hold the same benchmarks with identical Ir (exit 1 if not).
    SameIr {
        /// First run directory.
        first: PathBuf,
        /// Second run directory.
        second: PathBuf,
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

/// Errors of the command line: each names the file involved.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Read(#[from] bench_report::run::ReadError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let err = |source| CliError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Cmd::Table { run } => {
            let r = read_run(&run)?;
            print!("{}", render_table(&r));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::SameIr { first, second } => {
            let a = read_ir(&first.join("gungraun"))?;
            let b = read_ir(&second.join("gungraun"))?;
            if a.is_empty() {
                return Err(bench_report::run::ReadError::Empty { path: first }.into());
            }
            let d = diff_ir(&a, &b);
            for (n, x, y) in &d.different {
                println!("different: {n}: {x} then {y} Ir");
            }
            for n in &d.only_first {
                println!("missing from the second run: {n}");
            }
            for n in &d.only_second {
                println!("missing from the first run: {n}");
            }
            if d.identical() {
                println!(
                    "identical: {} benchmarks have the same Ir in both runs",
                    d.equal
                );
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "NOT identical: {} equal, {} different, {} missing",
                    d.equal,
                    d.different.len(),
                    d.only_first.len() + d.only_second.len()
                );
                Ok(ExitCode::from(1))
            }
        }
        Cmd::Report {
            run,
            out,
            command,
            commit,
            date,
        } => {
            let r = read_run(&run)?;
            let mut profiles = BTreeMap::new();
            for n in PROFILED {
                let Some(name) = BenchName::parse(n) else {
                    continue;
                };
                let p = match r.ir.get(&name).and_then(|x| x.callgrind_out.as_ref()) {
                    Some(file) => annotate(file).map_err(|e| e.to_string()),
                    None => Err("not in this run".to_owned()),
                };
                profiles.insert(name, p);
            }
            let cores = std::thread::available_parallelism().map_or(0, usize::from);
            let meta = ReportMeta {
                command: &command,
                commit: commit.as_deref(),
                date: date.as_deref(),
                machine: vec![("cores".to_owned(), cores.to_string())],
            };
            let text = render_report(&r, &profiles, &meta);
            write_atomic(&out, &text)?;
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
            eprintln!("bench-report: {e}");
            ExitCode::from(2)
        }
    }
}
