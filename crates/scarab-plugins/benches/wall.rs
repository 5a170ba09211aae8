//! Wall-clock suite for `scarab-plugins`: the benchmarks of `benches/ir.rs`, by the
//! same names (`<group>/<function>/<id>`), timed with criterion (HTML reports).
//! Run it with `ci/bench --wall`.
//!
//! Operations that consume their input (loads, compiles, cache misses) get a fresh
//! input from their setup for every iteration (`iter_batched`); operations that can
//! repeat (dispatch, hook calls) run many times on one state built once, which
//! includes the host's periodic VM replacement (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};

use support::peers::{
    run_peer_all, run_peer_one, setup_peer_error, setup_peer_mixed, setup_peer_plain, Lang,
};
use support::{CallPath, Chain, Creation, Metrics, Script, Stage, Step, VmUse};

/// Time `run` on a fresh input from `setup` per iteration; setup and the drop of
/// the output are outside the timing.
fn by_value<S, R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    function: &str,
    id: &str,
    setup: impl Fn() -> S,
    run: fn(S) -> R,
) {
    g.bench_function(BenchmarkId::new(function, id), |b| {
        b.iter_batched(&setup, run, BatchSize::SmallInput);
    });
}

/// Time `run` repeatedly on one state made by `setup` (made on first use, so that a
/// benchmark left out by a filter costs nothing).
fn by_ref<S, R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    function: &str,
    id: &str,
    setup: impl FnOnce() -> S,
    run: fn(&mut S) -> R,
) {
    let mut setup = Some(setup);
    let mut state: Option<S> = None;
    g.bench_function(BenchmarkId::new(function, id), |b| {
        let s = match (&mut state, setup.take()) {
            (Some(s), _) => s,
            (slot, Some(make)) => slot.insert(make()),
            (None, None) => unreachable!("setup is taken only when the state is made"),
        };
        // Outputs are dropped outside the timing, as in the instruction-count suite.
        b.iter_with_large_drop(|| run(s));
    });
}

fn loading(c: &mut Criterion) {
    let mut g = c.benchmark_group("loading");
    for (id, s) in [("minimal", Script::Minimal), ("complex", Script::Complex)] {
        by_value(
            &mut g,
            "fzb",
            id,
            || support::setup_load_fzb(s),
            support::run_load,
        );
    }
    for (id, s) in [
        ("minimal", Script::Minimal),
        ("functions", Script::Functions),
        ("hooks", Script::Hooks),
        ("complex", Script::Complex),
    ] {
        by_value(
            &mut g,
            "fsx",
            id,
            || support::setup_load_fsx(s),
            support::run_load,
        );
    }
    by_value(
        &mut g,
        "fsx_cached",
        "complex",
        || support::setup_load_fsx_cached(Script::Complex),
        support::run_load,
    );
    for (id, s) in [
        ("compile", Step::Compile),
        ("serialize", Step::Serialize),
        ("deserialize", Step::Deserialize),
        ("validate", Step::Validate),
    ] {
        by_value(
            &mut g,
            "step",
            id,
            || support::setup_step(s),
            support::run_step,
        );
    }
    for (id, lazy) in [("lazy", true), ("eager", false)] {
        by_value(
            &mut g,
            "dir",
            id,
            || support::setup_load_dir(lazy),
            support::run_load_dir,
        );
        by_value(
            &mut g,
            "dir_first_line",
            id,
            || support::setup_load_dir(lazy),
            support::run_load_dir_first_line,
        );
    }
    g.finish();
}

fn dispatch(c: &mut Criterion) {
    let mut g = c.benchmark_group("dispatch");
    let chains = [
        ("none", Chain::Empty),
        ("noop", Chain::Noop),
        ("processing", Chain::Processing),
        ("native", Chain::Native),
    ];
    for (id, chain) in chains {
        by_ref(
            &mut g,
            "output",
            id,
            || support::setup_dispatch(chain),
            support::run_output,
        );
    }
    for (id, chain) in chains {
        by_ref(
            &mut g,
            "input",
            id,
            || support::setup_dispatch(chain),
            support::run_input,
        );
    }
    for (id, chain) in chains {
        by_ref(
            &mut g,
            "resize",
            id,
            || support::setup_dispatch(chain),
            support::run_resize,
        );
    }
    for (id, m) in [
        ("enabled", Metrics::Enabled),
        ("disabled", Metrics::Disabled),
    ] {
        by_ref(
            &mut g,
            "metrics_output",
            id,
            || support::setup_metrics_dispatch(m),
            support::run_output,
        );
    }
    for (id, m) in [
        ("enabled", Metrics::Enabled),
        ("disabled", Metrics::Disabled),
    ] {
        by_ref(
            &mut g,
            "metrics_collector",
            id,
            || support::setup_collector(m),
            support::run_collector,
        );
    }
    g.finish();
}

fn chaining(c: &mut Criterion) {
    let mut g = c.benchmark_group("chaining");
    for n in [1usize, 2, 5, 10, 20] {
        let id = format!("plugins_{n}");
        by_ref(
            &mut g,
            "noop",
            &id,
            || support::setup_chain_noop(n),
            support::run_chain,
        );
    }
    for n in [1usize, 2, 5, 10, 20] {
        let id = format!("plugins_{n}");
        by_ref(
            &mut g,
            "processing",
            &id,
            || support::setup_chain_tagger(n),
            support::run_chain,
        );
    }
    g.finish();
}

fn vm(c: &mut Criterion) {
    let mut g = c.benchmark_group("vm");
    for (id, p) in [("direct", CallPath::Direct), ("adapter", CallPath::Adapter)] {
        by_ref(
            &mut g,
            "call",
            id,
            || support::setup_vm_call(p),
            support::run_vm_call,
        );
    }
    for (id, s) in [
        ("lex", Stage::Lex),
        ("parse", Stage::Parse),
        ("compile", Stage::Compile),
    ] {
        by_value(
            &mut g,
            "frontend",
            id,
            || support::setup_stage(s),
            support::run_stage,
        );
    }
    for (id, how) in [("template", Creation::Template), ("cold", Creation::Cold)] {
        by_ref(
            &mut g,
            "create",
            id,
            || support::setup_vm_create(how),
            support::run_vm_create,
        );
    }
    g.finish();
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("throughput");
    type LinesSetup = fn(usize) -> support::Lines;
    let lines: [(&str, LinesSetup); 3] = [
        ("output_p0", support::setup_lines_p0),
        ("output_p1", support::setup_lines_p1),
        ("output_p5", support::setup_lines_p5),
    ];
    for (function, setup) in lines {
        for n in [10usize, 100, 1000] {
            g.throughput(Throughput::Elements(n as u64));
            by_ref(
                &mut g,
                function,
                &format!("lines_{n}"),
                || setup(n),
                support::run_output_lines,
            );
        }
    }
    for n in [10usize, 100, 1000] {
        g.throughput(Throughput::Elements(n as u64));
        by_ref(
            &mut g,
            "input_events",
            &format!("events_{n}"),
            || support::setup_input_events(n),
            support::run_input_events,
        );
    }
    for n in [10usize, 100, 1000] {
        g.throughput(Throughput::Elements(n as u64));
        by_ref(
            &mut g,
            "counter_batched",
            &format!("lines_{n}"),
            || support::setup_counter_lines(n),
            support::run_counter_batched,
        );
    }
    for n in [10usize, 100, 1000] {
        g.throughput(Throughput::Elements(n as u64));
        by_ref(
            &mut g,
            "counter_per_line",
            &format!("lines_{n}"),
            || support::setup_counter_lines(n),
            support::run_output_lines,
        );
    }
    g.finish();
}

fn cache(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache");
    by_value(
        &mut g,
        "script",
        "hit",
        || support::setup_cache_hit(()),
        support::run_cache_lookup,
    );
    by_value(
        &mut g,
        "script",
        "miss",
        || support::setup_cache_miss(()),
        support::run_cache_lookup,
    );
    for (id, how) in [("reused", VmUse::Reused), ("fresh", VmUse::Fresh)] {
        by_value(
            &mut g,
            "vm_call",
            id,
            || support::setup_vm_use(how),
            support::run_vm_use,
        );
    }
    g.finish();
}

fn realistic(c: &mut Criterion) {
    let mut g = c.benchmark_group("realistic");
    for (id, m) in [
        ("metrics_off", Metrics::Disabled),
        ("metrics_on", Metrics::Enabled),
    ] {
        by_ref(
            &mut g,
            "session",
            id,
            || support::setup_session(m),
            support::run_session,
        );
    }
    g.finish();
}

fn peers(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers");
    for (function, lang) in [
        ("native", Lang::Native),
        ("lua", Lang::Lua),
        ("rhai", Lang::Rhai),
        ("fusabi", Lang::Fusabi),
    ] {
        by_ref(
            &mut g,
            function,
            "error",
            || setup_peer_error(lang),
            run_peer_one,
        );
        by_ref(
            &mut g,
            function,
            "plain",
            || setup_peer_plain(lang),
            run_peer_one,
        );
        by_ref(
            &mut g,
            function,
            "mixed_100",
            || setup_peer_mixed(lang),
            run_peer_all,
        );
    }
    g.finish();
}

fn config() -> Criterion {
    // Short runs: the suite has ~80 benchmarks; instruction counts are the precise
    // measure, these give the time scale.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = suite;
    config = config();
    targets = loading, dispatch, chaining, vm, throughput, cache, realistic, peers
}
criterion_main!(suite);
