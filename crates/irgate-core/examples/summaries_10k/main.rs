//! Writes the 10,000-summary fixture used to time `irgate compare`:
//!
//! ```text
//! cargo run --release -p irgate-core --example summaries_10k -- <OUT>
//! ```
//!
//! gives `<OUT>/summaries/` (10,000 `summary.json` files), `<OUT>/stream.jsonl` (the
//! same summaries as one stream) and `<OUT>/env.json` (a recorded environment). The
//! output is the same on every run. `crates/irgate-core/benches/compare-10k.sh` builds
//! on it: it accepts baselines from the summaries and times `irgate compare`.
#![allow(missing_docs)]

mod tree;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: summaries_10k <OUT>".into());
    };
    let summaries = out.join("summaries");
    if summaries.exists() {
        std::fs::remove_dir_all(&summaries)?;
    }
    let stream = tree::write_tree(&summaries)?;
    std::fs::write(out.join("stream.jsonl"), stream)?;
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/env/bench-xeon-avx512.json"
        ),
        out.join("env.json"),
    )?;
    println!(
        "{}: {} summaries in {}",
        out.display(),
        tree::N,
        summaries.display()
    );
    Ok(())
}
