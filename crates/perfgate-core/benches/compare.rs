//! Cost of comparing and rendering a run of 10,000 synthetic benchmarks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use perfgate_core::baseline::{Baseline, BaselineSet, Provenance};
use perfgate_core::render::{markdown, terminal, MarkdownOptions, TerminalOptions};
use perfgate_core::{compare, BenchResult, Environment, Metrics, Policy, Run};

const N: usize = 10_000;
const SUITES: usize = 10;

fn synthetic() -> (Run, BaselineSet) {
    let mut run = Run {
        environment: Environment::default(),
        ..Run::default()
    };
    let mut set = BaselineSet::default();
    for s in 0..SUITES {
        let mut benchmarks = BTreeMap::new();
        for i in 0..N / SUITES {
            let ir = 10_000 + (i as u64 * 7919) % 1_000_000;
            let mut m = Metrics::default();
            m.insert("Ir", ir);
            benchmarks.insert(format!("group_{}/function_{i}/case", i % 17), m);
            // Every 50th benchmark regresses by 2%, every 70th improves by 2%.
            let cur = if i % 50 == 0 {
                ir + ir / 50
            } else if i % 70 == 0 {
                ir - ir / 50
            } else {
                ir
            };
            let mut m = Metrics::default();
            m.insert("Ir", cur);
            run.benchmarks.insert(
                format!("pkg/suite_{s}/group_{}/function_{i}/case", i % 17)
                    .parse()
                    .unwrap(),
                BenchResult {
                    metrics: m,
                    source_file: Some(format!("benches/suite_{s}.rs")),
                },
            );
        }
        let b = Baseline {
            schema_version: 1,
            package: "pkg".into(),
            bench: format!("suite_{s}"),
            source_file: Some(format!("benches/suite_{s}.rs")),
            provenance: Provenance::default(),
            environment: Environment::default(),
            benchmarks,
        };
        set.suites.insert(b.suite(), b);
    }
    (run, set)
}

fn bench(c: &mut Criterion) {
    let (run, set) = synthetic();
    let policy = Policy::default();
    c.bench_function("compare_10k", |b| {
        b.iter(|| compare(black_box(&run), black_box(&set), &policy).unwrap())
    });
    let cmp = compare(&run, &set, &policy).unwrap();
    c.bench_function("render_markdown_10k", |b| {
        b.iter(|| markdown(black_box(&cmp), &MarkdownOptions::default()))
    });
    c.bench_function("render_terminal_10k", |b| {
        b.iter(|| terminal(black_box(&cmp), &TerminalOptions::default()))
    });
    c.bench_function("render_json_10k", |b| b.iter(|| black_box(&cmp).to_json()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
