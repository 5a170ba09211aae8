//! `irgate`: the command-line front of the regression gate.
//!
//! A thin layer over `irgate-core`: parse arguments, call the library, print, and map
//! the outcome to the exit code scripts rely on: 0 passed, 1 failed, 2 could not judge.

mod cli;
#[cfg(feature = "github")]
mod github;

use cli::{BaselineCmd, Cli, Cmd, ColorArg, Inputs, Look};

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use irgate_core::baseline::{self, AcceptOptions, Provenance};
use irgate_core::bench::{self, doctor};
use irgate_core::bisect;
use irgate_core::env::{self as penv, CaptureOptions};
use irgate_core::history::{baselines_at, read_history, HistoryOptions};
use irgate_core::init;
use irgate_core::journal;
use irgate_core::policy::PolicySource;
use irgate_core::rebase;
use irgate_core::render::{self, Format, MarkdownOptions, TerminalOptions};
use irgate_core::why;
use irgate_core::{compare_in_scope, Comparison, Environment, Policy, ReadOptions, Run, Scope};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("irgate: error: {}", error_text(&e));
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
        Cmd::Setup {
            workspace,
            cache_dir,
            locked,
        } => match bench::setup(&workspace, cache_dir.as_deref(), locked) {
            Ok(done) => {
                for d in &done {
                    eprintln!(
                        "irgate setup: {} {}: {}",
                        d.version_line,
                        if d.installed {
                            "installed"
                        } else {
                            "already there"
                        },
                        d.path.display()
                    );
                    println!("{}", d.path.display());
                }
                Ok(0)
            }
            Err(e) => {
                eprintln!("irgate setup: error: {e}");
                Ok(2)
            }
        },
        Cmd::Init {
            workspace,
            force,
            irgate_repo,
            irgate_ref,
        } => {
            let options = init::InitOptions {
                workspace,
                force,
                source: init::Source {
                    repo: irgate_repo,
                    rev: irgate_ref,
                },
            };
            let done = init::plan(&options).and_then(|setup| {
                let written = init::apply(&setup, options.force)?;
                Ok(setup.report(&written))
            });
            match done {
                Ok(report) => {
                    emit(None, &report)?;
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("irgate init: error: {e}");
                    Ok(2)
                }
            }
        }
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
            workspace,
            valgrind,
            target,
            glibc_tunables,
            extra,
        } => {
            let extra = penv::parse_extras(&extra).context("bad --extra")?;
            let given_runner = runner.clone();
            let options = CaptureOptions {
                valgrind,
                runner,
                workspace,
                target,
                cache,
                ..CaptureOptions::default()
            };
            let mut env = match glibc_tunables {
                Some(t) => penv::capture_with_tunables(&options, t),
                None => penv::capture(&options),
            };
            // The capture asked the runner for its version once; no answer means
            // it does not run.
            if let (Some(r), None) = (&given_runner, &env.runner) {
                bail!(
                    "--runner {}: cannot run `{} --version`; give the runner the benchmarks use",
                    r.display(),
                    r.display()
                );
            }
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
            rebase_on_drift,
            rebase_out,
            look,
        } => {
            let scope = Scope::new(&only, partial).context("bad --only glob")?;
            let rebase = rebase_on_drift
                .as_deref()
                .map(|rev| (rev, rebase_out.as_path()));
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
            let comparison = match judge(&inputs, policy.as_deref(), &scope, rebase) {
                Ok(c) => c,
                Err((e, env)) => {
                    let text = error_text(&e);
                    eprintln!("irgate: could not judge: {text}");
                    let c = Comparison::could_not_judge(text, env.map(|b| *b));
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
            profile_top,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why the new numbers are right");
            }
            let scope = Scope::new(&only, false).context("bad --only glob")?;
            let (run, files) = read_run(&inputs).map_err(|(e, _)| e)?;
            let profiles = if profile_top > 0 {
                Some(run_profiles(&run, &files, profile_top)?)
            } else {
                None
            };
            let commit = commit
                .as_deref()
                .map(baseline::resolve_commit)
                .transpose()?;
            let provenance = Provenance::now(reason, commit, accepted_by);
            // Finish (or discard) what an interrupted accept left, before planning.
            report_recovery(&inputs.baselines, &journal::recover(&inputs.baselines)?);
            let mut metrics = baseline::default_metrics();
            metrics.extend(metric);
            let written = baseline::accept(
                &inputs.baselines,
                &run,
                &AcceptOptions {
                    only: scope.only.as_ref(),
                    provenance: &provenance,
                    metrics: &metrics,
                    profiles: profiles.as_ref(),
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
        Cmd::Baseline {
            command: BaselineCmd::Recover { baselines },
        } => {
            let recovery = journal::recover(&baselines)?;
            if recovery.is_empty() {
                println!("{}: no interrupted accept to recover", baselines.display());
            }
            report_recovery(&baselines, &recovery);
            Ok(0)
        }
        Cmd::Bisect {
            good,
            bad,
            bench: id,
            workspace,
            policy,
            threshold_pct,
            out,
            runner,
            valgrind,
            glibc_tunables,
            locked,
            cache_dir,
            json,
        } => {
            let bench_id: irgate_core::BenchId = id.parse().map_err(|e| {
                anyhow::anyhow!(
                    "--bench {id:?}: {e} (give the full id, package/bench/group/function[/case])"
                )
            })?;
            let policy = load_policy(policy.as_deref())?;
            let mut rule = policy.rule_for(&bench_id);
            if let Some(t) = threshold_pct {
                if !(t.is_finite() && t >= 0.0) {
                    bail!("--threshold-pct {t}: expected a percentage of 0 or more");
                }
                rule.threshold_pct = t;
            }
            let exe = std::env::current_exe().context("cannot find the irgate executable")?;
            let options = bisect::BisectOptions {
                workspace,
                good,
                bad,
                bench: bench_id,
                rule,
                template: bench::BenchOptions {
                    out,
                    runner,
                    valgrind,
                    glibc_tunables,
                    locked,
                    cache_dir,
                    ..bench::BenchOptions::default()
                },
                step_program: vec![exe.to_string_lossy().into_owned(), "bisect-step".into()],
            };
            match bisect::bisect(&options) {
                Ok(o) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&o)?);
                    } else {
                        print!("{}", bisect_text(&o));
                    }
                    Ok(if o.first_bad.is_some() { 0 } else { 2 })
                }
                Err(e) => {
                    eprintln!("irgate bisect: {e}");
                    Ok(2)
                }
            }
        }
        Cmd::BisectStep { config } => {
            let step = bisect::StepConfig::load(&config).and_then(|c| bisect::step(&c));
            match step {
                Ok(s) => Ok(s.exit_code()),
                Err(e) => {
                    eprintln!("irgate bisect-step: {e}");
                    Ok(128)
                }
            }
        }
        Cmd::History {
            baselines,
            bench,
            since,
            metric,
            format,
            output,
        } => {
            let options = HistoryOptions {
                repo_dir: PathBuf::from("."),
                baselines,
                since,
                benches: bench,
                metric,
            };
            let h = match read_history(&options) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("irgate history: error: {e}");
                    return Ok(2);
                }
            };
            for w in &h.warnings {
                eprintln!("irgate history: warning: {w}");
            }
            let text = match format.as_str() {
                "markdown" => render::history_markdown(&h),
                "json" => render::history_json(&h),
                "svg" => render::history_svg(&h)?,
                _ => render::history_terminal(&h),
            };
            emit(output.as_deref(), &text)?;
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

/// An error and its causes, each said once: the library's messages already name
/// their cause (`cannot read x: No such file or directory`), so a cause whose text
/// the message so far holds is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.is_empty() {
            text = part;
        } else if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(2)
}

type Judged<T> = std::result::Result<T, (anyhow::Error, Option<Box<Environment>>)>;

/// The fingerprint a run directory holds: `environment.json` in a results directory or
/// beside it (`<run>/gungraun` → `<run>/environment.json`).
fn run_environment(results: &[PathBuf]) -> Option<PathBuf> {
    results.iter().find_map(|r| environment_of(r))
}

/// The `environment.json` in or beside one results directory.
fn environment_of(r: &Path) -> Option<PathBuf> {
    [Some(r), r.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("environment.json"))
        .find(|p| p.is_file())
}

/// Shards judged together must have run in one environment: the first run's
/// fingerprint speaks for all of them, so a shard whose fingerprint differs in a
/// field that can move a count (another glibc, other tunables, another canary) is an
/// error naming both files, never a silent mix.
fn shards_agree(results: &[PathBuf], first: &Path, env: &Environment) -> Result<()> {
    for r in results {
        let Some(p) = environment_of(r) else { continue };
        if p == first {
            continue;
        }
        let other = penv::load(&p)?;
        let moved: Vec<String> = env
            .diff(&other, &[])
            .into_iter()
            .filter(|c| !c.informational)
            .map(|c| c.field)
            .collect();
        if !moved.is_empty() {
            bail!(
                "{} and {} differ in {}: these runs were made in different environments and cannot be judged as one",
                first.display(),
                p.display(),
                moved.join(", ")
            );
        }
    }
    Ok(())
}

/// The run, and the file each benchmark was read from (its `summary.json`, beside
/// which Gungraun leaves the Callgrind outputs).
type RunWithFiles = (Run, irgate_core::read::RunFiles);

fn read_run(inputs: &Inputs) -> Judged<RunWithFiles> {
    let recorded = inputs
        .env
        .clone()
        .or_else(|| run_environment(&inputs.results));
    let environment = match &recorded {
        Some(p) => {
            let env = penv::load(p).map_err(|e| (e.into(), None))?;
            if inputs.env.is_none() {
                shards_agree(&inputs.results, p, &env)
                    .map_err(|e| (e, Some(Box::new(env.clone()))))?;
            }
            env
        }
        None => penv::capture_at_compare(&CaptureOptions {
            workspace: inputs.repo_root.clone(),
            ..CaptureOptions::default()
        }),
    };
    let options = ReadOptions {
        repo_root: Some(
            std::fs::canonicalize(&inputs.repo_root).unwrap_or_else(|_| inputs.repo_root.clone()),
        ),
    };
    // Empty shards of a matrix hold nothing to read; the others still must.
    let mut results = Vec::new();
    for r in &inputs.results {
        match bench::RunFacts::load(r) {
            Ok(Some(f)) if f.is_empty_shard() => {}
            Ok(_) => results.push(r.clone()),
            Err(e) => return Err((anyhow::anyhow!(e), None)),
        }
    }
    if results.is_empty() {
        return Err((
            anyhow::anyhow!("every results directory is an empty shard: no benchmark was run"),
            None,
        ));
    }
    irgate_core::read::read_paths_with_files(&results, environment.clone(), &options)
        .map_err(|e| (e.into(), Some(Box::new(environment))))
}

/// The per-function profiles of every benchmark of `run` that has Callgrind outputs
/// beside its summary, for `irgate accept`. An output that cannot be read fails the
/// accept (naming the file and line): a profile is never stored from half a file.
fn run_profiles(
    run: &Run,
    files: &irgate_core::read::RunFiles,
    top: usize,
) -> Result<baseline::RunProfiles> {
    let mut by_bench = BTreeMap::new();
    for id in run.benchmarks.keys() {
        let Some(file) = files.get(id) else { continue };
        match why::run_profile_beside(file) {
            None => {}
            Some(Ok(p)) => {
                by_bench.insert(id.clone(), p);
            }
            Some(Err(e)) => {
                return Err(anyhow::anyhow!(e).context(format!(
                    "cannot store the profile of {id} (pass --profile-top 0 to accept without profiles)"
                )))
            }
        }
    }
    Ok(baseline::RunProfiles { top, by_bench })
}

/// Judges the run in `inputs`; with `rebase = (REV, out)`, when the environment
/// drifted, against REV run again in this environment (see `irgate_core::rebase`).
fn judge(
    inputs: &Inputs,
    policy: Option<&Path>,
    scope: &Scope,
    rebase: Option<(&str, &Path)>,
) -> Judged<Comparison> {
    let policy = load_policy(policy).map_err(|e| (e, None))?;
    let mut baselines = baseline::load_dir(&inputs.baselines).map_err(|e| (e.into(), None))?;
    let (mut run, files) = read_run(inputs)?;
    let current = run.environment.clone();
    let env = || Some(Box::new(current.clone()));
    let then = rebase.is_some().then(|| (run.clone(), baselines.clone()));
    let mut c = compare_in_scope(&mut run, &mut baselines, &policy, scope)
        .map_err(|e| (e.into(), env()))?;
    let drifted = c
        .environment
        .as_ref()
        .is_some_and(|e| e.verdict == irgate_core::RunVerdict::EnvironmentChanged);
    if let (Some((rev, out)), Some((mut head, stored))) = (rebase, then) {
        if drifted {
            let command = rebase::head_command(&inputs.results).map_err(|e| (e.into(), env()))?;
            eprintln!("irgate: the environment changed: running {rev}'s benchmarks in this one (--rebase-on-drift)");
            let base = rebase::run_at(rev, &command, current.glibc_tunables.as_deref(), out)
                .map_err(|e| (e.into(), env()))?;
            let commit = base.commit.clone();
            let mut reference = rebase::as_baselines(&base.run, &commit, Some(&base.profiles))
                .map_err(|e| (e.into(), env()))?;
            let split = rebase::split(rev, &commit, &stored, &base.run, &head);
            c = compare_in_scope(&mut head, &mut reference, &policy, scope)
                .map_err(|e| (e.into(), env()))?;
            // The code's share is explained against REV's own profiles.
            baselines = reference;
            c.notes.push(format!(
                "the environment changed since the baselines: judged against {} rebuilt and run in this environment; each benchmark's change is split into the environment's share and the code's (--rebase-on-drift)",
                if rev == commit {
                    commit.get(..7).unwrap_or(&commit).to_owned()
                } else {
                    format!("{rev} ({})", commit.get(..7).unwrap_or(&commit))
                }
            ));
            c.rebase = Some(split);
        } else {
            c.notes.push(format!(
                "--rebase-on-drift {rev}: the environment did not change, so the run is judged against the baselines as usual"
            ));
        }
    }
    if let Some(creep) = &policy.creep {
        // The anchor's baselines, from git: the policy names a revision.
        let (sha, anchor) = baselines_at(Path::new("."), &inputs.baselines, &creep.anchor)
            .map_err(|e| (anyhow::anyhow!("creep anchor: {e}"), env()))?;
        irgate_core::creep::apply(&mut c, &anchor, &sha, creep, policy.on_creep);
    }
    why::explain(&mut c, &baselines, |id| {
        files.get(id).and_then(|f| why::run_profile_beside(f))
    });
    Ok(c)
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
/// The outcome of `irgate bisect` for a person.
fn bisect_text(o: &bisect::BisectOutcome) -> String {
    let short = |c: &str| c.get(..10).unwrap_or(c).to_owned();
    let pct = |v: u64| (v as f64 - o.good_value as f64) / (o.good_value.max(1) as f64) * 100.0;
    let mut s = format!(
        "{}: {} Ir at {} (good), {} Ir at {} (bad, {:+.2}%, {})\n",
        render::sanitize_terminal(&o.bench),
        o.good_value,
        short(&o.good_commit),
        o.bad_value,
        short(&o.bad_commit),
        pct(o.bad_value),
        match o.direction {
            irgate_core::Verdict::Improved => "improved",
            _ => "regressed",
        }
    );
    match &o.first_bad {
        Some(first) => {
            s.push_str(&format!(
                "first bad commit: {first} {}\n",
                render::sanitize_terminal(o.subject.as_deref().unwrap_or(""))
            ));
            if let Some(v) = o.first_bad_value {
                s.push_str(&format!("  {v} Ir there ({:+.2}% against good)\n", pct(v)));
            }
        }
        None => s.push_str(&format!(
            "git could not name one first bad commit: {}\n",
            render::sanitize_terminal(o.note.as_deref().unwrap_or(""))
        )),
    }
    s.push_str(&format!(
        "{} commit(s) measured, one run each\n",
        o.measured
    ));
    s
}

/// Says on stderr what finishing an interrupted accept did in `dir`.
fn report_recovery(dir: &Path, recovery: &journal::Recovery) {
    if !recovery.finished.is_empty() {
        eprintln!(
            "irgate: finished an interrupted accept in {}: {} file(s) put in place",
            dir.display(),
            recovery.finished.len()
        );
        for p in &recovery.finished {
            eprintln!("  {}", dir.join(p).display());
        }
    }
    if !recovery.discarded.is_empty() {
        eprintln!(
            "irgate: removed {} file(s) of an accept interrupted before it was decided in {} (the baselines there are the old ones)",
            recovery.discarded.len(),
            dir.display()
        );
    }
}

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
