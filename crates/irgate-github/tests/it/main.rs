//! The integration tests of the GitHub bot, in one test binary: the fake GitHub
//! REST API and the webhook-service helpers are compiled once and shared.
//!
//! - [`accept`]: posting a real comparison, the accept command and the event handlers.
//! - [`artifact`]: accept reading the gate's results from the workflow artifact.
//! - [`annotation_lines`]: annotation lines against the workload's real bench file.
//! - [`publish`]: sticky comment, check run, status fallback and fault handling.
//! - [`server`]: the webhook service's HTTP contract through the router.
//! - [`server_config`]: the webhook service's configuration file and environment.
//! - [`server_shutdown`]: graceful shutdown and body limits over loopback TCP.
//! - [`service_events`]: the webhook service with the real GitHub handlers.
//! - [`fake_github`]: a contract-checking fake GitHub REST API on loopback.
//! - [`server_common`]: a recording handler, example payloads and signed requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_github;
mod server_common;

mod accept;
mod annotation_lines;
mod artifact;
mod publish;
mod server;
mod server_config;
mod server_shutdown;
mod service_events;
