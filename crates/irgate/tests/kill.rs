//! `irgate accept` killed with SIGKILL at random points, 100 times: during a full
//! accept that replaces several baseline files, and during an `--only` update that
//! changes some benchmarks of every file. After each kill, every baseline file must
//! be its old version or its new one, whole and parseable, with each benchmark's
//! numbers carrying the provenance of the accept that set them; a reader must see
//! either all the old files or refuse the directory (an interrupted accept's journal);
//! and `irgate baseline recover` must leave all the old files or all the new ones.
//!
//! Two kinds of kill: at a uniformly random moment of the whole run (start-up, reading
//! the results, planning, writing), and at a random moment of the write itself (the
//! test watches for the first staged file, then waits a random part of the write's
//! measured length). The random seed is printed; `IRGATE_KILL_SEED` replays one.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, set_new_ir, text};
use irgate_core::journal::{self, JOURNAL_FILE};
use irgate_core::Baseline;

const SUITES: usize = 6;
const BENCHES: usize = 40;
const OLD_SHA: &str = "1111111111111111111111111111111111111111";
const NEW_SHA: &str = "2222222222222222222222222222222222222222";

/// A small xorshift generator: the test needs spread, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..=max`.
    fn upto(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.next() % (nanos + 1))
    }
}

/// The Ir the results give benchmark `b` of suite `s`: `old` or `new` values.
fn ir_of(s: usize, b: usize, new: bool) -> u64 {
    let base = 1_000_000 + (s as u64) * 10_000 + (b as u64) * 10;
    if new {
        base + 7
    } else {
        base
    }
}

/// Gungraun v7 results for `SUITES` bench targets of `BENCHES` benchmarks each, in
/// package `kill-pkg`; Ir new where `new(suite, bench)` says so.
fn results(dir: &Path, new: impl Fn(usize, usize) -> bool) -> PathBuf {
    let template = std::fs::read_to_string(
        fixtures().join("irgate-fixture-bench/fixture/compute/scaled/summary.json"),
    )
    .unwrap();
    let template: serde_json::Value = serde_json::from_str(&template).unwrap();
    let root = dir.join("results");
    for s in 0..SUITES {
        for b in 0..BENCHES {
            let mut v = template.clone();
            let rel = format!("kill-pkg/suite{s}/grp/f{b}");
            v["module_path"] = format!("suite{s}::grp::f{b}").into();
            v["function_name"] = format!("f{b}").into();
            v["group"] = "grp".into();
            v["output_dir"] = format!("/x/target/gungraun/{rel}").into();
            v["benchmark_file"] = format!("benches/suite{s}.rs").into();
            let json = set_new_ir(&v.to_string(), ir_of(s, b, new(s, b)));
            let d = root.join(&rel);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("summary.json"), json).unwrap();
        }
    }
    root
}

fn accept_cmd(baselines: &Path, env: &Path, results: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irgate"));
    c.arg("accept")
        .arg("--baselines")
        .arg(baselines)
        .arg("--env")
        .arg(env)
        .args(["--accepted-by", "tester"])
        .args(args)
        .arg(results)
        .env("NO_COLOR", "1")
        // The same accepted_at in every run, so every run writes the same bytes.
        .env("SOURCE_DATE_EPOCH", "1764547200")
        .env_remove("GITHUB_SHA")
        .env_remove("GITHUB_ACTOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn suite_file(s: usize) -> String {
    format!("kill-pkg/suite{s}.toml")
}

/// The baseline files' bytes, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    (0..SUITES)
        .map(|s| {
            let f = suite_file(s);
            let bytes = std::fs::read(dir.join(&f)).unwrap_or_default();
            (f, bytes)
        })
        .collect()
}

fn restore(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    let _ = std::fs::remove_dir_all(dir);
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// What one scenario starts from and ends with.
struct Scenario {
    name: &'static str,
    old: BTreeMap<String, Vec<u8>>,
    new: BTreeMap<String, Vec<u8>>,
    /// Which benchmarks the accept moves to their new numbers.
    moved: fn(usize, usize) -> bool,
    args: Vec<String>,
    results: PathBuf,
}

/// Checks one file against both versions: whole, parseable, and every benchmark's
/// provenance that of the accept whose numbers it holds.
fn check_file(sc: &Scenario, s: usize, bytes: &[u8]) -> &'static str {
    let rel = suite_file(s);
    if bytes == sc.old[&rel].as_slice() {
        return "old";
    }
    assert_eq!(
        bytes,
        sc.new[&rel].as_slice(),
        "{}: {rel} is neither the old file nor the new one",
        sc.name
    );
    let b = Baseline::parse(Path::new(&rel), std::str::from_utf8(bytes).unwrap()).unwrap();
    for n in 0..BENCHES {
        let e = &b.benchmarks[&format!("grp/f{n}")];
        let new = (sc.moved)(s, n);
        assert_eq!(e.metrics.ir(), Some(ir_of(s, n, new)), "{rel} f{n}");
        let (reason, sha) = if new {
            ("new", NEW_SHA)
        } else {
            ("old", OLD_SHA)
        };
        assert_eq!(
            (e.provenance.reason.as_str(), e.provenance.commit.as_str()),
            (reason, sha),
            "{rel} f{n}: provenance of the wrong accept"
        );
    }
    "new"
}

/// What a kill left, once checked.
#[derive(Debug, Default)]
struct Tally {
    untouched: usize,
    staged_only: usize,
    journal: usize,
    complete: usize,
}

fn check_after_kill(sc: &Scenario, dir: &Path, tally: &mut Tally, via_cli: bool) {
    let files = snapshot(dir);
    let states: Vec<&str> = (0..SUITES)
        .map(|s| check_file(sc, s, &files[&suite_file(s)]))
        .collect();
    let has_journal = dir.join(JOURNAL_FILE).exists();
    let staged = std::fs::read_dir(dir.join("kill-pkg"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().ends_with(".irgate-new"))
        })
        .unwrap_or(false);
    let reader = irgate_core::baseline::load_dir(dir);
    if has_journal {
        tally.journal += 1;
        let e = reader.unwrap_err().to_string();
        assert!(e.contains(JOURNAL_FILE), "{e}");
    } else {
        // Without a journal a reader sees one whole accept: all old or all new.
        reader.unwrap();
        let all_old = states.iter().all(|s| *s == "old");
        let all_new = states.iter().all(|s| *s == "new");
        assert!(
            all_old || all_new,
            "{}: no journal, yet a mix: {states:?}",
            sc.name
        );
        if all_new {
            tally.complete += 1;
        } else if staged {
            tally.staged_only += 1;
        } else {
            tally.untouched += 1;
        }
    }
    if via_cli {
        let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(["baseline", "recover", "--baselines"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "recover: {}", text(&out));
    } else {
        journal::recover(dir).unwrap();
    }
    let after = snapshot(dir);
    assert!(
        after == sc.old || after == sc.new,
        "{}: after recovery neither all old nor all new",
        sc.name
    );
    if has_journal {
        assert!(
            after == sc.new,
            "{}: a decided accept was not finished",
            sc.name
        );
    }
    assert!(!dir.join(JOURNAL_FILE).exists());
    irgate_core::baseline::load_dir(dir).unwrap();
}

fn scenario(
    tmp: &Path,
    env: &Path,
    name: &'static str,
    moved: fn(usize, usize) -> bool,
    args: &[&str],
) -> Scenario {
    let scratch = tmp.join(name);
    let dir = scratch.join("baselines");
    let old_results = results(&scratch.join("old"), |_, _| false);
    let out = accept_cmd(
        &dir,
        env,
        &old_results,
        &["--reason", "old", "--commit", OLD_SHA],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let old = snapshot(&dir);
    let new_results = results(&scratch.join("new"), moved);
    let mut full: Vec<String> = vec![
        "--reason".into(),
        "new".into(),
        "--commit".into(),
        NEW_SHA.into(),
    ];
    full.extend(args.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let out = accept_cmd(&dir, env, &new_results, &refs).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let new = snapshot(&dir);
    for s in 0..SUITES {
        assert_ne!(
            old[&suite_file(s)],
            new[&suite_file(s)],
            "every file changes"
        );
    }
    Scenario {
        name,
        old,
        new,
        moved,
        args: full,
        results: new_results,
    }
}

/// Runs the accept once to its end and measures the whole run and the write (from
/// the first staged file to the exit).
fn calibrate(sc: &Scenario, dir: &Path, env: &Path) -> (Duration, Duration) {
    restore(dir, &sc.old);
    let refs: Vec<&str> = sc.args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let mut child = accept_cmd(dir, env, &sc.results, &refs).spawn().unwrap();
    let staged = dir.join("kill-pkg/.suite0.toml.irgate-new");
    let mut write_start = None;
    loop {
        if write_start.is_none() && staged.exists() {
            write_start = Some(start.elapsed());
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    let total = start.elapsed();
    assert!(
        snapshot(dir) == sc.new,
        "a whole accept writes the new files"
    );
    (total, total - write_start.unwrap_or(Duration::ZERO))
}

#[test]
fn accept_killed_at_random_points_100_times_leaves_old_or_new_whole() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let env = tmp.path().join("env.json");
    std::fs::write(&env, "{\"glibc_tunables\": \"glibc.cpu.hwcaps=-ERMS\"}").unwrap();
    let seed = std::env::var("IRGATE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("IRGATE_KILL_SEED={seed}");
    let mut rng = Rng(seed);

    let scenarios = [
        scenario(tmp.path(), &env, "full", |_, _| true, &[]),
        // Half of every file's benchmarks: the others keep their old provenance.
        scenario(
            tmp.path(),
            &env,
            "only",
            |_, b| b % 2 == 1,
            &["--only", "kill-pkg/*/grp/f*[13579]"],
        ),
    ];
    let mut kills = 0;
    for sc in &scenarios {
        let dir = tmp.path().join(sc.name).join("killed");
        let (total, write) = calibrate(sc, &dir, &env);
        println!(
            "{}: a whole accept takes {total:?}, its write {write:?}",
            sc.name
        );
        let mut tally = Tally::default();
        let refs: Vec<&str> = sc.args.iter().map(String::as_str).collect();
        let staged = dir.join("kill-pkg/.suite0.toml.irgate-new");
        for i in 0..50 {
            restore(&dir, &sc.old);
            let mut child = accept_cmd(&dir, &env, &sc.results, &refs).spawn().unwrap();
            let start = Instant::now();
            if i % 3 == 0 {
                std::thread::sleep(rng.upto(total));
            } else {
                // Wait for the write to begin, then a random part of its length.
                while !staged.exists()
                    && start.elapsed() < total * 20
                    && child.try_wait().unwrap().is_none()
                {
                    std::hint::spin_loop();
                }
                std::thread::sleep(rng.upto(write));
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            kills += 1;
            check_after_kill(sc, &dir, &mut tally, i % 10 == 0);
        }
        println!("{}: after 50 kills {tally:?}", sc.name);
        assert!(
            tally.journal + tally.staged_only > 0,
            "{}: no kill of 50 landed inside the write ({tally:?}); the test tests nothing",
            sc.name
        );
    }
    assert_eq!(kills, 100);
    println!("100 kills checked in {:?}", started.elapsed());
}
