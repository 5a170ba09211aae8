//! Cost of comparing and rendering a run of 10,000 synthetic benchmarks, and of the
//! whole `irgate compare` pipeline (read summaries, load baselines, compare, render
//! JSON) on 10,000 summaries made from a real one, as separate `summary.json` files and
//! as one `--output-format=json` stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use irgate_core::baseline::{Baseline, BaselineEntry, BaselineSet, Provenance};
use irgate_core::render::{markdown, terminal, MarkdownOptions, TerminalOptions};
use irgate_core::{compare, BenchResult, Environment, Metrics, Policy, Run};

#[path = "../examples/summaries_10k/tree.rs"]
mod tree;

use tree::{N, SUITES};

fn synthetic() -> (Run, BaselineSet) {
    let mut run = Run {
        environment: Environment::default(),
        ..Run::default()
    };
    let mut set = BaselineSet::default();
    for s in 0..SUITES {
        let mut benchmarks = BTreeMap::new();
        for i in 0..N / SUITES {
            let ir = tree::ir(i);
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
            package: "pkg".into(),
            bench: format!("suite_{s}"),
            source_file: Some(format!("benches/suite_{s}.rs")),
            environment: Environment::default(),
            benchmarks: BaselineEntry::all_with(benchmarks, &Provenance::default()),
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

/// The 10,000-summary fixture, written as a directory tree and as one stream, plus
/// baselines accepted from them.
fn write_pipeline_inputs(dir: &std::path::Path) {
    let stream = tree::write_tree(&dir.join("dirs")).unwrap();
    std::fs::write(dir.join("stream.jsonl"), stream).unwrap();
    let run = irgate_core::read_paths(
        &[dir.join("dirs")],
        Environment::default(),
        &irgate_core::ReadOptions::default(),
    )
    .unwrap();
    irgate_core::baseline::accept(
        &dir.join("baselines"),
        &run,
        &irgate_core::baseline::AcceptOptions {
            only: None,
            provenance: &Provenance::default(),
            metrics: &irgate_core::baseline::default_metrics(),
            profiles: None,
        },
    )
    .unwrap();
}

/// `irgate compare --format json` minus process start and argument parsing.
fn pipeline(results: &std::path::Path, baselines: &std::path::Path) -> String {
    let set = irgate_core::baseline::load_dir(baselines).unwrap();
    let run = irgate_core::read_paths(
        &[results.to_owned()],
        Environment::default(),
        &irgate_core::ReadOptions::default(),
    )
    .unwrap();
    compare(&run, &set, &Policy::default()).unwrap().to_json()
}

fn bench_pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_pipeline_inputs(dir.path());
    let baselines = dir.path().join("baselines");
    let mut g = c.benchmark_group("pipeline_10k");
    g.sample_size(10);
    for input in ["dirs", "stream.jsonl"] {
        let results = dir.path().join(input);
        g.bench_function(input, |b| b.iter(|| pipeline(&results, &baselines)));
    }
    g.finish();
}

criterion_group!(benches, bench, bench_pipeline);
criterion_main!(benches);
