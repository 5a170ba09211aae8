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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a run could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
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
    /// A Gungraun summary of a schema version this tool does not read.
    #[error("{path}: summary schema version {version}; this tool reads version 7 (gungraun 0.20)")]
    Version {
        /// The file.
        path: PathBuf,
        /// Version found.
        version: String,
    },
    /// A summary without an Ir value (for example a run without Callgrind).
    #[error("{path}: no Callgrind Ir value in the summary")]
    NoIr {
        /// The file.
        path: PathBuf,
    },
    /// The environment file did not parse.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A run directory without any summary.
    #[error("{path}: no benchmark results found (run ci/bench first)")]
    Empty {
        /// The directory searched.
        path: PathBuf,
    },
}

/// The name of one benchmark, the same in both suites: `group/function/id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BenchName {
    /// Benchmark group (`loading`, `dispatch`, ...).
    pub group: String,
    /// Function within the group.
    pub function: String,
    /// Case of the function (may be empty).
    pub id: String,
}

impl BenchName {
    /// A name from its three parts.
    pub fn new(group: &str, function: &str, id: &str) -> Self {
        Self {
            group: group.to_owned(),
            function: function.to_owned(),
            id: id.to_owned(),
        }
    }

    /// Parse `group/function/id` (or `group/function`).
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '/');
        let group = parts.next()?;
        let function = parts.next()?;
        let id = parts.next().unwrap_or("");
        Some(Self::new(group, function, id))
    }
}

impl fmt::Display for BenchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id.is_empty() {
            write!(f, "{}/{}", self.group, self.function)
        } else {
            write!(f, "{}/{}/{}", self.group, self.function, self.id)
        }
    }
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
#[derive(Debug, Default)]
pub struct Run {
    /// Instruction counts by name.
    pub ir: BTreeMap<BenchName, IrResult>,
    /// Wall-clock estimates by name.
    pub wall: BTreeMap<BenchName, WallResult>,
    /// `environment.json` and `run.toml` as key/value strings, sorted.
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SummaryV7 {
    version: String,
    group: String,
    function_name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    duration_ns: Option<u64>,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    tool: String,
    data: ProfileData,
}

#[derive(Deserialize)]
struct ProfileData {
    total: Total,
}

#[derive(Deserialize)]
struct Total {
    metrics: BTreeMap<String, Metric>,
}

#[derive(Deserialize)]
struct Metric {
    values: Values,
}

#[derive(Deserialize)]
struct Values {
    new: Option<serde_json::Value>,
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

/// Parse one Gungraun summary (schema v7).
pub fn parse_summary(path: &Path, text: &str) -> Result<(BenchName, IrResult), ReadError> {
    let s: SummaryV7 = parse_json(path, text)?;
    if s.version != "7" {
        return Err(ReadError::Version {
            path: path.to_owned(),
            version: s.version,
        });
    }
    let ir = s
        .profiles
        .iter()
        .filter(|p| p.tool == "Callgrind")
        .find_map(|p| p.data.total.metrics.get("Ir"))
        .and_then(|m| m.values.new.as_ref())
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ReadError::NoIr {
            path: path.to_owned(),
        })?;
    let callgrind_out = path.parent().and_then(|dir| {
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
    });
    let name = BenchName::new(&s.group, &s.function_name, s.id.as_deref().unwrap_or(""));
    Ok((
        name,
        IrResult {
            ir,
            duration_ns: s.duration_ns,
            callgrind_out,
            started_at: s.started_at,
        },
    ))
}

/// Read every `summary.json` under `dir`.
pub fn read_ir(dir: &Path) -> Result<BTreeMap<BenchName, IrResult>, ReadError> {
    let mut files = Vec::new();
    if dir.exists() {
        find_files(dir, "summary.json", &mut files)?;
    }
    let mut out = BTreeMap::new();
    for path in files {
        let text = read_text(&path)?;
        let (name, result) = parse_summary(&path, &text)?;
        out.insert(name, result);
    }
    Ok(out)
}

/// Parse one criterion result from its `benchmark.json` and `estimates.json` texts.
pub fn parse_criterion(
    bench_path: &Path,
    bench_text: &str,
    est_path: &Path,
    est_text: &str,
) -> Result<(BenchName, WallResult), ReadError> {
    let b: CriterionBenchmark = parse_json(bench_path, bench_text)?;
    let e: Estimates = parse_json(est_path, est_text)?;
    let name = BenchName::new(
        &b.group_id,
        b.function_id.as_deref().unwrap_or(""),
        b.value_str.as_deref().unwrap_or(""),
    );
    Ok((
        name,
        WallResult {
            mean_ns: e.mean.point_estimate,
            median_ns: e.median.point_estimate,
            mean_lower_ns: e.mean.confidence_interval.lower_bound,
            mean_upper_ns: e.mean.confidence_interval.upper_bound,
        },
    ))
}

/// Read every criterion result (`*/new/benchmark.json`) under `dir`.
pub fn read_wall(dir: &Path) -> Result<BTreeMap<BenchName, WallResult>, ReadError> {
    let mut files = Vec::new();
    if dir.exists() {
        find_files(dir, "benchmark.json", &mut files)?;
    }
    let mut out = BTreeMap::new();
    for bench_path in files {
        let Some(new_dir) = bench_path.parent() else {
            continue;
        };
        if new_dir.file_name().is_none_or(|n| n != "new") {
            continue;
        }
        let est_path = new_dir.join("estimates.json");
        let (name, result) = parse_criterion(
            &bench_path,
            &read_text(&bench_path)?,
            &est_path,
            &read_text(&est_path)?,
        )?;
        out.insert(name, result);
    }
    Ok(out)
}

/// Read a run's facts as flat key/value strings: the fingerprint `environment.json`
/// written by `irgate env` (its `extra` table flattened into the top level) and
/// `run.toml` written by `ci/bench`. A missing file contributes nothing.
pub fn read_environment(dir: &Path) -> Result<BTreeMap<String, String>, ReadError> {
    let mut out = BTreeMap::new();
    let json_path = dir.join("environment.json");
    if json_path.exists() {
        let text = read_text(&json_path)?;
        let value: serde_json::Value = parse_json(&json_path, &text)?;
        let serde_json::Value::Object(map) = value else {
            return Err(ReadError::Json {
                path: json_path,
                line: 1,
                column: 1,
                message: "expected a JSON object".to_owned(),
            });
        };
        for (k, v) in map {
            match v {
                serde_json::Value::Object(extra) => {
                    for (k, v) in extra {
                        out.insert(k, json_scalar(v));
                    }
                }
                serde_json::Value::Null => {}
                v => {
                    out.insert(k, json_scalar(v));
                }
            }
        }
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

/// A JSON value as the text a table cell shows.
fn json_scalar(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Read a run directory: `gungraun/`, `criterion/`, `environment.json` and `run.toml`. At least
/// one suite must have results.
pub fn read_run(dir: &Path) -> Result<Run, ReadError> {
    let run = Run {
        ir: read_ir(&dir.join("gungraun"))?,
        wall: read_wall(&dir.join("criterion"))?,
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

    #[test]
    fn reads_ir_and_name_from_a_v7_summary() {
        let (name, r) = parse_summary(Path::new("s.json"), SUMMARY).unwrap();
        assert_eq!(name.to_string(), "dispatch/output/noop");
        assert_eq!(r.ir, 2121);
        assert_eq!(r.duration_ns, Some(732_240_396));
    }

    #[test]
    fn rejects_other_schema_versions_naming_the_file() {
        let text = SUMMARY.replace("\"version\": \"7\"", "\"version\": \"6\"");
        let err = parse_summary(Path::new("old/summary.json"), &text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("old/summary.json"), "{msg}");
        assert!(msg.contains("version 6"), "{msg}");
    }

    #[test]
    fn a_summary_without_ir_is_an_error() {
        let text = SUMMARY.replace("\"Ir\"", "\"Dr\"");
        let err = parse_summary(Path::new("x.json"), &text).unwrap_err();
        assert!(matches!(err, ReadError::NoIr { .. }), "{err}");
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let err = parse_summary(Path::new("bad.json"), "{\n  \"version\": }").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.json: line 2, column"), "{msg}");
    }

    #[test]
    fn reads_criterion_estimates() {
        let (name, w) =
            parse_criterion(Path::new("b.json"), BENCH, Path::new("e.json"), ESTIMATES).unwrap();
        assert_eq!(name.to_string(), "loading/fzb/minimal");
        assert!((w.mean_ns - 15234.5).abs() < 1e-9);
        assert!((w.median_ns - 15100.25).abs() < 1e-9);
        assert!(w.mean_lower_ns < w.mean_ns && w.mean_ns < w.mean_upper_ns);
    }

    #[test]
    fn names_parse_and_print_the_same() {
        for s in ["a/b/c", "a/b"] {
            assert_eq!(BenchName::parse(s).unwrap().to_string(), s);
        }
        assert!(BenchName::parse("nogroup").is_none());
    }

    #[test]
    fn reads_a_run_directory_and_fails_closed_on_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_run(dir.path()).unwrap_err();
        assert!(matches!(err, ReadError::Empty { .. }), "{err}");

        let s = dir.path().join("gungraun/pkg/ir/dispatch/output.noop");
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

        let run = read_run(dir.path()).unwrap();
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
}
