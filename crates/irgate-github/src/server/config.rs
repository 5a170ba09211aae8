//! The webhook service's configuration: an optional TOML file, environment
//! overrides, defaults and checks.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use irgate_core::source::line_col;
use serde::Deserialize;

/// Default largest accepted body: 1 MiB (GitHub caps payloads at 25 MB; the
/// events irgate handles are a few tens of KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default number of deliveries that may wait for a worker.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// Default number of deliveries handled at the same time.
pub const DEFAULT_WORKERS: usize = 4;
/// Default number of delivery ids remembered to reject replays.
pub const DEFAULT_REPLAY_CACHE_CAPACITY: usize = 16 * 1024;
/// Default longest time one delivery's handler may run.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(600);
/// Default longest time a shutdown waits for open requests and queued work.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// The shared secret GitHub signs deliveries with. Its `Debug` form is redacted.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Wraps a secret; an empty secret is refused because it would sign nothing.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = secret.into();
        if bytes.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        Ok(Self(bytes))
    }

    /// The secret's bytes, for signing (tests and load generators sign with it).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// GitHub App credentials and API location. The service does not use them itself;
/// it passes them through to the event handler that talks to GitHub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubAppSettings {
    /// The GitHub App's numeric id (`GITHUB_APP_ID`).
    pub app_id: Option<u64>,
    /// Path of the App's PEM private key (`GITHUB_APP_PRIVATE_KEY_PATH`).
    pub private_key_path: Option<PathBuf>,
    /// REST API base URL, for GitHub Enterprise or tests (`GITHUB_API_URL`).
    pub api_url: Option<String>,
}

/// Everything the webhook service needs to run. Build it with [`ServerConfig::new`]
/// (defaults for everything but the secret) or [`ServerConfig::load`] (file + environment).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Secret the `X-Hub-Signature-256` header is checked against.
    pub webhook_secret: WebhookSecret,
    /// Largest accepted request body; larger ones get `413`.
    pub max_body_bytes: usize,
    /// Deliveries that may wait for a worker; when full, new ones get `503`.
    pub queue_capacity: usize,
    /// Deliveries handled concurrently.
    pub workers: usize,
    /// Delivery ids remembered (oldest forgotten first) to reject replays with `409`.
    pub replay_cache_capacity: usize,
    /// Longest time one handler call may take before it is abandoned and logged.
    pub handler_timeout: Duration,
    /// Longest time shutdown waits for open requests and queued deliveries.
    pub shutdown_grace: Duration,
    /// GitHub App credentials passed through to the handler.
    pub github: GithubAppSettings,
}

impl ServerConfig {
    /// A configuration with every default and the given secret.
    pub fn new(webhook_secret: WebhookSecret) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            webhook_secret,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            workers: DEFAULT_WORKERS,
            replay_cache_capacity: DEFAULT_REPLAY_CACHE_CAPACITY,
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            github: GithubAppSettings::default(),
        }
    }

    /// Reads the optional TOML file, then lets the process environment override it.
    ///
    /// See [`ServerConfig::load_with`] for the names.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, |name| std::env::var(name).ok())
    }

    /// Reads the optional TOML file, then applies overrides from `env` (a lookup of
    /// environment variable names, so tests need not touch the process environment).
    ///
    /// | file key | environment |
    /// |---|---|
    /// | `bind` | `IRGATE_BIND` |
    /// | `webhook_secret` | `IRGATE_WEBHOOK_SECRET` |
    /// | `webhook_secret_file` | `IRGATE_WEBHOOK_SECRET_FILE` |
    /// | `max_body_bytes` | `IRGATE_MAX_BODY_BYTES` |
    /// | `queue_capacity` | `IRGATE_QUEUE_CAPACITY` |
    /// | `workers` | `IRGATE_WORKERS` |
    /// | `replay_cache_capacity` | `IRGATE_REPLAY_CACHE_CAPACITY` |
    /// | `handler_timeout_secs` | `IRGATE_HANDLER_TIMEOUT_SECS` |
    /// | `shutdown_grace_secs` | `IRGATE_SHUTDOWN_GRACE_SECS` |
    /// | `[github] app_id` | `GITHUB_APP_ID` |
    /// | `[github] private_key_path` | `GITHUB_APP_PRIVATE_KEY_PATH` |
    /// | `[github] api_url` | `GITHUB_API_URL` |
    ///
    /// A secret file's trailing newline is removed. Exactly one secret source must
    /// be given after overrides are applied (an environment value replaces the
    /// file's value of either form).
    pub fn load_with(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => RawConfig::from_file(path)?,
            None => RawConfig::default(),
        };
        raw.apply_env(&env)?;
        raw.resolve()
    }

    /// Parses a configuration from TOML text; `origin` names it in errors.
    /// Environment variables are not consulted.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        RawConfig::from_str(text, origin)?.resolve()
    }
}

/// The configuration file as written, before defaults and checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    bind: Option<String>,
    webhook_secret: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    queue_capacity: Option<usize>,
    workers: Option<usize>,
    replay_cache_capacity: Option<usize>,
    handler_timeout_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    #[serde(default)]
    github: GithubAppSettings,
}

impl RawConfig {
    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(&text, path)
    }

    fn from_str(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|err: toml::de::Error| {
            let (line, column) = err
                .span()
                .map(|span| line_col(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: origin.to_path_buf(),
                line,
                column,
                message: err.message().to_string(),
            }
        })
    }

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("IRGATE_BIND") {
            self.bind = Some(v);
        }
        match (
            env("IRGATE_WEBHOOK_SECRET"),
            env("IRGATE_WEBHOOK_SECRET_FILE"),
        ) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(secret), None) => {
                self.webhook_secret = Some(secret);
                self.webhook_secret_file = None;
            }
            (None, Some(path)) => {
                self.webhook_secret = None;
                self.webhook_secret_file = Some(PathBuf::from(path));
            }
            (None, None) => {}
        }
        set_parsed(env, "IRGATE_MAX_BODY_BYTES", &mut self.max_body_bytes)?;
        set_parsed(env, "IRGATE_QUEUE_CAPACITY", &mut self.queue_capacity)?;
        set_parsed(env, "IRGATE_WORKERS", &mut self.workers)?;
        set_parsed(
            env,
            "IRGATE_REPLAY_CACHE_CAPACITY",
            &mut self.replay_cache_capacity,
        )?;
        set_parsed(
            env,
            "IRGATE_HANDLER_TIMEOUT_SECS",
            &mut self.handler_timeout_secs,
        )?;
        set_parsed(
            env,
            "IRGATE_SHUTDOWN_GRACE_SECS",
            &mut self.shutdown_grace_secs,
        )?;
        set_parsed(env, "GITHUB_APP_ID", &mut self.github.app_id)?;
        if let Some(v) = env("GITHUB_APP_PRIVATE_KEY_PATH") {
            self.github.private_key_path = Some(PathBuf::from(v));
        }
        if let Some(v) = env("GITHUB_API_URL") {
            self.github.api_url = Some(v);
        }
        Ok(())
    }

    fn resolve(self) -> Result<ServerConfig, ConfigError> {
        let secret = match (self.webhook_secret, self.webhook_secret_file) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(secret), None) => WebhookSecret::new(secret)?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path, source })?;
                WebhookSecret::new(text.trim_end_matches(['\r', '\n']))?
            }
            (None, None) => return Err(ConfigError::MissingSecret),
        };
        let mut config = ServerConfig::new(secret);
        if let Some(bind) = self.bind {
            config.bind = bind.parse().map_err(|_| ConfigError::Invalid {
                field: "bind",
                reason: format!("`{bind}` is not an address like 127.0.0.1:8080"),
            })?;
        }
        let positive = |field: &'static str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(ConfigError::Invalid {
                field,
                reason: "must be at least 1".to_string(),
            }),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        config.max_body_bytes =
            positive("max_body_bytes", self.max_body_bytes, config.max_body_bytes)?;
        config.queue_capacity =
            positive("queue_capacity", self.queue_capacity, config.queue_capacity)?;
        config.workers = positive("workers", self.workers, config.workers)?;
        config.replay_cache_capacity = positive(
            "replay_cache_capacity",
            self.replay_cache_capacity,
            config.replay_cache_capacity,
        )?;
        if let Some(secs) = self.handler_timeout_secs {
            config.handler_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = self.shutdown_grace_secs {
            config.shutdown_grace = Duration::from_secs(secs);
        }
        if let Some(url) = &self.github.api_url {
            crate::client::check_http_url(url).map_err(|reason| ConfigError::Invalid {
                field: "[github] api_url (GITHUB_API_URL)",
                reason,
            })?;
        }
        config.github = self.github;
        Ok(config)
    }
}

fn set_parsed<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    slot: &mut Option<T>,
) -> Result<(), ConfigError> {
    if let Some(value) = env(name) {
        let parsed = value.trim().parse().map_err(|_| ConfigError::InvalidEnv {
            name,
            value: value.clone(),
        })?;
        *slot = Some(parsed);
    }
    Ok(())
}

/// Why the webhook service's configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration or secret file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has an unknown or mistyped key.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// No webhook secret was configured.
    #[error(
        "no webhook secret: set IRGATE_WEBHOOK_SECRET or IRGATE_WEBHOOK_SECRET_FILE, \
         or `webhook_secret_file` in the configuration file"
    )]
    MissingSecret,
    /// Both a secret and a secret file were configured at the same level.
    #[error("give either a webhook secret or a webhook secret file, not both")]
    TwoSecrets,
    /// The webhook secret is empty.
    #[error(
        "the webhook secret is empty; use the same non-empty secret as the GitHub webhook settings"
    )]
    EmptySecret,
    /// An environment variable holds a value of the wrong type.
    #[error("environment variable {name}=`{value}` is not a valid number")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A setting has a value outside its range.
    #[error("setting `{field}`: {reason}")]
    Invalid {
        /// The setting's key.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}
