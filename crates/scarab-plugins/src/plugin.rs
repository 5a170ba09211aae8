//! The plugin contract shared by native Rust plugins and Fusabi plugins.

use std::fmt;

use crate::error::HookError;

/// What a hook asks the chain to do with the line (or input bytes) it was given.
///
/// The chain runs plugins in priority order: `Continue` passes the current value on
/// unchanged, `Modify` replaces it and passes the replacement on, and `Stop` ends the
/// chain, keeping whatever value the earlier plugins produced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action<T = String> {
    /// Pass the value on unchanged.
    Continue,
    /// Replace the value and pass the replacement to the next plugin.
    Modify(T),
    /// End the chain here; the value produced so far is the result.
    Stop,
}

/// Name, version and chain position of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginMetadata {
    /// Unique name of the plugin inside one manager; used in logs, metrics and errors.
    pub name: String,
    /// Free-form version string, for display.
    pub version: String,
    /// Chain order: a plugin with a higher priority runs earlier. Ties run in name order.
    pub priority: i32,
}

impl PluginMetadata {
    /// Metadata with the given name, version `0.0.0` and priority `0`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: "0.0.0".to_owned(),
            priority: 0,
        }
    }

    /// The same metadata with another version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The same metadata with another priority.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }
}

impl fmt::Display for PluginMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (priority {})",
            self.name, self.version, self.priority
        )
    }
}

/// A terminal plugin. Native Rust plugins implement this directly; Fusabi plugins
/// implement it through [`crate::FusabiPlugin`].
///
/// Hooks return `Result` so that a failing hook is reported to the
/// [`crate::PluginManager`], which counts failures and disables a plugin after three
/// in a row, instead of the failure turning into a panic or a silent `Continue`.
/// A hook a plugin does not override is a cheap `Continue`.
pub trait Plugin: Send {
    /// The plugin's name, version and priority. Must not change after the plugin is added.
    fn metadata(&self) -> &PluginMetadata;

    /// Called once, before the first other hook.
    fn on_load(&mut self) -> Result<(), HookError> {
        Ok(())
    }

    /// Called for each line of terminal output.
    fn on_output(&mut self, _line: &str) -> Result<Action, HookError> {
        Ok(Action::Continue)
    }

    /// Called with many lines at once; returns one action per line, in order.
    ///
    /// The default calls [`Plugin::on_output`] for each line. Returning a vector of
    /// another length is a failure of the plugin.
    fn on_output_batch(&mut self, lines: &[String]) -> Result<Vec<Action>, HookError> {
        lines.iter().map(|line| self.on_output(line)).collect()
    }

    /// Called for each chunk of user input (key presses, pasted text).
    fn on_input(&mut self, _bytes: &[u8]) -> Result<Action<Vec<u8>>, HookError> {
        Ok(Action::Continue)
    }

    /// Called when the terminal is resized.
    fn on_resize(&mut self, _cols: u16, _rows: u16) -> Result<(), HookError> {
        Ok(())
    }

    /// Called once when the plugin is removed or the manager is dropped.
    fn on_unload(&mut self) -> Result<(), HookError> {
        Ok(())
    }
}
