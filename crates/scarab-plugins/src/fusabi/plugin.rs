//! A plugin written in Fusabi, loaded from `.fsx` source or `.fzb` bytecode.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fusabi_vm::{Chunk, Value, Vm};

use super::bytecode::{
    decode_fzb, is_bytecode, parse_header, stamped_metadata, verify_chunk, MAX_FSX_BYTES,
    MAX_FZB_BYTES,
};
use super::cache::ScriptCache;
use super::template::{VmTemplate, PLUGIN_NAME_GLOBAL};
use crate::error::{panic_message, HookError, LoadError};
use crate::metrics::{Metric, MetricsCollector};
use crate::plugin::{Action, Plugin, PluginMetadata};

/// Default bound on a plugin VM's stack: past it the VM is replaced. Fusabi 0.35
/// leaves about three values on the stack per call, so this replaces the VM about
/// every 300 calls.
pub const DEFAULT_STACK_BOUND: usize = 1024;

/// What Fusabi plugins share: the VM template, the script cache, the metrics, and the
/// stack bound after which a VM is replaced.
#[derive(Debug, Clone)]
pub struct FusabiRuntime {
    /// Template every plugin VM is made from.
    pub template: Arc<VmTemplate>,
    /// Cache of compiled scripts; `None` compiles every script anew.
    pub cache: Option<Arc<ScriptCache>>,
    /// Where load and VM timings go.
    pub metrics: Arc<MetricsCollector>,
    /// Replace a plugin's VM when its stack holds more values than this.
    pub stack_bound: usize,
}

impl Default for FusabiRuntime {
    fn default() -> Self {
        Self {
            template: Arc::new(VmTemplate::default()),
            cache: Some(Arc::new(ScriptCache::in_memory())),
            metrics: Arc::new(MetricsCollector::default()),
            stack_bound: DEFAULT_STACK_BOUND,
        }
    }
}

/// The hooks a script can export, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `on_load ()`.
    Load,
    /// `on_output line` returning `Continue`, `Stop` or `Modify s`.
    Output,
    /// `on_output_batch lines` returning a list of actions, one per line.
    OutputBatch,
    /// `on_input text` returning `Continue`, `Stop` or `Modify s`.
    Input,
    /// `on_resize { cols = c; rows = r }`.
    Resize,
    /// `on_unload ()`.
    Unload,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Hook; 6] = [
        Hook::Load,
        Hook::Output,
        Hook::OutputBatch,
        Hook::Input,
        Hook::Resize,
        Hook::Unload,
    ];

    /// The name under which a script exports this hook.
    pub fn export_name(self) -> &'static str {
        match self {
            Hook::Load => "on_load",
            Hook::Output => "on_output",
            Hook::OutputBatch => "on_output_batch",
            Hook::Input => "on_input",
            Hook::Resize => "on_resize",
            Hook::Unload => "on_unload",
        }
    }
}

/// Where the plugin is on its way to running.
#[derive(Debug)]
enum Stage {
    /// Source read, not compiled yet (lazy loading).
    Source(String),
    /// Bytecode decoded and verified, not run yet.
    Chunk(Arc<Chunk>),
    /// Running: the VM holds the exports in its globals. Boxed to keep the plugin
    /// small; a `Vm` is several hundred bytes.
    Ready(Box<Vm>),
}

/// A plugin written in Fusabi. One type covers `.fsx` source and `.fzb` bytecode; the
/// two are told apart by the `FZB\x01` magic, not by the file name.
///
/// Loading is lazy: [`FusabiPlugin::from_path`] reads (and for bytecode, decodes and
/// verifies) the file; compiling, creating the VM and running the script's top level
/// happen on the first hook call or on [`FusabiPlugin::load`].
#[derive(Debug)]
pub struct FusabiPlugin {
    meta: PluginMetadata,
    path: PathBuf,
    origin: String,
    runtime: FusabiRuntime,
    stage: Stage,
    hooks: Box<[Option<Value>; 6]>,
    vm_replacements: u64,
    vm_calls: u64,
}

impl FusabiPlugin {
    /// Read a plugin file. Source is compiled later; bytecode is decoded and verified now.
    ///
    /// The form is told by the `FZB\x01` magic. A file named `*.fzb` without the magic
    /// is reported as bad bytecode rather than compiled as source.
    pub fn from_path(path: impl AsRef<Path>, runtime: FusabiRuntime) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let bytes = read_plugin_file(path)?;
        Self::from_bytes(bytes, path, runtime)
    }

    /// Make a plugin from the bytes of a file; `path` names it in errors and gives its
    /// default name.
    pub fn from_bytes(
        bytes: Vec<u8>,
        path: impl AsRef<Path>,
        runtime: FusabiRuntime,
    ) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let named_fzb = path.extension().is_some_and(|e| e == "fzb");
        if is_bytecode(&bytes) || named_fzb {
            let started = runtime.metrics.start();
            let chunk = contain(path, || {
                let chunk = decode_fzb(&bytes, path)?;
                verify_chunk(&chunk, path)?;
                Ok(chunk)
            })?;
            runtime.metrics.finish(Metric::BytecodeLoad, started);
            let meta = stamped_metadata(&chunk, path);
            Ok(Self::new(
                meta,
                path,
                runtime,
                Stage::Chunk(Arc::new(chunk)),
            ))
        } else {
            if bytes.len() as u64 > MAX_FSX_BYTES {
                return Err(LoadError::TooLarge {
                    path: path.to_owned(),
                    size: bytes.len() as u64,
                    limit: MAX_FSX_BYTES,
                    kind: ".fsx",
                });
            }
            let source = String::from_utf8(bytes).map_err(|_| LoadError::NotSource {
                path: path.to_owned(),
            })?;
            let meta = parse_header(&source, path)?;
            Ok(Self::new(meta, path, runtime, Stage::Source(source)))
        }
    }

    /// Make a plugin from source text.
    pub fn from_source(
        source: impl Into<String>,
        path: impl AsRef<Path>,
        runtime: FusabiRuntime,
    ) -> Result<Self, LoadError> {
        Self::from_bytes(source.into().into_bytes(), path, runtime)
    }

    /// Make a plugin from an already compiled chunk. The chunk is not verified here:
    /// pass chunks from [`super::bytecode::compile_source`] or ones that passed
    /// [`super::bytecode::verify_chunk`].
    pub fn from_chunk(
        chunk: Arc<Chunk>,
        meta: PluginMetadata,
        path: impl AsRef<Path>,
        runtime: FusabiRuntime,
    ) -> Self {
        Self::new(meta, path.as_ref(), runtime, Stage::Chunk(chunk))
    }

    fn new(meta: PluginMetadata, path: &Path, runtime: FusabiRuntime, stage: Stage) -> Self {
        Self {
            meta,
            origin: path.display().to_string(),
            path: path.to_owned(),
            runtime,
            stage,
            hooks: Default::default(),
            vm_replacements: 0,
            vm_calls: 0,
        }
    }

    /// The runtime (template, cache, metrics) this plugin was made with.
    pub fn runtime(&self) -> &FusabiRuntime {
        &self.runtime
    }

    /// The file this plugin came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the script has been compiled and run (its hooks are resolved).
    pub fn is_loaded(&self) -> bool {
        matches!(self.stage, Stage::Ready(_))
    }

    /// Compile (through the cache) if needed, create the VM from the template, run the
    /// script's top level and resolve its hooks. Does nothing if already loaded.
    pub fn load(&mut self) -> Result<(), LoadError> {
        if self.is_loaded() {
            return Ok(());
        }
        let started = self.runtime.metrics.start();
        let _span = tracing::debug_span!("scarab.plugin_load", plugin = %self.meta.name).entered();
        crate::profile_scope!("plugin_load");
        let path = self.path.clone();
        let chunk = match &self.stage {
            Stage::Source(src) => {
                let src = src.as_str();
                let cache = self.runtime.cache.clone();
                contain(&path, || match &cache {
                    Some(cache) => cache.get_or_compile(src, &path),
                    None => super::bytecode::compile_source(src, &path).map(Arc::new),
                })?
            }
            Stage::Chunk(chunk) => Arc::clone(chunk),
            Stage::Ready(_) => return Ok(()),
        };
        let mut vm = self.runtime.template.instantiate();
        vm.globals.insert(
            PLUGIN_NAME_GLOBAL.to_owned(),
            Value::Str(self.meta.name.clone()),
        );
        let exports = contain(&path, || {
            vm.execute(Chunk::clone(&chunk))
                .map_err(|e| LoadError::TopLevel {
                    path: path.clone(),
                    message: e.to_string(),
                })
        })?;
        let hooks = resolve_exports(&exports, &mut vm, &path)?;
        // The top-level run leaves values behind; start with a clean VM.
        self.runtime.template.renew(&mut vm);
        *self.hooks = hooks;
        self.stage = Stage::Ready(Box::new(vm));
        self.runtime.metrics.finish(Metric::PluginLoad, started);
        Ok(())
    }

    /// The exported function for `hook`, once loaded. With [`FusabiPlugin::vm_mut`]
    /// this lets a caller invoke a hook on the VM directly, bypassing the adapter.
    pub fn hook(&self, hook: Hook) -> Option<&Value> {
        self.hooks[hook as usize].as_ref()
    }

    /// The plugin's VM, once loaded.
    pub fn vm_mut(&mut self) -> Option<&mut Vm> {
        match &mut self.stage {
            Stage::Ready(vm) => Some(vm),
            _ => None,
        }
    }

    /// Values currently on the VM's stack (0 before loading).
    pub fn stack_size(&self) -> usize {
        match &self.stage {
            Stage::Ready(vm) => vm.stack_size(),
            _ => 0,
        }
    }

    /// How many times the VM has been replaced (stack bound reached, or an error).
    pub fn vm_replacements(&self) -> u64 {
        self.vm_replacements
    }

    /// How many hook calls have entered the VM so far. A hook the script does not
    /// export never does, and a batch hook enters it once per batch.
    pub fn vm_calls(&self) -> u64 {
        self.vm_calls
    }

    /// Call an exported hook with `args`, loading the plugin first if needed.
    ///
    /// Returns `Ok(None)` without touching the VM when the script does not export the
    /// hook. Runtime errors and panics of the VM are caught and returned as errors; in
    /// both cases, and whenever the stack has grown past the bound, the VM is replaced
    /// by a fresh one that keeps the plugin's globals.
    pub fn call_hook(&mut self, hook: Hook, args: &[Value]) -> Result<Option<Value>, HookError> {
        if !self.is_loaded() {
            self.load().map_err(|e| HookError::Load(Box::new(e)))?;
        }
        let Some(func) = self.hooks[hook as usize].clone() else {
            return Ok(None);
        };
        let Stage::Ready(vm) = &mut self.stage else {
            return Ok(None);
        };
        let metrics = &self.runtime.metrics;
        self.vm_calls += 1;
        let started = metrics.start();
        let result = catch_unwind(AssertUnwindSafe(|| vm.call_value(func, args)));
        metrics.finish(Metric::VmExec, started);
        match result {
            Ok(Ok(value)) => {
                if vm.stack_size() > self.runtime.stack_bound || vm.frame_count() > 0 {
                    self.runtime.template.renew(vm);
                    self.vm_replacements += 1;
                }
                Ok(Some(value))
            }
            Ok(Err(e)) => {
                self.runtime.template.renew(vm);
                self.vm_replacements += 1;
                Err(HookError::Runtime {
                    origin: self.origin.clone(),
                    hook: hook.export_name(),
                    message: e.to_string(),
                })
            }
            Err(payload) => {
                self.runtime.template.renew(vm);
                self.vm_replacements += 1;
                Err(HookError::Panicked {
                    origin: self.origin.clone(),
                    hook: hook.export_name(),
                    message: panic_message(payload.as_ref()),
                })
            }
        }
    }

    fn to_action(&self, hook: Hook, value: Value) -> Result<Action, HookError> {
        value_to_action(&value).ok_or_else(|| HookError::BadReturn {
            origin: self.origin.clone(),
            hook: hook.export_name(),
            expected: "Continue, Stop or Modify <string>",
            got: describe(&value),
        })
    }
}

/// Map a hook's return value to an action: only the variants `Continue`, `Stop` and
/// `Modify <string>` are accepted.
pub fn value_to_action(value: &Value) -> Option<Action> {
    match value {
        Value::Variant {
            variant_name,
            fields,
            ..
        } => match (variant_name.as_str(), fields.as_slice()) {
            ("Continue", []) => Some(Action::Continue),
            ("Stop", []) => Some(Action::Stop),
            ("Modify", [Value::Str(s)]) => Some(Action::Modify(s.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// A short description of a value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Variant {
            variant_name,
            fields,
            ..
        } => format!("variant {variant_name} with {} field(s)", fields.len()),
        Value::Str(_) => "a string".to_owned(),
        Value::Int(i) => format!("the int {i}"),
        Value::Bool(b) => format!("the bool {b}"),
        other => format!("a value of type {}", other.type_name()),
    }
}

/// Build a Fusabi list from strings.
pub fn list_of_strings(lines: &[String]) -> Value {
    lines
        .iter()
        .rev()
        .fold(Value::Nil, |tail, line| Value::Cons {
            head: Box::new(Value::Str(line.clone())),
            tail: Box::new(tail),
        })
}

/// The `{ cols; rows }` record passed to `on_resize`.
pub fn resize_record(cols: u16, rows: u16) -> Value {
    let mut fields = HashMap::with_capacity(2);
    fields.insert("cols".to_owned(), Value::Int(i64::from(cols)));
    fields.insert("rows".to_owned(), Value::Int(i64::from(rows)));
    Value::Record(Arc::new(Mutex::new(fields)))
}

/// Check the script's export record, copy every export into the VM's globals (a
/// Fusabi 0.35 function cannot capture the script's top-level `let`s, so helpers and
/// state must be reachable as globals), and pick out the hooks.
fn resolve_exports(
    exports: &Value,
    vm: &mut Vm,
    path: &Path,
) -> Result<[Option<Value>; 6], LoadError> {
    let Value::Record(fields) = exports else {
        return Err(LoadError::NoExports {
            path: path.to_owned(),
            got: exports.type_name().to_owned(),
        });
    };
    let fields = fields
        .lock()
        .map_err(|_| LoadError::TopLevel {
            path: path.to_owned(),
            message: "export record is poisoned".to_owned(),
        })?
        .clone();
    let mut hooks: [Option<Value>; 6] = Default::default();
    for hook in Hook::ALL {
        if let Some(v) = fields.get(hook.export_name()) {
            if !matches!(v, Value::Closure(_) | Value::NativeFn { .. }) {
                return Err(LoadError::HookNotFunction {
                    path: path.to_owned(),
                    hook: hook.export_name().to_owned(),
                    got: v.type_name().to_owned(),
                });
            }
            hooks[hook as usize] = Some(v.clone());
        }
    }
    for (name, value) in fields {
        vm.globals.insert(name, value);
    }
    Ok(hooks)
}

/// Run a step of the Fusabi compiler or VM, turning a panic into a load error.
fn contain<T>(path: &Path, f: impl FnOnce() -> Result<T, LoadError>) -> Result<T, LoadError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(LoadError::Panicked {
            path: path.to_owned(),
            message: panic_message(payload.as_ref()),
        })
    })
}

impl Plugin for FusabiPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }

    fn on_load(&mut self) -> Result<(), HookError> {
        self.call_hook(Hook::Load, &[Value::Unit]).map(|_| ())
    }

    fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
        match self.call_hook(Hook::Output, &[Value::Str(line.to_owned())])? {
            Some(v) => self.to_action(Hook::Output, v),
            None => Ok(Action::Continue),
        }
    }

    fn on_output_batch(&mut self, lines: &[String]) -> Result<Vec<Action>, HookError> {
        if !self.is_loaded() {
            self.load().map_err(|e| HookError::Load(Box::new(e)))?;
        }
        if self.hook(Hook::OutputBatch).is_none() {
            return lines.iter().map(|l| self.on_output(l)).collect();
        }
        let Some(value) = self.call_hook(Hook::OutputBatch, &[list_of_strings(lines)])? else {
            return Ok(vec![Action::Continue; lines.len()]);
        };
        let mut actions = Vec::with_capacity(lines.len());
        let mut cur = &value;
        loop {
            match cur {
                Value::Nil => break,
                Value::Cons { head, tail } => {
                    actions.push(self.to_action(Hook::OutputBatch, (**head).clone())?);
                    cur = tail;
                }
                other => {
                    return Err(HookError::BadReturn {
                        origin: self.origin.clone(),
                        hook: Hook::OutputBatch.export_name(),
                        expected: "a list of actions",
                        got: describe(other),
                    })
                }
            }
        }
        if actions.len() != lines.len() {
            return Err(HookError::BadReturn {
                origin: self.origin.clone(),
                hook: Hook::OutputBatch.export_name(),
                expected: "one action per line",
                got: format!("{} actions for {} lines", actions.len(), lines.len()),
            });
        }
        Ok(actions)
    }

    fn on_input(&mut self, bytes: &[u8]) -> Result<Action<Vec<u8>>, HookError> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        match self.call_hook(Hook::Input, &[Value::Str(text)])? {
            Some(v) => Ok(match self.to_action(Hook::Input, v)? {
                Action::Continue => Action::Continue,
                Action::Stop => Action::Stop,
                Action::Modify(s) => Action::Modify(s.into_bytes()),
            }),
            None => Ok(Action::Continue),
        }
    }

    fn on_resize(&mut self, cols: u16, rows: u16) -> Result<(), HookError> {
        self.call_hook(Hook::Resize, &[resize_record(cols, rows)])
            .map(|_| ())
    }

    fn on_unload(&mut self) -> Result<(), HookError> {
        if !self.is_loaded() {
            // Never ran: nothing to unload, and no reason to compile it now.
            return Ok(());
        }
        self.call_hook(Hook::Unload, &[Value::Unit]).map(|_| ())
    }
}

/// Read a plugin file's bytes, bounded: anything that is not a regular file (a FIFO
/// would block the open, a device could be read without end) is refused, and never
/// more than one byte past the size bound ([`MAX_FZB_BYTES`] for bytecode,
/// [`MAX_FSX_BYTES`] for source) is read. Errors name `path`.
pub fn read_plugin_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    // A FIFO would block the open and a device could be read without end.
    let kind = std::fs::metadata(path).map_err(io)?.file_type();
    if !kind.is_file() && !kind.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    // Never more than one byte past the larger bound is read, even if the file
    // grows while it is being read.
    let limit = MAX_FZB_BYTES.max(MAX_FSX_BYTES);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        let (limit, kind) = if is_bytecode(&bytes) {
            (MAX_FZB_BYTES, ".fzb")
        } else {
            (MAX_FSX_BYTES, ".fsx")
        };
        // At least this many bytes; the real size when the file system knows it.
        let read = bytes.len() as u64;
        let size = std::fs::metadata(path).map_or(read, |m| m.len().max(read));
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
            kind,
        });
    }
    Ok(bytes)
}
