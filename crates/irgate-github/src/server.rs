//! The webhook service: verifies, de-duplicates and queues GitHub deliveries.
//!
//! A delivery travels this way:
//!
//! ```text
//! POST /webhook ──► body > max_body_bytes? 413
//!      ──► X-Hub-Signature-256 missing or wrong (HMAC-SHA256 of the raw bytes)? 401
//!      ──► X-GitHub-Event / X-GitHub-Delivery missing or malformed? 400
//!      ──► ping? 200 ──► event the handler does not want? 200, ignored
//!      ──► delivery id seen before? 409 ──► queue full or closing? 503 + Retry-After
//!      ──► 202 Accepted; a worker calls EventHandler::handle later
//! ```
//!
//! Nothing is parsed before the signature has been checked, and the comparison
//! is constant-time. The HTTP answer never waits for the handler: GitHub gives
//! up on a delivery after 10 seconds.
//!
//! **Replays.** The last `replay_cache_capacity` delivery ids that were queued
//! are remembered; the same id again gets `409`. GitHub has no signed
//! timestamp, so a captured delivery older than the cache could be replayed
//! (it still needs a valid signature, i.e. a real delivery). Handlers should
//! tolerate a repeat; the accept path, for one, refuses results that are no
//! longer for the pull request's head commit.
//!
//! **A full queue.** A delivery that finds the bounded queue full (or the
//! service shutting down) gets `503` with `Retry-After` and its id is *not*
//! remembered, so GitHub's "Redeliver" (which reuses the id) is accepted later.
//! GitHub does not redeliver on its own. Nothing waits for room in the queue:
//! a slow handler can never make GitHub's request time out.
//!
//! **Shutdown.** On SIGTERM or ctrl-c ([`serve`]), the listener stops, the
//! queue closes (new deliveries get `503`), queued deliveries are handled, and
//! all of it is bounded by `shutdown_grace`; deliveries still unfinished then
//! are counted in [`ShutdownReport::unfinished`] and logged.

use std::future::Future;

pub use bytes::Bytes;

/// One verified webhook delivery, handed to an [`EventHandler`].
///
/// The signature has been checked over `body` and the delivery id has not been
/// seen before (within the replay cache) when a handler receives this.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The `X-GitHub-Event` header, for example `pull_request` or `issue_comment`.
    pub event: String,
    /// The `X-GitHub-Delivery` header: GitHub's unique id (a GUID) for this delivery.
    pub delivery_id: String,
    /// The raw request body exactly as signed by GitHub (JSON).
    pub body: Bytes,
}

/// What the webhook service calls for every verified, wanted, new delivery.
///
/// The service runs `handle` on a worker task, after the HTTP answer has been sent,
/// so it may take as long as it needs (up to the configured handler timeout). An
/// error is logged with the delivery id; the delivery is not retried.
///
/// Implementors can write `async fn handle(&self, delivery: Delivery) -> Result<(), Self::Error>`
/// as long as the returned future is `Send`.
pub trait EventHandler: Send + Sync + 'static {
    /// The error a failed delivery reports; it is logged, never sent to GitHub.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Whether deliveries of this `X-GitHub-Event` should be queued at all.
    ///
    /// Deliveries of other events are answered `202` and dropped without being
    /// queued. The default accepts the events irgate acts on:
    /// `issue_comment`, `check_run` and `pull_request`.
    fn wants(&self, event: &str) -> bool {
        matches!(event, "issue_comment" | "check_run" | "pull_request")
    }

    /// Handles one verified delivery.
    fn handle(&self, delivery: Delivery) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, error, info, info_span, warn, Instrument};

/// Path GitHub posts deliveries to.
pub const WEBHOOK_PATH: &str = "/webhook";
/// Path of the health endpoint (GET, answers `200` with a small JSON body).
pub const HEALTH_PATH: &str = "/healthz";

/// Default listen address: loopback only, so that exposing the service is a choice.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
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

/// Largest accepted `X-GitHub-Delivery` length (GitHub sends a 36-character GUID).
const MAX_DELIVERY_ID_LEN: usize = 128;
/// Largest accepted `X-GitHub-Event` length.
const MAX_EVENT_LEN: usize = 64;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

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
                .map(|span| line_column(text, span.start))
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

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
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

// ---------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------

/// The `X-Hub-Signature-256` header value for `body` under `secret`:
/// `sha256=` followed by the lowercase hex HMAC-SHA256.
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks an `X-Hub-Signature-256` header value against `body`, in constant time.
pub fn verify_signature(secret: &WebhookSecret, body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = new_mac(secret);
    mac.update(body);
    // `verify_slice` compares in constant time and rejects a wrong length.
    mac.verify_slice(&expected).is_ok()
}

fn new_mac(secret: &WebhookSecret) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail; the fallback keeps the
    // library free of panics all the same (an empty secret is refused earlier).
    Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()))
}

// ---------------------------------------------------------------------------
// Replay cache
// ---------------------------------------------------------------------------

/// Remembers the last `capacity` delivery ids, forgetting the oldest first.
#[derive(Debug)]
struct ReplayCache {
    seen: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity: capacity.max(1),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    fn insert(&mut self, id: String) {
        if self.seen.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(id.clone());
        self.order.push_back(id);
    }
}

// ---------------------------------------------------------------------------
// Counters and health
// ---------------------------------------------------------------------------

/// Counters of what the service has done since it started.
#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    bad_signature: AtomicU64,
    bad_request: AtomicU64,
    ignored: AtomicU64,
    replayed: AtomicU64,
    queue_full: AtomicU64,
    queued: AtomicU64,
    handled: AtomicU64,
    failed: AtomicU64,
}

/// A snapshot of the service's counters, as served by the health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Stats {
    /// Requests that reached the webhook route (including rejected ones).
    pub received: u64,
    /// Requests refused with `401` for a missing or wrong signature.
    pub bad_signature: u64,
    /// Signed requests refused with `400` for missing or malformed headers.
    pub bad_request: u64,
    /// Deliveries of events the handler does not want, answered `200` and dropped.
    pub ignored: u64,
    /// Deliveries refused with `409` because their id was seen before.
    pub replayed: u64,
    /// Deliveries refused with `503` because the queue was full or closing.
    pub queue_full: u64,
    /// Deliveries accepted into the queue (`202`).
    pub queued: u64,
    /// Deliveries whose handler returned `Ok`.
    pub handled: u64,
    /// Deliveries whose handler returned an error, panicked or timed out.
    pub failed: u64,
    /// Deliveries waiting in the queue right now.
    pub queue_depth: u64,
}

/// The health endpoint's answer.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` while serving.
    pub status: String,
    /// The counters.
    pub stats: Stats,
}

// ---------------------------------------------------------------------------
// HTTP side
// ---------------------------------------------------------------------------

/// State shared by the HTTP routes.
struct AppState {
    secret: WebhookSecret,
    wants: Box<dyn Fn(&str) -> bool + Send + Sync>,
    replay: Mutex<ReplayCache>,
    queue: mpsc::Sender<Delivery>,
    queue_capacity: usize,
    counters: Arc<Counters>,
}

impl AppState {
    fn stats(&self) -> Stats {
        snapshot(
            &self.counters,
            (self.queue_capacity - self.queue.capacity()) as u64,
        )
    }
}

fn snapshot(c: &Counters, queue_depth: u64) -> Stats {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Stats {
        received: get(&c.received),
        bad_signature: get(&c.bad_signature),
        bad_request: get(&c.bad_request),
        ignored: get(&c.ignored),
        replayed: get(&c.replayed),
        queue_full: get(&c.queue_full),
        queued: get(&c.queued),
        handled: get(&c.handled),
        failed: get(&c.failed),
        queue_depth,
    }
}

/// The service's answer to one request: a status and a one-line JSON body.
fn answer(status: StatusCode, message: &'static str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

/// Builds the HTTP routes and the work queue they feed.
///
/// The [`Router`] serves `POST /webhook` and `GET /healthz`; the [`WorkQueue`] must
/// be run (see [`WorkQueue::run`]) for queued deliveries to reach `handler`.
/// [`serve`] does both; tests can drive the router directly.
pub fn router<H: EventHandler>(config: &ServerConfig, handler: Arc<H>) -> (Router, WorkQueue<H>) {
    let capacity = config.queue_capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let counters = Arc::new(Counters::default());
    let wants_handler = Arc::clone(&handler);
    let state = Arc::new(AppState {
        secret: config.webhook_secret.clone(),
        wants: Box::new(move |event| wants_handler.wants(event)),
        replay: Mutex::new(ReplayCache::new(config.replay_cache_capacity)),
        queue: tx,
        queue_capacity: capacity,
        counters: Arc::clone(&counters),
    });
    let router = Router::new()
        .route(WEBHOOK_PATH, post(receive))
        .route(HEALTH_PATH, get(health))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state);
    let queue = WorkQueue {
        rx,
        handler,
        workers: config.workers.max(1),
        handler_timeout: config.handler_timeout,
        counters,
        capacity,
    };
    (router, queue)
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        stats: state.stats(),
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn valid_delivery_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DELIVERY_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn valid_event(event: &str) -> bool {
    !event.is_empty()
        && event.len() <= MAX_EVENT_LEN
        && event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// `POST /webhook`: the body has already been read within the size limit.
async fn receive(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let c = &state.counters;
    c.received.fetch_add(1, Ordering::Relaxed);

    // 1. Signature over the raw bytes, before anything looks at the content.
    let signed = header_str(&headers, "x-hub-signature-256")
        .is_some_and(|sig| verify_signature(&state.secret, &body, sig));
    if !signed {
        c.bad_signature.fetch_add(1, Ordering::Relaxed);
        warn!(
            bytes = body.len(),
            "webhook refused: missing or wrong X-Hub-Signature-256"
        );
        return answer(StatusCode::UNAUTHORIZED, "missing or invalid signature");
    }

    // 2. Headers that name the delivery.
    let event = header_str(&headers, "x-github-event").filter(|e| valid_event(e));
    let id = header_str(&headers, "x-github-delivery").filter(|d| valid_delivery_id(d));
    let (Some(event), Some(id)) = (event, id) else {
        c.bad_request.fetch_add(1, Ordering::Relaxed);
        warn!("webhook refused: missing or malformed X-GitHub-Event / X-GitHub-Delivery");
        return answer(
            StatusCode::BAD_REQUEST,
            "missing or malformed X-GitHub-Event or X-GitHub-Delivery",
        );
    };

    // 3. Events nobody handles: acknowledge and drop.
    if event == "ping" {
        info!(delivery = id, "ping received");
        return answer(StatusCode::OK, "pong");
    }
    if !(state.wants)(event) {
        c.ignored.fetch_add(1, Ordering::Relaxed);
        debug!(delivery = id, event, "event ignored");
        return answer(StatusCode::OK, "event ignored");
    }

    // 4. Replay check and queueing under one lock, so that two copies of the same
    //    delivery racing each other cannot both be queued, and an id is remembered
    //    only once its delivery is really in the queue.
    let delivery = Delivery {
        event: event.to_string(),
        delivery_id: id.to_string(),
        body,
    };
    let mut replay = state.replay.lock().unwrap_or_else(PoisonError::into_inner);
    if replay.contains(id) {
        drop(replay);
        c.replayed.fetch_add(1, Ordering::Relaxed);
        warn!(
            delivery = id,
            event, "webhook refused: delivery id seen before"
        );
        return answer(StatusCode::CONFLICT, "delivery already received");
    }
    match state.queue.try_send(delivery) {
        Ok(()) => {
            replay.insert(id.to_string());
            drop(replay);
            c.queued.fetch_add(1, Ordering::Relaxed);
            debug!(delivery = id, event, "delivery queued");
            answer(StatusCode::ACCEPTED, "queued")
        }
        Err(err) => {
            drop(replay);
            c.queue_full.fetch_add(1, Ordering::Relaxed);
            let closing = matches!(err, mpsc::error::TrySendError::Closed(_));
            warn!(
                delivery = id,
                event,
                closing,
                "webhook refused: work queue {}; GitHub can redeliver it",
                if closing { "is closing" } else { "is full" }
            );
            let mut response = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                if closing {
                    "shutting down; redeliver later"
                } else {
                    "queue full; redeliver later"
                },
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            response
        }
    }
}

// ---------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------

/// The receiving end of the delivery queue: runs the handler for each delivery.
pub struct WorkQueue<H> {
    rx: mpsc::Receiver<Delivery>,
    handler: Arc<H>,
    workers: usize,
    handler_timeout: Duration,
    counters: Arc<Counters>,
    capacity: usize,
}

impl<H> fmt::Debug for WorkQueue<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkQueue")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// How the work queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The counters at the end.
    pub stats: Stats,
    /// Deliveries accepted (`202`) whose handler had not finished when the
    /// shutdown grace period ran out. They are lost; GitHub shows them as delivered.
    pub unfinished: u64,
}

impl<H: EventHandler> WorkQueue<H> {
    /// Counters shared with the router.
    pub fn stats(&self) -> Stats {
        snapshot(
            &self.counters,
            (self.capacity - self.rx.capacity()).min(self.capacity) as u64,
        )
    }

    /// Runs deliveries through the handler, at most `workers` at a time, until
    /// `stop` resolves. Then it closes the queue (the router answers `503` from
    /// then on), handles what was already queued and waits for running handlers.
    /// It also ends if every sender (router) is gone.
    ///
    /// This future does not bound the drain itself; [`serve`] wraps it in the
    /// shutdown grace period.
    pub async fn run(mut self, stop: impl Future<Output = ()> + Send) {
        let permits = Arc::new(Semaphore::new(self.workers));
        let mut running = JoinSet::new();
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            while let Some(done) = running.try_join_next() {
                self.reap(done);
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            let next = if stopping {
                self.rx.recv().await
            } else {
                tokio::select! {
                    next = self.rx.recv() => next,
                    () = &mut stop => {
                        info!(queued = self.rx.len(), "stopping: queue closed, draining");
                        self.rx.close();
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some(delivery) = next else { break };
            let handler = Arc::clone(&self.handler);
            let timeout = self.handler_timeout;
            let span = info_span!(
                "delivery",
                id = %delivery.delivery_id,
                event = %delivery.event
            );
            let counters = Arc::clone(&self.counters);
            running.spawn(
                async move {
                    let _permit = permit;
                    // The handler runs in its own task so that a panic is caught
                    // and counted here; the guard aborts it if this task is aborted.
                    let work = async move {
                        tokio::time::timeout(timeout, handler.handle(delivery)).await
                    };
                    let mut inner = AbortOnDrop(tokio::spawn(work.in_current_span()));
                    let ok = match (&mut inner.0).await {
                        Ok(Ok(Ok(()))) => {
                            debug!("delivery handled");
                            true
                        }
                        Ok(Ok(Err(err))) => {
                            error!(error = %err, "delivery handler failed");
                            false
                        }
                        Ok(Err(_)) => {
                            error!(?timeout, "delivery handler timed out");
                            false
                        }
                        Err(err) => {
                            error!(error = %err, "delivery handler panicked");
                            false
                        }
                    };
                    let counter = if ok {
                        &counters.handled
                    } else {
                        &counters.failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                .instrument(span),
            );
        }
        while let Some(done) = running.join_next().await {
            self.reap(done);
        }
        info!("work queue drained");
    }

    fn reap(&self, done: Result<(), tokio::task::JoinError>) {
        // Outcomes are counted inside the task; only a failure of the wrapper
        // itself (it does not panic) would show up here.
        if let Err(err) = done {
            if !err.is_cancelled() {
                error!(error = %err, "delivery task failed");
            }
        }
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

/// Why the webhook service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using it?)")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP server failed while running.
    #[error("webhook service failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Resolves on ctrl-c (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("ctrl-c received, shutting down"),
        () = term => info!("SIGTERM received, shutting down"),
    }
}

/// Runs the webhook service on `config.bind` until ctrl-c or SIGTERM, then shuts
/// down gracefully: stops accepting connections, answers `503` to deliveries that
/// arrive meanwhile, finishes queued deliveries, all within `config.shutdown_grace`.
pub async fn serve<H: EventHandler>(
    config: ServerConfig,
    handler: Arc<H>,
) -> Result<ShutdownReport, ServeError> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.bind,
            source,
        })?;
    serve_with_shutdown(listener, config, handler, shutdown_signal()).await
}

/// Like [`serve`], on an already-bound listener and with a caller-chosen shutdown
/// trigger (tests and embedding programs use this).
pub async fn serve_with_shutdown<H: EventHandler>(
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ShutdownReport, ServeError> {
    let local = listener.local_addr()?;
    let (app, queue) = router(&config, handler);
    let counters = Arc::clone(&queue.counters);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            // An error means the sender is gone, which only happens once we stop.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };

    let worker = tokio::spawn(queue.run(stopped()));
    let http = axum::serve(listener, app).with_graceful_shutdown(stopped());
    let http = tokio::spawn(async move { http.await });
    info!(
        addr = %local,
        queue_capacity = config.queue_capacity,
        workers = config.workers,
        "webhook service listening on POST {WEBHOOK_PATH}"
    );

    shutdown.await;
    let _ = stop_tx.send(true);

    let abort_worker = worker.abort_handle();
    let abort_http = http.abort_handle();
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        let http_result = http.await;
        let worker_result = worker.await;
        (http_result, worker_result)
    })
    .await;
    let stats = snapshot(&counters, 0);
    let finished = stats.handled + stats.failed;
    let unfinished = stats.queued.saturating_sub(finished);
    match drained {
        Ok((http_result, worker_result)) => {
            if let Err(err) = worker_result {
                error!(error = %err, "work queue task failed");
            }
            match http_result {
                Ok(result) => result?,
                Err(err) => error!(error = %err, "HTTP task failed"),
            }
            info!(
                handled = stats.handled,
                failed = stats.failed,
                "webhook service stopped"
            );
        }
        Err(_) => {
            abort_http.abort();
            abort_worker.abort();
            warn!(
                unfinished,
                grace = ?config.shutdown_grace,
                "shutdown grace period ran out; unfinished deliveries are dropped"
            );
        }
    }
    Ok(ShutdownReport { stats, unfinished })
}
