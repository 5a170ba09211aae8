//! The VM template: the standard library and the host functions, registered once and
//! shared by every plugin VM.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use fusabi_vm::{HostRegistry, Value, Vm, VmError};

/// Global through which host functions learn which plugin called them.
pub(crate) const PLUGIN_NAME_GLOBAL: &str = "__scarab_plugin";

/// Standard library modules a plugin may use. Everything else the Fusabi stdlib offers
/// (processes, files, network, console, terminal control) is left out: a plugin
/// transforms lines and input, and printing to stdout would corrupt the terminal.
pub const ALLOWED_STDLIB_MODULES: &[&str] =
    &["List", "String", "Math", "Map", "Option", "Result", "Array"];

/// Standard library globals outside those modules that a plugin may use.
pub const ALLOWED_STDLIB_GLOBALS: &[&str] = &["sprintf", "Some", "None", "Ok", "Error"];

/// State the host shares with plugins through host functions.
#[derive(Debug)]
pub struct HostState {
    cols: AtomicU32,
    rows: AtomicU32,
}

impl HostState {
    /// A host state for a terminal of the given size.
    pub fn new(cols: u16, rows: u16) -> Self {
        Self {
            cols: AtomicU32::new(u32::from(cols)),
            rows: AtomicU32::new(u32::from(rows)),
        }
    }

    /// Record a new terminal size; `Host.cols ()` and `Host.rows ()` return it.
    pub fn set_size(&self, cols: u16, rows: u16) {
        self.cols.store(u32::from(cols), Ordering::Relaxed);
        self.rows.store(u32::from(rows), Ordering::Relaxed);
    }

    /// The current terminal size as `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        let c = self.cols.load(Ordering::Relaxed);
        let r = self.rows.load(Ordering::Relaxed);
        (
            u16::try_from(c).unwrap_or(u16::MAX),
            u16::try_from(r).unwrap_or(u16::MAX),
        )
    }
}

impl Default for HostState {
    /// An 80×24 terminal.
    fn default() -> Self {
        Self::new(80, 24)
    }
}

/// A ready-made set of VM globals and host functions, from which plugin VMs are made.
///
/// Registering the Fusabi stdlib costs far more than creating a VM, so the template
/// does it once; [`VmTemplate::instantiate`] then clones the globals and shares the
/// host-function registry.
pub struct VmTemplate {
    globals: HashMap<String, Value>,
    registry: Arc<Mutex<HostRegistry>>,
    host: Arc<HostState>,
}

impl std::fmt::Debug for VmTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmTemplate")
            .field("globals", &self.globals.len())
            .field("host", &self.host)
            .finish()
    }
}

impl Default for VmTemplate {
    fn default() -> Self {
        Self::new(Arc::new(HostState::default()))
    }
}

impl VmTemplate {
    /// Build the template: the allowed stdlib plus the host functions bound to `host`.
    pub fn new(host: Arc<HostState>) -> Self {
        let vm = cold_vm(&host);
        Self {
            globals: vm.globals,
            registry: vm.host_registry,
            host,
        }
    }

    /// A fresh VM with the template's globals and shared host functions.
    pub fn instantiate(&self) -> Vm {
        let mut vm = Vm::new();
        vm.globals = self.globals.clone();
        vm.host_registry = Arc::clone(&self.registry);
        vm
    }

    /// Replace `vm` with a fresh VM that keeps its globals (the plugin's exports and
    /// state). This is how the host clears what Fusabi 0.35 leaves on a VM's stack
    /// after each call and after an error; the VM has no reset of its own.
    pub fn renew(&self, vm: &mut Vm) {
        let globals = std::mem::take(&mut vm.globals);
        *vm = Vm::new();
        vm.globals = globals;
        vm.host_registry = Arc::clone(&self.registry);
    }

    /// Add a host function for plugins, callable as `Module.name` when `name` has that
    /// form (the module record is created or extended) and as a bare global otherwise.
    /// `arity` is the number of arguments scripts pass. Call this before plugins are
    /// loaded: VMs made earlier do not see the new global.
    pub fn register_function<F>(&mut self, name: &str, arity: u8, f: F)
    where
        F: Fn(&mut Vm, &[Value]) -> Result<Value, VmError> + Send + Sync + 'static,
    {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, f);
        }
        match name.split_once('.') {
            Some((module, field)) => {
                let entry = self
                    .globals
                    .entry(module.to_owned())
                    .or_insert_with(|| Value::Record(Arc::new(Mutex::new(HashMap::new()))));
                match entry {
                    Value::Record(fields) => {
                        // Copy the record: stdlib module records are shared with other templates.
                        let mut copy = fields.lock().map(|f| f.clone()).unwrap_or_default();
                        copy.insert(field.to_owned(), native(name, arity));
                        *entry = Value::Record(Arc::new(Mutex::new(copy)));
                    }
                    other => {
                        let mut fields = HashMap::new();
                        fields.insert(field.to_owned(), native(name, arity));
                        *other = Value::Record(Arc::new(Mutex::new(fields)));
                    }
                }
            }
            None => {
                self.globals.insert(name.to_owned(), native(name, arity));
            }
        }
    }

    /// The host state the host functions read.
    pub fn host_state(&self) -> &Arc<HostState> {
        &self.host
    }

    /// A VM built the slow way, registering everything from scratch, as a host
    /// without a template would. Kept public so that the two can be compared.
    pub fn cold_vm(&self) -> Vm {
        cold_vm(&self.host)
    }
}

/// Register the allowed stdlib and the host functions into a new VM.
fn cold_vm(host: &Arc<HostState>) -> Vm {
    let mut full = Vm::new();
    fusabi_vm::stdlib::register_stdlib(&mut full);

    let mut vm = Vm::new();
    let mut registry = HostRegistry::new();
    // HostRegistry cannot remove entries, so copy the allowed ones from the full one.
    if let Ok(full_registry) = full.host_registry.lock() {
        for name in full_registry.function_names() {
            let allowed = ALLOWED_STDLIB_GLOBALS.contains(&name.as_str())
                || ALLOWED_STDLIB_MODULES
                    .iter()
                    .any(|m| name.strip_prefix(m).is_some_and(|r| r.starts_with('.')));
            if !allowed {
                continue;
            }
            if let Some(f) = full_registry.get(&name) {
                registry.register(&name, move |vm, args| f(vm, args));
            }
        }
    }
    for name in ALLOWED_STDLIB_MODULES.iter().chain(ALLOWED_STDLIB_GLOBALS) {
        if let Some(v) = full.globals.remove(*name) {
            vm.globals.insert((*name).to_owned(), v);
        }
    }
    register_host_functions(&mut registry, &mut vm.globals, host);
    vm.host_registry = Arc::new(Mutex::new(registry));
    vm
}

fn native(name: &str, arity: u8) -> Value {
    Value::NativeFn {
        name: name.to_owned(),
        arity,
        args: Vec::new(),
    }
}

/// The host functions, reachable from scripts as the `Host` module:
/// `Host.log msg`, `Host.cols ()`, `Host.rows ()`.
fn register_host_functions(
    registry: &mut HostRegistry,
    globals: &mut HashMap<String, Value>,
    host: &Arc<HostState>,
) {
    registry.register("Host.log", |vm, args| {
        let plugin = match vm.globals.get(PLUGIN_NAME_GLOBAL) {
            Some(Value::Str(s)) => s.as_str(),
            _ => "?",
        };
        match args {
            [Value::Str(msg)] => {
                tracing::info!(target: "scarab_plugins::script", plugin, "{msg}");
                Ok(Value::Unit)
            }
            [other] => Err(VmError::TypeMismatch {
                expected: "string",
                got: other.type_name(),
            }),
            _ => Err(VmError::Runtime(format!(
                "Host.log expects 1 argument, got {}",
                args.len()
            ))),
        }
    });
    let h = Arc::clone(host);
    registry.register("Host.cols", move |_vm, _args| {
        Ok(Value::Int(i64::from(h.size().0)))
    });
    let h = Arc::clone(host);
    registry.register("Host.rows", move |_vm, _args| {
        Ok(Value::Int(i64::from(h.size().1)))
    });
    let mut fields = HashMap::new();
    fields.insert("log".to_owned(), native("Host.log", 1));
    fields.insert("cols".to_owned(), native("Host.cols", 1));
    fields.insert("rows".to_owned(), native("Host.rows", 1));
    globals.insert(
        "Host".to_owned(),
        Value::Record(Arc::new(Mutex::new(fields))),
    );
}
