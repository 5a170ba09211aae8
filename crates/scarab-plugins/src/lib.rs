//! A terminal plugin host whose plugins are Fusabi scripts (`.fsx`), Fusabi bytecode
//! (`.fzb`), or native Rust.
//!
//! A [`PluginManager`] holds the plugins and runs them as a chain over each line of
//! terminal output, each chunk of input, and each resize. Plugins run in priority
//! order; `Modify` feeds the next plugin and `Stop` ends the chain. A plugin that
//! fails three times in a row, or panics, is disabled; nothing a plugin does reaches
//! the caller as an error or a panic.
//!
//! # How to use
//!
//! ```
//! use scarab_plugins::{Action, HookError, Plugin, PluginManager, PluginMetadata};
//!
//! // A native plugin.
//! struct Shout(PluginMetadata);
//! impl Plugin for Shout {
//!     fn metadata(&self) -> &PluginMetadata { &self.0 }
//!     fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
//!         Ok(Action::Modify(line.to_uppercase()))
//!     }
//! }
//!
//! // A Fusabi plugin, here from source text (usually: `manager.load_dir("plugins")`).
//! let script = r#"
//! // @name tagger
//! // @priority 10
//! let on_output line =
//!     if String.contains "error" line then Modify ("[E] " ++ line) else Continue
//! in
//! { on_output = on_output }
//! "#;
//!
//! let mut manager = PluginManager::new();
//! let tagger = scarab_plugins::FusabiPlugin::from_source(
//!     script, "tagger.fsx", manager.runtime().clone())?;
//! manager.add_fusabi(tagger)?;
//! manager.add_native(Box::new(Shout(PluginMetadata::new("shout"))))?;
//!
//! // `tagger` (priority 10) runs before `shout` (priority 0).
//! assert_eq!(manager.dispatch_output("an error here"), "[E] AN ERROR HERE");
//! assert_eq!(manager.dispatch_output("fine"), "FINE");
//! manager.dispatch_resize(120, 40);
//! println!("{}", manager.metrics().report());
//! # Ok::<(), scarab_plugins::LoadError>(())
//! ```
//!
//! The separate steps of loading a Fusabi plugin are public too, for callers that
//! want them one at a time: [`fusabi::bytecode::compile_source`],
//! [`fusabi::bytecode::encode_fzb`] / [`fusabi::bytecode::decode_fzb`],
//! [`fusabi::bytecode::verify_chunk`], [`VmTemplate::instantiate`] (versus
//! [`VmTemplate::cold_vm`]), [`ScriptCache`], and [`FusabiPlugin::call_hook`] (versus
//! calling [`FusabiPlugin::hook`] on [`FusabiPlugin::vm_mut`] directly).
//!
//! Writing plugins, the host functions, and what the host cannot contain are described
//! in `docs/PLUGINS.md`.

pub mod async_host;
pub mod error;
pub mod fusabi;
pub mod manager;
pub mod metrics;
pub mod plugin;
#[doc(hidden)]
pub mod profiling;
pub mod session;

pub use async_host::{AsyncError, AsyncPluginHost};
pub use error::{HookError, LoadError, ManagerError};
pub use fusabi::bytecode::{FZB_MAGIC, MAX_FSX_BYTES, MAX_FZB_BYTES};
pub use fusabi::cache::{CacheStats, ScriptCache};
pub use fusabi::plugin::{FusabiPlugin, FusabiRuntime, Hook, DEFAULT_STACK_BOUND};
pub use fusabi::template::{HostState, VmTemplate};
pub use manager::{LoadReport, ManagerOptions, PluginInfo, PluginKind, PluginManager, PluginState};
pub use metrics::{Metric, MetricSummary, MetricsCollector, MetricsReport, TargetCheck};
pub use plugin::{Action, Plugin, PluginMetadata};

/// Re-export of the Fusabi VM crate, for callers that work with chunks and values.
pub use fusabi_vm;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, then a
/// rename over the target.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
