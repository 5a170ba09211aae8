//! The HTTP side: `POST /webhook` (signature, headers, JSON body, replay check, queueing)
//! and `GET /healthz`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::replay::ReplayCache;
use super::{
    snapshot, verify_signature, Counters, Delivery, EventHandler, Health, ServerConfig, Stats,
    WebhookSecret, WorkQueue, HEALTH_PATH, WEBHOOK_PATH,
};

/// Largest accepted `X-GitHub-Delivery` length (GitHub sends a 36-character GUID).
const MAX_DELIVERY_ID_LEN: usize = 128;
/// Largest accepted `X-GitHub-Event` length.
const MAX_EVENT_LEN: usize = 64;

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

/// The service's answer to one request: a status and a one-line JSON body.
fn answer(status: StatusCode, message: &'static str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

/// Builds the HTTP routes and the work queue they feed.
///
/// The [`Router`] serves `POST /webhook` and `GET /healthz`; the [`WorkQueue`] must
/// be run (see [`WorkQueue::run`]) for queued deliveries to reach `handler`.
/// [`serve`](super::serve) does both; tests can drive the router directly.
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

    // 4. The body must be a JSON object: a delivery that no handler could read
    //    is refused here, where GitHub's delivery log shows it, and not queued.
    if let Err(err) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body) {
        c.bad_request.fetch_add(1, Ordering::Relaxed);
        warn!(delivery = id, event, error = %err, "webhook refused: body is not a JSON object");
        return answer(StatusCode::BAD_REQUEST, "body is not a JSON object");
    }

    // 5. Replay check and queueing under one lock, so that two copies of the same
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
