//! The GitHub side of irgate: sticky comment, check run, commit status, accept command, webhook service.
//!
//! - [`client`]: authenticated REST client with irgate's retry policy.
//! - [`comment`]: the sticky pull-request comment.
//! - [`check`]: the "irgate" check run, annotations, commit-status fallback.
//! - [`report`]: from a comparator `Comparison` to comment and check; `post`.
//! - [`results`]: where the accept command finds the latest gate results.
//! - [`accept`]: `/irgate accept <reason>` and the "Accept" button.
//! - [`events`]: event handlers for the webhook service and Actions mode.
//! - [`server`]: the webhook service (signature, replay cache, queue).
//!
//! The `irgate github` subcommands, the async runtime and the exit codes belong to
//! the `irgate` binary (its `github` module); this crate only returns values and errors.

pub mod accept;
pub mod artifact;
pub mod check;
pub mod client;
pub mod comment;
pub mod events;
mod payload;
pub mod report;
pub mod results;
pub mod server;
