//! Baselines that merge: two branches accept with the real `irgate accept` binary in a
//! real git repository, and plain `git merge` combines them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[test]
fn branches_accepting_different_benchmarks_merge_without_conflict() {
    let (_tmp, repo, scratch, env) = base();
    let old = load(&repo);
    // Sorted keys: compute/fibonacci/large, compute/fibonacci/small, compute/scaled,
    // memory/clone_64k. Branch a moves the first and third, b the second and fourth,
    // so every changed entry neighbours one the other branch changed.
    git_ok(&repo, &["checkout", "-q", "-b", "a", "main"]);
    let r = results(&scratch.join("a1"), &[("compute/scaled", 80_000)]);
    accept(&repo, &env, &r, "a: scaled", &[]); // full accept, one number moved
    let r = results(&scratch.join("a2"), &[("compute/fibonacci.large", 90_000)]);
    accept(
        &repo,
        &env,
        &r,
        "a: large",
        &["--only", "**/fibonacci/large"],
    );
    git_ok(&repo, &["commit", "-qam", "a"]);

    git_ok(&repo, &["checkout", "-q", "-b", "b", "main"]);
    let r = results(
        &scratch.join("b1"),
        &[
            ("compute/fibonacci.small", 1_234),
            ("memory/clone_64k", 99_999),
        ],
    );
    accept(&repo, &env, &r, "b: small and clone", &[]); // full accept, two moved
    git_ok(&repo, &["commit", "-qam", "b"]);
    let on_b = load(&repo);
    assert_eq!(
        on_b.benchmarks["compute/scaled"],
        old.benchmarks["compute/scaled"]
    );

    git_ok(&repo, &["checkout", "-q", "a"]);
    let merged = git(&repo, &["merge", "--no-edit", "b"]);
    assert!(merged.status.success(), "git merge: {}", text(&merged));
    let m = load(&repo);
    assert_eq!(ir(&m, "compute/scaled"), 80_000);
    assert_eq!(ir(&m, "compute/fibonacci/large"), 90_000);
    assert_eq!(ir(&m, "compute/fibonacci/small"), 1_234);
    assert_eq!(ir(&m, "memory/clone_64k"), 99_999);
    assert_eq!(reason(&m, "compute/scaled"), "a: scaled");
    assert_eq!(reason(&m, "compute/fibonacci/large"), "a: large");
    assert_eq!(reason(&m, "compute/fibonacci/small"), "b: small and clone");
    assert_eq!(reason(&m, "memory/clone_64k"), "b: small and clone");
    // The merge is exactly what one accept of both branches' numbers would write.
    let both = results(
        &scratch.join("both"),
        &[
            ("compute/scaled", 80_000),
            ("compute/fibonacci.large", 90_000),
            ("compute/fibonacci.small", 1_234),
            ("memory/clone_64k", 99_999),
        ],
    );
    let before = std::fs::read_to_string(repo.join(FILE)).unwrap();
    accept(&repo, &env, &both, "re-accept", &[]);
    assert_eq!(std::fs::read_to_string(repo.join(FILE)).unwrap(), before);
}

#[test]
fn branches_accepting_the_same_benchmark_differently_conflict_and_a_re_accept_resolves_it() {
    let (_tmp, repo, scratch, env) = base();
    git_ok(&repo, &["checkout", "-q", "-b", "a", "main"]);
    let ra = results(&scratch.join("a"), &[("compute/scaled", 80_000)]);
    accept(&repo, &env, &ra, "a: scaled", &[]);
    git_ok(&repo, &["commit", "-qam", "a"]);
    git_ok(&repo, &["checkout", "-q", "-b", "b", "main"]);
    let rb = results(&scratch.join("b"), &[("compute/scaled", 81_000)]);
    accept(&repo, &env, &rb, "b: scaled", &[]);
    git_ok(&repo, &["commit", "-qam", "b"]);

    git_ok(&repo, &["checkout", "-q", "a"]);
    let merged = git(&repo, &["merge", "--no-edit", "b"]);
    assert!(!merged.status.success(), "expected a conflict");
    assert_eq!(
        git_ok(&repo, &["diff", "--name-only", "--diff-filter=U"]),
        FILE
    );
    // The documented resolution: take one side, then accept a run of the merged
    // code on the merged tree.
    git_ok(&repo, &["checkout", "--theirs", "--", FILE]);
    let merged_run = results(&scratch.join("m"), &[("compute/scaled", 80_500)]);
    accept(&repo, &env, &merged_run, "merged a and b", &[]);
    git_ok(&repo, &["add", FILE]);
    git_ok(&repo, &["commit", "-qm", "merge b"]);
    let m = load(&repo);
    assert_eq!(ir(&m, "compute/scaled"), 80_500);
    assert_eq!(reason(&m, "compute/scaled"), "merged a and b");
    assert_eq!(reason(&m, "memory/clone_64k"), "first baselines");
}
