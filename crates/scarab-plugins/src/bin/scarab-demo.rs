//! `scarab-demo`: replay a recorded terminal session through a plugin chain and print
//! the transformed output, the plugins' state and the metrics report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use scarab_plugins::session::{read_session, SessionEvent};
use scarab_plugins::{FusabiRuntime, ManagerOptions, PluginManager, PluginState, ScriptCache};
use std::sync::Arc;

/// Replay a recorded terminal session through Fusabi plugins.
#[derive(Debug, Parser)]
#[command(name = "scarab-demo", version)]
struct Args {
    /// Directory of plugins (.fsx / .fzb).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins"))]
    plugins: PathBuf,
    /// Session file to replay (format: see `scarab_plugins::session`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/sessions/sample.session"))]
    session: PathBuf,
    /// Send output lines through the chain in batches of this size (1 = line by line).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Compile every plugin at start instead of on its first hook call.
    #[arg(long)]
    eager: bool,
    /// Keep compiled scripts as .fzb files in this directory, across runs.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Do not print the metrics report.
    #[arg(long)]
    no_metrics: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let events = match read_session(&args.session) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scarab-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let options = ManagerOptions {
        lazy: !args.eager,
        ..ManagerOptions::default()
    };
    let mut runtime = FusabiRuntime::default();
    if let Some(dir) = &args.cache_dir {
        match ScriptCache::with_dir(dir) {
            Ok(cache) => runtime.cache = Some(Arc::new(cache)),
            Err(e) => {
                eprintln!(
                    "scarab-demo: {}: cannot use cache directory: {e}",
                    dir.display()
                );
                return ExitCode::from(2);
            }
        }
    }
    let mut manager = PluginManager::with_runtime(runtime, options);
    match manager.load_dir(&args.plugins) {
        Ok(report) => {
            for e in &report.errors {
                eprintln!("scarab-demo: skipped: {e}");
            }
        }
        Err(e) => {
            eprintln!("scarab-demo: {e}");
            return ExitCode::from(2);
        }
    }

    let batch = args.batch.max(1);
    let mut pending: Vec<String> = Vec::new();
    let flush = |manager: &mut PluginManager, pending: &mut Vec<String>| {
        if pending.is_empty() {
            return;
        }
        for line in manager.dispatch_output_batch(pending) {
            println!("{line}");
        }
        pending.clear();
    };
    for event in events {
        match event {
            SessionEvent::Output(line) => {
                if batch == 1 {
                    println!("{}", manager.dispatch_output(&line));
                } else {
                    pending.push(line);
                    if pending.len() >= batch {
                        flush(&mut manager, &mut pending);
                    }
                }
            }
            SessionEvent::Input(bytes) => {
                flush(&mut manager, &mut pending);
                let out = manager.dispatch_input(&bytes);
                println!("[input] {} -> {}", escape(&bytes), escape(&out));
            }
            SessionEvent::Resize { cols, rows } => {
                flush(&mut manager, &mut pending);
                manager.dispatch_resize(cols, rows);
                println!("[resize] {cols}x{rows}");
            }
        }
    }
    flush(&mut manager, &mut pending);

    println!();
    println!("plugins (chain order):");
    for info in manager.list() {
        let state = match &info.state {
            PluginState::Active => "active".to_owned(),
            PluginState::Disabled(why) => format!("disabled: {why}"),
        };
        println!(
            "  {:<14} {:<8} priority {:>4}  {}  failures {}",
            info.metadata.name,
            info.metadata.version,
            info.metadata.priority,
            state,
            info.total_failures
        );
    }
    if let Some(cache) = &manager.runtime().cache {
        let s = cache.stats();
        println!(
            "script cache: {} hits ({} from disk), {} misses",
            s.hits, s.disk_hits, s.misses
        );
    }
    if !args.no_metrics {
        println!();
        let report = manager.metrics().report();
        print!("{report}");
        if cfg!(debug_assertions) {
            println!(
                "note: this is a debug build; the targets are for release builds \
                 (cargo run --release -p scarab-plugins --bin scarab-demo)"
            );
        }
        report.emit_tracing();
    }
    manager.unload_all();
    ExitCode::SUCCESS
}

fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
