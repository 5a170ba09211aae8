//! `irgate`: the command-line front of the regression gate.
//!
//! A thin layer over `irgate-core`: parse arguments, call the library, print, and map
//! the outcome to the exit code scripts rely on: 0 passed, 1 failed, 2 could not judge.

#[cfg(feature = "github")]
mod github;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use irgate_core::baseline::{self, AcceptOptions, Provenance};
use irgate_core::bench::{self, doctor};
use irgate_core::env::{self as penv, CaptureOptions};
use irgate_core::policy::PolicySource;
use irgate_core::render::{self, Format, MarkdownOptions, TerminalOptions};
use irgate_core::{compare, Comparison, Environment, Policy, ReadOptions, Run, Scope};

const AFTER_HELP: &str = "\
Exit codes: 0 the gate passed, 1 the gate failed (regression, missing benchmark, or
environment drift under a strict policy), 2 could not judge (bad input, I/O, usage).

Typical use (in this repository ci/bench and ci/gate do these steps; the pinned
GLIBC_TUNABLES value and the reasons for it are in docs/BENCHMARK_GUIDE.md):
  TUNABLES='<the pinned value>'   # gungraun-runner clears the environment: pass it on
  rm -rf target/gungraun          # no stale summaries from earlier runs
  cargo bench -- --save-summary=json --envs=GLIBC_TUNABLES=\"$TUNABLES\"
  irgate env --glibc-tunables \"$TUNABLES\" --output target/irgate/env.json
  irgate compare --baselines baselines --env target/irgate/env.json \\
      --save-json target/irgate/comparison.json target/gungraun";

/// CI regression gate for instruction-count benchmarks (Gungraun / iai-callgrind).
#[derive(Parser, Debug)]
#[command(name = "irgate", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print (or write) this machine's environment fingerprint as JSON.
    ///
    /// Records valgrind, runner, rustc, target, glibc, GLIBC_TUNABLES (from this
    /// process's environment: run it with the value the benchmarks get), CPU model, the
    /// CPU flags glibc's ifunc choice depends on, and the cache geometry.
    Env {
        /// Write the fingerprint to FILE instead of stdout (atomically).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The cache geometry passed to Callgrind, when pinned
        /// (e.g. "--I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64").
        #[arg(long, value_name = "GEOMETRY")]
        cache: Option<String>,
        /// The gungraun-runner executable (default: $GUNGRAUN_RUNNER, PATH, ~/.cargo/bin).
        #[arg(long, value_name = "PATH")]
        runner: Option<PathBuf>,
        /// The valgrind executable.
        #[arg(long, value_name = "PATH", default_value = "valgrind")]
        valgrind: PathBuf,
        /// The target triple the benchmarks are built for (default: rustc's host).
        #[arg(long, value_name = "TRIPLE")]
        target: Option<String>,
        /// The GLIBC_TUNABLES value the benchmarks run with (default: this process's
        /// GLIBC_TUNABLES, empty when unset).
        #[arg(long, value_name = "VALUE")]
        glibc_tunables: Option<String>,
        /// A further fact the instruction counts depend on, recorded and compared as
        /// `extra.KEY` (repeatable; KEY is a-z, 0-9, _; e.g.
        /// `--extra callgrind_args=--cache-sim=no`).
        #[arg(long, value_name = "KEY=VALUE")]
        extra: Vec<String>,
    },
    /// Compare benchmark results with the committed baselines and judge them.
    Compare {
        #[command(flatten)]
        inputs: Inputs,
        /// The policy file. Default: ./irgate.toml when it exists, else built-in defaults.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Output format for stdout (or --output): terminal, markdown or json.
        #[arg(long, default_value = "terminal", value_parser = parse_format)]
        format: Format,
        /// Write the rendered output to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also write the JSON comparison to FILE (also when the gate cannot judge).
        #[arg(long, value_name = "FILE")]
        save_json: Option<PathBuf>,
        /// Also write the markdown rendering to FILE (e.g. $GITHUB_STEP_SUMMARY).
        #[arg(long, value_name = "FILE")]
        save_markdown: Option<PathBuf>,
        /// Judge only benchmarks whose id matches GLOB (repeatable; `*` stays within
        /// one `/` part, `**` crosses parts), in the run and in the baselines alike, so
        /// that a partial run does not report the rest as Missing.
        #[arg(long, value_name = "GLOB")]
        only: Vec<String>,
        /// The run is a deliberate part of the suite (e.g. `ci/gate --filter`): judge
        /// only the benchmarks it has, so baselines without a result are not Missing.
        #[arg(long)]
        partial: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Write the current results into the baselines (only the benchmarks named).
    ///
    /// Refuses an empty run and any result that cannot be read. With --only, touches
    /// only matching benchmarks and refuses to mix environments in one baseline file.
    Accept {
        #[command(flatten)]
        inputs: Inputs,
        /// Why these numbers are right (recorded in the baseline files).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Accept only benchmarks whose id matches GLOB (repeatable; `*` stays within
        /// one `/`-separated part, `**` crosses parts).
        #[arg(long, value_name = "GLOB")]
        only: Vec<String>,
        /// The commit the results come from (default: $GITHUB_SHA, else `git rev-parse HEAD`).
        #[arg(long, value_name = "SHA")]
        commit: Option<String>,
        /// Who accepts (default: $GITHUB_ACTOR, else $USER).
        #[arg(long, value_name = "NAME")]
        accepted_by: Option<String>,
        /// Metrics to store besides Ir (repeatable; default: Dr, Dw when recorded).
        #[arg(long, value_name = "NAME")]
        metric: Vec<String>,
    },
    /// Inspect the committed baselines.
    Baseline {
        #[command(subcommand)]
        command: BaselineCmd,
    },
    /// Re-render a saved JSON comparison.
    Report {
        /// The comparison JSON written by `compare --save-json` or `--format json`.
        file: PathBuf,
        /// Output format: terminal, markdown or json.
        #[arg(long, default_value = "markdown", value_parser = parse_format)]
        format: Format,
        /// Write to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit with the comparison's gate code (0/1/2) instead of 0.
        #[arg(long)]
        exit_status: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Run a workspace's Callgrind benchmarks in the pinned environment.
    ///
    /// Finds the bench targets that use gungraun (cargo metadata), checks that the
    /// runner has the library's exact version, chooses GLIBC_TUNABLES for this glibc,
    /// builds the entropy preload and the canary, runs each bench binary from a fixed
    /// directory (so counts do not follow the checkout path) and writes a run directory
    /// with the summaries and environment.json, ready for `compare` and `accept`.
    #[command(after_help = BENCH_AFTER_HELP)]
    Bench {
        #[command(flatten)]
        args: BenchArgs,
    },
    /// Measure how much each benchmark moves under the known false-alarm sources.
    ///
    /// Runs the suite once, then once per variation: `rerun` (the same again),
    /// `relocate` (the tree copied to a path 64 characters longer, built and run there),
    /// `env` (256 extra environment variables, one of 64 KiB) and `no-preload` (without
    /// the entropy preload). Reports per benchmark the Ir change under each, and marks
    /// (!) changes that reach half the benchmark's threshold.
    Doctor {
        #[command(flatten)]
        args: BenchArgs,
        /// The variations to try, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "rerun,relocate,env,no-preload"
        )]
        sources: Vec<String>,
        /// Where the runs and the relocated copy go (default: target/irgate/doctor).
        #[arg(long, value_name = "DIR")]
        work: Option<PathBuf>,
        /// The policy whose thresholds mark the risky changes (default: ./irgate.toml).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// How many characters longer the relocated checkout's path is.
        #[arg(long, value_name = "N", default_value_t = doctor::RELOCATE_BY)]
        relocate_by: usize,
        /// Exit 1 when any benchmark moved under any of the chosen variations.
        #[arg(long)]
        fail_on_move: bool,
        /// Also write the findings as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Talk to GitHub: post a verdict, handle an event, or run the webhook service.
    ///
    /// See docs/GITHUB.md for set-up, credentials and permissions.
    #[cfg(feature = "github")]
    #[command(subcommand)]
    Github(github::GithubCommand),
}

const BENCH_AFTER_HELP: &str = "\
Exit codes: 0 the run finished, 2 it could not be made (no runner, a runner at another
version than the library, no valgrind, a glibc outside the tunables table without
--glibc-tunables, a canary that cannot run, a failed build or benchmark).

The process start is pinned: GLIBC_TUNABLES switches off every hwcap glibc's string
ifunc selectors test (per glibc version), a preload fixes getrandom/time/clock_gettime,
Callgrind runs with --cache-sim=no, and each bench binary runs from /tmp/irgate/run/.

Example:
  irgate bench --out target/irgate/run
  irgate compare --baselines baselines target/irgate/run";

/// What `bench` and `doctor` run.
#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// A directory inside the cargo workspace.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workspace: PathBuf,
    /// Only this package's suites (repeatable).
    #[arg(long, short = 'p', value_name = "PACKAGE")]
    package: Vec<String>,
    /// Only this bench target (repeatable).
    #[arg(long, value_name = "NAME")]
    bench: Vec<String>,
    /// Only benchmarks whose `group/function/id` matches GLOB (`*` any text); a
    /// pattern without `*` or `?` matches as a prefix.
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// The run directory.
    #[arg(long, value_name = "DIR", default_value = "target/irgate/run")]
    out: PathBuf,
    /// The runner executable (default: gungraun-runner on PATH, then ~/.cargo/bin).
    #[arg(long, value_name = "PATH")]
    runner: Option<PathBuf>,
    /// The valgrind executable.
    #[arg(long, value_name = "PATH", default_value = "valgrind")]
    valgrind: PathBuf,
    /// Use this GLIBC_TUNABLES value instead of the pinned one for this glibc.
    #[arg(long, value_name = "VALUE", env = "IRGATE_GLIBC_TUNABLES")]
    glibc_tunables: Option<String>,
    /// Run without the entropy preload (experiments only; recorded as preload = none).
    #[arg(long)]
    no_preload: bool,
    /// Simulate caches with a pinned geometry (for gating on cache metrics).
    #[arg(long)]
    cache_sim: bool,
    /// Benchmarks to run at once (counts do not depend on it).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// Pass --locked to cargo.
    #[arg(long)]
    locked: bool,
    /// Where the preload and canary builds are kept (default: $IRGATE_CACHE_DIR,
    /// $XDG_CACHE_HOME/irgate or ~/.cache/irgate).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Arguments for the harness itself (after --).
    #[arg(last = true, value_name = "HARNESS_ARGS")]
    harness_args: Vec<String>,
}

impl BenchArgs {
    fn options(&self) -> bench::BenchOptions {
        bench::BenchOptions {
            workspace: self.workspace.clone(),
            packages: self.package.clone(),
            benches: self.bench.clone(),
            filter: self.filter.clone(),
            out: self.out.clone(),
            runner: self.runner.clone(),
            valgrind: self.valgrind.clone(),
            glibc_tunables: self.glibc_tunables.clone(),
            no_preload: self.no_preload,
            cache_sim: self.cache_sim,
            jobs: self.jobs.max(1),
            locked: self.locked,
            cache_dir: self.cache_dir.clone(),
            harness_args: self.harness_args.clone(),
            ..bench::BenchOptions::default()
        }
    }
}

#[derive(Subcommand, Debug)]
enum BaselineCmd {
    /// Print what the baselines hold.
    Show {
        /// The baseline directory.
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        baselines: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where results and baselines come from.
#[derive(clap::Args, Debug)]
struct Inputs {
    /// The baseline directory (one <package>/<bench>.toml per bench target).
    #[arg(long, value_name = "DIR")]
    baselines: PathBuf,
    /// The environment fingerprint of the run: the JSON of `irgate env --output`.
    /// Default: the `environment.json` that `irgate bench` left in (or beside) a
    /// results directory, else captured now, on this machine (without extras).
    #[arg(long, value_name = "FILE")]
    env: Option<PathBuf>,
    /// The repository root, to name bench source files relative to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo_root: PathBuf,
    /// Result directories (searched recursively for summary.json) or files (a
    /// summary.json or the `--output-format=json` stream). Shards are merged; a
    /// benchmark present twice is an error.
    #[arg(required = true, value_name = "RESULTS")]
    results: Vec<PathBuf>,
}

/// Presentation options.
#[derive(clap::Args, Debug)]
struct Look {
    /// Colour: auto follows NO_COLOR and whether stdout is a terminal.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// List unchanged benchmarks in the terminal table too.
    #[arg(long)]
    show_unchanged: bool,
}

/// `--format`'s value, with the possible values listed on error.
fn parse_format(s: &str) -> std::result::Result<Format, String> {
    s.parse()
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("irgate: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        #[cfg(feature = "github")]
        Cmd::Github(cmd) => Ok(github::run(cmd)),
        Cmd::Bench { args } => match bench::run(&args.options()) {
            Ok(outcome) => {
                for w in &outcome.warnings {
                    eprintln!("irgate bench: warning: {w}");
                }
                Ok(0)
            }
            Err(e) => {
                eprintln!("irgate bench: error: {e}");
                Ok(2)
            }
        },
        Cmd::Doctor {
            args,
            sources,
            work,
            policy,
            relocate_by,
            fail_on_move,
            json,
        } => {
            let mut chosen = Vec::new();
            for name in &sources {
                match doctor::Source::parse(name) {
                    Some(s) if !chosen.contains(&s) => chosen.push(s),
                    Some(_) => {}
                    None => bail!(
                        "--sources: unknown variation {name:?}; choose from {}",
                        doctor::Source::ALL.map(doctor::Source::name).join(", ")
                    ),
                }
            }
            let policy = load_policy(policy.as_deref())?;
            let work = work.unwrap_or_else(|| PathBuf::from("target/irgate/doctor"));
            let report =
                match doctor::run(&args.options(), &chosen, &work, relocate_by.max(1), &policy) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("irgate doctor: error: {e}");
                        return Ok(2);
                    }
                };
            if let Some(p) = &json {
                let mut text = serde_json::to_string_pretty(&report)?;
                text.push('\n');
                emit(Some(p), &text)?;
            }
            emit(None, &report.to_text())?;
            let moved = chosen.iter().any(|s| report.moved(*s).next().is_some());
            Ok(u8::from(fail_on_move && moved))
        }
        Cmd::Env {
            output,
            cache,
            runner,
            valgrind,
            target,
            glibc_tunables,
            extra,
        } => {
            let extra = penv::parse_extras(&extra).context("bad --extra")?;
            let options = CaptureOptions {
                valgrind,
                runner,
                target,
                cache,
                ..CaptureOptions::default()
            };
            let mut env = match glibc_tunables {
                Some(t) => penv::capture_with_tunables(&options, t),
                None => penv::capture(&options),
            };
            env.extra = extra;
            let mut text = serde_json::to_string_pretty(&env)?;
            text.push('\n');
            emit(output.as_deref(), &text)?;
            Ok(0)
        }
        Cmd::Compare {
            inputs,
            policy,
            format,
            output,
            save_json,
            save_markdown,
            only,
            partial,
            look,
        } => {
            let scope = Scope::new(&only, partial).context("bad --only glob")?;
            // The --save-json and --save-markdown copies, written whatever the verdict.
            let save = |c: &Comparison| -> Result<()> {
                if let Some(p) = &save_json {
                    emit(Some(p), &c.to_json())?;
                }
                if let Some(p) = &save_markdown {
                    emit(Some(p), &render::markdown(c, &MarkdownOptions::default()))?;
                }
                Ok(())
            };
            let comparison = match judge(&inputs, policy.as_deref(), &scope) {
                Ok(c) => c,
                Err((e, env)) => {
                    eprintln!("irgate: could not judge: {e:#}");
                    let c = Comparison::could_not_judge(format!("{e:#}"), env.map(|b| *b));
                    save(&c)?;
                    if format == Format::Json {
                        emit(output.as_deref(), &c.to_json())?;
                    }
                    return Ok(2);
                }
            };
            save(&comparison)?;
            let text = render_as(&comparison, format, output.is_some(), &look);
            emit(output.as_deref(), &text)?;
            Ok(exit_code(comparison.exit_code()))
        }
        Cmd::Accept {
            inputs,
            reason,
            only,
            commit,
            accepted_by,
            metric,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why the new numbers are right");
            }
            let scope = Scope::new(&only, false).context("bad --only glob")?;
            let run = read_run(&inputs).map_err(|(e, _)| e)?;
            let provenance = Provenance::now(reason, commit, accepted_by);
            let mut metrics = baseline::default_metrics();
            metrics.extend(metric);
            let written = baseline::accept(
                &inputs.baselines,
                &run,
                &AcceptOptions {
                    only: scope.only.as_ref(),
                    provenance: &provenance,
                    metrics: &metrics,
                },
            )?;
            for p in written {
                println!("wrote {}", p.display());
            }
            Ok(0)
        }
        Cmd::Baseline {
            command: BaselineCmd::Show { baselines, json },
        } => {
            let set = baseline::load_dir(&baselines)?;
            let out = if json {
                let suites: Vec<_> = set.suites.values().collect();
                let mut out = serde_json::to_string_pretty(&suites)?;
                out.push('\n');
                out
            } else {
                render::baseline_table(&set)
            };
            emit(None, &out)?;
            Ok(0)
        }
        Cmd::Report {
            file,
            format,
            output,
            exit_status,
            look,
        } => {
            let c = Comparison::load(&file)?;
            let rendered = render_as(&c, format, output.is_some(), &look);
            emit(output.as_deref(), &rendered)?;
            Ok(if exit_status {
                exit_code(c.exit_code())
            } else {
                0
            })
        }
    }
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(2)
}

type Judged<T> = std::result::Result<T, (anyhow::Error, Option<Box<Environment>>)>;

/// The fingerprint a run directory holds: `environment.json` in a results directory or
/// beside it (`<run>/gungraun` → `<run>/environment.json`).
fn run_environment(results: &[PathBuf]) -> Option<PathBuf> {
    results.iter().find_map(|r| {
        [Some(r.as_path()), r.parent()]
            .into_iter()
            .flatten()
            .map(|d| d.join("environment.json"))
            .find(|p| p.is_file())
    })
}

fn read_run(inputs: &Inputs) -> Judged<Run> {
    let recorded = inputs
        .env
        .clone()
        .or_else(|| run_environment(&inputs.results));
    let environment = match &recorded {
        Some(p) => penv::load(p).map_err(|e| (e.into(), None))?,
        None => penv::capture(&CaptureOptions::default()),
    };
    let options = ReadOptions {
        repo_root: Some(
            std::fs::canonicalize(&inputs.repo_root).unwrap_or_else(|_| inputs.repo_root.clone()),
        ),
    };
    irgate_core::read_paths(&inputs.results, environment.clone(), &options)
        .map_err(|e| (e.into(), Some(Box::new(environment))))
}

fn judge(inputs: &Inputs, policy: Option<&Path>, scope: &Scope) -> Judged<Comparison> {
    let policy = load_policy(policy).map_err(|e| (e, None))?;
    let mut baselines = baseline::load_dir(&inputs.baselines).map_err(|e| (e.into(), None))?;
    let mut run = read_run(inputs)?;
    scope.apply(&mut run, &mut baselines);
    compare(&run, &baselines, &policy)
        .map_err(|e| (e.into(), Some(Box::new(run.environment.clone()))))
}

/// The policy file given, else `./irgate.toml`, else `./perfgate.toml` (the
/// name before the rename, with one note on stderr), else the defaults.
fn load_policy(policy: Option<&Path>) -> Result<Policy> {
    let source = PolicySource::find(policy, Path::new("."));
    if let Some(note) = source.note() {
        eprintln!("irgate: note: {note}");
    }
    Ok(source.load()?)
}

fn use_color(choice: ColorArg, to_file: bool) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            !to_file
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
                && std::io::stdout().is_terminal()
        }
    }
}

fn render_as(c: &Comparison, format: Format, to_file: bool, look: &Look) -> String {
    let options = TerminalOptions {
        color: use_color(look.color, to_file),
        show_unchanged: look.show_unchanged,
    };
    render::render(c, format, &options)
}

/// Writes `text` to `path` atomically, or to stdout when `path` is `None`.
fn emit(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => baseline::write_atomic(p, text.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => {}
                // A closed pipe (`irgate ... | head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("cannot write to stdout"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
