//! Shared by the tests that accept with the real `irgate accept` binary in a real
//! git repository (`merge.rs`, `history.rs`, `kill.rs`): the v7 fixture results with
//! chosen Ir values, isolated git, and a repository with first baselines; and by the
//! tests that run the fixture bench crate under real Callgrind (`e2e.rs`,
//! `rebase.rs`): its directory, the tools and its runner.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use irgate_core::Baseline;

/// The baseline file of the fixture suite, relative to the repository.
pub const FILE: &str = "baselines/irgate-fixture-bench/fixture.toml";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../irgate-core/tests/fixtures/v7")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `irgate <args>` in `dir`, without colour.
pub fn irgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `git <args>` in `repo`, isolated from the user's and the system's configuration.
pub fn git(repo: &Path, args: &[&str]) -> Output {
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

pub fn git_ok(repo: &Path, args: &[&str]) -> String {
    let out = git(repo, args);
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A copy of the v7 results in `dir` with the Ir of each `(benchmark dir, Ir)` set.
pub fn results(dir: &Path, ir: &[(&str, u64)]) -> PathBuf {
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
pub fn set_new_ir(json: &str, ir: u64) -> String {
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
pub fn accept(repo: &Path, env: &Path, results: &Path, reason: &str, extra: &[&str]) {
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

pub fn ir(b: &Baseline, key: &str) -> u64 {
    b.benchmarks[key].metrics.ir().unwrap()
}

pub fn reason<'a>(b: &'a Baseline, key: &str) -> &'a str {
    &b.benchmarks[key].provenance.reason
}

/// A repository whose `main` holds baselines accepted from the v7 results, plus a
/// scratch directory (results, environment) outside it.
pub fn base() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
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

pub fn load(repo: &Path) -> Baseline {
    let text = std::fs::read_to_string(repo.join(FILE)).unwrap();
    Baseline::parse(Path::new(FILE), &text).unwrap()
}

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture-bench")
}

pub fn require_tools() {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the end-to-end test needs valgrind on PATH (apt-get install valgrind, or run ci/setup)"
    );
}

/// The runner the fixture bench needs, from `irgate setup` with irgate's default cache (the
/// tests keep their own cache for the preload and canary, so they name the runner
/// explicitly). Set up once per test binary; a no-op when it is installed already.
pub fn fixture_runner() -> &'static str {
    static RUNNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUNNER.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(["setup", "--locked", "--workspace"])
            .arg(fixture_dir())
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("irgate-fixture-bench"),
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "irgate setup failed:\n{}", text(&out));
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(path.ends_with("/gungraun-runner"), "{path}");
        path
    })
}

/// The fixture bench's build directory, kept between test runs under cargo's
/// scratch directory for tests.
pub fn fixture_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("irgate-fixture-bench")
}

/// `irgate <args>` in `dir`, building the fixture into [`fixture_target`] with its
/// own irgate cache, and with the fixture's work at its default.
pub fn fixture_irgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", fixture_target())
        .env("IRGATE_CACHE_DIR", fixture_target().join("irgate-cache"))
        .env_remove("IRGATE_FIXTURE_WORK")
        .env_remove("GITHUB_SHA")
        .output()
        .unwrap()
}

/// Copies the directory tree `from` to `to`, leaving out build output (`target`),
/// git data (`.git`) and anything that is neither a file nor a directory.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// A copy of the fixture bench crate in `dir/repo`, a git repository of its own
/// with one commit, `subject`; the repository and that commit.
pub fn fixture_repo(dir: &Path, subject: &str) -> (PathBuf, String) {
    let repo = dir.join("repo");
    copy_dir(&fixture_dir(), &repo);
    git_ok(&repo, &["init", "-q"]);
    git_ok(&repo, &["add", "."]);
    git_ok(&repo, &["commit", "-qm", subject]);
    let head = git_ok(&repo, &["rev-parse", "HEAD"]);
    (repo, head)
}

/// Edits the fixture's default work (iterations of `compute/scaled`) from 10,000 to
/// `work` in `repo` and commits it as `subject`; the new commit.
pub fn commit_fixture_work(repo: &Path, work: u32, subject: &str) -> String {
    let lib = repo.join("src/lib.rs");
    let src = std::fs::read_to_string(&lib).unwrap();
    assert!(
        src.contains("None => \"10000\""),
        "the fixture's default work moved"
    );
    std::fs::write(
        &lib,
        src.replace("None => \"10000\"", &format!("None => \"{work}\"")),
    )
    .unwrap();
    git_ok(repo, &["commit", "-qam", subject]);
    git_ok(repo, &["rev-parse", "HEAD"])
}
