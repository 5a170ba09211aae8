//! `irgate init`: sets a cargo workspace up for the gate.
//!
//! At the root of a repository whose workspace has Callgrind bench targets, it
//! finds those suites ([`bench::cargo::discover`]), checks that `irgate bench` can
//! pin them (one harness at one supported version, whose runner must have that
//! same version), and writes:
//!
//! ```text
//! irgate.toml                          the policy, every key commented out at its default
//! .github/workflows/irgate.yml         the gate (pull_request, read-only token): the action
//! .github/workflows/irgate-report.yml  posts the verdict (workflow_run, trusted, no checkout)
//! .github/workflows/irgate-accept.yml  `/irgate accept` (issue_comment, trusted, no checkout)
//! ```
//!
//! The workflows come from the templates in `assets/init/`, filled in with the
//! workspace's suites, the runner version and the irgate source the workflows
//! install (a repository and a tag or commit). A file that exists is left alone
//! unless `force` is set; [`apply`] says for each file what happened to it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::baseline::write_atomic;
use crate::bench::cargo::{self, Harness, Suite};
use crate::bench::{runner, BenchError};
use crate::policy::{Action, Policy, POLICY_FILE};

/// The repository the written workflows take irgate from, unless told otherwise.
pub const DEFAULT_REPO: &str = "irgate/irgate";

/// The run directory the printed commands and the workflows use.
pub const RUN_DIR: &str = "target/irgate/run";

const GATE_TEMPLATE: &str = include_str!("../assets/init/irgate.yml");
const REPORT_TEMPLATE: &str = include_str!("../assets/init/irgate-report.yml");
const ACCEPT_TEMPLATE: &str = include_str!("../assets/init/irgate-accept.yml");

/// Where the written workflows get irgate from: `uses: <repo>@<rev>` for the gate's
/// action, `cargo install --git https://github.com/<repo>` at `rev` for the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `owner/name` on GitHub.
    pub repo: String,
    /// A tag (`v0.1.0`) or a full 40-hex commit id.
    pub rev: String,
}

/// What `irgate init` is asked to do.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// A directory inside the cargo workspace; files are written at its root.
    pub workspace: PathBuf,
    /// Overwrite files that exist.
    pub force: bool,
    /// Where the workflows get irgate from.
    pub source: Source,
}

/// Why the workspace could not be set up. Every one of these is exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `cargo metadata` failed.
    #[error(transparent)]
    Cargo(#[from] BenchError),
    /// No bench target uses a Callgrind harness.
    #[error(
        "no bench target of the workspace at {root} uses gungraun or iai-callgrind: add one \
         (`gungraun = \"=0.20.0\"` under [dev-dependencies], a `[[bench]]` with \
         `harness = false` whose source calls `gungraun::main!`) and run `irgate init` again"
    )]
    NoSuite {
        /// The workspace root.
        root: PathBuf,
    },
    /// A suite uses a harness or version `irgate bench` does not pin.
    #[error("{suite} uses {found}, and irgate bench pins {supported}: move the suite to one of those and run `irgate init` again")]
    Unsupported {
        /// `package/bench`.
        suite: String,
        /// The harness library and its version (`iai-callgrind 0.13.0`).
        found: String,
        /// What `irgate bench` pins.
        supported: &'static str,
    },
    /// Two suites need different runners.
    #[error("{first} but {other}: the gate runs one runner, so move both to the same version")]
    Mixed {
        /// One suite and its harness (`a/ir uses gungraun 0.20.0`).
        first: String,
        /// Another suite at another harness or version.
        other: String,
    },
    /// `--irgate-repo` or `--irgate-ref` is not usable in a workflow.
    #[error("{0}")]
    BadSource(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
}

/// One file `irgate init` writes.
#[derive(Debug, Clone)]
pub struct File {
    /// Relative to the workspace root.
    pub path: PathBuf,
    /// What it holds.
    pub contents: String,
}

/// What `irgate init` will write, and what it found.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The workspace root, where the files go.
    pub root: PathBuf,
    /// The Callgrind suites.
    pub suites: Vec<Suite>,
    /// Their harness.
    pub harness: Harness,
    /// The harness library's version, which the runner must have too.
    pub version: String,
    /// The arguments of `irgate bench` for these suites.
    pub bench_args: Vec<String>,
    /// The files, in the order they are written.
    pub files: Vec<File>,
    /// Things to know that do not stop the set-up.
    pub notes: Vec<String>,
    /// Cargo.lock was written by `cargo metadata` during the set-up, so the printed
    /// git command adds it too.
    pub add_lock: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It did not exist and was written.
    Created,
    /// It existed, differed, and was overwritten (`force`).
    Overwritten,
    /// It existed with exactly these contents.
    Unchanged,
    /// It existed, differed, and was left alone (no `force`).
    Skipped,
}

/// Finds the suites and prepares the files, writing nothing.
pub fn plan(options: &InitOptions) -> Result<Setup, InitError> {
    check_source(&options.source)?;
    // `cargo metadata` writes a missing Cargo.lock; whether it was there before
    // decides what to say about it.
    let locks_before: Vec<PathBuf> = std::fs::canonicalize(&options.workspace)
        .map(|d| {
            d.ancestors()
                .map(|a| a.join("Cargo.lock"))
                .filter(|l| l.is_file())
                .collect()
        })
        .unwrap_or_default();
    let ws = cargo::discover(&options.workspace, false)?;
    let root = ws.root.clone();
    let Some(first) = ws.suites.first().cloned() else {
        return Err(InitError::NoSuite { root });
    };
    let uses = |s: &Suite| {
        format!(
            "{}/{} uses {} {}",
            s.package,
            s.bench,
            s.harness.library(),
            s.version
        )
    };
    for s in &ws.suites {
        if (s.harness, &s.version) != (first.harness, &first.version) {
            return Err(InitError::Mixed {
                first: uses(&first),
                other: uses(s),
            });
        }
    }
    if runner::capabilities(first.harness, &first.version).is_none() {
        return Err(InitError::Unsupported {
            suite: format!("{}/{}", first.package, first.bench),
            found: format!("{} {}", first.harness.library(), first.version),
            supported: runner::SUPPORTED_TEXT,
        });
    }

    let mut notes = Vec::new();
    let lock = root.join("Cargo.lock");
    let locked = lock.is_file();
    let lock_is_new =
        locked && !std::fs::canonicalize(&lock).is_ok_and(|l| locks_before.contains(&l));
    if lock_is_new {
        notes.push(
            "`cargo metadata` wrote Cargo.lock, which the workspace had not: the gate builds \
             with --locked, so commit it (the git command below adds it)"
                .to_owned(),
        );
    } else if !locked {
        notes.push(
            "the workspace has no Cargo.lock: the gate runs without --locked, so a new release \
             of a dependency can move the counts; commit Cargo.lock"
                .to_owned(),
        );
    }
    notes.extend(profile_notes(&root.join("Cargo.toml")));

    let bench_args = bench_args(&ws.suites, locked);
    let files = vec![
        File {
            path: PathBuf::from(POLICY_FILE),
            contents: policy_text(&first),
        },
        File {
            path: PathBuf::from(".github/workflows/irgate.yml"),
            contents: gate_workflow(&ws.suites, &bench_args, &options.source),
        },
        File {
            path: PathBuf::from(".github/workflows/irgate-report.yml"),
            contents: fill_source(REPORT_TEMPLATE, &options.source),
        },
        File {
            path: PathBuf::from(".github/workflows/irgate-accept.yml"),
            contents: fill_source(ACCEPT_TEMPLATE, &options.source),
        },
    ];
    Ok(Setup {
        root,
        add_lock: lock_is_new,
        harness: first.harness,
        version: first.version.clone(),
        suites: ws.suites,
        bench_args,
        files,
        notes,
    })
}

/// Writes the files of `setup` under its root (atomically), leaving a file that
/// exists with other contents alone unless `force`.
pub fn apply(setup: &Setup, force: bool) -> Result<Vec<(PathBuf, Written)>, InitError> {
    let mut done = Vec::new();
    for f in &setup.files {
        let path = setup.root.join(&f.path);
        let outcome = match std::fs::read(&path) {
            Ok(old) if old == f.contents.as_bytes() => Written::Unchanged,
            Ok(_) if !force => Written::Skipped,
            Ok(_) => Written::Overwritten,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Written::Created,
            Err(e) => {
                return Err(InitError::Io {
                    path,
                    message: format!("cannot read: {e}"),
                })
            }
        };
        if matches!(outcome, Written::Created | Written::Overwritten) {
            write_atomic(&path, f.contents.as_bytes()).map_err(|e| InitError::Io {
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
        done.push((f.path.clone(), outcome));
    }
    Ok(done)
}

impl Setup {
    /// The commands that make the first baselines and open the first gated pull
    /// request, to run at the workspace root after [`apply`].
    pub fn next_commands(&self) -> [String; 3] {
        let mut files: Vec<String> = self
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        if self.add_lock {
            files.push("Cargo.lock".to_owned());
        }
        [
            format!(
                "irgate setup{} && irgate bench {} --out {RUN_DIR}",
                if self.bench_args.iter().any(|a| a == "--locked") {
                    " --locked"
                } else {
                    ""
                },
                self.bench_args.join(" ")
            ),
            format!("irgate accept --reason 'first baselines' {RUN_DIR}"),
            format!(
                "git switch -c irgate && git add {} baselines && git commit -m 'Gate pull requests on instruction counts (irgate)' && git push -u origin irgate",
                files.join(" ")
            ),
        ]
    }

    /// What `irgate init` prints: the suites, what happened to each file, notes, and
    /// the next commands.
    pub fn report(&self, written: &[(PathBuf, Written)]) -> String {
        let mut out = String::new();
        let n = self.suites.len();
        let _ = writeln!(
            out,
            "irgate init: {n} Callgrind suite{} in {}:",
            if n == 1 { "" } else { "s" },
            self.root.display()
        );
        for s in &self.suites {
            let _ = writeln!(
                out,
                "  {}/{}  ({} {}, runner {} {})",
                s.package,
                s.bench,
                s.harness.library(),
                s.version,
                s.harness.runner(),
                s.version
            );
        }
        for (path, outcome) in written {
            let p = path.display();
            let _ = match outcome {
                Written::Created => writeln!(out, "wrote     {p}"),
                Written::Overwritten => writeln!(out, "rewrote   {p} (--force)"),
                Written::Unchanged => {
                    writeln!(out, "unchanged {p} (already as irgate init writes it)")
                }
                Written::Skipped => writeln!(
                    out,
                    "skipped   {p} (exists with other contents; --force overwrites it)"
                ),
            };
        }
        if written
            .iter()
            .all(|(_, o)| matches!(o, Written::Unchanged | Written::Skipped))
        {
            let _ = writeln!(out, "nothing written");
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(out, "\nNext, at {}:", self.root.display());
        for (i, c) in self.next_commands().iter().enumerate() {
            let _ = writeln!(out, "  {}. {c}", i + 1);
        }
        let _ = writeln!(
            out,
            "Then open a pull request from the branch `irgate`. The gate runs on it at once; the \
             report and `/irgate accept` work once the workflows are on the default branch \
             (docs/GITHUB.md). Baselines made on another machine than the runner may show \
             environment drift: accept the runner's numbers with `/irgate accept <reason>`."
        );
        out
    }
}

/// The `irgate bench` arguments that select exactly `suites`.
fn bench_args(suites: &[Suite], locked: bool) -> Vec<String> {
    let mut args = Vec::new();
    if locked {
        args.push("--locked".to_owned());
    }
    let mut packages: Vec<&str> = suites.iter().map(|s| s.package.as_str()).collect();
    packages.dedup();
    let mut benches: Vec<&str> = suites.iter().map(|s| s.bench.as_str()).collect();
    benches.sort_unstable();
    benches.dedup();
    for p in packages {
        args.extend(["--package".to_owned(), p.to_owned()]);
    }
    for b in benches {
        args.extend(["--bench".to_owned(), b.to_owned()]);
    }
    args
}

/// Refuses a repository or revision that would not be a plain word in the workflows.
fn check_source(source: &Source) -> Result<(), InitError> {
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let repo_ok = source
        .repo
        .split_once('/')
        .is_some_and(|(owner, name)| word(owner) && word(name));
    if !repo_ok {
        return Err(InitError::BadSource(format!(
            "--irgate-repo {:?}: expected OWNER/NAME on GitHub, e.g. {DEFAULT_REPO}",
            source.repo
        )));
    }
    let rev_ok = !source.rev.starts_with(['-', '.', '/']) && source.rev.split('/').all(word);
    if !rev_ok {
        return Err(InitError::BadSource(format!(
            "--irgate-ref {:?}: expected a tag (e.g. v0.1.0) or a full commit id",
            source.rev
        )));
    }
    Ok(())
}

/// Fills the irgate source into a template.
fn fill_source(template: &str, source: &Source) -> String {
    let slug: String = source
        .rev
        .chars()
        .map(|c| if c == '/' { '-' } else { c })
        .collect();
    let flag = if crate::baseline::is_sha1_hex(&source.rev) {
        "--rev"
    } else {
        "--tag"
    };
    template
        .replace("@@ACTION@@", &format!("{}@{}", source.repo, source.rev))
        .replace("@@REPO@@", &source.repo)
        .replace("@@REF_FLAG@@", flag)
        .replace("@@REF_SLUG@@", &slug)
        .replace("@@REF@@", &source.rev)
}

fn gate_workflow(suites: &[Suite], bench_args: &[String], source: &Source) -> String {
    let mut listed = String::new();
    for s in suites {
        let _ = writeln!(
            listed,
            "#   {}/{}: {} {} (runner {} {})",
            s.package,
            s.bench,
            s.harness.library(),
            s.version,
            s.harness.runner(),
            s.version
        );
    }
    let version = suites.first().map_or("", |s| s.version.as_str());
    fill_source(GATE_TEMPLATE, source)
        .replace("@@SUITES@@\n", &listed)
        .replace("@@LOCKFILE@@", "Cargo.lock")
        .replace("@@BENCH_ARGS@@", &bench_args.join(" "))
        .replace("@@RUNNER_VERSION@@", version)
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Fail => "fail",
        Action::Warn => "warn",
        Action::Ignore => "ignore",
    }
}

/// `irgate.toml` with every key commented out at its built-in default (from
/// [`Policy::default`]), and an example override for `suite`.
pub fn policy_text(suite: &Suite) -> String {
    let d = Policy::default();
    let ignore: Vec<String> = d.drift_ignore.iter().map(|f| format!("{f:?}")).collect();
    format!(
        r#"# irgate's policy for this repository, written by `irgate init`. Every key is
# optional, and each is shown commented out at its built-in default, so this file
# changes nothing until a line is uncommented and edited. `irgate compare` reads
# it from the working directory.

# The Callgrind metric the gate judges. Ir (instructions executed) repeats
# exactly under `irgate bench`; cache metrics depend on the machine.
# metric = {metric:?}

# A change counts when it is larger than threshold_pct percent of the baseline
# and at least floor units (instructions, for Ir).
# threshold_pct = {threshold:?}
# floor = {floor}

# A benchmark without a baseline: "fail", "warn" (reported as New) or "ignore".
# on_new = "{on_new}"
# A baseline whose benchmark is not in the run.
# on_missing = "{on_missing}"
# The run's environment differs from the baselines' in what can move a count
# (valgrind, runner, rustc, glibc, GLIBC_TUNABLES, effective CPU flags, preload,
# canary).
# on_drift = "{on_drift}"
# ... but fail on drift only when some count also moved past its threshold.
# drift_evidence = {evidence}
# Further fingerprint fields to treat as informational, e.g. ["rustc"].
# drift_ignore = [{ignore}]

# Creep: how far a benchmark may rise above its baseline at an anchor revision
# (a tag, branch or commit, read from git), however small each accepted step
# was. Reported in a separate "creep" section; on_creep = "fail" fails the gate
# on it. Off by default. For example:
# creep = {{ anchor = "v1.0.0", max_pct = 5.0 }}
# on_creep = "{on_creep}"

# Other limits for some benchmarks, chosen by a glob over the benchmark id
# (`<package>/<bench>/<group>/<function>[/<id>]`; `*` stays within one part,
# `**` crosses parts). The first match wins. For example:
# [[override]]
# match = "{package}/{bench}/**"
# threshold_pct = 2.0
# floor = 1000
# on_regression = "warn"
"#,
        metric = d.metric,
        threshold = d.threshold_pct,
        floor = d.floor,
        on_new = action_name(d.on_new),
        on_missing = action_name(d.on_missing),
        on_drift = action_name(d.on_drift),
        on_creep = action_name(d.on_creep),
        evidence = d.drift_evidence,
        ignore = ignore.join(", "),
        package = suite.package,
        bench = suite.bench,
    )
}

/// Notes on the workspace's `[profile.bench]`: the settings that keep an unrelated
/// edit from moving counts (`codegen-units = 1`) and let profiles name functions.
fn profile_notes(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let bench = doc
        .get("profile")
        .and_then(|p| p.get("bench"))
        .and_then(toml::Value::as_table);
    let get = |k: &str| bench.and_then(|b| b.get(k));
    let mut missing = Vec::new();
    if get("codegen-units").and_then(toml::Value::as_integer) != Some(1) {
        missing.push("codegen-units = 1");
    }
    if get("lto").is_none() {
        missing.push("lto = \"off\"");
    }
    if get("debug").is_none_or(|v| v.as_bool() == Some(false) || v.as_integer() == Some(0)) {
        missing.push("debug = true");
    }
    if missing.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{}'s [profile.bench] lacks {}: with several codegen units or a varying LTO \
         setting an unrelated edit can move the counts of untouched code, and without \
         debug info profiles cannot name functions (docs/BENCHMARK_GUIDE.md)",
        manifest.display(),
        missing.join(", ")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> Suite {
        Suite {
            package: "demo".into(),
            package_version: "0.1.0".into(),
            bench: "ir".into(),
            package_dir: PathBuf::from("/w"),
            harness: Harness::Gungraun,
            version: "0.20.0".into(),
        }
    }

    fn source(rev: &str) -> Source {
        Source {
            repo: DEFAULT_REPO.into(),
            rev: rev.into(),
        }
    }

    #[test]
    fn the_policy_is_the_default_and_every_commented_key_parses_to_it() {
        let text = policy_text(&suite());
        let path = Path::new("irgate.toml");
        let as_written = Policy::parse(path, &text).unwrap();
        assert!(as_written.overrides.is_empty());
        // Uncomment every `# key = value` line and the override table.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest == "[[override]]"
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let p = Policy::parse(path, &uncommented).unwrap();
        let d = Policy::default();
        assert_eq!(p.metric, d.metric);
        assert_eq!(p.threshold_pct, d.threshold_pct);
        assert_eq!(p.floor, d.floor);
        assert_eq!(p.on_new, d.on_new);
        assert_eq!(p.on_missing, d.on_missing);
        assert_eq!(p.on_drift, d.on_drift);
        assert_eq!(p.drift_evidence, d.drift_evidence);
        assert_eq!(p.drift_ignore, d.drift_ignore);
        assert_eq!(p.overrides.len(), 1);
        assert!(p.overrides[0].matches("demo/ir/g/f/id"));
        // Every key of the policy is written.
        for key in [
            "metric",
            "threshold_pct",
            "floor",
            "on_new",
            "on_missing",
            "on_drift",
            "drift_evidence",
            "drift_ignore",
            "creep",
            "on_creep",
            "match",
            "on_regression",
        ] {
            assert!(
                uncommented
                    .lines()
                    .any(|l| l.starts_with(&format!("{key} = "))),
                "{key}"
            );
        }
    }

    #[test]
    fn workflows_name_the_suites_the_runner_and_the_source() {
        let suites = [suite()];
        let args = bench_args(&suites, true);
        assert_eq!(args, ["--locked", "--package", "demo", "--bench", "ir"]);
        let gate = gate_workflow(&suites, &args, &source("v0.1.0"));
        assert!(gate.contains("uses: irgate/irgate@v0.1.0"), "{gate}");
        assert!(gate.contains("bench-args: '--locked --package demo --bench ir'"));
        assert!(gate.contains("runner-version: '0.20.0'"));
        assert!(gate.contains("#   demo/ir: gungraun 0.20.0 (runner gungraun-runner 0.20.0)"));
        assert!(!gate.contains("@@"), "{gate}");
        for t in [REPORT_TEMPLATE, ACCEPT_TEMPLATE] {
            let tag = fill_source(t, &source("v0.1.0"));
            assert!(!tag.contains("@@"));
            assert!(tag.contains("--git https://github.com/irgate/irgate --tag v0.1.0"));
            let sha = "0123456789abcdef0123456789abcdef01234567";
            assert!(fill_source(t, &source(sha)).contains(&format!("--rev {sha}")));
        }
    }

    /// The report workflow's `concurrency:` block: (group, cancel-in-progress).
    fn concurrency(workflow: &str) -> (String, String) {
        let mut lines = workflow
            .lines()
            .skip_while(|l| *l != "concurrency:")
            .skip(1);
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.trim().strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        (field("group:"), field("cancel-in-progress:"))
    }

    #[test]
    fn report_posts_for_one_pull_request_one_at_a_time() {
        // Two report runs for the same pull request (two pushes in a row) must
        // not post at the same time; runs for other pull requests may.
        let this_repo = include_str!("../../../.github/workflows/irgate-report.yml");
        for workflow in [REPORT_TEMPLATE, this_repo] {
            let (group, cancel) = concurrency(workflow);
            assert!(
                group.contains("github.event.workflow_run.pull_requests[0].number"),
                "{group}"
            );
            assert!(!group.contains("head_sha"), "{group}");
            assert_eq!(cancel, "false");
        }
    }

    #[test]
    fn the_gate_judges_the_merge_queue_and_the_default_branch() {
        // The gate runs on the merge queue's commit and on pushes to the default
        // branch (other branches are kept out by the job's condition); the
        // report handles those runs without a pull request.
        let gate_here = include_str!("../../../.github/workflows/irgate.yml");
        let report_here = include_str!("../../../.github/workflows/irgate-report.yml");
        for gate in [GATE_TEMPLATE, gate_here] {
            assert!(gate.contains("\n  merge_group:\n    types: [checks_requested]\n"));
            assert!(gate.contains("\n  push:\n"));
            assert!(gate.contains(
                "if: github.event_name != 'push' || github.ref_name == github.event.repository.default_branch"
            ));
            assert!(gate.contains("ref: ${{ github.event.pull_request.head.sha || github.sha }}"));
            assert!(gate.contains("cancel-in-progress: ${{ github.event_name == 'pull_request' }}"));
        }
        for report in [REPORT_TEMPLATE, report_here] {
            assert!(report.contains(r#"fromJSON('["pull_request", "merge_group", "push"]')"#));
            assert!(report.contains("target=(--commit-comment-on-failure)"));
            assert!(report.contains(r#""${target[@]}" --sha "$HEAD_SHA""#));
        }
    }

    #[test]
    fn a_source_that_is_not_a_plain_word_is_refused() {
        assert!(check_source(&source("v0.1.0")).is_ok());
        assert!(check_source(&source("release/v1")).is_ok());
        for bad in ["", "-x", "v1; rm -rf /", "a b", "${{ x }}"] {
            assert!(check_source(&source(bad)).is_err(), "{bad}");
        }
        let repo = Source {
            repo: "noslash".into(),
            rev: "v1".into(),
        };
        assert!(check_source(&repo)
            .unwrap_err()
            .to_string()
            .contains("OWNER/NAME"));
    }

    #[test]
    fn the_default_repo_is_the_package_repository() {
        let url = env!("CARGO_PKG_REPOSITORY");
        assert_eq!(url.strip_prefix("https://github.com/"), Some(DEFAULT_REPO));
    }

    #[test]
    fn a_bench_profile_without_one_codegen_unit_gets_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("Cargo.toml");
        std::fs::write(&m, "[package]\nname = \"x\"\n").unwrap();
        let notes = profile_notes(&m);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("codegen-units = 1"), "{notes:?}");
        std::fs::write(
            &m,
            "[profile.bench]\ncodegen-units = 1\nlto = \"off\"\ndebug = true\n",
        )
        .unwrap();
        assert!(profile_notes(&m).is_empty());
    }
}
