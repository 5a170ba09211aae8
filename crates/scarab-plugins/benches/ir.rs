//! Instruction-count suite for `scarab-plugins`: Gungraun library benchmarks run
//! under Callgrind. Each benchmark runs its operation once; its `setup` runs
//! before, outside the measured region. Run it with `ci/bench`, which pins the
//! environment (see `docs/BENCHMARK_GUIDE.md`); the same benchmarks, by the same
//! names, are timed with criterion in `benches/wall.rs`.
//!
//! Names: `ir::<group>::<function>::<id>` here, `<group>/<function>/<id>` in the
//! wall-clock suite and in the reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

mod support;

use std::hint::black_box;
use std::sync::Arc;

use gungraun::{
    library_benchmark, library_benchmark_group, main, Callgrind, LibraryBenchmarkConfig,
};
use scarab_plugins::fusabi_vm::{Chunk, Vm};
use scarab_plugins::{Action, FusabiPlugin, FusabiRuntime, MetricsCollector, PluginManager};

use support::peers::{
    run_peer_all, run_peer_one, setup_peer_error, setup_peer_mixed, setup_peer_plain, Lang,
    PeerInput,
};
use support::{
    CacheLookup, CallPath, CallResult, Chain, Creation, Inputs, LoadInput, Metrics, Script,
    Session, StageInput, StageOutput, Step, StepInput, VmCall, VmCallInput, VmUse,
};

// ---------------------------------------------------------------------------
// loading

#[library_benchmark]
#[bench::minimal(args = (Script::Minimal), setup = support::setup_load_fzb)]
#[bench::complex(args = (Script::Complex), setup = support::setup_load_fzb)]
fn fzb(input: LoadInput) -> (FusabiPlugin, FusabiRuntime) {
    black_box(support::run_load(input))
}

#[library_benchmark]
#[bench::minimal(args = (Script::Minimal), setup = support::setup_load_fsx)]
#[bench::functions(args = (Script::Functions), setup = support::setup_load_fsx)]
#[bench::hooks(args = (Script::Hooks), setup = support::setup_load_fsx)]
#[bench::complex(args = (Script::Complex), setup = support::setup_load_fsx)]
fn fsx(input: LoadInput) -> (FusabiPlugin, FusabiRuntime) {
    black_box(support::run_load(input))
}

#[library_benchmark]
#[bench::complex(args = (Script::Complex), setup = support::setup_load_fsx_cached)]
fn fsx_cached(input: LoadInput) -> (FusabiPlugin, FusabiRuntime) {
    black_box(support::run_load(input))
}

#[library_benchmark]
#[bench::compile(args = (Step::Compile), setup = support::setup_step)]
#[bench::serialize(args = (Step::Serialize), setup = support::setup_step)]
#[bench::deserialize(args = (Step::Deserialize), setup = support::setup_step)]
#[bench::validate(args = (Step::Validate), setup = support::setup_step)]
fn step(input: StepInput) -> (Option<Chunk>, Option<Vec<u8>>, StepInput) {
    black_box(support::run_step(input))
}

#[library_benchmark]
#[bench::lazy(args = (true), setup = support::setup_load_dir)]
#[bench::eager(args = (false), setup = support::setup_load_dir)]
fn dir(m: PluginManager) -> PluginManager {
    black_box(support::run_load_dir(m))
}

#[library_benchmark]
#[bench::lazy(args = (true), setup = support::setup_load_dir)]
#[bench::eager(args = (false), setup = support::setup_load_dir)]
fn dir_first_line(m: PluginManager) -> (PluginManager, String) {
    black_box(support::run_load_dir_first_line(m))
}

library_benchmark_group!(
    name = loading,
    benchmarks = [fzb, fsx, fsx_cached, step, dir, dir_first_line]
);

// ---------------------------------------------------------------------------
// dispatch

#[library_benchmark]
#[bench::none(args = (Chain::Empty), setup = support::setup_dispatch)]
#[bench::noop(args = (Chain::Noop), setup = support::setup_dispatch)]
#[bench::processing(args = (Chain::Processing), setup = support::setup_dispatch)]
#[bench::native(args = (Chain::Native), setup = support::setup_dispatch)]
fn output(mut m: PluginManager) -> (PluginManager, usize) {
    let r = black_box(support::run_output(&mut m));
    (m, r)
}

#[library_benchmark]
#[bench::none(args = (Chain::Empty), setup = support::setup_dispatch)]
#[bench::noop(args = (Chain::Noop), setup = support::setup_dispatch)]
#[bench::processing(args = (Chain::Processing), setup = support::setup_dispatch)]
#[bench::native(args = (Chain::Native), setup = support::setup_dispatch)]
fn input(mut m: PluginManager) -> (PluginManager, usize) {
    let r = black_box(support::run_input(&mut m));
    (m, r)
}

#[library_benchmark]
#[bench::none(args = (Chain::Empty), setup = support::setup_dispatch)]
#[bench::noop(args = (Chain::Noop), setup = support::setup_dispatch)]
#[bench::processing(args = (Chain::Processing), setup = support::setup_dispatch)]
#[bench::native(args = (Chain::Native), setup = support::setup_dispatch)]
fn resize(mut m: PluginManager) -> PluginManager {
    support::run_resize(&mut m);
    m
}

#[library_benchmark]
#[bench::enabled(args = (Metrics::Enabled), setup = support::setup_metrics_dispatch)]
#[bench::disabled(args = (Metrics::Disabled), setup = support::setup_metrics_dispatch)]
fn metrics_output(mut m: PluginManager) -> (PluginManager, usize) {
    let r = black_box(support::run_output(&mut m));
    (m, r)
}

#[library_benchmark]
#[bench::enabled(args = (Metrics::Enabled), setup = support::setup_collector)]
#[bench::disabled(args = (Metrics::Disabled), setup = support::setup_collector)]
fn metrics_collector(mut c: MetricsCollector) -> MetricsCollector {
    support::run_collector(&mut c);
    c
}

library_benchmark_group!(
    name = dispatch,
    benchmarks = [output, input, resize, metrics_output, metrics_collector]
);

// ---------------------------------------------------------------------------
// chaining

#[library_benchmark]
#[bench::plugins_1(args = (1), setup = support::setup_chain_noop)]
#[bench::plugins_2(args = (2), setup = support::setup_chain_noop)]
#[bench::plugins_5(args = (5), setup = support::setup_chain_noop)]
#[bench::plugins_10(args = (10), setup = support::setup_chain_noop)]
#[bench::plugins_20(args = (20), setup = support::setup_chain_noop)]
fn noop(mut m: PluginManager) -> (PluginManager, usize) {
    let r = black_box(support::run_chain(&mut m));
    (m, r)
}

#[library_benchmark]
#[bench::plugins_1(args = (1), setup = support::setup_chain_tagger)]
#[bench::plugins_2(args = (2), setup = support::setup_chain_tagger)]
#[bench::plugins_5(args = (5), setup = support::setup_chain_tagger)]
#[bench::plugins_10(args = (10), setup = support::setup_chain_tagger)]
#[bench::plugins_20(args = (20), setup = support::setup_chain_tagger)]
fn processing(mut m: PluginManager) -> (PluginManager, usize) {
    let r = black_box(support::run_chain(&mut m));
    (m, r)
}

library_benchmark_group!(name = chaining, benchmarks = [noop, processing]);

// ---------------------------------------------------------------------------
// vm

#[library_benchmark]
#[bench::direct(args = (CallPath::Direct), setup = support::setup_vm_call)]
#[bench::adapter(args = (CallPath::Adapter), setup = support::setup_vm_call)]
fn call(mut c: VmCall) -> (VmCall, CallResult) {
    let r = black_box(support::run_vm_call(&mut c));
    (c, r)
}

#[library_benchmark]
#[bench::lex(args = (support::Stage::Lex), setup = support::setup_stage)]
#[bench::parse(args = (support::Stage::Parse), setup = support::setup_stage)]
#[bench::compile(args = (support::Stage::Compile), setup = support::setup_stage)]
fn frontend(input: StageInput) -> (StageOutput, Option<fusabi_frontend::Program>) {
    black_box(support::run_stage(input))
}

#[library_benchmark]
#[bench::template(args = (Creation::Template), setup = support::setup_vm_create)]
#[bench::cold(args = (Creation::Cold), setup = support::setup_vm_create)]
fn create(
    mut input: (Creation, scarab_plugins::VmTemplate),
) -> ((Creation, scarab_plugins::VmTemplate), Vm) {
    let vm = black_box(support::run_vm_create(&mut input));
    (input, vm)
}

library_benchmark_group!(name = vm, benchmarks = [call, frontend, create]);

// ---------------------------------------------------------------------------
// throughput

#[library_benchmark]
#[bench::lines_10(args = (10), setup = support::setup_lines_p0)]
#[bench::lines_100(args = (100), setup = support::setup_lines_p0)]
#[bench::lines_1000(args = (1000), setup = support::setup_lines_p0)]
fn output_p0(mut s: support::Lines) -> (support::Lines, usize) {
    let r = black_box(support::run_output_lines(&mut s));
    (s, r)
}

#[library_benchmark]
#[bench::lines_10(args = (10), setup = support::setup_lines_p1)]
#[bench::lines_100(args = (100), setup = support::setup_lines_p1)]
#[bench::lines_1000(args = (1000), setup = support::setup_lines_p1)]
fn output_p1(mut s: support::Lines) -> (support::Lines, usize) {
    let r = black_box(support::run_output_lines(&mut s));
    (s, r)
}

#[library_benchmark]
#[bench::lines_10(args = (10), setup = support::setup_lines_p5)]
#[bench::lines_100(args = (100), setup = support::setup_lines_p5)]
#[bench::lines_1000(args = (1000), setup = support::setup_lines_p5)]
fn output_p5(mut s: support::Lines) -> (support::Lines, usize) {
    let r = black_box(support::run_output_lines(&mut s));
    (s, r)
}

#[library_benchmark]
#[bench::events_10(args = (10), setup = support::setup_input_events)]
#[bench::events_100(args = (100), setup = support::setup_input_events)]
#[bench::events_1000(args = (1000), setup = support::setup_input_events)]
fn input_events(mut s: Inputs) -> (Inputs, usize) {
    let r = black_box(support::run_input_events(&mut s));
    (s, r)
}

#[library_benchmark]
#[bench::lines_10(args = (10), setup = support::setup_counter_lines)]
#[bench::lines_100(args = (100), setup = support::setup_counter_lines)]
#[bench::lines_1000(args = (1000), setup = support::setup_counter_lines)]
fn counter_batched(mut s: support::Lines) -> (support::Lines, usize) {
    let r = black_box(support::run_counter_batched(&mut s));
    (s, r)
}

#[library_benchmark]
#[bench::lines_10(args = (10), setup = support::setup_counter_lines)]
#[bench::lines_100(args = (100), setup = support::setup_counter_lines)]
#[bench::lines_1000(args = (1000), setup = support::setup_counter_lines)]
fn counter_per_line(mut s: support::Lines) -> (support::Lines, usize) {
    let r = black_box(support::run_output_lines(&mut s));
    (s, r)
}

library_benchmark_group!(
    name = throughput,
    benchmarks = [
        output_p0,
        output_p1,
        output_p5,
        input_events,
        counter_batched,
        counter_per_line
    ]
);

// ---------------------------------------------------------------------------
// cache

#[library_benchmark]
#[bench::hit(args = (()), setup = support::setup_cache_hit)]
#[bench::miss(args = (()), setup = support::setup_cache_miss)]
fn script(c: CacheLookup) -> (Option<Arc<Chunk>>, CacheLookup) {
    black_box(support::run_cache_lookup(c))
}

#[library_benchmark]
#[bench::reused(args = (VmUse::Reused), setup = support::setup_vm_use)]
#[bench::fresh(args = (VmUse::Fresh), setup = support::setup_vm_use)]
fn vm_call(input: VmCallInput) -> (FusabiPlugin, Option<Action>) {
    black_box(support::run_vm_use(input))
}

library_benchmark_group!(name = cache, benchmarks = [script, vm_call]);

// ---------------------------------------------------------------------------
// realistic

#[library_benchmark]
#[bench::metrics_off(args = (Metrics::Disabled), setup = support::setup_session)]
#[bench::metrics_on(args = (Metrics::Enabled), setup = support::setup_session)]
fn session(mut s: Session) -> (Session, usize) {
    let r = black_box(support::run_session(&mut s));
    (s, r)
}

library_benchmark_group!(name = realistic, benchmarks = [session]);

// ---------------------------------------------------------------------------
// peers

#[library_benchmark]
#[bench::error(args = (Lang::Native), setup = setup_peer_error)]
#[bench::plain(args = (Lang::Native), setup = setup_peer_plain)]
#[bench::mixed_100(args = (Lang::Native), setup = setup_peer_mixed)]
fn native(mut p: PeerInput) -> PeerInput {
    black_box(peer_run(&mut p));
    p
}

#[library_benchmark]
#[bench::error(args = (Lang::Lua), setup = setup_peer_error)]
#[bench::plain(args = (Lang::Lua), setup = setup_peer_plain)]
#[bench::mixed_100(args = (Lang::Lua), setup = setup_peer_mixed)]
fn lua(mut p: PeerInput) -> PeerInput {
    black_box(peer_run(&mut p));
    p
}

#[library_benchmark]
#[bench::error(args = (Lang::Rhai), setup = setup_peer_error)]
#[bench::plain(args = (Lang::Rhai), setup = setup_peer_plain)]
#[bench::mixed_100(args = (Lang::Rhai), setup = setup_peer_mixed)]
fn rhai(mut p: PeerInput) -> PeerInput {
    black_box(peer_run(&mut p));
    p
}

#[library_benchmark]
#[bench::error(args = (Lang::Fusabi), setup = setup_peer_error)]
#[bench::plain(args = (Lang::Fusabi), setup = setup_peer_plain)]
#[bench::mixed_100(args = (Lang::Fusabi), setup = setup_peer_mixed)]
fn fusabi(mut p: PeerInput) -> PeerInput {
    black_box(peer_run(&mut p));
    p
}

/// One call for a one-line input, one call per line otherwise.
fn peer_run(p: &mut PeerInput) -> usize {
    if p.lines.len() == 1 {
        usize::from(matches!(run_peer_one(p), Action::Modify(_)))
    } else {
        run_peer_all(p)
    }
}

library_benchmark_group!(name = peers, benchmarks = [native, lua, rhai, fusabi]);

main!(
    config = LibraryBenchmarkConfig::default()
        // Ir only: no cache simulation, so no cache geometry is involved.
        .tool(Callgrind::with_args(["--cache-sim=no"]))
        // The runner clears the environment; ci/bench also passes the pinned value
        // explicitly with --envs.
        .pass_through_env("GLIBC_TUNABLES"),
    library_benchmark_groups =
        [loading, dispatch, chaining, vm, throughput, cache, realistic, peers]
);
