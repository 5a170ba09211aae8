//! The GitHub side of perfgate: sticky comment, check run, commit status, accept command, webhook service.

pub mod server;
