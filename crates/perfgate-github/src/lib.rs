//! The GitHub side of perfgate: sticky comment, check run, commit status, accept command, webhook service.
//!
//! - [`client`]: authenticated REST client with perfgate's retry policy.
//! - [`comment`]: the sticky pull-request comment.
//! - [`check`]: the "perfgate" check run, annotations, commit-status fallback.
//! - [`server`]: the webhook service (signature, replay cache, queue).

pub mod check;
pub mod client;
pub mod comment;
pub mod server;
