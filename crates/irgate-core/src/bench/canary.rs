//! The canary: a small calibration workload run under the benchmarks' own valgrind,
//! tunables and preload, whose per-part Ir goes into the fingerprint.
//!
//! Its source (`assets/canary.rs`) is compiled with the workspace's `rustc`, once per
//! source and compiler, into the cache directory. Each part is a `canary_*` function;
//! its inclusive Ir is read from the Callgrind output file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::pinning::{cached_build, ExecDir, Pinning};
use super::BenchError;

/// The canary's source, embedded so that every copy of irgate measures the same thing.
pub const SOURCE: &str = include_str!("../../assets/canary.rs");

/// Prefix of the functions that are the canary's parts.
const PART_PREFIX: &str = "canary_";

/// Builds the canary with `rustc` (run in `workspace`, so a pinned toolchain applies)
/// into `cache`, keyed by its source and `rustc_version`.
pub fn build(cache: &Path, workspace: &Path, rustc_version: &str) -> Result<PathBuf, BenchError> {
    cached_build(
        cache,
        "canary",
        "",
        &[SOURCE, rustc_version],
        |src_path, out_path| {
            let out = Command::new(rustc())
                .current_dir(workspace)
                .args([
                    "--edition",
                    "2021",
                    "-C",
                    "opt-level=2",
                    "-C",
                    "codegen-units=1",
                    "-g",
                ])
                .arg("-o")
                .arg(out_path)
                .arg(src_path)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run rustc: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "rustc failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        },
        "rs",
    )
    .map_err(|message| BenchError::Canary(format!("cannot build the canary: {message}")))
}

/// The `rustc` to run: `$RUSTC`, else `rustc`.
pub fn rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from)
}

/// Runs the canary (already copied into the fixed directory) under Callgrind with the
/// pinned environment and returns the inclusive Ir of each part.
pub fn run(
    valgrind: &Path,
    exec: &ExecDir,
    pinning: &Pinning,
    out_dir: &Path,
) -> Result<BTreeMap<String, u64>, BenchError> {
    let out_file = out_dir.join("canary.callgrind.out");
    let mut cmd = Command::new(valgrind);
    cmd.env_clear()
        .current_dir(exec.path())
        .arg("--tool=callgrind")
        .args(pinning.callgrind_args.split_whitespace())
        .args([
            "--compress-strings=no",
            "--compress-pos=no",
            "--dump-instr=no",
        ])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exec.canary())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in pinning.client_env() {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| {
        BenchError::Canary(format!("cannot run valgrind ({}): {e}", valgrind.display()))
    })?;
    if !out.status.success() {
        return Err(BenchError::Canary(format!(
            "the canary failed under valgrind ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = std::fs::read_to_string(&out_file)
        .map_err(|e| BenchError::Canary(format!("cannot read {}: {e}", out_file.display())))?;
    let parts = parse_inclusive(&text, PART_PREFIX)
        .map_err(|(line, m)| BenchError::Canary(format!("{}:{line}: {m}", out_file.display())))?;
    if parts.is_empty() {
        return Err(BenchError::Canary(format!(
            "{}: no `{PART_PREFIX}*` function in the profile",
            out_file.display()
        )));
    }
    Ok(parts
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches(PART_PREFIX).to_owned(), v))
        .collect())
}

/// Inclusive cost of the first event of every function whose name starts with
/// `prefix`, from an uncompressed Callgrind output (`--compress-strings=no
/// --compress-pos=no`). Errors carry the 1-based line.
pub fn parse_inclusive(text: &str, prefix: &str) -> Result<BTreeMap<String, u64>, (usize, String)> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(name) = line.strip_prefix("fn=") {
            current = name.starts_with(prefix).then(|| name.to_owned());
            continue;
        }
        let first = line.as_bytes().first().copied();
        let is_cost = matches!(first, Some(b'0'..=b'9' | b'+' | b'-' | b'*'));
        if !is_cost {
            continue;
        }
        let Some(name) = &current else {
            continue;
        };
        let mut fields = line.split_whitespace();
        let _position = fields.next();
        let cost = match fields.next() {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| (n, format!("bad cost {v:?} in {line:?}")))?,
        };
        // The line after `calls=` holds the callee's inclusive cost, a plain line the
        // function's self cost (`calls=` itself starts with a letter). Both belong to the caller's inclusive cost.
        *out.entry(name.clone()).or_default() += cost;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_cost_adds_self_and_calls() {
        let t = "events: Ir\nfl=a.rs\nfn=canary_x\n3 10\ncfl=b.rs\ncfn=memcpy\ncalls=2 0\n4 250\n5 1\nfn=memcpy\n0 250\nfn=canary_y\n1 7\n";
        let m = parse_inclusive(t, "canary_").unwrap();
        assert_eq!(m["canary_x"], 261);
        assert_eq!(m["canary_y"], 7);
        assert_eq!(m.len(), 2);
        let e = parse_inclusive("fn=canary_x\n3 x\n", "canary_").unwrap_err();
        assert_eq!(e.0, 2);
    }
}
