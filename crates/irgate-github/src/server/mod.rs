//! The webhook service: verifies, de-duplicates and queues GitHub deliveries.
//!
//! A delivery travels this way:
//!
//! ```text
//! POST /webhook ──► body > max_body_bytes? 413
//!      ──► X-Hub-Signature-256 missing or wrong (HMAC-SHA256 of the raw bytes)? 401
//!      ──► X-GitHub-Event / X-GitHub-Delivery missing or malformed? 400
//!      ──► ping? 200 ──► event the handler does not want? 200, ignored
//!      ──► body not a JSON object? 400
//!      ──► delivery id seen before? 409 ──► queue full or closing? 503 + Retry-After
//!      ──► 202 Accepted; a worker calls EventHandler::handle later
//! ```
//!
//! Nothing is parsed before the signature has been checked, and the comparison
//! is constant-time. A wanted delivery's body is parsed before it is queued, so
//! malformed JSON gets `400`, which GitHub's delivery log shows, rather than
//! `202` and a failure in a worker. The HTTP answer never waits for the handler: GitHub gives
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
//!
//! The parts: [`ServerConfig`] (file and environment), the signature check
//! ([`verify_signature`]), the replay cache, the HTTP routes ([`router`]) and the
//! [`WorkQueue`] that runs the handler; this module ties them together ([`serve`]).

mod config;
mod http;
mod queue;
mod replay;
mod signature;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::watch;
use tracing::{error, info, warn};

pub use config::{
    ConfigError, GithubAppSettings, ServerConfig, WebhookSecret, DEFAULT_HANDLER_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE_CAPACITY, DEFAULT_REPLAY_CACHE_CAPACITY,
    DEFAULT_SHUTDOWN_GRACE, DEFAULT_WORKERS,
};
pub use http::router;
pub use queue::{ShutdownReport, WorkQueue};
pub use signature::{sign, verify_signature};

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

/// Path GitHub posts deliveries to.
pub const WEBHOOK_PATH: &str = "/webhook";
/// Path of the health endpoint (GET, answers `200` with a small JSON body).
pub const HEALTH_PATH: &str = "/healthz";

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
    /// Signed requests refused with `400` for missing or malformed headers, or a
    /// body that is not a JSON object.
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
