//! `irgate bisect`, end to end under real Callgrind: a copy of the fixture bench
//! crate in its own git repository, with six commits of which one (the third) makes
//! `compute/scaled` do 4% more work and the others change nothing it measures.
//! Bisecting from the first to the last must name the third, with its count; a
//! range in which nothing moved is refused; a benchmark id that is not one is an
//! error that says so; and the user's checkout is left as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{
    commit_fixture_work, fixture_irgate as irgate, fixture_repo, fixture_runner, git_ok,
    require_tools, text,
};

const SCALED: &str = "irgate-fixture-bench/fixture/compute/scaled";

fn commit_note(repo: &Path, n: usize) -> String {
    std::fs::write(repo.join("NOTES"), format!("note {n}\n")).unwrap();
    git_ok(repo, &["add", "NOTES"]);
    git_ok(repo, &["commit", "-qm", &format!("note {n}")]);
    git_ok(repo, &["rev-parse", "HEAD"])
}

#[test]
fn bisect_names_the_commit_that_moved_the_count() {
    require_tools();
    let tmp = tempfile::tempdir().unwrap();
    let (repo, good) = fixture_repo(tmp.path(), "start");
    commit_note(&repo, 1);
    // The culprit: 4% more work in compute/scaled.
    let culprit = commit_fixture_work(&repo, 10_400, "more work");
    for n in 2..5 {
        commit_note(&repo, n);
    }
    let bad = git_ok(&repo, &["rev-parse", "HEAD"]);
    let status_before = git_ok(&repo, &["status", "--porcelain"]);
    let out_dir = tmp.path().join("bisect");
    let args = |good: &str, bad: &str, bench: &str| -> Vec<String> {
        [
            "bisect",
            good,
            bad,
            "--bench",
            bench,
            "--workspace",
            repo.to_str().unwrap(),
            "--runner",
            fixture_runner(),
            "--locked",
            "--out",
            out_dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        irgate(&repo, &refs)
    };

    let o = run(args(&good, &bad, SCALED));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    println!("{stdout}");
    assert!(
        stdout.contains(&format!("first bad commit: {culprit} more work")),
        "{stdout}"
    );
    assert!(stdout.contains("(+4.00% against good)"), "{stdout}");

    // JSON, and a range in which the benchmark did not move.
    let mut a = args(&good, &bad, SCALED);
    a.push("--json".into());
    let o = run(a);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["first_bad"], culprit.as_str());
    assert_eq!(v["direction"], "regressed");
    let o = run(args(&culprit, &bad, SCALED));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing to bisect"), "{}", text(&o));

    // A benchmark that is not one.
    let o = run(args(
        &good,
        &bad,
        "irgate-fixture-bench/fixture/compute/nope",
    ));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("compute/nope"), "{}", text(&o));

    // The user's checkout: same commit, same files, no bisect or worktree left.
    assert_eq!(git_ok(&repo, &["rev-parse", "HEAD"]), bad);
    assert_eq!(git_ok(&repo, &["status", "--porcelain"]), status_before);
    assert_eq!(git_ok(&repo, &["worktree", "list"]).lines().count(), 1);
    assert!(!repo.join(".git/BISECT_LOG").exists());
}
