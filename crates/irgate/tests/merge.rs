//! Baselines that merge: two branches accept with the real `irgate accept` binary in a
//! real git repository, and plain `git merge` combines them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use irgate_core::Baseline;

/// The baseline file of the fixture suite, relative to the repository.
const FILE: &str = "baselines/irgate-fixture-bench/fixture.toml";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../irgate-core/tests/fixtures/v7")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `git <args>` in `repo`, isolated from the user's and the system's configuration.
fn git(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap()
}

fn git_ok(repo: &Path, args: &[&str]) -> String {
    let out = git(repo, args);
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A copy of the v7 results in `dir` with the Ir of each `(benchmark dir, Ir)` set.
fn results(dir: &Path, ir: &[(&str, u64)]) -> PathBuf {
    let root = dir.join("results");
    let suite = root.join("irgate-fixture-bench/fixture");
    for (group, case) in [
        ("compute", "fibonacci.large"),
        ("compute", "fibonacci.small"),
        ("compute", "scaled"),
        ("memory", "clone_64k"),
    ] {
        let rel = format!("{group}/{case}");
        let src = fixtures().join("irgate-fixture-bench/fixture").join(&rel);
        let mut json = std::fs::read_to_string(src.join("summary.json")).unwrap();
        if let Some((_, n)) = ir.iter().find(|(d, _)| *d == rel) {
            json = set_new_ir(&json, *n);
        }
        std::fs::create_dir_all(suite.join(&rel)).unwrap();
        std::fs::write(suite.join(&rel).join("summary.json"), json).unwrap();
    }
    root
}

/// Sets every new Ir value of a Gungraun summary to `ir`.
fn set_new_ir(json: &str, ir: u64) -> String {
    let (marker, value) = ("\"Ir\":{\"change\":", "\"values\":{\"new\":");
    let mut out = String::new();
    let mut rest = json;
    let mut n = 0;
    while let Some(i) = rest.find(marker) {
        let j = i + rest[i..].find(value).unwrap() + value.len();
        let digits = rest[j..].find(|c: char| !c.is_ascii_digit()).unwrap();
        out.push_str(&rest[..j]);
        out.push_str(&ir.to_string());
        rest = &rest[j + digits..];
        n += 1;
    }
    out.push_str(rest);
    assert!(n > 0, "no Ir in the summary");
    out
}

/// `irgate accept` in `repo` from `results`, with `extra` arguments; the commit is
/// the repository's HEAD.
fn accept(repo: &Path, env: &Path, results: &Path, reason: &str, extra: &[&str]) {
    let mut args = vec![
        "accept",
        "--reason",
        reason,
        "--accepted-by",
        "tester",
        "--env",
        env.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(results.to_str().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(&args)
        .current_dir(repo)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_SHA")
        .env_remove("GITHUB_ACTOR")
        .output()
        .unwrap();
    assert!(out.status.success(), "irgate {args:?}: {}", text(&out));
}

fn ir(b: &Baseline, key: &str) -> u64 {
    b.benchmarks[key].metrics.ir().unwrap()
}

fn reason<'a>(b: &'a Baseline, key: &str) -> &'a str {
    &b.benchmarks[key].provenance.reason
}

/// A repository whose `main` holds baselines accepted from the v7 results, plus a
/// scratch directory (results, environment) outside it.
fn base() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let env = scratch.join("env.json");
    std::fs::write(&env, "{\"glibc_tunables\": \"glibc.cpu.hwcaps=-ERMS\"}").unwrap();
    git_ok(&repo, &["init", "-q"]);
    git_ok(&repo, &["checkout", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "x\n").unwrap();
    git_ok(&repo, &["add", "."]);
    git_ok(&repo, &["commit", "-qm", "start"]);
    let r = results(&scratch.join("base"), &[]);
    accept(&repo, &env, &r, "first baselines", &[]);
    git_ok(&repo, &["add", "."]);
    git_ok(&repo, &["commit", "-qm", "baselines"]);
    (tmp, repo, scratch, env)
}

fn load(repo: &Path) -> Baseline {
    let text = std::fs::read_to_string(repo.join(FILE)).unwrap();
    Baseline::parse(Path::new(FILE), &text).unwrap()
}

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
