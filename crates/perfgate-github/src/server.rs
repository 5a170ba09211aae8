//! The webhook service: verifies, de-duplicates and queues GitHub deliveries.
//!
//! A delivery travels this way:
//!
//! ```text
//! POST /webhook ──► body ≤ max_body_bytes ──► X-Hub-Signature-256 (HMAC over raw bytes)
//!      ──► ping? answer ──► event not wanted? 202, ignored
//!      ──► X-GitHub-Delivery seen before? 409 ──► bounded queue full? 503
//!      ──► 202 Accepted; a worker calls EventHandler::handle later
//! ```
//!
//! Nothing is parsed before the signature has been checked. The HTTP answer never
//! waits for the handler: GitHub gives up on a delivery after 10 seconds.

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
    /// queued. The default accepts the events perfgate acts on:
    /// `issue_comment`, `check_run` and `pull_request`.
    fn wants(&self, event: &str) -> bool {
        matches!(event, "issue_comment" | "check_run" | "pull_request")
    }

    /// Handles one verified delivery.
    fn handle(&self, delivery: Delivery) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
