//! Reading one benchmark run from disk.
//!
//! A run directory, as `ci/bench` writes it:
//!
//! ```text
//! <run>/
//!   environment.json                                  fingerprint (`irgate env`, via ci/bench)
//!   run.toml                                          suite, benchmark count, filter, seconds (ci/bench)
//!   gungraun/<package>/<bench>/<group>/<function>.<id>/
//!       summary.json                                  Gungraun summary, schema v7
//!       callgrind.<function>.<id>.out                 Callgrind profile
//!   criterion/<group>/<function>/<id>/new/
//!       benchmark.json                                names (ci/bench --wall)
//!       estimates.json                                mean/median in ns
//! ```
//!
//! The summaries and the fingerprint are irgate's formats and are read with
//! `irgate-core` ([`irgate_core::read_results`], [`irgate_core::env::load`]); the
//! criterion estimates and `run.toml` are read here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use irgate_core::{BenchId, Environment, ReadOptions, SuiteId};
use serde::Deserialize;

/// Why a run could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The instruction-count results could not be read (irgate's reader).
    #[error(transparent)]
    Ir(#[from] irgate_core::ReadError),
    /// The environment fingerprint could not be read (irgate's loader).
    #[error(transparent)]
    Environment(#[from] irgate_core::env::EnvError),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A JSON file did not parse or lacked a field.
    #[error("{path}: line {line}, column {column}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// A criterion result whose names do not make a benchmark id of the suite.
    #[error("{path}: {message}")]
    Name {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The same wall-clock benchmark appears twice.
    #[error("benchmark {id} appears twice: in {first} and in {second}")]
    Duplicate {
        /// The benchmark.
        id: String,
        /// Where it was seen first.
        first: PathBuf,
        /// Where it was seen again.
        second: PathBuf,
    },
    /// A summary without an Ir value.
    #[error("{path}: no Callgrind Ir value in the summary")]
    NoIr {
        /// The file.
        path: PathBuf,
    },
    /// `run.toml` did not parse.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A run directory without any result.
    #[error("{path}: no benchmark results found (run ci/bench first)")]
    Empty {
        /// The directory searched.
        path: PathBuf,
    },
}

/// One benchmark of the instruction-count suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrResult {
    /// Executed instructions in the measured region.
    pub ir: u64,
    /// How long Gungraun took for this benchmark (Valgrind run included), if recorded.
    pub duration_ns: Option<u64>,
    /// The Callgrind profile beside the summary, if present.
    pub callgrind_out: Option<PathBuf>,
    /// When the benchmark started (RFC 3339); orders benchmarks as the suite ran them.
    pub started_at: Option<String>,
}

/// One benchmark of the wall-clock suite (criterion estimates, nanoseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct WallResult {
    /// Mean time per iteration.
    pub mean_ns: f64,
    /// Median time per iteration.
    pub median_ns: f64,
    /// Lower bound of the mean's confidence interval.
    pub mean_lower_ns: f64,
    /// Upper bound of the mean's confidence interval.
    pub mean_upper_ns: f64,
}

/// A whole run: both suites (either may be empty) and the environment file.
///
/// Both suites are keyed by the instruction-count suite's ids: the wall-clock suite
/// holds the same benchmarks under the same `group/function/id`.
#[derive(Debug, Default)]
pub struct Run {
    /// Instruction counts by id.
    pub ir: BTreeMap<BenchId, IrResult>,
    /// Wall-clock estimates by id.
    pub wall: BTreeMap<BenchId, WallResult>,
    /// `environment.json` and `run.toml` as key/value strings, sorted.
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CriterionBenchmark {
    group_id: String,
    #[serde(default)]
    function_id: Option<String>,
    #[serde(default)]
    value_str: Option<String>,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

fn read_text(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ReadError> {
    serde_json::from_str(text).map_err(|e| ReadError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Every file named `name` under `dir`, in sorted order (no symlink following).
fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) -> Result<(), ReadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ReadError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReadError::Io {
            path: dir.to_owned(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        let meta = std::fs::symlink_metadata(&path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            find_files(&path, name, out)?;
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    Ok(())
}

/// The first `callgrind.*.out` beside a summary: the benchmark's Callgrind profile.
fn profile_beside(summary: &Path) -> Option<PathBuf> {
    let dir = summary.parent()?;
    let mut outs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("callgrind.") && n.ends_with(".out"))
        })
        .collect();
    outs.sort();
    outs.into_iter().next()
}

/// Read every summary under `dir` (a directory, or summary files) with irgate's
/// reader: every format irgate reads, a benchmark that appears twice refused. A
/// directory that does not exist holds no results.
pub fn read_ir(dir: &Path) -> Result<BTreeMap<BenchId, IrResult>, ReadError> {
    if !dir.exists() {
        return Ok(BTreeMap::new());
    }
    let results = irgate_core::read_results(&[dir.to_owned()], &ReadOptions::default())?;
    let mut out = BTreeMap::new();
    for r in results {
        let ir = r.result.metrics.ir().ok_or_else(|| ReadError::NoIr {
            path: r.file.clone(),
        })?;
        let callgrind_out = profile_beside(&r.file);
        out.insert(
            r.id,
            IrResult {
                ir,
                duration_ns: r.duration_ns,
                callgrind_out,
                started_at: r.started_at,
            },
        );
    }
    Ok(out)
}

/// Parse one criterion result from its `benchmark.json` and `estimates.json` texts,
/// naming it in `suite`.
pub fn parse_criterion(
    suite: &SuiteId,
    bench_path: &Path,
    bench_text: &str,
    est_path: &Path,
    est_text: &str,
) -> Result<(BenchId, WallResult), ReadError> {
    let b: CriterionBenchmark = parse_json(bench_path, bench_text)?;
    let e: Estimates = parse_json(est_path, est_text)?;
    let id = BenchId::new(
        suite.package.clone(),
        suite.bench.clone(),
        b.group_id,
        b.function_id.unwrap_or_default(),
        b.value_str,
    )
    .map_err(|e| ReadError::Name {
        path: bench_path.to_owned(),
        message: e.to_string(),
    })?;
    Ok((
        id,
        WallResult {
            mean_ns: e.mean.point_estimate,
            median_ns: e.median.point_estimate,
            mean_lower_ns: e.mean.confidence_interval.lower_bound,
            mean_upper_ns: e.mean.confidence_interval.upper_bound,
        },
    ))
}

/// Read every criterion result (`*/new/benchmark.json`) under `dir`, naming each in
/// `suite`. A benchmark that appears twice is an error.
pub fn read_wall(dir: &Path, suite: &SuiteId) -> Result<BTreeMap<BenchId, WallResult>, ReadError> {
    let mut files = Vec::new();
    if dir.exists() {
        find_files(dir, "benchmark.json", &mut files)?;
    }
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<BenchId, PathBuf> = BTreeMap::new();
    for bench_path in files {
        let Some(new_dir) = bench_path.parent() else {
            continue;
        };
        if new_dir.file_name().is_none_or(|n| n != "new") {
            continue;
        }
        let est_path = new_dir.join("estimates.json");
        let (id, result) = parse_criterion(
            suite,
            &bench_path,
            &read_text(&bench_path)?,
            &est_path,
            &read_text(&est_path)?,
        )?;
        if let Some(first) = seen.insert(id.clone(), bench_path.clone()) {
            return Err(ReadError::Duplicate {
                id: id.key_in_suite(),
                first,
                second: bench_path,
            });
        }
        out.insert(id, result);
    }
    Ok(out)
}

/// The fingerprint as flat key/value strings: its fields that are known, its `extra`
/// entries and its canary's counts, each under its own name.
pub fn flatten_environment(env: &Environment) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &env.canary {
        out.insert(k.clone(), v.to_string());
    }
    for (k, v) in env.fields() {
        if let Some(v) = v {
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    for (k, v) in &env.extra {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Read a run's facts as flat key/value strings: the fingerprint `environment.json`
/// written by `irgate env` (read with irgate's loader, see [`flatten_environment`])
/// and `run.toml` written by `irgate bench`. A missing file contributes nothing.
pub fn read_environment(dir: &Path) -> Result<BTreeMap<String, String>, ReadError> {
    let mut out = BTreeMap::new();
    let json_path = dir.join("environment.json");
    if json_path.exists() {
        out = flatten_environment(&irgate_core::env::load(&json_path)?);
    }
    let toml_path = dir.join("run.toml");
    if toml_path.exists() {
        let text = read_text(&toml_path)?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ReadError::Toml {
            path: toml_path.clone(),
            message: e.to_string(),
        })?;
        for (k, v) in table {
            let v = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// Read a run directory: `gungraun/`, `criterion/` (named in `suite`),
/// `environment.json` and `run.toml`. At least one suite must have results.
pub fn read_run(dir: &Path, suite: &SuiteId) -> Result<Run, ReadError> {
    let run = Run {
        ir: read_ir(&dir.join("gungraun"))?,
        wall: read_wall(&dir.join("criterion"), suite)?,
        environment: read_environment(dir)?,
    };
    if run.ir.is_empty() && run.wall.is_empty() {
        return Err(ReadError::Empty {
            path: dir.to_owned(),
        });
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = include_str!("../tests/fixtures/summary_v7.json");
    const BENCH: &str = include_str!("../tests/fixtures/criterion_benchmark.json");
    const ESTIMATES: &str = include_str!("../tests/fixtures/criterion_estimates.json");

    fn suite() -> SuiteId {
        SuiteId {
            package: "scarab-plugins".to_owned(),
            bench: "ir".to_owned(),
        }
    }

    /// `text` as the summary of `dispatch/output/noop` in a run directory.
    fn summary_dir(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let s = dir
            .path()
            .join("gungraun/scarab-plugins/ir/dispatch/output.noop");
        std::fs::create_dir_all(&s).unwrap();
        std::fs::write(s.join("summary.json"), text).unwrap();
        let gungraun = dir.path().join("gungraun");
        (dir, gungraun)
    }

    #[test]
    fn reads_ir_and_name_from_a_v7_summary() {
        let (_dir, gungraun) = summary_dir(SUMMARY);
        let ir = read_ir(&gungraun).unwrap();
        let (name, r) = ir.iter().next().unwrap();
        assert_eq!(name.key_in_suite(), "dispatch/output/noop");
        assert_eq!(r.ir, 2121);
        assert_eq!(r.duration_ns, Some(732_240_396));
    }

    #[test]
    fn rejects_other_schema_versions_naming_the_file() {
        // Version 6 is iai-callgrind's, which irgate also reads; 8 is one it does not.
        let text = SUMMARY.replace("\"version\": \"7\"", "\"version\": \"8\"");
        let (_dir, gungraun) = summary_dir(&text);
        let err = read_ir(&gungraun).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("output.noop/summary.json"), "{msg}");
        assert!(msg.contains("version \"8\""), "{msg}");
    }

    #[test]
    fn a_summary_without_ir_is_an_error() {
        let text = SUMMARY.replace("\"Ir\"", "\"Dr\"");
        let (_dir, gungraun) = summary_dir(&text);
        let err = read_ir(&gungraun).unwrap_err();
        assert!(
            matches!(err, ReadError::Ir(irgate_core::ReadError::Shape { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("no Callgrind `Ir` value"), "{err}");
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\n  \"version\": }").unwrap();
        let err = read_ir(&bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{}:2:", bad.display())), "{msg}");
    }

    #[test]
    fn the_same_benchmark_twice_is_an_error_naming_both_files() {
        let (dir, gungraun) = summary_dir(SUMMARY);
        let again = dir
            .path()
            .join("gungraun/scarab-plugins/ir/dispatch/output.noop-again");
        std::fs::create_dir_all(&again).unwrap();
        std::fs::write(again.join("summary.json"), SUMMARY).unwrap();
        let err = read_ir(&gungraun).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("appears twice"), "{msg}");
        assert!(msg.contains("output.noop-again"), "{msg}");
    }

    #[test]
    fn reads_criterion_estimates() {
        let (name, w) = parse_criterion(
            &suite(),
            Path::new("b.json"),
            BENCH,
            Path::new("e.json"),
            ESTIMATES,
        )
        .unwrap();
        assert_eq!(name.key_in_suite(), "loading/fzb/minimal");
        assert!((w.mean_ns - 15234.5).abs() < 1e-9);
        assert!((w.median_ns - 15100.25).abs() < 1e-9);
        assert!(w.mean_lower_ns < w.mean_ns && w.mean_ns < w.mean_upper_ns);
    }

    #[test]
    fn names_parse_and_print_the_same() {
        for s in ["a/b/c", "a/b"] {
            assert_eq!(
                crate::layout::bench_id(&suite(), s).unwrap().key_in_suite(),
                s
            );
        }
        assert!(crate::layout::bench_id(&suite(), "nogroup").is_err());
    }

    #[test]
    fn reads_a_run_directory_and_fails_closed_on_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_run(dir.path(), &suite()).unwrap_err();
        assert!(matches!(err, ReadError::Empty { .. }), "{err}");

        let s = dir
            .path()
            .join("gungraun/scarab-plugins/ir/dispatch/output.noop");
        std::fs::create_dir_all(&s).unwrap();
        std::fs::write(s.join("summary.json"), SUMMARY).unwrap();
        std::fs::write(s.join("callgrind.output.noop.out"), "").unwrap();
        let c = dir.path().join("criterion/loading/fzb/minimal/new");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("benchmark.json"), BENCH).unwrap();
        std::fs::write(c.join("estimates.json"), ESTIMATES).unwrap();
        // criterion's "base" copy must not be read twice.
        let b = dir.path().join("criterion/loading/fzb/minimal/base");
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("benchmark.json"), BENCH).unwrap();
        std::fs::write(b.join("estimates.json"), ESTIMATES).unwrap();
        std::fs::write(
            dir.path().join("environment.json"),
            r#"{"glibc": "glibc 2.36", "cpu_model": null, "extra": {"preload": "none"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("run.toml"), "benchmarks = 84\n").unwrap();

        let run = read_run(dir.path(), &suite()).unwrap();
        assert_eq!(run.ir.len(), 1);
        assert_eq!(run.wall.len(), 1);
        let ir = run.ir.values().next().unwrap();
        assert!(ir
            .callgrind_out
            .as_ref()
            .unwrap()
            .ends_with("callgrind.output.noop.out"));
        assert_eq!(run.environment["glibc"], "glibc 2.36");
        assert_eq!(run.environment["preload"], "none");
        assert!(!run.environment.contains_key("cpu_model"));
        assert_eq!(run.environment["benchmarks"], "84");
    }

    #[test]
    fn an_environment_file_that_is_no_fingerprint_is_an_error_naming_it() {
        let (dir, _) = summary_dir(SUMMARY);
        std::fs::write(dir.path().join("environment.json"), r#"{"glibcc": "x"}"#).unwrap();
        let err = read_run(dir.path(), &suite()).unwrap_err();
        assert!(err.to_string().contains("environment.json"), "{err}");
    }
}
