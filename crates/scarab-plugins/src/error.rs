//! Error types: one enum for loading a plugin, one for a failing hook, one for the manager.

use std::path::PathBuf;

/// Why a plugin file could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read plugin file: {source}")]
    Io {
        /// The plugin file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the bound for its kind.
    #[error("{path}: file is {size} bytes, over the limit of {limit} bytes for {kind} files")]
    TooLarge {
        /// The plugin file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The bound that was exceeded.
        limit: u64,
        /// `.fzb` or `.fsx`.
        kind: &'static str,
    },
    /// A file that is not Fusabi bytecode is not valid UTF-8 source either.
    #[error("{path}: not Fusabi bytecode (no FZB\\x01 magic) and not UTF-8 source text")]
    NotSource {
        /// The plugin file.
        path: PathBuf,
    },
    /// The bytecode could not be decoded (wrong version, truncated or corrupt body).
    #[error("{path}: invalid Fusabi bytecode: {reason}")]
    BadBytecode {
        /// The plugin file.
        path: PathBuf,
        /// What the decoder reported.
        reason: String,
    },
    /// The decoded bytecode failed verification and was not run.
    #[error("{path}: bytecode rejected by the verifier: {reason}")]
    Unverified {
        /// The plugin file.
        path: PathBuf,
        /// What the verifier found, naming the function and instruction offset.
        reason: String,
    },
    /// The source has a lexical or syntax error.
    #[error("{path}:{line}:{column}: syntax error: {message}")]
    Syntax {
        /// The plugin file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The source parsed but could not be compiled (e.g. an undefined name).
    #[error("{path}: compile error: {message}")]
    Compile {
        /// The plugin file.
        path: PathBuf,
        /// The compiler's message.
        message: String,
    },
    /// A `// @key value` header line is malformed.
    #[error("{path}:{line}: bad plugin header: {message}")]
    Header {
        /// The plugin file.
        path: PathBuf,
        /// 1-based line of the header comment.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Running the script's top level failed.
    #[error("{path}: script failed while loading: {message}")]
    TopLevel {
        /// The plugin file.
        path: PathBuf,
        /// The VM's message.
        message: String,
    },
    /// The script did not end with a record of its exports.
    #[error("{path}: the script must end with a record of its exports, e.g. `{{ on_output = on_output }}`, but it produced a value of type {got}")]
    NoExports {
        /// The plugin file.
        path: PathBuf,
        /// The type of the value the script produced instead.
        got: String,
    },
    /// An exported hook is not a function.
    #[error("{path}: export `{hook}` must be a function, but it is a value of type {got}")]
    HookNotFunction {
        /// The plugin file.
        path: PathBuf,
        /// The hook name.
        hook: String,
        /// The type found.
        got: String,
    },
    /// The Fusabi compiler or VM (or a native plugin's `metadata`) panicked while the
    /// plugin was being loaded; the panic was contained.
    #[error("{path}: panicked while loading the plugin: {message}")]
    Panicked {
        /// The plugin file (`native:<unnamed>` for a native plugin).
        path: PathBuf,
        /// The panic message.
        message: String,
    },
    /// A plugin directory holds no plugin files.
    #[error("{path}: plugin directory holds no .fsx or .fzb files")]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Two plugins have the same name.
    #[error("{path}: a plugin named `{name}` is already loaded")]
    DuplicateName {
        /// The file of the second plugin.
        path: PathBuf,
        /// The clashing name.
        name: String,
    },
}

impl LoadError {
    /// The file this error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::TooLarge { path, .. }
            | LoadError::NotSource { path }
            | LoadError::BadBytecode { path, .. }
            | LoadError::Unverified { path, .. }
            | LoadError::Syntax { path, .. }
            | LoadError::Compile { path, .. }
            | LoadError::Header { path, .. }
            | LoadError::TopLevel { path, .. }
            | LoadError::NoExports { path, .. }
            | LoadError::HookNotFunction { path, .. }
            | LoadError::Panicked { path, .. }
            | LoadError::EmptyDirectory { path }
            | LoadError::DuplicateName { path, .. } => path,
        }
    }
}

/// Why one hook call failed. The manager counts these per plugin.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The plugin could not be loaded (lazy loading reports this at the first call).
    #[error(transparent)]
    Load(#[from] Box<LoadError>),
    /// The script raised a runtime error.
    #[error("{origin}: hook `{hook}` failed: {message}")]
    Runtime {
        /// Plugin file (or `native:<name>`).
        origin: String,
        /// Hook name.
        hook: &'static str,
        /// The VM's message.
        message: String,
    },
    /// The hook returned something other than `Continue`, `Stop` or `Modify <string>`.
    #[error("{origin}: hook `{hook}` must return {expected}, but returned {got}")]
    BadReturn {
        /// Plugin file (or `native:<name>`).
        origin: String,
        /// Hook name.
        hook: &'static str,
        /// What was expected.
        expected: &'static str,
        /// A short description of what came back.
        got: String,
    },
    /// The hook panicked; the panic was caught at the plugin boundary.
    #[error("{origin}: hook `{hook}` panicked: {message}")]
    Panicked {
        /// Plugin file (or `native:<name>`).
        origin: String,
        /// Hook name.
        hook: &'static str,
        /// The panic message.
        message: String,
    },
    /// The hook took longer than the manager's per-hook time budget; its result was dropped.
    #[error("{origin}: hook `{hook}` took {elapsed_us} µs, over its budget of {budget_us} µs")]
    OverBudget {
        /// Plugin name.
        origin: String,
        /// Hook name.
        hook: &'static str,
        /// How long it ran.
        elapsed_us: u128,
        /// The budget.
        budget_us: u128,
    },
    /// A native plugin reported a failure of its own.
    #[error("{origin}: {message}")]
    Native {
        /// Plugin name.
        origin: String,
        /// The plugin's message.
        message: String,
    },
}

impl HookError {
    /// A failure reported by a native plugin.
    pub fn native(plugin: &str, message: impl Into<String>) -> Self {
        HookError::Native {
            origin: format!("native:{plugin}"),
            message: message.into(),
        }
    }

    /// Whether this failure disables the plugin at once instead of counting a strike.
    ///
    /// Panics and load failures do: a panic may have left the plugin in a broken
    /// state, and a file that failed to load will not load on the next call either.
    pub fn is_fatal(&self) -> bool {
        matches!(self, HookError::Panicked { .. } | HookError::Load(_))
    }
}

/// Errors of the manager itself (as opposed to one plugin's).
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The plugin directory could not be listed.
    #[error("{path}: cannot read plugin directory: {source}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A plugin could not be added.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Text of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
