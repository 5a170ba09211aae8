//! A webhook server that records every delivery it handles.
//!
//! It runs irgate's webhook service with a handler that parses each delivery's
//! JSON and remembers its id. On ctrl-c or SIGTERM it shuts down gracefully and
//! writes the handled ids, one per line in handling order, to `--ids-out`. The
//! load benchmark (`benches/webhook_load.rs`) starts it as a second process.
//!
//! ```sh
//! IRGATE_WEBHOOK_SECRET=s3cret IRGATE_BIND=127.0.0.1:0 \
//!     cargo run -p irgate-github --example webhook_server -- --ids-out handled.txt
//! ```
//!
//! The first line on stdout is `listening on <address>`; the last is the final
//! counters as JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use irgate_github::server::{
    serve_with_shutdown, shutdown_signal, Delivery, EventHandler, ServerConfig,
};

/// Why a recorded delivery was refused.
#[derive(Debug, thiserror::Error)]
#[error("delivery {id} is not JSON: {source}")]
pub struct NotJson {
    id: String,
    source: serde_json::Error,
}

/// Remembers the id of every delivery whose body is JSON.
#[derive(Default)]
pub struct RecordIds {
    ids: Mutex<Vec<String>>,
}

impl EventHandler for RecordIds {
    type Error = NotJson;

    async fn handle(&self, delivery: Delivery) -> Result<(), NotJson> {
        serde_json::from_slice::<serde_json::Value>(&delivery.body).map_err(|source| NotJson {
            id: delivery.delivery_id.clone(),
            source,
        })?;
        self.ids.lock().unwrap().push(delivery.delivery_id);
        Ok(())
    }
}

fn write_ids(path: &Path, ids: &[String]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    for id in ids {
        writeln!(tmp, "{id}")?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Runs the server; `args` are the command-line arguments after the program name.
pub fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut ids_out: Option<PathBuf> = None;
    let mut config_file: Option<PathBuf> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ids-out" => ids_out = args.next().map(PathBuf::from),
            "--config" => config_file = args.next().map(PathBuf::from),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --ids-out FILE [--config FILE]"
                )
                .into())
            }
        }
    }
    let ids_out = ids_out.ok_or("--ids-out FILE is required")?;
    let config = ServerConfig::load(config_file.as_deref())?;

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let handler = Arc::new(RecordIds::default());
    let report = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        serve_with_shutdown(listener, config, Arc::clone(&handler), shutdown_signal())
            .await
            .map_err(Box::<dyn std::error::Error>::from)
    })?;
    let ids = handler.ids.lock().unwrap().clone();
    write_ids(&ids_out, &ids)?;
    println!("{}", serde_json::to_string(&report.stats)?);
    if report.unfinished > 0 {
        return Err(format!("{} deliveries were not finished", report.unfinished).into());
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("webhook_server: {err}");
            std::process::ExitCode::from(2)
        }
    }
}
