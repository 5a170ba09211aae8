//! The sample comparison document that consumers (the PR bot) build against.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use irgate_core::baseline::{Baseline, BaselineEntry, BaselineSet, Provenance};
use irgate_core::{compare, BenchResult, Comparison, Environment, Gate, Metrics, Policy, Run};

fn env(tunables: &str) -> Environment {
    Environment {
        valgrind: Some("valgrind-3.19.0".into()),
        runner: Some("gungraun-runner 0.20.0".into()),
        rustc: Some("rustc 1.95.0 (59807616e 2026-04-14)".into()),
        target: Some("x86_64-unknown-linux-gnu".into()),
        glibc: Some("glibc 2.36".into()),
        glibc_tunables: Some(tunables.into()),
        cpu_model: Some("Example CPU".into()),
        cpu_flags: Some("avx avx2 erms sse2".into()),
        cache: Some("L1d 48K 12-way 64B".into()),
        extra: Default::default(),
        canary: Default::default(),
    }
}

fn metrics(ir: u64) -> Metrics {
    let mut m = Metrics::default();
    m.insert("Ir", ir);
    m
}

/// A comparison with one entry of every verdict and a changed environment.
pub fn sample() -> Comparison {
    let mut benchmarks = BTreeMap::new();
    for (k, ir) in [
        ("dispatch/on_output/plain", 10_000u64),
        ("dispatch/on_input/key", 5_000),
        ("load/fzb/small", 200_000),
        ("load/fzb/gone", 1_000),
    ] {
        benchmarks.insert(k.to_owned(), metrics(ir));
    }
    let baseline = Baseline {
        package: "scarab-plugins".into(),
        bench: "iai".into(),
        source_file: Some("crates/scarab-plugins/benches/iai.rs".into()),
        environment: env("glibc.cpu.hwcaps=-ERMS"),
        benchmarks: BaselineEntry::all_with(
            benchmarks,
            &Provenance {
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                accepted_at: "2026-11-27T21:00:00Z".into(),
                accepted_by: "irgate-bot".into(),
                reason: "first baselines".into(),
            },
        ),
    };
    let mut set = BaselineSet::default();
    set.suites.insert(baseline.suite(), baseline);
    let mut run = Run {
        environment: env(""),
        ..Run::default()
    };
    for (id, ir) in [
        ("scarab-plugins/iai/dispatch/on_output/plain", 10_250u64),
        ("scarab-plugins/iai/dispatch/on_input/key", 4_700),
        ("scarab-plugins/iai/load/fzb/small", 200_010),
        ("scarab-plugins/iai/chain/three/default", 30_000),
    ] {
        run.benchmarks.insert(
            id.parse().unwrap(),
            BenchResult {
                metrics: metrics(ir),
                source_file: Some("crates/scarab-plugins/benches/iai.rs".into()),
            },
        );
    }
    let mut c = compare(&run, &set, &Policy::default()).unwrap();
    c.irgate_version = "0.1.0".into();
    c
}

#[test]
fn sample_fixture_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/comparison-sample.json"
    );
    let json = sample().to_json();
    if std::env::var_os("IRGATE_BLESS").is_some() {
        std::fs::write(path, &json).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        on_disk, json,
        "rerun with IRGATE_BLESS=1 to update the fixture"
    );
}

#[test]
fn sample_fixture_reads_back() {
    let text = include_str!("fixtures/comparison-sample.json");
    let c = Comparison::from_json(text).unwrap();
    assert_eq!(c.gate, Gate::Failed);
    assert_eq!(c.exit_code(), 1);
    let regressed: Vec<String> = c.regressions().map(|b| b.id.to_string()).collect();
    assert_eq!(regressed, ["scarab-plugins/iai/dispatch/on_output/plain"]);
    assert_eq!(
        c.regressions().next().unwrap().source_file.as_deref(),
        Some("crates/scarab-plugins/benches/iai.rs")
    );
    assert!(c.environment_changed());
    assert_eq!(c.counts.total(), 5);
    assert_eq!(c.to_run().benchmarks.len(), 4);
}
