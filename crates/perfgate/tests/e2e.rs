//! End to end: real Callgrind runs of the fixture bench crate → summaries → `perfgate`
//! → exit code. Needs valgrind and gungraun-runner 0.20.0 (`ci/setup` installs both);
//! fails with a clear message when they are missing. Builds into cargo's scratch
//! directory for tests (`CARGO_TARGET_TMPDIR`), keeps baselines in a temporary
//! directory, and edits no tracked file: the work the fixture does is set at build time through
//! `PERFGATE_FIXTURE_WORK`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TUNABLES: &str = "glibc.cpu.hwcaps=-ERMS";

fn fixture_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture-bench/Cargo.toml")
}

fn find_runner() -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("GUNGRAUN_RUNNER") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(PathBuf::from("gungraun-runner"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/gungraun-runner"));
    }
    for c in candidates {
        if let Ok(out) = Command::new(&c).arg("--version").output() {
            let v = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && v.contains("0.20.0") {
                return c;
            }
        }
    }
    panic!(
        "the end-to-end test needs gungraun-runner 0.20.0 (install it with \
         `cargo install gungraun-runner --version 0.20.0 --locked`, or run ci/setup)"
    );
}

fn require_valgrind() {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the end-to-end test needs valgrind on PATH (apt-get install valgrind, or run ci/setup)"
    );
}

struct Ctx {
    work: tempfile::TempDir,
    runner: PathBuf,
}

impl Ctx {
    /// The fixture's build directory: kept between test runs under cargo's
    /// per-target scratch directory so only the first run compiles Gungraun.
    fn target(&self) -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("perfgate-fixture-bench")
    }

    fn results(&self) -> PathBuf {
        self.target().join("gungraun")
    }

    /// Builds the fixture with `work` iterations and runs it under Callgrind with
    /// `GLIBC_TUNABLES=tunables`, leaving fresh summaries in `results()`.
    fn bench(&self, work: u32, tunables: &str) {
        let _ = std::fs::remove_dir_all(self.results());
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["bench", "--locked", "--bench", "fixture", "--manifest-path"])
            .arg(fixture_manifest())
            .args(["--", "--save-summary=json"])
            .env("CARGO_TARGET_DIR", self.target())
            .env("GUNGRAUN_RUNNER", &self.runner)
            .env("PERFGATE_FIXTURE_WORK", work.to_string())
            .env("GLIBC_TUNABLES", tunables)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo bench failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn perfgate(&self, args: &[&str], tunables: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_perfgate"))
            .args(args)
            .current_dir(self.work.path())
            .env("GLIBC_TUNABLES", tunables)
            .env("GUNGRAUN_RUNNER", &self.runner)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn env_file(&self, name: &str, tunables: &str) -> String {
        let path = self.work.path().join(name);
        let out = self.perfgate(&["env", "--output", path.to_str().unwrap()], tunables);
        assert!(out.status.success(), "{out:?}");
        path.to_str().unwrap().to_owned()
    }

    fn compare(&self, env_file: &str, format: &str) -> Output {
        self.perfgate(
            &[
                "compare",
                "--baselines",
                "baselines",
                "--env",
                env_file,
                "--format",
                format,
                self.results().to_str().unwrap(),
            ],
            "",
        )
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn callgrind_runs_to_exit_codes() {
    require_valgrind();
    let ctx = Ctx {
        work: tempfile::tempdir().unwrap(),
        runner: find_runner(),
    };

    // No baselines yet: fail closed with exit 2, never a pass.
    ctx.bench(10_000, TUNABLES);
    let env_a = ctx.env_file("env-a.json", TUNABLES);
    let out = ctx.compare(&env_a, "terminal");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("does not exist"), "{}", text(&out));

    // Accept, then run the same build again: identical Ir, exit 0.
    let out = ctx.perfgate(
        &[
            "accept",
            "--baselines",
            "baselines",
            "--reason",
            "end-to-end test",
            "--env",
            &env_a,
            ctx.results().to_str().unwrap(),
        ],
        TUNABLES,
    );
    assert!(out.status.success(), "{}", text(&out));
    ctx.bench(10_000, TUNABLES);
    let out = ctx.compare(&env_a, "terminal");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("perfgate passed: 0 regressed"),
        "{}",
        text(&out)
    );

    // +1% work in one benchmark: exit 1, and exactly that benchmark is named.
    ctx.bench(10_100, TUNABLES);
    let out = ctx.compare(&env_a, "json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = perfgate_core::Comparison::from_json(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let regressed: Vec<String> = c.regressions().map(|b| b.id.to_string()).collect();
    assert_eq!(regressed, ["perfgate-fixture-bench/fixture/compute/scaled"]);
    let pct = c.regressions().next().unwrap().change_pct.unwrap();
    assert!((0.9..1.1).contains(&pct), "{pct}");

    // Same build, different GLIBC_TUNABLES: the environment verdict names the field
    // (and the memcpy-heavy benchmark moves, which is why drift fails the gate).
    ctx.bench(10_000, "");
    let env_b = ctx.env_file("env-b.json", "");
    let out = ctx.compare(&env_b, "json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = perfgate_core::Comparison::from_json(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let env = c.environment.as_ref().unwrap();
    assert_eq!(env.verdict, perfgate_core::RunVerdict::EnvironmentChanged);
    let fields: Vec<&str> = env.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["glibc_tunables"]);
    assert!(c.reasons.iter().any(|r| r.contains("glibc_tunables")));
}
