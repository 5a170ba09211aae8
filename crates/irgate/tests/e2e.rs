//! End to end: `irgate bench` runs the fixture bench crate (its own workspace, outside
//! this one) under real Callgrind, pinned → run directory → `irgate compare` / `accept`
//! → exit code. Needs valgrind, a C compiler and gungraun-runner 0.20.0 (`ci/setup`
//! installs them); fails with a clear message when they are missing. Builds into
//! cargo's scratch directory for tests (`CARGO_TARGET_TMPDIR`), keeps baselines in a
//! temporary directory, and edits no tracked file: the work the fixture does is set at
//! build time through `IRGATE_FIXTURE_WORK`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{fixture_dir, fixture_runner as runner, require_tools};

struct Ctx {
    work: tempfile::TempDir,
}

impl Ctx {
    /// The fixture's build directory: kept between test runs under cargo's
    /// per-target scratch directory so only the first run compiles Gungraun.
    fn target(&self) -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("irgate-fixture-bench")
    }

    fn run_dir(&self) -> PathBuf {
        self.work.path().join("run")
    }

    fn irgate(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(args)
            .current_dir(self.work.path())
            .env("NO_COLOR", "1")
            .env("CARGO_TARGET_DIR", self.target())
            .env("IRGATE_CACHE_DIR", self.target().join("irgate-cache"))
            .output()
            .unwrap()
    }

    /// `irgate bench` of the fixture with `work` iterations and `extra` arguments.
    fn bench(&self, work: u32, extra: &[&str]) -> Output {
        self.bench_with(work, extra, &[])
    }

    /// [`Ctx::bench`] with extra environment variables.
    fn bench_with(&self, work: u32, extra: &[&str], env: &[(&str, &str)]) -> Output {
        self.bench_into(&self.run_dir(), work, extra, env)
    }

    /// [`Ctx::bench_with`] into the run directory `run`.
    fn bench_into(&self, run: &Path, work: u32, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let fixture = fixture_dir();
        let mut args = vec![
            "bench",
            "--locked",
            "--workspace",
            fixture.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ];
        if !extra.contains(&"--runner") {
            args.extend(["--runner", runner()]);
        }
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(&args)
            .current_dir(self.work.path())
            .env("CARGO_TARGET_DIR", self.target())
            .env("IRGATE_CACHE_DIR", self.target().join("irgate-cache"))
            .env("IRGATE_FIXTURE_WORK", work.to_string())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "irgate bench failed:\n{}", text(&out));
        out
    }

    fn compare(&self, format: &str, extra: &[&str]) -> Output {
        let run = self.run_dir();
        let mut args = vec!["compare", "--baselines", "baselines", "--format", format];
        args.extend_from_slice(extra);
        args.push(run.to_str().unwrap());
        self.irgate(&args)
    }

    fn environment(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.run_dir().join("environment.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn set_environment(&self, v: &serde_json::Value) {
        std::fs::write(
            self.run_dir().join("environment.json"),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn comparison(o: &Output) -> irgate_core::Comparison {
    irgate_core::Comparison::from_json(&String::from_utf8_lossy(&o.stdout))
        .unwrap_or_else(|e| panic!("{e}\n{}", text(o)))
}

#[test]
fn bench_then_compare_to_exit_codes() {
    require_tools();
    let ctx = Ctx {
        work: tempfile::tempdir().unwrap(),
    };

    // A pinned run of a crate outside this workspace; its fingerprint is complete.
    let out = ctx.bench(10_000, &[]);
    assert!(
        text(&out).contains("[5/5] irgate-fixture-bench/fixture/"),
        "{}",
        text(&out)
    );
    let env = ctx.environment();
    assert_eq!(env["runner"], "gungraun-runner 0.20.0");
    assert_eq!(
        env["extra"]["preload"],
        "fixed_entropy (getrandom, time, clock_gettime)"
    );
    assert_eq!(env["extra"]["exec_dir"], "/tmp/irgate");
    let tunables = env["glibc_tunables"].as_str().unwrap().to_owned();
    assert!(tunables.contains("glibc.cpu.hwcaps=-"), "{tunables}");
    let canary = env["canary"].as_object().unwrap();
    assert!(
        canary.contains_key("memcpy") && canary.contains_key("hashmap"),
        "{canary:?}"
    );

    // No baselines yet: fail closed with exit 2, never a pass.
    let out = ctx.compare("terminal", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("does not exist"), "{}", text(&out));

    // Accept, then run the same build again: identical Ir and canary, exit 0.
    let run = ctx.run_dir();
    let out = ctx.irgate(&[
        "accept",
        "--baselines",
        "baselines",
        "--reason",
        "end-to-end test",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    ctx.bench(10_000, &[]);
    assert_eq!(
        ctx.environment()["canary"],
        env["canary"],
        "the canary repeats"
    );
    let out = ctx.compare("terminal", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("irgate passed: 0 regressed"),
        "{}",
        text(&out)
    );

    // Another CPU whose extra features the tunables switch off: informational only.
    let mut other_cpu = ctx.environment();
    other_cpu["cpu_model"] = "Some Other CPU".into();
    other_cpu["cpu_flags"] = "avx avx2 bmi1 bmi2 erms movbe popcnt sse2 sse4_1 sse4_2 ssse3".into();
    ctx.set_environment(&other_cpu);
    let out = ctx.compare("json", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = comparison(&out);
    let e = c.environment.as_ref().unwrap();
    assert_eq!(e.verdict, irgate_core::RunVerdict::Consistent, "{e:?}");
    assert!(
        c.notes.iter().any(|n| n.contains("informational")),
        "{:?}",
        c.notes
    );

    // An edited canary is drift; with no count moved the gate passes with a note...
    let mut edited = ctx.environment();
    edited["canary"]["memcpy"] = (edited["canary"]["memcpy"].as_u64().unwrap() * 103 / 100).into();
    ctx.set_environment(&edited);
    let out = ctx.compare("json", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = comparison(&out);
    assert_eq!(
        c.environment.as_ref().unwrap().verdict,
        irgate_core::RunVerdict::EnvironmentChanged
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("canary") && n.contains("no count moved")),
        "{:?}",
        c.notes
    );
    // ...and fails without the evidence rule.
    std::fs::write(
        ctx.work.path().join("strict.toml"),
        "drift_evidence = false\n",
    )
    .unwrap();
    let out = ctx.compare("json", &["--policy", "strict.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(comparison(&out)
        .reasons
        .iter()
        .any(|r| r.contains("canary")));

    // +1% work in one benchmark: exit 1, and exactly that benchmark is named.
    ctx.bench(10_100, &[]);
    let out = ctx.compare("json", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = comparison(&out);
    let regressed: Vec<String> = c.regressions().map(|b| b.id.to_string()).collect();
    assert_eq!(regressed, ["irgate-fixture-bench/fixture/compute/scaled"]);
    let pct = c.regressions().next().unwrap().change_pct.unwrap();
    assert!((0.9..1.1).contains(&pct), "{pct}");
    assert!(c.environment.as_ref().unwrap().changes.is_empty());

    // No C compiler for the preload: a warning and an unpinned run recorded as such,
    // never a silent pinned claim.
    let cache = ctx.work.path().join("empty-cache");
    let cache = cache.to_str().unwrap();
    let out = ctx.bench_with(10_000, &["--cache-dir", cache], &[("CC", "/bin/false")]);
    assert!(text(&out).contains("running UNPINNED"), "{}", text(&out));
    assert_eq!(
        ctx.environment()["extra"]["preload"],
        "none (could not be built)"
    );
    // The preload reaches the measured process: without it the clock is real, and
    // `entropy/clock` loops 10,000 times instead of none.
    let out = ctx.compare("json", &[]);
    let c = comparison(&out);
    let clock = c
        .benchmarks
        .iter()
        .find(|b| b.id.to_string().ends_with("entropy/clock"))
        .unwrap();
    assert!(
        clock.change_pct.unwrap() > 100.0,
        "the unpinned clock should cost far more: {clock:?}"
    );
    let others_moved = c
        .benchmarks
        .iter()
        .filter(|b| b.verdict != irgate_core::Verdict::Unchanged)
        .count();
    assert_eq!(
        others_moved, 1,
        "only the clock benchmark depends on the preload: {:?}",
        c.benchmarks
    );

    // Same build, no tunables: drift in glibc_tunables and the canary, and the
    // memcpy-heavy benchmark moves, so the gate fails on drift with evidence.
    ctx.bench(10_000, &["--glibc-tunables", ""]);
    let out = ctx.compare("json", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = comparison(&out);
    let env = c.environment.as_ref().unwrap();
    assert_eq!(env.verdict, irgate_core::RunVerdict::EnvironmentChanged);
    let fields: Vec<&str> = env.changes.iter().map(|c| c.field.as_str()).collect();
    assert!(fields.contains(&"glibc_tunables"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("canary.")),
        "{fields:?}"
    );
    assert!(
        c.reasons
            .iter()
            .any(|r| r.contains("glibc_tunables") && r.contains("moved")),
        "{:?}",
        c.reasons
    );
    assert!(
        c.benchmarks
            .iter()
            .any(|b| b.id.to_string().ends_with("memory/clone_64k")
                && b.verdict != irgate_core::Verdict::Unchanged),
        "{:?}",
        c.benchmarks
    );
}

/// The benchmarks' comparison rows without the run-specific parts: id, verdict, Ir.
fn rows(c: &irgate_core::Comparison) -> Vec<(String, String, Option<f64>)> {
    let mut r: Vec<_> = c
        .benchmarks
        .iter()
        .map(|b| (b.id.to_string(), format!("{:?}", b.verdict), b.change_pct))
        .collect();
    r.sort_by(|a, b| a.0.cmp(&b.0));
    r
}

#[test]
fn four_shards_judge_as_one_run() {
    require_tools();
    let ctx = Ctx {
        work: tempfile::tempdir().unwrap(),
    };
    ctx.bench(10_000, &[]);
    let run = ctx.run_dir();
    let out = ctx.irgate(&[
        "accept",
        "--baselines",
        "baselines",
        "--reason",
        "shard test",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let whole = ctx.compare("json", &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));
    let whole = comparison(&whole);
    assert_eq!(whole.benchmarks.len(), 5);

    // Four shards, two run side by side in each: together the same benchmarks, each
    // once, with the same counts.
    let mut dirs = Vec::new();
    let mut held = 0;
    for k in 1..=4 {
        let dir = ctx.work.path().join(format!("shard-{k}"));
        let shard = format!("{k}/4");
        let out = ctx.bench_into(&dir, 10_000, &["--shard", &shard, "--jobs", "2"], &[]);
        let facts = std::fs::read_to_string(dir.join("run.toml")).unwrap();
        assert!(facts.contains(&format!("shard = \"{shard}\"")), "{facts}");
        let n: usize = facts
            .lines()
            .find_map(|l| l.strip_prefix("benchmarks = "))
            .unwrap()
            .parse()
            .unwrap();
        if n == 0 {
            assert!(text(&out).contains("holds no benchmark"), "{}", text(&out));
        }
        held += n;
        dirs.push(dir.to_str().unwrap().to_owned());
    }
    assert_eq!(held, 5, "the shards hold every benchmark exactly once");
    let mut args = vec!["compare", "--baselines", "baselines", "--format", "json"];
    args.extend(dirs.iter().map(String::as_str));
    let sharded = ctx.irgate(&args);
    assert_eq!(sharded.status.code(), Some(0), "{}", text(&sharded));
    assert_eq!(rows(&comparison(&sharded)), rows(&whole));

    // A shard given twice is a duplicate, never a silent merge.
    let mut twice = args.clone();
    twice.push(
        dirs.iter()
            .find(|d| Path::new(d).join("gungraun").exists())
            .unwrap(),
    );
    let out = ctx.irgate(&twice);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Shards whose fingerprints differ (here: other tunables) cannot be judged as one.
    let other = Path::new(&dirs[3]).join("environment.json");
    let mut env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    env["glibc_tunables"] = "".into();
    std::fs::write(&other, serde_json::to_string(&env).unwrap()).unwrap();
    let out = ctx.irgate(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("different environments") && text(&out).contains("glibc_tunables"),
        "{}",
        text(&out)
    );

    // A malformed shard is refused before anything runs.
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(["bench", "--shard", "5/4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("1 <= K <= N"), "{}", text(&out));
}

#[test]
fn bench_refuses_a_bad_runner_with_exit_2() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let fixture = fixture_dir();
    let missing = work.path().join("gungraun-runner");
    // `irgate bench` of the fixture with one more option and its value.
    let bench_with = |option: &str, value: &Path| {
        Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(["bench", "--workspace", fixture.to_str().unwrap(), option])
            .arg(value)
            .current_dir(work.path())
            .output()
            .unwrap()
    };
    let out = bench_with("--runner", &missing);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no such file"), "{}", text(&out));
    assert!(
        text(&out).contains("cargo install gungraun-runner --version 0.20.0"),
        "{}",
        text(&out)
    );

    // A runner at another version than the library.
    let fake = work.path().join("bin/gungraun-runner");
    std::fs::create_dir_all(fake.parent().unwrap()).unwrap();
    std::fs::write(&fake, "#!/bin/sh\necho gungraun-runner 0.19.0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = bench_with("--runner", &fake);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("0.19.0") && text(&out).contains("must match"),
        "{}",
        text(&out)
    );

    // No valgrind.
    let out = bench_with("--valgrind", &work.path().join("no-valgrind"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("install valgrind"), "{}", text(&out));
}
