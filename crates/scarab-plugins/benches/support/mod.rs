//! Workloads shared by the two benchmark suites of `scarab-plugins`.
//!
//! (Over 600 lines: all 84 workloads are here, once, so that the two suites cannot
//! drift apart; splitting them by group would not shorten any of them.)
//!
//! `benches/ir.rs` (instruction counts under Callgrind, Gungraun) and
//! `benches/wall.rs` (wall clock, criterion) measure the same operations under the
//! same names, `group/function/id`. Each operation is a `setup_*` function, whose
//! work is never measured, and a `run_*` function, which is the measured region.
//!
//! Two shapes of `run_*`:
//! - **by value** (`run_x(state) -> output`): the operation consumes its input
//!   (loading, compiling, a cache miss). Both suites drop the output outside the
//!   measured region.
//! - **by reference** (`run_x(&mut state) -> output`): the operation can repeat on
//!   the same state (dispatching, calling a hook). Gungraun measures one call;
//!   criterion times many calls on one state, which includes the VM replacement the
//!   host does every few hundred calls (Fusabi 0.35 leaks stack slots).
//!
//! Setup functions check that the workload does what its name says (the tagger
//! tags, the cache hits) and panic otherwise, so a benchmark cannot silently
//! measure the wrong thing.
//!
//! Paths are relative to the package root, which is the working directory that
//! `cargo bench` gives both suites, so that no checkout path reaches a measured
//! string.

#![allow(dead_code)]

pub mod peers;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use fusabi_frontend::{Compiler, Lexer, Parser, Program, TokenWithPos};
use scarab_plugins::fusabi::bytecode::{compile_source, decode_fzb, encode_fzb, verify_chunk};
use scarab_plugins::fusabi_vm::{Chunk, Value, Vm};
use scarab_plugins::{
    Action, FusabiPlugin, FusabiRuntime, HookError, HostState, ManagerOptions, MetricsCollector,
    Plugin, PluginManager, PluginMetadata, ScriptCache, VmTemplate, DEFAULT_STACK_BOUND,
};

/// The example plugins shipped with the crate (relative to the package root).
pub const EXAMPLES_DIR: &str = "plugins";

/// A bench script: its name (used as its path in errors) and its source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// One no-op output hook.
    Minimal,
    /// Helper functions plus one hook.
    Functions,
    /// Every hook, each a no-op.
    Hooks,
    /// State, helpers, every kind of hook.
    Complex,
    /// Tags error/warning lines (the processing plugin; the peers implement it too).
    Tagger,
    /// Remaps two input commands.
    Remap,
    /// Formats and logs the new size.
    ResizeLog,
}

impl Script {
    /// Path the plugin is known by (in errors and as its default name).
    pub fn path(self) -> &'static str {
        match self {
            Script::Minimal => "minimal.fsx",
            Script::Functions => "functions.fsx",
            Script::Hooks => "hooks.fsx",
            Script::Complex => "complex.fsx",
            Script::Tagger => "tagger.fsx",
            Script::Remap => "remap.fsx",
            Script::ResizeLog => "resize_log.fsx",
        }
    }

    /// Source text.
    pub fn source(self) -> &'static str {
        match self {
            Script::Minimal => include_str!("../scripts/minimal.fsx"),
            Script::Functions => include_str!("../scripts/functions.fsx"),
            Script::Hooks => include_str!("../scripts/hooks.fsx"),
            Script::Complex => include_str!("../scripts/complex.fsx"),
            Script::Tagger => include_str!("../scripts/tagger.fsx"),
            Script::Remap => include_str!("../scripts/remap.fsx"),
            Script::ResizeLog => include_str!("../scripts/resize_log.fsx"),
        }
    }

    /// The source with its `@name` header replaced, to load several copies.
    pub fn renamed(self, name: &str) -> String {
        let src = self.source();
        let first = src.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("// @name "),
            "{}: no @name header",
            self.path()
        );
        format!("// @name {name}\n{}", &src[first.len() + 1..])
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// A line the tagger modifies.
pub const ERROR_LINE: &str = "error[E0425]: cannot find value `buffer` in this scope";
/// A line the tagger passes on.
pub const PLAIN_LINE: &str = "   Compiling scarab-plugins v0.1.0 (crates/scarab-plugins)";
/// A chunk of input the remapper changes.
pub const REMAPPED_INPUT: &[u8] = b"ll\r";

/// `n` lines of build-log-like output: every 10th an error, every 10th (offset 5)
/// a warning, every 20th (offset 3) a URL, the rest plain. Deterministic.
pub fn output_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match (i % 10, i % 20) {
            (0, _) => format!(
                "error[E{:04}]: mismatched types at src/lib.rs:{i}:9",
                i % 700
            ),
            (5, _) => format!("warning: unused variable `x{i}` at src/main.rs:{i}:13"),
            (_, 3) => format!("  see https://doc.rust-lang.org/error_codes/E{:04}.html", i),
            _ => format!("   Compiling crate-{i} v0.{}.{} (registry)", i % 7, i % 13),
        })
        .collect()
}

/// `n` chunks of keyboard input: mostly single keys, every 8th a remapped command.
pub fn input_events(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| match i % 8 {
            0 => b"ll\r".to_vec(),
            4 => b"gs\r".to_vec(),
            7 => b"\x1b[A".to_vec(),
            k => vec![b'a' + (i % 26) as u8 + (k as u8 % 2)],
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Runtimes, managers, native plugins

/// A Fusabi runtime: fresh template, optional in-memory script cache, metrics on or off.
pub fn runtime(cache: bool, metrics: bool) -> FusabiRuntime {
    FusabiRuntime {
        template: Arc::new(VmTemplate::new(Arc::new(HostState::new(80, 24)))),
        cache: cache.then(|| Arc::new(ScriptCache::in_memory())),
        metrics: Arc::new(MetricsCollector::new(metrics)),
        stack_bound: DEFAULT_STACK_BOUND,
    }
}

/// A manager over `runtime` with eager or lazy loading.
pub fn manager(runtime: FusabiRuntime, lazy: bool) -> PluginManager {
    PluginManager::with_runtime(
        runtime,
        ManagerOptions {
            lazy,
            ..ManagerOptions::default()
        },
    )
}

/// A loaded Fusabi plugin from `source` (named `path`).
pub fn fusabi_plugin(source: &str, path: &str, runtime: &FusabiRuntime) -> FusabiPlugin {
    let mut plugin = FusabiPlugin::from_source(source, path, runtime.clone())
        .unwrap_or_else(|e| panic!("bench script {path}: {e}"));
    plugin
        .load()
        .unwrap_or_else(|e| panic!("bench script {path}: {e}"));
    plugin
}

/// Add a loaded Fusabi plugin to `manager`.
pub fn add_script(manager: &mut PluginManager, source: &str, path: &str) {
    let plugin = fusabi_plugin(source, path, manager.runtime());
    manager
        .add_fusabi(plugin)
        .unwrap_or_else(|e| panic!("bench script {path}: {e}"));
}

/// The tagger in native Rust: the floor for the Fusabi tagger.
#[derive(Debug)]
pub struct NativeTagger(PluginMetadata);

impl NativeTagger {
    /// A native tagger with the given name.
    pub fn new(name: &str) -> Self {
        Self(PluginMetadata::new(name))
    }
}

/// What the tagger does to one line (shared by the native plugin and the checks).
pub fn tag_line(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    if lower.contains("error") {
        Some(format!("[ERROR] {line}"))
    } else if lower.contains("warning") {
        Some(format!("[WARN] {line}"))
    } else {
        None
    }
}

impl Plugin for NativeTagger {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }

    fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
        Ok(tag_line(line).map_or(Action::Continue, Action::Modify))
    }
}

/// The input remapper and resize logger in native Rust.
#[derive(Debug)]
pub struct NativeRemapLog(PluginMetadata);

impl Plugin for NativeRemapLog {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }

    fn on_input(&mut self, bytes: &[u8]) -> Result<Action<Vec<u8>>, HookError> {
        // Same work as the script: the host hands scripts a string.
        let text = String::from_utf8_lossy(bytes);
        Ok(match text.as_ref() {
            "ll\r" => Action::Modify(b"ls -l\r".to_vec()),
            "gs\r" => Action::Modify(b"git status\r".to_vec()),
            _ => Action::Continue,
        })
    }

    fn on_resize(&mut self, cols: u16, rows: u16) -> Result<(), HookError> {
        let text = format!("resized to {cols}x{rows}");
        tracing::info!(target: "scarab_plugins::script", plugin = "native", "{text}");
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// loading

/// Input of one plugin load: the file's bytes and the runtime to load into.
pub struct LoadInput {
    /// File contents (`.fsx` text or `.fzb` bytecode).
    pub bytes: Vec<u8>,
    /// Path the plugin is known by.
    pub path: &'static str,
    /// Runtime (template, cache) to load into.
    pub runtime: FusabiRuntime,
}

/// `.fzb` bytes of `script`, compiled in setup.
pub fn fzb_bytes(script: Script) -> Vec<u8> {
    let chunk =
        compile_source(script.source(), Path::new(script.path())).unwrap_or_else(|e| panic!("{e}"));
    encode_fzb(&chunk, Path::new(script.path())).unwrap_or_else(|e| panic!("{e}"))
}

/// Load `.fzb` bytecode of `script` (compiled in setup).
pub fn setup_load_fzb(script: Script) -> LoadInput {
    LoadInput {
        bytes: fzb_bytes(script),
        path: script.path(),
        runtime: runtime(false, false),
    }
}

/// Load `.fsx` source of `script` with no script cache: every load compiles.
pub fn setup_load_fsx(script: Script) -> LoadInput {
    LoadInput {
        bytes: script.source().as_bytes().to_vec(),
        path: script.path(),
        runtime: runtime(false, false),
    }
}

/// Load `.fsx` source of `script` through a script cache that already holds it.
pub fn setup_load_fsx_cached(script: Script) -> LoadInput {
    let rt = runtime(true, false);
    // Warm the cache with a first load of the same text.
    drop(fusabi_plugin(script.source(), script.path(), &rt));
    let cache = rt.cache.as_ref().expect("cache is on");
    assert_eq!(cache.stats().misses, 1, "warm-up must compile once");
    LoadInput {
        bytes: script.source().as_bytes().to_vec(),
        path: script.path(),
        runtime: rt,
    }
}

/// A full load: read the bytes (decode and verify bytecode, or compile source),
/// create the VM from the template, run the top level, resolve the hooks.
pub fn run_load(input: LoadInput) -> (FusabiPlugin, FusabiRuntime) {
    let LoadInput {
        bytes,
        path,
        runtime,
    } = input;
    let mut plugin =
        FusabiPlugin::from_bytes(bytes, path, runtime.clone()).unwrap_or_else(|e| panic!("{e}"));
    plugin.load().unwrap_or_else(|e| panic!("{e}"));
    (plugin, runtime)
}

/// One separately measured load step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Source to chunk (lexer, parser, compiler).
    Compile,
    /// Chunk to `.fzb` bytes.
    Serialize,
    /// `.fzb` bytes to chunk.
    Deserialize,
    /// Stack-depth and bounds verification of a decoded chunk.
    Validate,
}

/// Input of one load step on the complex script.
pub struct StepInput {
    step: Step,
    chunk: Chunk,
    bytes: Vec<u8>,
}

/// Prepare `step` on the complex script: the chunk and its `.fzb` bytes.
pub fn setup_step(step: Step) -> StepInput {
    let path = Path::new(Script::Complex.path());
    let chunk = compile_source(Script::Complex.source(), path).unwrap_or_else(|e| panic!("{e}"));
    let bytes = encode_fzb(&chunk, path).unwrap_or_else(|e| panic!("{e}"));
    StepInput { step, chunk, bytes }
}

/// Run one load step. Returns what it produced and its input, to drop outside.
pub fn run_step(input: StepInput) -> (Option<Chunk>, Option<Vec<u8>>, StepInput) {
    let path = Path::new(Script::Complex.path());
    match input.step {
        Step::Compile => {
            let chunk = compile_source(Script::Complex.source(), path).ok();
            (chunk, None, input)
        }
        Step::Serialize => {
            let bytes = encode_fzb(&input.chunk, path).ok();
            (None, bytes, input)
        }
        Step::Deserialize => {
            let chunk = decode_fzb(&input.bytes, path).ok();
            (chunk, None, input)
        }
        Step::Validate => {
            let ok = verify_chunk(&input.chunk, path).is_ok();
            assert!(ok, "the complex script must verify");
            (None, None, input)
        }
    }
}

/// A manager over the example plugins directory, not loaded yet.
pub fn setup_load_dir(lazy: bool) -> PluginManager {
    manager(runtime(true, false), lazy)
}

/// Load the example plugin directory (lazy: read only; eager: compile and run each).
pub fn run_load_dir(mut manager: PluginManager) -> PluginManager {
    let report = manager
        .load_dir(EXAMPLES_DIR)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    manager
}

/// Lazy load of the example directory followed by the first output line, which is
/// when lazy plugins compile.
pub fn run_load_dir_first_line(manager: PluginManager) -> (PluginManager, String) {
    let mut manager = run_load_dir(manager);
    let out = manager.dispatch_output(ERROR_LINE).into_owned();
    (manager, out)
}

// ---------------------------------------------------------------------------
// dispatch and chaining

/// Which plugins a dispatch benchmark runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// No plugin at all.
    Empty,
    /// One Fusabi plugin whose hooks do nothing.
    Noop,
    /// One Fusabi plugin doing real work (tagger / remapper / resize logger).
    Processing,
    /// The same work as a native Rust plugin.
    Native,
}

/// A manager with `chain`, loaded and warmed (one call of each hook already made,
/// so lazy loading is not measured). Metrics as given.
pub fn dispatch_manager(chain: Chain, metrics: bool) -> PluginManager {
    let mut m = manager(runtime(true, metrics), false);
    match chain {
        Chain::Empty => {}
        Chain::Noop => add_script(&mut m, Script::Hooks.source(), Script::Hooks.path()),
        Chain::Processing => {
            add_script(&mut m, Script::Tagger.source(), Script::Tagger.path());
            add_script(&mut m, Script::Remap.source(), Script::Remap.path());
            add_script(&mut m, Script::ResizeLog.source(), Script::ResizeLog.path());
        }
        Chain::Native => {
            m.add_native(Box::new(NativeTagger::new("native_tagger")))
                .unwrap_or_else(|e| panic!("{e}"));
            m.add_native(Box::new(NativeRemapLog(PluginMetadata::new(
                "native_remap",
            ))))
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // Warm up, and check the chain does what the benchmark name says.
    let out = m.dispatch_output(ERROR_LINE).into_owned();
    let input = m.dispatch_input(REMAPPED_INPUT).into_owned();
    m.dispatch_resize(100, 30);
    match chain {
        Chain::Processing | Chain::Native => {
            assert_eq!(out, format!("[ERROR] {ERROR_LINE}"), "{chain:?}");
            assert_eq!(input, b"ls -l\r", "{chain:?}");
        }
        Chain::Empty | Chain::Noop => {
            assert_eq!(out, ERROR_LINE, "{chain:?}");
            assert_eq!(input, REMAPPED_INPUT, "{chain:?}");
        }
    }
    assert!(
        m.list().iter().all(|p| p.consecutive_failures == 0),
        "{chain:?}: a plugin failed during warm-up: {:?}",
        m.list()
    );
    m
}

/// Dispatch setups with metrics off (the default measurement).
pub fn setup_dispatch(chain: Chain) -> PluginManager {
    dispatch_manager(chain, false)
}

/// One output line through the chain.
pub fn run_output(m: &mut PluginManager) -> usize {
    let out: Cow<'_, str> = m.dispatch_output(std::hint::black_box(ERROR_LINE));
    out.len()
}

/// One input chunk through the chain.
pub fn run_input(m: &mut PluginManager) -> usize {
    m.dispatch_input(std::hint::black_box(REMAPPED_INPUT)).len()
}

/// One resize through the chain.
pub fn run_resize(m: &mut PluginManager) {
    m.dispatch_resize(std::hint::black_box(120), std::hint::black_box(40));
}

/// Metrics collector state for the metrics-overhead benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metrics {
    /// Collector records every hook and VM call.
    Enabled,
    /// Collector present but switched off.
    Disabled,
}

/// The processing chain with the collector on or off.
pub fn setup_metrics_dispatch(metrics: Metrics) -> PluginManager {
    dispatch_manager(Chain::Processing, metrics == Metrics::Enabled)
}

/// A bare collector, on or off.
pub fn setup_collector(metrics: Metrics) -> MetricsCollector {
    MetricsCollector::new(metrics == Metrics::Enabled)
}

/// One timing through the collector: what each hook call pays for metrics.
pub fn run_collector(c: &mut MetricsCollector) {
    let started = c.start();
    c.finish(
        scarab_plugins::Metric::OutputHook,
        std::hint::black_box(started),
    );
}

/// What kind of plugin a chain is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No-op hooks.
    Noop,
    /// The tagger.
    Tagger,
}

/// A manager with `n` copies of a plugin, loaded and warmed.
pub fn setup_chain(kind: Kind, n: usize) -> PluginManager {
    let mut m = manager(runtime(true, false), false);
    for i in 0..n {
        let name = format!("p{i:02}");
        let (script, path) = match kind {
            Kind::Noop => (Script::Minimal.renamed(&name), format!("{name}.fsx")),
            Kind::Tagger => (Script::Tagger.renamed(&name), format!("{name}.fsx")),
        };
        add_script(&mut m, &script, &path);
    }
    assert_eq!(m.len(), n);
    let out = m.dispatch_output(CHAIN_LINE).into_owned();
    if kind == Kind::Tagger {
        assert_eq!(out.matches("[WARN]").count(), n, "every tagger must tag");
    }
    m
}

/// The line sent through chains: every tagger in a chain tags it once more.
pub const CHAIN_LINE: &str = "warning: field `size` is never read";

/// One line through a chain.
pub fn run_chain(m: &mut PluginManager) -> usize {
    m.dispatch_output(std::hint::black_box(CHAIN_LINE)).len()
}

/// No-op chain of `n` plugins.
pub fn setup_chain_noop(n: usize) -> PluginManager {
    setup_chain(Kind::Noop, n)
}

/// Tagger chain of `n` plugins.
pub fn setup_chain_tagger(n: usize) -> PluginManager {
    setup_chain(Kind::Tagger, n)
}

// ---------------------------------------------------------------------------
// vm

/// How a hook is called in the `vm/call` benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPath {
    /// `Vm::call_value` on the plugin's VM, no adapter.
    Direct,
    /// `Plugin::on_output`: argument conversion, stack-bound check, return mapping.
    Adapter,
}

/// A loaded tagger plugin, with its `on_output` function at hand.
pub struct VmCall {
    path: CallPath,
    plugin: FusabiPlugin,
    func: Value,
    args: Vec<Value>,
}

/// A loaded tagger for a direct or adapter call.
pub fn setup_vm_call(path: CallPath) -> VmCall {
    let rt = runtime(false, false);
    let mut plugin = fusabi_plugin(Script::Tagger.source(), Script::Tagger.path(), &rt);
    let func = plugin
        .hook(scarab_plugins::Hook::Output)
        .cloned()
        .expect("tagger exports on_output");
    // Warm up once through the adapter.
    let action = plugin
        .on_output(ERROR_LINE)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(action, Action::Modify(_)));
    VmCall {
        path,
        plugin,
        func,
        args: vec![Value::Str(ERROR_LINE.to_owned())],
    }
}

/// Result of one `vm/call`.
pub enum CallResult {
    /// The raw VM value.
    Value(Option<Value>),
    /// The mapped action.
    Action(Option<Action>),
}

/// Call `on_output` once, directly or through the adapter.
pub fn run_vm_call(c: &mut VmCall) -> CallResult {
    match c.path {
        CallPath::Direct => {
            let vm: &mut Vm = c.plugin.vm_mut().expect("loaded");
            CallResult::Value(vm.call_value(c.func.clone(), &c.args).ok())
        }
        CallPath::Adapter => {
            CallResult::Action(c.plugin.on_output(std::hint::black_box(ERROR_LINE)).ok())
        }
    }
}

/// A front-end stage of the compiler, measured alone on the complex script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Source to tokens.
    Lex,
    /// Tokens to syntax tree.
    Parse,
    /// Syntax tree to bytecode chunk.
    Compile,
}

/// The input each front-end stage needs, produced by the stages before it.
pub struct StageInput {
    stage: Stage,
    tokens: Vec<TokenWithPos>,
    program: Option<Program>,
}

/// Run the stages before `stage` in setup.
pub fn setup_stage(stage: Stage) -> StageInput {
    let src = Script::Complex.source();
    let tokens = Lexer::new(src).tokenize().unwrap_or_else(|e| panic!("{e}"));
    let program = match stage {
        Stage::Lex | Stage::Parse => None,
        Stage::Compile => Some(
            Parser::new(tokens.clone())
                .parse_program()
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    };
    StageInput {
        stage,
        tokens,
        program,
    }
}

/// Output of a front-end stage (dropped outside the measured region).
pub enum StageOutput {
    /// Tokens.
    Tokens(Vec<TokenWithPos>),
    /// Syntax tree.
    Program(Program),
    /// Bytecode.
    Chunk(Chunk),
    /// The stage failed.
    Failed,
}

/// Run one front-end stage.
pub fn run_stage(input: StageInput) -> (StageOutput, Option<Program>) {
    match input.stage {
        Stage::Lex => match Lexer::new(Script::Complex.source()).tokenize() {
            Ok(t) => (StageOutput::Tokens(t), None),
            Err(_) => (StageOutput::Failed, None),
        },
        Stage::Parse => match Parser::new(input.tokens).parse_program() {
            Ok(p) => (StageOutput::Program(p), None),
            Err(_) => (StageOutput::Failed, None),
        },
        Stage::Compile => {
            let program = input.program.expect("parsed in setup");
            match Compiler::compile_program(&program) {
                Ok(c) => (StageOutput::Chunk(c), Some(program)),
                Err(_) => (StageOutput::Failed, Some(program)),
            }
        }
    }
}

/// How a VM is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// Clone of the template's globals, shared host registry.
    Template,
    /// `Vm::new` plus stdlib and host-function registration from scratch.
    Cold,
}

/// The template to make VMs from.
pub fn setup_vm_create(how: Creation) -> (Creation, VmTemplate) {
    (how, VmTemplate::new(Arc::new(HostState::new(80, 24))))
}

/// Make one VM.
pub fn run_vm_create(input: &mut (Creation, VmTemplate)) -> Vm {
    match input.0 {
        Creation::Template => input.1.instantiate(),
        Creation::Cold => input.1.cold_vm(),
    }
}

// ---------------------------------------------------------------------------
// throughput

/// A manager and a batch of lines.
pub struct Lines {
    /// The chain.
    pub manager: PluginManager,
    /// The lines to send.
    pub lines: Vec<String>,
}

/// `n` output lines through 0, 1 or 5 plugins.
///
/// 1 plugin: the tagger. 5 plugins: the tagger and the example set's output
/// plugins (URL detector, line counter, no-op) plus the functions script.
pub fn setup_output_lines(plugins: usize, n: usize) -> Lines {
    let mut m = manager(runtime(true, false), false);
    if plugins >= 1 {
        add_script(&mut m, Script::Tagger.source(), Script::Tagger.path());
    }
    if plugins >= 5 {
        for f in ["url_detect.fsx", "line_counter.fsx", "noop.fsx"] {
            let path = Path::new(EXAMPLES_DIR).join(f);
            m.load_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        add_script(&mut m, Script::Functions.source(), Script::Functions.path());
    }
    assert_eq!(m.len(), plugins);
    let lines = output_lines(n);
    // Warm up (compiles lazy plugins) and check nobody fails.
    for line in lines.iter().take(20) {
        m.dispatch_output(line);
    }
    assert!(
        m.list().iter().all(|p| p.total_failures == 0),
        "{:?}",
        m.list()
    );
    Lines { manager: m, lines }
}

/// Send every line through the chain, one call per line.
pub fn run_output_lines(s: &mut Lines) -> usize {
    let mut total = 0;
    for line in &s.lines {
        total += s.manager.dispatch_output(line).len();
    }
    total
}

/// 0 plugins, `n` lines.
pub fn setup_lines_p0(n: usize) -> Lines {
    setup_output_lines(0, n)
}
/// 1 plugin, `n` lines.
pub fn setup_lines_p1(n: usize) -> Lines {
    setup_output_lines(1, n)
}
/// 5 plugins, `n` lines.
pub fn setup_lines_p5(n: usize) -> Lines {
    setup_output_lines(5, n)
}

/// A manager with the input remapper and `n` input events.
pub struct Inputs {
    /// The chain.
    pub manager: PluginManager,
    /// The events to send.
    pub events: Vec<Vec<u8>>,
}

/// `n` input events through the remapper.
pub fn setup_input_events(n: usize) -> Inputs {
    let mut m = manager(runtime(true, false), false);
    add_script(&mut m, Script::Remap.source(), Script::Remap.path());
    let events = input_events(n);
    for e in events.iter().take(8) {
        m.dispatch_input(e);
    }
    assert!(
        m.list().iter().all(|p| p.total_failures == 0),
        "{:?}",
        m.list()
    );
    Inputs { manager: m, events }
}

/// Send every input event through the chain.
pub fn run_input_events(s: &mut Inputs) -> usize {
    let mut total = 0;
    for e in &s.events {
        total += s.manager.dispatch_input(e).len();
    }
    total
}

/// `n` lines through the example line counter, which exports `on_output_batch`.
pub fn setup_counter_lines(n: usize) -> Lines {
    let mut m = manager(runtime(true, false), false);
    let path = Path::new(EXAMPLES_DIR).join("line_counter.fsx");
    m.load_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines = output_lines(n);
    m.dispatch_output_batch(&lines[..lines.len().min(5)]);
    m.dispatch_output(&lines[0]);
    assert!(
        m.list().iter().all(|p| p.total_failures == 0),
        "{:?}",
        m.list()
    );
    Lines { manager: m, lines }
}

/// All lines in one batch call (one VM call per plugin).
pub fn run_counter_batched(s: &mut Lines) -> usize {
    s.manager.dispatch_output_batch(&s.lines).len()
}

// ---------------------------------------------------------------------------
// cache

/// A script cache and the source to look up.
pub struct CacheLookup {
    /// The cache.
    pub cache: ScriptCache,
    /// What to look up.
    pub source: &'static str,
}

/// Hit: the cache already holds the complex script.
pub fn setup_cache_hit(_: ()) -> CacheLookup {
    let cache = ScriptCache::in_memory();
    let src = Script::Complex.source();
    cache
        .get_or_compile(src, Path::new(Script::Complex.path()))
        .unwrap_or_else(|e| panic!("{e}"));
    CacheLookup { cache, source: src }
}

/// Miss: an empty cache.
pub fn setup_cache_miss(_: ()) -> CacheLookup {
    CacheLookup {
        cache: ScriptCache::in_memory(),
        source: Script::Complex.source(),
    }
}

/// One lookup (hash the source; on a miss compile and insert).
pub fn run_cache_lookup(c: CacheLookup) -> (Option<Arc<Chunk>>, CacheLookup) {
    let chunk = c
        .cache
        .get_or_compile(c.source, Path::new(Script::Complex.path()))
        .ok();
    (chunk, c)
}

/// How the `cache/vm_call` benchmarks get a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmUse {
    /// Call the hook on a plugin whose VM is already running.
    Reused,
    /// Make a fresh VM from the template, run the script's top level, resolve the
    /// hooks, then call.
    Fresh,
}

/// Input of one `cache/vm_call`.
pub enum VmCallInput {
    /// A running tagger.
    Reused(FusabiPlugin),
    /// The tagger's chunk and a runtime.
    Fresh(Arc<Chunk>, FusabiRuntime),
}

/// Prepare a reused or fresh VM call of the tagger.
pub fn setup_vm_use(how: VmUse) -> VmCallInput {
    let rt = runtime(false, false);
    match how {
        VmUse::Reused => {
            let mut p = fusabi_plugin(Script::Tagger.source(), Script::Tagger.path(), &rt);
            p.on_output(ERROR_LINE).unwrap_or_else(|e| panic!("{e}"));
            VmCallInput::Reused(p)
        }
        VmUse::Fresh => {
            let chunk = compile_source(Script::Tagger.source(), Path::new(Script::Tagger.path()))
                .unwrap_or_else(|e| panic!("{e}"));
            VmCallInput::Fresh(Arc::new(chunk), rt)
        }
    }
}

/// One hook call, on the running VM or on a fresh one.
pub fn run_vm_use(input: VmCallInput) -> (FusabiPlugin, Option<Action>) {
    match input {
        VmCallInput::Reused(mut p) => {
            let action = p.on_output(std::hint::black_box(ERROR_LINE)).ok();
            (p, action)
        }
        VmCallInput::Fresh(chunk, rt) => {
            let mut p = FusabiPlugin::from_chunk(
                chunk,
                PluginMetadata::new("tagger"),
                Script::Tagger.path(),
                rt,
            );
            let action = p.on_output(std::hint::black_box(ERROR_LINE)).ok();
            (p, action)
        }
    }
}

// ---------------------------------------------------------------------------
// realistic

/// One event of a recorded terminal session.
#[derive(Debug, Clone)]
pub enum Event {
    /// A line of output.
    Output(String),
    /// A chunk of input.
    Input(Vec<u8>),
    /// A resize.
    Resize(u16, u16),
}

/// A session: 100 output lines, 20 input events and 2 resizes, interleaved.
pub fn session_events() -> Vec<Event> {
    let lines = output_lines(100);
    let inputs = input_events(20);
    let mut events = Vec::with_capacity(122);
    let mut inputs = inputs.into_iter();
    for (i, line) in lines.into_iter().enumerate() {
        if i % 5 == 0 {
            if let Some(e) = inputs.next() {
                events.push(Event::Input(e));
            }
        }
        if i == 30 {
            events.push(Event::Resize(132, 43));
        }
        if i == 70 {
            events.push(Event::Resize(80, 24));
        }
        events.push(Event::Output(line));
    }
    assert_eq!(events.len(), 122);
    events
}

/// The example plugin set and a session.
pub struct Session {
    /// Manager with the example plugins.
    pub manager: PluginManager,
    /// The events.
    pub events: Vec<Event>,
}

/// The example plugin directory, loaded eagerly, metrics on or off.
pub fn setup_session(metrics: Metrics) -> Session {
    let mut m = manager(runtime(true, metrics == Metrics::Enabled), false);
    let report = m.load_dir(EXAMPLES_DIR).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.loaded.len() >= 5, "{:?}", report.loaded);
    let events = session_events();
    // Warm up on a copy of the first events, then check nobody failed.
    for e in events.iter().take(10) {
        replay(&mut m, e);
    }
    assert!(
        m.list().iter().all(|p| p.total_failures == 0),
        "{:?}",
        m.list()
    );
    Session { manager: m, events }
}

fn replay(m: &mut PluginManager, e: &Event) -> usize {
    match e {
        Event::Output(line) => m.dispatch_output(line).len(),
        Event::Input(bytes) => m.dispatch_input(bytes).len(),
        Event::Resize(c, r) => {
            m.dispatch_resize(*c, *r);
            0
        }
    }
}

/// Replay the whole session through the chain.
pub fn run_session(s: &mut Session) -> usize {
    let mut total = 0;
    for e in &s.events {
        total += replay(&mut s.manager, e);
    }
    total
}
