//! `irgate compare --rebase-on-drift`, end to end under real Callgrind: a copy of the
//! fixture bench crate in its own git repository, baselines accepted at the base
//! commit, then a head commit that does 3% more work in `compute/scaled`, benchmarked
//! with GLIBC_TUNABLES unset instead of pinned (so glibc picks another memcpy and
//! `memory/clone_64k` moves). The plain comparison can only say that the environment
//! changed and counts moved; the rebased one runs the base commit again in the new
//! environment and puts each move where it belongs: `clone_64k` to the environment,
//! `scaled` to the code, and judges only the code's share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{
    commit_fixture_work, fixture_irgate as irgate, fixture_repo, fixture_runner, git_ok,
    require_tools, text,
};
use irgate_core::{Comparison, RunVerdict, Verdict};

fn bench(repo: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "bench",
        "--locked",
        "--workspace",
        repo.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--runner",
        fixture_runner(),
    ];
    args.extend_from_slice(extra);
    let o = irgate(repo, &args);
    assert!(o.status.success(), "irgate bench: {}", text(&o));
}

fn entry<'a>(c: &'a Comparison, suffix: &str) -> &'a irgate_core::BenchComparison {
    c.benchmarks
        .iter()
        .find(|b| b.id.to_string().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in {:?}", c.benchmarks))
}

#[test]
fn rebase_on_drift_splits_a_tunables_change_from_a_code_change() {
    require_tools();
    let tmp = tempfile::tempdir().unwrap();
    let (repo, base) = fixture_repo(tmp.path(), "base");

    // Baselines of the base commit, pinned as usual.
    let runs = tmp.path().join("runs");
    let base_run = runs.join("base");
    bench(&repo, &base_run, &[]);
    let baselines = tmp.path().join("baselines");
    let o = irgate(
        &repo,
        &[
            "accept",
            "--baselines",
            baselines.to_str().unwrap(),
            "--reason",
            "base",
            "--commit",
            &base,
            base_run.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));

    // The head: 3% more work in compute/scaled, run with GLIBC_TUNABLES unset.
    commit_fixture_work(&repo, 10_300, "head: 3% more work");
    let head_run = runs.join("head");
    bench(&repo, &head_run, &["--glibc-tunables", ""]);

    let compare = |extra: &[&str]| {
        let mut args = vec![
            "compare",
            "--baselines",
            baselines.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        args.push(head_run.to_str().unwrap());
        let o = irgate(&repo, &args);
        let c = Comparison::from_json(&String::from_utf8_lossy(&o.stdout))
            .unwrap_or_else(|e| panic!("{e}\n{}", text(&o)));
        (o, c)
    };

    // Without drift there is nothing to split: the base run judged against its own
    // baselines passes as usual, with a note, and no worktree is made.
    let o = irgate(
        &repo,
        &[
            "compare",
            "--baselines",
            baselines.to_str().unwrap(),
            "--format",
            "json",
            "--rebase-on-drift",
            &base,
            base_run.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let same = Comparison::from_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    assert!(same.rebase.is_none());
    assert!(
        same.notes
            .iter()
            .any(|n| n.contains("the environment did not change")),
        "{:?}",
        same.notes
    );

    // Plain: the environment changed and both benchmarks moved; which moved what?
    let (o, plain) = compare(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        plain.environment.as_ref().unwrap().verdict,
        RunVerdict::EnvironmentChanged
    );
    assert_ne!(
        entry(&plain, "memory/clone_64k").verdict,
        Verdict::Unchanged
    );
    assert_eq!(entry(&plain, "compute/scaled").verdict, Verdict::Regressed);

    // Rebased on the base commit.
    let rebase_out = tmp.path().join("rebase-run");
    let started = std::time::Instant::now();
    let (o, c) = compare(&[
        "--rebase-on-drift",
        &base,
        "--rebase-out",
        rebase_out.to_str().unwrap(),
    ]);
    println!("compare --rebase-on-drift took {:?}", started.elapsed());
    assert_eq!(
        o.status.code(),
        Some(1),
        "the code's share regressed: {}",
        text(&o)
    );
    let split = c.rebase.as_ref().expect("a rebase section");
    assert_eq!(split.base_commit, base);
    let row = |suffix: &str| {
        split
            .benchmarks
            .iter()
            .find(|b| b.id.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in {split:?}"))
    };
    let clone = row("memory/clone_64k");
    assert_ne!(clone.environment_pct, Some(0.0), "{clone:?}");
    assert_eq!(clone.code_pct, Some(0.0), "{clone:?}");
    let scaled = row("compute/scaled");
    assert_eq!(scaled.environment_pct, Some(0.0), "{scaled:?}");
    let code = scaled.code_pct.unwrap();
    assert!((2.0..4.0).contains(&code), "{scaled:?}");
    // The same environment on both sides of the judged comparison.
    assert_eq!(
        c.environment.as_ref().unwrap().verdict,
        RunVerdict::Consistent,
        "{:?}",
        c.environment
    );
    assert_eq!(entry(&c, "memory/clone_64k").verdict, Verdict::Unchanged);
    let scaled_entry = entry(&c, "compute/scaled");
    assert_eq!(scaled_entry.verdict, Verdict::Regressed);
    // Explained against the base's own profile, run in this environment: the whole
    // change is the benchmark function's own (the loop is inlined into it).
    let why = scaled_entry.why.as_ref().expect("a why for the regression");
    assert_eq!(
        why.status,
        irgate_core::why::WhyStatus::Explained,
        "{why:?}"
    );
    let top = why.self_movers.first().expect("a self mover");
    assert!(top.function.ends_with("scaled"), "{why:?}");
    assert_eq!(Some(top.self_delta), scaled_entry.delta, "{why:?}");
    assert!(
        c.notes.iter().any(|n| n.contains("--rebase-on-drift")),
        "{:?}",
        c.notes
    );
    // The temporary worktree is gone.
    let worktrees = git_ok(&repo, &["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");

    // The markdown shows the split.
    let saved = tmp.path().join("rebased.json");
    std::fs::write(&saved, c.to_json()).unwrap();
    let o = irgate(
        &repo,
        &["report", saved.to_str().unwrap(), "--format", "markdown"],
    );
    let md = String::from_utf8_lossy(&o.stdout);
    println!("{md}");
    assert!(md.contains("Drift split from code"), "{md}");
    assert!(
        md.contains("clone\\_64k") || md.contains("clone_64k"),
        "{md}"
    );
}
