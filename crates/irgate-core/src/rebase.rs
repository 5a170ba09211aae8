//! Drift split from code: `irgate compare --rebase-on-drift BASE_REV`.
//!
//! When the environment changed (a pull request bumps rustc, or the tunables) and
//! counts moved, comparing the run with the baselines cannot tell which of the two
//! moved them. Rebasing does: it checks BASE_REV out in a temporary git worktree,
//! builds and runs its benchmarks the way the head run was made (the `[command]` of
//! its `run.toml`, and the head's `GLIBC_TUNABLES`), and splits each benchmark's
//! change into
//!
//! - the environment's share: BASE_REV's numbers in the current environment against
//!   the baselines (BASE_REV in the old one);
//! - the code's share: the head run against BASE_REV's numbers, both in the current
//!   environment.
//!
//! Only the code's share is judged against the thresholds. The cost is one more build
//! and run of the selected benchmarks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::{self, AcceptOptions, BaselineSet, Provenance, RunProfiles};
use crate::bench::{self, BenchOptions, RunFacts};
use crate::model::{Metrics, Run};
use crate::read::{read_paths_with_files, ReadOptions};
use crate::worktree;

/// Why a rebase could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RebaseError {
    /// The head run does not say how it was made.
    #[error("{0}")]
    NoCommand(String),
    /// A git command failed.
    #[error(transparent)]
    Git(worktree::GitError),
    /// Building or running BASE_REV's benchmarks failed.
    #[error("running the benchmarks of {rev}: {message}")]
    Bench {
        /// The revision.
        rev: String,
        /// What went wrong.
        message: String,
    },
}

/// The split, as the comparison carries it (`rebase` in its JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftSplit {
    /// BASE_REV as given.
    pub base_rev: String,
    /// The commit it resolved to.
    pub base_commit: String,
    /// The metric split.
    pub metric: String,
    /// One row per benchmark measured at BASE_REV now, by id.
    pub benchmarks: Vec<SplitEntry>,
}

/// One benchmark's change, split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitEntry {
    /// The benchmark id.
    pub id: String,
    /// Its baseline (BASE_REV in the old environment), when it has one.
    pub baseline: Option<u64>,
    /// BASE_REV in the current environment.
    pub base_now: u64,
    /// The head in the current environment, when the head run has it.
    pub head_now: Option<u64>,
    /// The environment's share: `base_now` against `baseline`, percent.
    pub environment_pct: Option<f64>,
    /// The code's share: `head_now` against `base_now`, percent.
    pub code_pct: Option<f64>,
}

impl DriftSplit {
    /// The benchmarks whose count moved with the environment or with the code, the
    /// largest move first.
    pub fn moved(&self) -> Vec<&SplitEntry> {
        let size = |b: &SplitEntry| {
            b.environment_pct.unwrap_or(0.0).abs() + b.code_pct.unwrap_or(0.0).abs()
        };
        let mut moved: Vec<&SplitEntry> = self
            .benchmarks
            .iter()
            .filter(|b| {
                b.baseline.is_some_and(|v| v != b.base_now)
                    || b.head_now.is_some_and(|v| v != b.base_now)
            })
            .collect();
        moved.sort_by(|a, b| size(b).total_cmp(&size(a)).then_with(|| a.id.cmp(&b.id)));
        moved
    }
}

/// The head run's `[command]`: how to make another run like it.
pub fn head_command(run_dirs: &[PathBuf]) -> Result<bench::RunCommand, RebaseError> {
    let first = run_dirs
        .first()
        .ok_or_else(|| RebaseError::NoCommand("no run directory given".into()))?;
    let facts = RunFacts::load(first)
        .map_err(RebaseError::NoCommand)?
        .ok_or_else(|| {
            RebaseError::NoCommand(format!(
                "{} is not a run directory of `irgate bench` (no run.toml): --rebase-on-drift reruns the base the way the head run was made",
                first.display()
            ))
        })?;
    facts.command.ok_or_else(|| {
        RebaseError::NoCommand(format!(
            "{}: run.toml has no [command] table (a run of an older irgate): run `irgate bench` again",
            first.join("run.toml").display()
        ))
    })
}

/// The base revision, run in the current environment.
#[derive(Debug, Clone)]
pub struct BaseRun {
    /// The commit.
    pub commit: String,
    /// Its run.
    pub run: Run,
    /// The per-function profiles of its benchmarks (every function kept).
    pub profiles: RunProfiles,
}

/// Builds and runs `rev`'s benchmarks as `command` says, in a temporary worktree of
/// the repository holding `command.workspace`, with `GLIBC_TUNABLES` set to
/// `tunables`, into `out`.
pub fn run_at(
    rev: &str,
    command: &bench::RunCommand,
    tunables: Option<&str>,
    out: &Path,
) -> Result<BaseRun, RebaseError> {
    let top = worktree::toplevel(&command.workspace).map_err(RebaseError::Git)?;
    let commit = worktree::resolve(&top, rev).map_err(RebaseError::Git)?;
    let tree = worktree::Worktree::add(&top, &commit).map_err(RebaseError::Git)?;
    let rel = worktree::relative_to(&command.workspace, &top);
    let options = BenchOptions {
        workspace: tree.path().join(rel),
        packages: command.packages.clone(),
        benches: command.benches.clone(),
        filter: (!command.filter.is_empty()).then(|| command.filter.clone()),
        out: out.to_owned(),
        runner: Some(command.runner.clone()),
        valgrind: command.valgrind.clone(),
        glibc_tunables: tunables.map(str::to_owned),
        no_preload: command.no_preload,
        cache_sim: command.cache_sim,
        locked: command.locked,
        harness_args: command.harness_args.clone(),
        ..BenchOptions::default()
    };
    let outcome = bench::run(&options).map_err(|e| RebaseError::Bench {
        rev: rev.to_owned(),
        message: e.to_string(),
    })?;
    let (run, files) = read_paths_with_files(
        &[out.to_owned()],
        outcome.environment,
        &ReadOptions {
            repo_root: tree.path().canonicalize().ok(),
        },
    )
    .map_err(|e| RebaseError::Bench {
        rev: rev.to_owned(),
        message: e.to_string(),
    })?;
    // The profiles of REV's run, for the "why" of the code's share; a benchmark
    // whose outputs do not read is judged on its total, unexplained.
    let by_bench = files
        .into_iter()
        .filter_map(|(id, file)| match crate::why::run_profile_beside(&file) {
            Some(Ok(p)) => Some((id, p)),
            _ => None,
        })
        .collect();
    drop(tree);
    Ok(BaseRun {
        commit,
        run,
        profiles: RunProfiles {
            top: usize::MAX,
            by_bench,
        },
    })
}

/// `run` as baselines, in memory, with `profiles` beside them: the reference the
/// head is judged against (and explained with).
pub fn as_baselines(
    run: &Run,
    commit: &str,
    profiles: Option<&RunProfiles>,
) -> Result<BaselineSet, baseline::BaselineError> {
    let provenance = Provenance {
        commit: commit.to_owned(),
        accepted_at: baseline::now_rfc3339(),
        accepted_by: "irgate --rebase-on-drift".into(),
        reason: "the base revision, run in the current environment".into(),
    };
    let metrics: Vec<String> = run
        .benchmarks
        .values()
        .flat_map(|r| r.metrics.0.keys().cloned())
        .collect();
    let plan = baseline::plan_accept(
        &BaselineSet::default(),
        run,
        &AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
            profiles,
        },
    )?;
    BaselineSet::default().with_planned(&plan)
}

/// Splits each benchmark of `base_now` into the environment's and the code's share.
pub fn split(
    base_rev: &str,
    base_commit: &str,
    baselines: &BaselineSet,
    base_now: &Run,
    head: &Run,
) -> DriftSplit {
    let pct =
        |new: u64, old: u64| (old > 0).then(|| (new as f64 - old as f64) / old as f64 * 100.0);
    let stored: std::collections::BTreeMap<_, _> = baselines.entries().collect();
    let benchmarks = base_now
        .benchmarks
        .iter()
        .filter_map(|(id, r)| {
            let base_now = r.metrics.ir()?;
            let baseline = stored.get(id).and_then(|m: &&Metrics| m.ir());
            let head_now = head.benchmarks.get(id).and_then(|h| h.metrics.ir());
            Some(SplitEntry {
                id: id.to_string(),
                baseline,
                base_now,
                head_now,
                environment_pct: baseline.and_then(|b| pct(base_now, b)),
                code_pct: head_now.and_then(|h| pct(h, base_now)),
            })
        })
        .collect();
    DriftSplit {
        base_rev: base_rev.to_owned(),
        base_commit: base_commit.to_owned(),
        metric: Metrics::IR.to_owned(),
        benchmarks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BenchId, BenchResult};

    fn run(values: &[(&str, u64)]) -> Run {
        let mut r = Run::default();
        for (id, ir) in values {
            let mut m = Metrics::default();
            m.insert(Metrics::IR, *ir);
            r.benchmarks.insert(
                id.parse::<BenchId>().unwrap(),
                BenchResult {
                    metrics: m,
                    source_file: None,
                },
            );
        }
        r
    }

    #[test]
    fn each_change_goes_to_the_environment_or_the_code() {
        let then = run(&[
            ("p/b/g/env", 1000),
            ("p/b/g/code", 1000),
            ("p/b/g/still", 50),
        ]);
        let stored = as_baselines(&then, "abc", None).unwrap();
        let base_now = run(&[
            ("p/b/g/env", 1100),
            ("p/b/g/code", 1000),
            ("p/b/g/still", 50),
        ]);
        let head = run(&[
            ("p/b/g/env", 1100),
            ("p/b/g/code", 1030),
            ("p/b/g/still", 50),
            ("p/b/g/added", 9),
        ]);
        let s = split("main", "abc", &stored, &base_now, &head);
        assert_eq!(s.benchmarks.len(), 3, "only what the base has: {s:?}");
        let moved: Vec<(&str, Option<f64>, Option<f64>)> = s
            .moved()
            .iter()
            .map(|b| (b.id.as_str(), b.environment_pct, b.code_pct))
            .collect();
        assert_eq!(
            moved,
            [
                ("p/b/g/env", Some(10.0), Some(0.0)),
                ("p/b/g/code", Some(0.0), Some(3.0)),
            ]
        );
    }

    #[test]
    fn a_benchmark_without_a_baseline_or_a_head_value_has_no_share_there() {
        let stored = as_baselines(&run(&[]), "abc", None).unwrap_or_default();
        let s = split("main", "abc", &stored, &run(&[("p/b/g/f", 10)]), &run(&[]));
        let b = &s.benchmarks[0];
        assert_eq!((b.baseline, b.head_now), (None, None));
        assert_eq!((b.environment_pct, b.code_pct), (None, None));
        assert!(s.moved().is_empty());
    }

    #[test]
    fn a_run_without_a_command_table_is_refused_with_the_reason() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("run.toml"), "benchmarks = 3\n").unwrap();
        let e = head_command(&[t.path().to_owned()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("run.toml") && e.contains("[command]"), "{e}");
        let e = head_command(&[t.path().join("nowhere")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a run directory"), "{e}");
    }
}
