//! The plugin manager: loads plugins, runs the chain, contains failures.
//!
//! (Over 600 lines: the manager and its unit tests of the chain's failure rules stay
//! together, since each rule is tested beside the code that enforces it.)

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{panic_message, HookError, LoadError, ManagerError};
use crate::fusabi::plugin::{FusabiPlugin, FusabiRuntime};
use crate::fusabi::template::HostState;
use crate::metrics::{Metric, MetricsCollector};
use crate::plugin::{Action, Plugin, PluginMetadata};

/// Failures in a row after which a plugin is disabled.
pub const DEFAULT_MAX_FAILURES: u32 = 3;

/// How a [`PluginManager`] behaves.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Compile Fusabi scripts on their first hook call (`true`, the default) or when
    /// they are loaded (`false`, which reports compile errors from `load_dir`).
    pub lazy: bool,
    /// Failures in a row after which a plugin is disabled (default 3).
    pub max_failures: u32,
    /// Per-hook time budget (per line for a batch hook). A hook that returns later
    /// than this counts as a failure and its result is dropped (the value passes on
    /// unchanged). A hook cannot be
    /// interrupted while it runs: see [`crate::AsyncPluginHost`] for callers that must
    /// not wait.
    pub hook_budget: Option<Duration>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            lazy: true,
            max_failures: DEFAULT_MAX_FAILURES,
            hook_budget: None,
        }
    }
}

/// Whether a plugin takes part in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginState {
    /// In the chain.
    Active,
    /// Out of the chain, with the reason.
    Disabled(String),
}

/// What kind of plugin a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginKind {
    /// Native Rust.
    Native,
    /// Fusabi, from this file.
    Fusabi(PathBuf),
}

/// One row of [`PluginManager::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Name, version and priority.
    pub metadata: PluginMetadata,
    /// Native or Fusabi (with its file).
    pub kind: PluginKind,
    /// Active or disabled.
    pub state: PluginState,
    /// Whether `on_load` has run and succeeded (lazy plugins load on their first hook
    /// call). Only started plugins get `on_unload`.
    pub started: bool,
    /// Failures in a row so far.
    pub consecutive_failures: u32,
    /// All failures so far.
    pub total_failures: u64,
    /// The most recent failure, if any.
    pub last_error: Option<String>,
}

/// What [`PluginManager::load_dir`] did: the plugins it added and the files it could not load.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Names of the plugins added.
    pub loaded: Vec<String>,
    /// One error per file that could not be loaded; each names its file.
    pub errors: Vec<LoadError>,
}

struct Slot {
    plugin: Box<dyn Plugin>,
    /// For a Fusabi plugin, the host state its `Host.cols` / `Host.rows` read.
    host: Option<Arc<HostState>>,
    meta: PluginMetadata,
    kind: PluginKind,
    state: PluginState,
    started: bool,
    consecutive_failures: u32,
    total_failures: u64,
    last_error: Option<String>,
}

/// Runs a chain of plugins over terminal output, input and resizes.
///
/// Plugins run in priority order (highest first, ties by name). `Modify` feeds the
/// next plugin, `Stop` ends the chain keeping what was produced so far. A failing
/// plugin counts as `Continue` for that call; after [`ManagerOptions::max_failures`]
/// failures in a row (or at once, if it panics, cannot load, or its `on_load` fails)
/// it is disabled and the chain runs on without it. No plugin error reaches the caller.
pub struct PluginManager {
    slots: Vec<Slot>,
    runtime: FusabiRuntime,
    options: ManagerOptions,
}

impl std::fmt::Debug for PluginManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginManager")
            .field("plugins", &self.list())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for PluginManager {
    fn default() -> Self {
        Self::new()
    }
}

impl PluginManager {
    /// A manager with a default Fusabi runtime (in-memory script cache, metrics on) and
    /// default options.
    pub fn new() -> Self {
        Self::with_runtime(FusabiRuntime::default(), ManagerOptions::default())
    }

    /// A manager with the given runtime and options.
    pub fn with_runtime(runtime: FusabiRuntime, options: ManagerOptions) -> Self {
        Self {
            slots: Vec::new(),
            runtime,
            options,
        }
    }

    /// The shared Fusabi runtime (template, cache, metrics).
    pub fn runtime(&self) -> &FusabiRuntime {
        &self.runtime
    }

    /// The metrics collector.
    pub fn metrics(&self) -> &Arc<MetricsCollector> {
        &self.runtime.metrics
    }

    /// The options in force.
    pub fn options(&self) -> &ManagerOptions {
        &self.options
    }

    /// Change the per-hook time budget (see [`ManagerOptions::hook_budget`]).
    pub fn set_hook_budget(&mut self, budget: Option<Duration>) {
        self.options.hook_budget = budget;
    }

    /// Load every `.fsx` and `.fzb` file in `dir` (not recursing), in name order.
    ///
    /// A file that cannot be loaded is reported in [`LoadReport::errors`] and the
    /// others still load. A directory without plugin files is an error.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<LoadReport, ManagerError> {
        let dir = dir.as_ref();
        let read_err = |source| ManagerError::ReadDir {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let is_plugin = path.extension().is_some_and(|e| e == "fsx" || e == "fzb");
            if is_plugin {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(ManagerError::Load(LoadError::EmptyDirectory {
                path: dir.to_owned(),
            }));
        }
        files.sort();
        let mut report = LoadReport::default();
        for path in files {
            match self.load_file(&path) {
                Ok(name) => report.loaded.push(name),
                Err(e) => {
                    tracing::warn!("{e}");
                    report.errors.push(e);
                }
            }
        }
        Ok(report)
    }

    /// Load one Fusabi plugin file (`.fsx` or `.fzb`, told apart by content) and add
    /// it. Returns the plugin's name.
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<String, LoadError> {
        let path = path.as_ref();
        let mut plugin = FusabiPlugin::from_path(path, self.runtime.clone())?;
        if !self.options.lazy {
            plugin.load()?;
        }
        self.add_fusabi(plugin)
    }

    /// Add a Fusabi plugin made elsewhere.
    ///
    /// Make it with this manager's runtime (`manager.runtime().clone()`) so that it
    /// shares the manager's VM template, script cache and metrics; a plugin made with
    /// another runtime records into that runtime's metrics. Resizes reach its
    /// `Host.cols ()` / `Host.rows ()` either way.
    pub fn add_fusabi(&mut self, plugin: FusabiPlugin) -> Result<String, LoadError> {
        let kind = PluginKind::Fusabi(plugin.path().to_owned());
        let host = Arc::clone(plugin.runtime().template.host_state());
        self.add_slot(Box::new(plugin), kind, Some(host))
    }

    /// Add a native plugin. Its `on_load` runs before its first hook.
    pub fn add_native(&mut self, plugin: Box<dyn Plugin>) -> Result<String, LoadError> {
        self.add_slot(plugin, PluginKind::Native, None)
    }

    fn add_slot(
        &mut self,
        plugin: Box<dyn Plugin>,
        kind: PluginKind,
        host: Option<Arc<HostState>>,
    ) -> Result<String, LoadError> {
        let meta = catch_unwind(AssertUnwindSafe(|| plugin.metadata().clone())).map_err(|p| {
            LoadError::Panicked {
                path: match &kind {
                    PluginKind::Fusabi(path) => path.clone(),
                    PluginKind::Native => PathBuf::from("native:<unnamed>"),
                },
                message: format!("metadata() panicked: {}", panic_message(p.as_ref())),
            }
        })?;
        if self.slots.iter().any(|s| s.meta.name == meta.name) {
            let path = match &kind {
                PluginKind::Fusabi(p) => p.clone(),
                PluginKind::Native => PathBuf::from(format!("native:{}", meta.name)),
            };
            return Err(LoadError::DuplicateName {
                path,
                name: meta.name,
            });
        }
        let name = meta.name.clone();
        self.slots.push(Slot {
            plugin,
            host,
            meta,
            kind,
            state: PluginState::Active,
            started: false,
            consecutive_failures: 0,
            total_failures: 0,
            last_error: None,
        });
        self.slots.sort_by(|a, b| {
            b.meta
                .priority
                .cmp(&a.meta.priority)
                .then_with(|| a.meta.name.cmp(&b.meta.name))
        });
        Ok(name)
    }

    /// Remove a plugin, running its `on_unload`. Returns whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(i) = self.slots.iter().position(|s| s.meta.name == name) else {
            return false;
        };
        let mut slot = self.slots.remove(i);
        unload(&mut slot);
        true
    }

    /// Plugins in chain order with their state.
    pub fn list(&self) -> Vec<PluginInfo> {
        self.slots
            .iter()
            .map(|s| PluginInfo {
                metadata: s.meta.clone(),
                kind: s.kind.clone(),
                state: s.state.clone(),
                started: s.started,
                consecutive_failures: s.consecutive_failures,
                total_failures: s.total_failures,
                last_error: s.last_error.clone(),
            })
            .collect()
    }

    /// Number of plugins (active or not).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no plugin is loaded.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Put a disabled plugin back into the chain with its failure count reset.
    pub fn enable(&mut self, name: &str) -> bool {
        match self.slots.iter_mut().find(|s| s.meta.name == name) {
            Some(s) => {
                s.state = PluginState::Active;
                s.consecutive_failures = 0;
                true
            }
            None => false,
        }
    }

    /// Take a plugin out of the chain.
    pub fn disable(&mut self, name: &str) -> bool {
        match self.slots.iter_mut().find(|s| s.meta.name == name) {
            Some(s) => {
                s.state = PluginState::Disabled("disabled by the host".to_owned());
                true
            }
            None => false,
        }
    }

    /// The plugin with this name, to call it directly.
    pub fn plugin_mut(&mut self, name: &str) -> Option<&mut (dyn Plugin + 'static)> {
        self.slots
            .iter_mut()
            .find(|s| s.meta.name == name)
            .map(|s| s.plugin.as_mut())
    }

    /// Run one line of output through the chain. Borrows the line when no plugin
    /// changes it.
    pub fn dispatch_output<'a>(&mut self, line: &'a str) -> Cow<'a, str> {
        let _span = tracing::trace_span!("scarab.dispatch_output").entered();
        crate::profile_scope!("dispatch_output");
        let mut current: Cow<'a, str> = Cow::Borrowed(line);
        let ctx = self.ctx();
        for slot in self.slots.iter_mut() {
            let action = ctx.run(slot, Metric::OutputHook, "on_output", 1, |p| {
                p.on_output(&current)
            });
            match action {
                Some(Action::Modify(s)) => current = Cow::Owned(s),
                Some(Action::Stop) => break,
                Some(Action::Continue) | None => {}
            }
        }
        current
    }

    /// Run many lines through the chain at once: each plugin gets the lines still in
    /// the chain in one call to [`Plugin::on_output_batch`] (one VM call for a Fusabi
    /// plugin that exports `on_output_batch`). The result equals calling
    /// [`PluginManager::dispatch_output`] per line for plugins whose behaviour on a
    /// line does not depend on other plugins' calls; a failing batch call counts as one
    /// failure and leaves the whole batch unchanged.
    pub fn dispatch_output_batch(&mut self, lines: &[String]) -> Vec<String> {
        let _span =
            tracing::trace_span!("scarab.dispatch_output_batch", lines = lines.len()).entered();
        crate::profile_scope!("dispatch_output_batch");
        let mut current: Vec<String> = lines.to_vec();
        // Indices of the lines no plugin has stopped yet.
        let mut live: Vec<usize> = (0..lines.len()).collect();
        let ctx = self.ctx();
        for slot in self.slots.iter_mut() {
            if live.is_empty() {
                break;
            }
            let batch: Vec<String> = live
                .iter()
                .map(|&i| std::mem::take(&mut current[i]))
                .collect();
            let n = batch.len();
            let actions = ctx.run(slot, Metric::OutputHook, "on_output_batch", n, |p| {
                let actions = p.on_output_batch(&batch)?;
                if actions.len() == n {
                    Ok(actions)
                } else {
                    Err(HookError::BadReturn {
                        origin: p.metadata().name.clone(),
                        hook: "on_output_batch",
                        expected: "one action per line",
                        got: format!("{} actions for {n} lines", actions.len()),
                    })
                }
            });
            let mut stopped = Vec::new();
            match actions {
                Some(actions) => {
                    for ((k, line), action) in batch.into_iter().enumerate().zip(actions) {
                        let i = live[k];
                        match action {
                            Action::Continue => current[i] = line,
                            Action::Modify(s) => current[i] = s,
                            Action::Stop => {
                                current[i] = line;
                                stopped.push(i);
                            }
                        }
                    }
                }
                None => {
                    for (k, line) in batch.into_iter().enumerate() {
                        current[live[k]] = line;
                    }
                }
            }
            if !stopped.is_empty() {
                live.retain(|i| !stopped.contains(i));
            }
        }
        current
    }

    /// Run one chunk of input through the chain. Borrows the input when no plugin
    /// changes it.
    pub fn dispatch_input<'a>(&mut self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let _span = tracing::trace_span!("scarab.dispatch_input").entered();
        crate::profile_scope!("dispatch_input");
        let mut current: Cow<'a, [u8]> = Cow::Borrowed(bytes);
        let ctx = self.ctx();
        for slot in self.slots.iter_mut() {
            let action = ctx.run(slot, Metric::InputHook, "on_input", 1, |p| {
                p.on_input(&current)
            });
            match action {
                Some(Action::Modify(b)) => current = Cow::Owned(b),
                Some(Action::Stop) => break,
                Some(Action::Continue) | None => {}
            }
        }
        current
    }

    /// Tell every active plugin about a new terminal size (and update `Host.cols ()` /
    /// `Host.rows ()`).
    pub fn dispatch_resize(&mut self, cols: u16, rows: u16) {
        let _span = tracing::trace_span!("scarab.dispatch_resize", cols, rows).entered();
        crate::profile_scope!("dispatch_resize");
        self.runtime.template.host_state().set_size(cols, rows);
        let ctx = self.ctx();
        for slot in self.slots.iter_mut() {
            if let Some(host) = &slot.host {
                // Plugins made with another runtime read their own host state.
                host.set_size(cols, rows);
            }
            ctx.run(slot, Metric::ResizeHook, "on_resize", 1, |p| {
                p.on_resize(cols, rows)
            });
        }
    }

    /// Run every started plugin's `on_unload` and remove all plugins.
    pub fn unload_all(&mut self) {
        for mut slot in self.slots.drain(..) {
            unload(&mut slot);
        }
    }

    fn ctx(&self) -> HookCtx {
        HookCtx {
            metrics: Arc::clone(&self.runtime.metrics),
            budget: self.options.hook_budget,
            max_failures: self.options.max_failures,
        }
    }
}

impl Drop for PluginManager {
    fn drop(&mut self) {
        self.unload_all();
    }
}

fn unload(slot: &mut Slot) {
    if !slot.started {
        return;
    }
    let name = slot.meta.name.clone();
    match catch_unwind(AssertUnwindSafe(|| slot.plugin.on_unload())) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(plugin = %name, "on_unload failed: {e}"),
        Err(p) => {
            tracing::warn!(plugin = %name, "on_unload panicked: {}", panic_message(p.as_ref()))
        }
    }
}

/// What running one hook needs from the manager, split off so the slots can be
/// borrowed mutably at the same time.
struct HookCtx {
    metrics: Arc<MetricsCollector>,
    budget: Option<Duration>,
    max_failures: u32,
}

impl HookCtx {
    /// Run `f` on the slot's plugin with every containment the manager promises:
    /// skip disabled plugins, run `on_load` first, catch panics, enforce the time
    /// budget, count failures and disable. `None` means "treat as Continue".
    fn run<T>(
        &self,
        slot: &mut Slot,
        metric: Metric,
        hook: &'static str,
        items: usize,
        f: impl FnOnce(&mut dyn Plugin) -> Result<T, HookError>,
    ) -> Option<T> {
        if slot.state != PluginState::Active {
            return None;
        }
        if !slot.started {
            let r = catch_unwind(AssertUnwindSafe(|| slot.plugin.on_load()));
            if let Err(e) = flatten(r, &slot.meta.name, "on_load") {
                // A plugin that could not start is not run at all (and `on_load` runs
                // again if it is enabled later).
                self.fail(slot, e);
                if slot.state == PluginState::Active {
                    slot.state = PluginState::Disabled(format!(
                        "disabled: on_load failed: {}",
                        slot.last_error.as_deref().unwrap_or("")
                    ));
                }
                return None;
            }
            slot.started = true;
        }
        let _span = tracing::trace_span!("scarab.hook", plugin = %slot.meta.name, hook).entered();
        let timed = self.budget.is_some() || self.metrics.is_enabled();
        let started = timed.then(Instant::now);
        let r = catch_unwind(AssertUnwindSafe(|| f(slot.plugin.as_mut())));
        let elapsed = started.map(|t| t.elapsed());
        if let Some(elapsed) = elapsed {
            if self.metrics.is_enabled() {
                let per_item = elapsed / u32::try_from(items.max(1)).unwrap_or(u32::MAX);
                self.metrics.record_n(metric, per_item, items.max(1) as u64);
            }
        }
        match flatten(r, &slot.meta.name, hook) {
            Ok(value) => {
                if let (Some(budget), Some(elapsed)) = (self.budget, elapsed) {
                    // A batch gets the budget once per line.
                    let budget =
                        budget.saturating_mul(u32::try_from(items.max(1)).unwrap_or(u32::MAX));
                    if elapsed > budget {
                        self.fail(
                            slot,
                            HookError::OverBudget {
                                origin: slot.meta.name.clone(),
                                hook,
                                elapsed_us: elapsed.as_micros(),
                                budget_us: budget.as_micros(),
                            },
                        );
                        return None;
                    }
                }
                slot.consecutive_failures = 0;
                Some(value)
            }
            Err(e) => {
                self.fail(slot, e);
                None
            }
        }
    }

    fn fail(&self, slot: &mut Slot, e: HookError) {
        slot.consecutive_failures += 1;
        slot.total_failures += 1;
        let message = e.to_string();
        tracing::warn!(plugin = %slot.meta.name, failures = slot.consecutive_failures, "{message}");
        if e.is_fatal() || slot.consecutive_failures >= self.max_failures {
            let reason = if e.is_fatal() {
                format!("disabled after a fatal failure: {message}")
            } else {
                format!(
                    "disabled after {} failures in a row; last: {message}",
                    slot.consecutive_failures
                )
            };
            tracing::error!(plugin = %slot.meta.name, "{reason}");
            slot.state = PluginState::Disabled(reason);
        }
        slot.last_error = Some(message);
    }
}

fn flatten<T>(
    r: std::thread::Result<Result<T, HookError>>,
    plugin: &str,
    hook: &'static str,
) -> Result<T, HookError> {
    match r {
        Ok(r) => r,
        Err(payload) => Err(HookError::Panicked {
            origin: plugin.to_owned(),
            hook,
            message: panic_message(payload.as_ref()),
        }),
    }
}
