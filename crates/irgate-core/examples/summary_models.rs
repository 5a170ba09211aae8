//! Times parsing summaries with irgate's reader against the typed model of the
//! `gungraun-summary` crate (a dev-dependency), on the same bytes in memory:
//!
//! ```text
//! cargo run --release -p irgate-core --example summaries_10k -- target/compare-10k
//! cargo run --release -p irgate-core --example summary_models -- target/compare-10k/summaries
//! ```
//!
//! Every `summary.json` below the directory is read into memory first; then each way
//! parses all of them on one thread, `ROUNDS` times, and the fastest round is printed
//! (per run and per summary). irgate's figure includes deriving the benchmark id and
//! taking the metrics; the model's is deserialisation alone. This is the measurement
//! behind the choice recorded in the module doc of `src/read/summary.rs`.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROUNDS: usize = 10;

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(&p, out)?;
        } else if p.file_name().is_some_and(|n| n == "summary.json") {
            out.push(p);
        }
    }
    Ok(())
}

/// The fastest of `ROUNDS` runs of `f`.
fn fastest(mut f: impl FnMut() -> Result<usize, String>) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let n = f()?;
        best = best.min(t.elapsed());
        std::hint::black_box(n);
    }
    Ok(best)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: summary_models <DIR with summary.json files>".into());
    };
    let mut paths = Vec::new();
    files(&dir, &mut paths)?;
    if paths.is_empty() {
        return Err(format!("{}: no summary.json below it", dir.display()).into());
    }
    let texts: Vec<(PathBuf, Vec<u8>)> = paths
        .into_iter()
        .map(|p| std::fs::read(&p).map(|b| (p, b)))
        .collect::<Result<_, _>>()?;
    let options = irgate_core::read::ReadOptions::default();
    let irgate = fastest(|| {
        let mut n = 0;
        for (p, b) in &texts {
            n += irgate_core::read::parse_bytes(p, b, &options)
                .map_err(|e| e.to_string())?
                .len();
        }
        Ok(n)
    })?;
    let model = fastest(|| {
        let mut n = 0;
        for (p, b) in &texts {
            gungraun_summary::util::parse_slice(b).map_err(|e| format!("{}: {e}", p.display()))?;
            n += 1;
        }
        Ok(n)
    })?;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / texts.len() as f64;
    println!(
        "{} summaries, fastest of {ROUNDS} rounds on one thread:",
        texts.len()
    );
    println!(
        "  irgate reader            {:>8.1} ms  {:>6.2} us/summary",
        irgate.as_secs_f64() * 1e3,
        per(irgate)
    );
    println!(
        "  gungraun-summary model   {:>8.1} ms  {:>6.2} us/summary",
        model.as_secs_f64() * 1e3,
        per(model)
    );
    Ok(())
}
