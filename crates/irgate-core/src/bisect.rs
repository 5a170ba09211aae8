//! `irgate bisect GOOD BAD --bench ID`: the first commit whose count of one benchmark
//! moved past its threshold.
//!
//! Instruction counts are deterministic, so one run per commit decides it. In a
//! temporary worktree (the user's checkout is not touched), irgate measures the
//! benchmark at BAD and at GOOD, refuses when BAD is within the threshold of GOOD,
//! and then hands `git bisect run` a step that builds and runs only that benchmark
//! at the commit under test and compares it with GOOD's value under the policy's
//! rule: moved the way BAD moved (up for a regression, down for an improvement) is
//! bad, anything else good; a commit where it does not build or has no such
//! benchmark is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::bench::{self, BenchError, BenchOptions};
use crate::compare::classify;
use crate::comparison::Verdict;
use crate::model::{BenchId, Metrics};
use crate::policy::Rule;
use crate::read::{read_paths, ReadOptions};
use crate::worktree::{self, GitError, Worktree};

/// Why a bisection could not be made or finished.
#[derive(Debug, thiserror::Error)]
pub enum BisectError {
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The benchmark could not be built or run at a commit.
    #[error("{commit}: {message}")]
    Measure {
        /// The commit (or GOOD/BAD as given).
        commit: String,
        /// What went wrong.
        message: String,
    },
    /// BAD's count is within the threshold of GOOD's.
    #[error("{bench}: {bad} ({bad_value} Ir) is within the threshold of {good} ({good_value} Ir): nothing to bisect")]
    NothingMoved {
        /// The benchmark.
        bench: String,
        /// GOOD as given.
        good: String,
        /// BAD as given.
        bad: String,
        /// Its Ir at GOOD.
        good_value: u64,
        /// Its Ir at BAD.
        bad_value: u64,
    },
    /// A step's configuration file is unreadable.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What to bisect and how to run each step.
#[derive(Debug, Clone)]
pub struct BisectOptions {
    /// A directory inside the cargo workspace, in the repository's work tree.
    pub workspace: PathBuf,
    /// The last commit known good.
    pub good: String,
    /// A commit known bad.
    pub bad: String,
    /// The benchmark.
    pub bench: BenchId,
    /// Its rule (threshold and floor) from the policy.
    pub rule: Rule,
    /// How to run it: runner, valgrind, tunables, preload, `--locked`, cache; the
    /// run directory is `out`.
    pub template: BenchOptions,
    /// The program and arguments before `--config FILE` that run one step
    /// (the `irgate` executable and its hidden `bisect-step` command).
    pub step_program: Vec<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BisectOutcome {
    /// The benchmark.
    pub bench: String,
    /// GOOD's commit and Ir.
    pub good_commit: String,
    /// Its Ir at GOOD.
    pub good_value: u64,
    /// BAD's commit.
    pub bad_commit: String,
    /// Its Ir at BAD.
    pub bad_value: u64,
    /// `regressed` or `improved`: how BAD moved.
    pub direction: Verdict,
    /// The first commit that moved like BAD, when git could name one.
    pub first_bad: Option<String>,
    /// Its subject line.
    pub subject: Option<String>,
    /// The benchmark's Ir there.
    pub first_bad_value: Option<u64>,
    /// Commits measured (GOOD and BAD included).
    pub measured: usize,
    /// git's last words when it could not name one commit (skipped commits).
    pub note: Option<String>,
}

/// The configuration of one `git bisect run` step, written by [`bisect`] and read by
/// `irgate bisect-step --config FILE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// The benchmark id.
    pub bench: String,
    /// Its Ir at GOOD.
    pub good_value: u64,
    /// `regressed` or `improved`.
    pub direction: Verdict,
    /// The threshold, percent.
    pub threshold_pct: f64,
    /// The floor, Ir.
    pub floor: u64,
    /// The workspace's directory below the checkout's top.
    pub workspace_rel: PathBuf,
    /// The run directory.
    pub out: PathBuf,
    /// Where each step appends `<commit> <Ir>`.
    pub record: PathBuf,
    /// The runner.
    pub runner: Option<PathBuf>,
    /// valgrind.
    pub valgrind: PathBuf,
    /// `GLIBC_TUNABLES` instead of the pinned value.
    pub glibc_tunables: Option<String>,
    /// No entropy preload.
    pub no_preload: bool,
    /// Pinned cache simulation.
    pub cache_sim: bool,
    /// `--locked`.
    pub locked: bool,
    /// The preload and canary cache.
    pub cache_dir: Option<PathBuf>,
}

impl StepConfig {
    /// Reads a step's configuration file.
    pub fn load(path: &Path) -> Result<Self, BisectError> {
        let error = |message: String| BisectError::Config {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        toml::from_str(&text).map_err(|e| error(e.to_string()))
    }
}

/// What one step found, as `git bisect run` wants it in the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Within the threshold of GOOD, or moved the other way: exit 0.
    Good,
    /// Moved past the threshold the way BAD did: exit 1.
    Bad,
    /// Does not build, or has no such benchmark: exit 125.
    Skip,
}

impl Step {
    /// The exit code `git bisect run` reads.
    pub fn exit_code(self) -> u8 {
        match self {
            Step::Good => 0,
            Step::Bad => 1,
            Step::Skip => 125,
        }
    }
}

/// Builds and runs only `id` in `workspace`, as `template` says; its Ir, or `None`
/// when the build fails or the benchmark is not there (a commit to skip).
pub fn measure(
    workspace: &Path,
    template: &BenchOptions,
    id: &BenchId,
) -> Result<Option<u64>, BisectError> {
    let suite = id.suite();
    let options = BenchOptions {
        workspace: workspace.to_owned(),
        packages: vec![suite.package.clone()],
        benches: vec![suite.bench.clone()],
        filter: Some(id.key_in_suite()),
        ..template.clone()
    };
    let here = || workspace.display().to_string();
    let outcome = match bench::run(&options) {
        Ok(o) => o,
        Err(BenchError::Build(_) | BenchError::NoSuite(_)) => return Ok(None),
        Err(e) => {
            return Err(BisectError::Measure {
                commit: here(),
                message: e.to_string(),
            })
        }
    };
    let run = read_paths(
        std::slice::from_ref(&options.out),
        outcome.environment,
        &ReadOptions::default(),
    )
    .map_err(|e| BisectError::Measure {
        commit: here(),
        message: e.to_string(),
    })?;
    Ok(run
        .benchmarks
        .get(id)
        .and_then(|r| r.metrics.get(Metrics::IR)))
}

/// Runs one step in the current directory (the checkout `git bisect` made).
pub fn step(config: &StepConfig) -> Result<Step, BisectError> {
    let id: BenchId = config.bench.parse().map_err(|e| BisectError::Config {
        path: config.record.clone(),
        message: format!("bench {:?}: {e}", config.bench),
    })?;
    let here = std::env::current_dir().map_err(|e| BisectError::Measure {
        commit: "the step's directory".into(),
        message: e.to_string(),
    })?;
    let template = BenchOptions {
        out: config.out.clone(),
        runner: config.runner.clone(),
        valgrind: config.valgrind.clone(),
        glibc_tunables: config.glibc_tunables.clone(),
        no_preload: config.no_preload,
        cache_sim: config.cache_sim,
        locked: config.locked,
        cache_dir: config.cache_dir.clone(),
        ..BenchOptions::default()
    };
    let Some(value) = measure(&here.join(&config.workspace_rel), &template, &id)? else {
        return Ok(Step::Skip);
    };
    let commit = worktree::git(&here, &["rev-parse", "HEAD"])?;
    let line = format!("{commit} {value}\n");
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.record)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| BisectError::Config {
            path: config.record.clone(),
            message: e.to_string(),
        })?;
    let rule = Rule {
        threshold_pct: config.threshold_pct,
        floor: config.floor,
        on_regression: crate::policy::Action::Fail,
    };
    Ok(
        if classify(config.good_value, value, &rule) == config.direction {
            Step::Bad
        } else {
            Step::Good
        },
    )
}

/// Finds the first commit between `options.good` and `options.bad` where the
/// benchmark moved past its threshold, as the module documentation describes.
pub fn bisect(options: &BisectOptions) -> Result<BisectOutcome, BisectError> {
    let top = worktree::toplevel(&options.workspace)?;
    let rel = worktree::relative_to(&options.workspace, &top);
    let good_commit = worktree::resolve(&top, &options.good)?;
    let bad_commit = worktree::resolve(&top, &options.bad)?;
    let out = &options.template.out;
    std::fs::create_dir_all(out).map_err(|e| BisectError::Config {
        path: out.clone(),
        message: e.to_string(),
    })?;
    let out = out.canonicalize().map_err(|e| BisectError::Config {
        path: out.clone(),
        message: e.to_string(),
    })?;
    // Every measurement, GOOD's and BAD's and each step's, goes to the same run
    // directory, which holds one run at a time.
    let template = BenchOptions {
        out: out.join("run"),
        ..options.template.clone()
    };
    let tree = Worktree::add(&top, &bad_commit)?;
    let ws = tree.path().join(&rel);
    let id = &options.bench;
    let absent = |rev: &str| BisectError::Measure {
        commit: rev.to_owned(),
        message: format!("{id} does not build or is not a benchmark there"),
    };
    let bad_value = measure(&ws, &template, id)?.ok_or_else(|| absent(&options.bad))?;
    worktree::git(tree.path(), &["checkout", "-q", "--detach", &good_commit])?;
    let good_value = measure(&ws, &template, id)?.ok_or_else(|| absent(&options.good))?;
    let direction = classify(good_value, bad_value, &options.rule);
    if !matches!(direction, Verdict::Regressed | Verdict::Improved) {
        return Err(BisectError::NothingMoved {
            bench: id.to_string(),
            good: options.good.clone(),
            bad: options.bad.clone(),
            good_value,
            bad_value,
        });
    }

    let record = out.join("bisect-values.txt");
    let _ = std::fs::remove_file(&record);
    let config = StepConfig {
        bench: id.to_string(),
        good_value,
        direction,
        threshold_pct: options.rule.threshold_pct,
        floor: options.rule.floor,
        workspace_rel: rel,
        out: template.out.clone(),
        record: record.clone(),
        runner: options.template.runner.clone(),
        valgrind: options.template.valgrind.clone(),
        glibc_tunables: options.template.glibc_tunables.clone(),
        no_preload: options.template.no_preload,
        cache_sim: options.template.cache_sim,
        locked: options.template.locked,
        cache_dir: options.template.cache_dir.clone(),
    };
    let config_path = out.join("bisect-step.toml");
    let text = toml::to_string(&config).map_err(|e| BisectError::Config {
        path: config_path.clone(),
        message: e.to_string(),
    })?;
    crate::baseline::write_atomic(&config_path, text.as_bytes()).map_err(|e| {
        BisectError::Config {
            path: config_path.clone(),
            message: e.to_string(),
        }
    })?;

    worktree::git(tree.path(), &["bisect", "start", &bad_commit, &good_commit])?;
    let (program, args) =
        options
            .step_program
            .split_first()
            .ok_or_else(|| BisectError::Config {
                path: config_path.clone(),
                message: "no step program".into(),
            })?;
    let run = Command::new("git")
        .current_dir(tree.path())
        .args(["bisect", "run", program])
        .args(args)
        .arg("--config")
        .arg(&config_path)
        .output();
    let first_bad = worktree::git(
        tree.path(),
        &["rev-parse", "--verify", "--quiet", "refs/bisect/bad"],
    )
    .ok();
    let _ = worktree::git(tree.path(), &["bisect", "reset", "--quiet"]);
    let run = run.map_err(|e| BisectError::Measure {
        commit: "git bisect run".into(),
        message: e.to_string(),
    })?;
    let said = String::from_utf8_lossy(&run.stdout).into_owned();
    let named = said.contains("is the first bad commit");
    if !run.status.success() && !named {
        return Err(BisectError::Measure {
            commit: "git bisect run".into(),
            message: format!(
                "{}{}",
                said.trim(),
                String::from_utf8_lossy(&run.stderr).trim()
            ),
        });
    }
    let values: Vec<(String, u64)> = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (c, v) = l.split_once(' ')?;
            Some((c.to_owned(), v.trim().parse().ok()?))
        })
        .collect();
    let first_bad = if named { first_bad } else { None };
    let first_bad_value = first_bad.as_ref().and_then(|f| {
        if *f == bad_commit {
            Some(bad_value)
        } else {
            values.iter().find(|(c, _)| c == f).map(|(_, v)| *v)
        }
    });
    let subject = first_bad
        .as_ref()
        .and_then(|f| worktree::git(&top, &["log", "-1", "--format=%s", f]).ok());
    Ok(BisectOutcome {
        bench: id.to_string(),
        good_commit,
        good_value,
        bad_commit,
        bad_value,
        direction,
        first_bad,
        subject,
        first_bad_value,
        measured: 2 + values.len(),
        note: (!named).then(|| said.lines().last().unwrap_or("").to_owned()),
    })
}
