//! Helpers shared by the webhook service tests: a recording handler, the real
//! GitHub example payloads and signed requests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use irgate_github::server::{sign, Delivery, EventHandler, ServerConfig, WebhookSecret};
use tokio::sync::Notify;

/// The secret every test signs with.
pub const SECRET: &str = "It's a Secret to Everybody";

/// Why the recording handler failed a delivery (used to test failure counting).
#[derive(Debug, thiserror::Error)]
#[error("handler told to fail delivery {0}")]
pub struct Refused(pub String);

/// An event handler that records every delivery it is given.
#[derive(Default)]
pub struct Recorder {
    /// Deliveries handled, in completion order.
    pub seen: Mutex<Vec<Delivery>>,
    /// Woken after each recorded delivery.
    pub notify: Notify,
    /// Time each delivery takes.
    pub delay: Duration,
    /// Delivery ids whose handling returns an error (recorded first).
    pub fail_ids: Vec<String>,
    /// Delivery ids whose handling panics (not recorded).
    pub panic_ids: Vec<String>,
}

impl Recorder {
    /// A recorder that answers at once.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A recorder whose every delivery takes `delay`.
    pub fn slow(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ..Self::default()
        })
    }

    /// Ids handled so far.
    pub fn ids(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.delivery_id.clone())
            .collect()
    }

    /// Waits until at least `n` deliveries are recorded (or fails after 10 s).
    pub async fn wait_for(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.notify.notified();
                if self.seen.lock().unwrap().len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("deliveries did not reach the handler in time");
    }
}

impl EventHandler for Recorder {
    type Error = Refused;

    async fn handle(&self, delivery: Delivery) -> Result<(), Refused> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let id = delivery.delivery_id.clone();
        if self.panic_ids.contains(&id) {
            panic!("handler panics on {id}");
        }
        self.seen.lock().unwrap().push(delivery);
        self.notify.notify_waiters();
        if self.fail_ids.contains(&id) {
            return Err(Refused(id));
        }
        Ok(())
    }
}

/// A configuration with the test secret and defaults otherwise.
pub fn config() -> ServerConfig {
    ServerConfig::new(secret())
}

/// The test secret.
pub fn secret() -> WebhookSecret {
    WebhookSecret::new(SECRET).unwrap()
}

/// A real example delivery body from `tests/fixtures/webhooks/<name>.json`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A webhook request signed with the test secret.
pub fn signed(event: &str, id: &str, body: Vec<u8>) -> Request<Body> {
    let signature = sign(&secret(), &body);
    request(event, id, Some(&signature), body)
}

/// A webhook request with the given signature header (or none).
pub fn request(event: &str, id: &str, signature: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut builder = Request::post("/webhook")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", id)
        .header("user-agent", "GitHub-Hookshot/test");
    if let Some(sig) = signature {
        builder = builder.header("x-hub-signature-256", sig);
    }
    builder.body(Body::from(body)).unwrap()
}
