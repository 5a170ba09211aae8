//! The result of comparing a run with baselines, and its versioned JSON form.
//!
//! The JSON form is documented in `docs/COMPARISON_JSON.md`; [`SCHEMA_VERSION`] changes
//! whenever a field is removed or changes meaning. Readers call
//! [`Comparison::from_json`], which refuses other versions and inconsistent documents
//! (counts or gate that do not follow from the per-benchmark entries), so a consumer can
//! treat a comparison file as untrusted input.
//!
//! (Over 600 lines: the comparison types, their JSON form and its bounded loader mirror
//! one documented format, `docs/COMPARISON_JSON.md`, and stay together.)

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{BenchId, BenchResult, EnvChange, Environment, Metrics, Run};
use crate::policy::Action;

/// Version of the comparison JSON schema written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// Largest comparison document [`Comparison::from_json`] accepts, in bytes, and the
/// most [`Comparison::load`] reads from a file.
pub const MAX_JSON_BYTES: usize = 64 * 1024 * 1024;

/// The outcome of the gate for a whole run; also decides the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Nothing the policy counts as a failure: exit code 0.
    Passed,
    /// A regression, a missing benchmark, or drift under a strict policy: exit code 1.
    Failed,
    /// Bad input, I/O trouble or misuse; no verdict was reached: exit code 2.
    CouldNotJudge,
}

impl Gate {
    /// The process exit code for this outcome (0, 1 or 2).
    pub fn exit_code(self) -> i32 {
        match self {
            Gate::Passed => 0,
            Gate::Failed => 1,
            Gate::CouldNotJudge => 2,
        }
    }
}

/// The verdict for one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The gated metric grew by more than the threshold and the floor.
    Regressed,
    /// The gated metric shrank by more than the threshold and the floor.
    Improved,
    /// The change is within the threshold or below the floor.
    Unchanged,
    /// The run has this benchmark; the baselines do not.
    New,
    /// The baselines have this benchmark; the run does not.
    Missing,
}

impl Verdict {
    /// Lower-case name, as in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::New => "new",
            Verdict::Missing => "missing",
        }
    }
}

/// The run-level verdict about the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunVerdict {
    /// The run's environment matches the baselines' in every compared field.
    Consistent,
    /// At least one compared field differs; see [`EnvironmentCheck::changes`].
    EnvironmentChanged,
}

/// One benchmark's entry in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchComparison {
    /// The benchmark.
    pub id: BenchId,
    /// Its verdict.
    pub verdict: Verdict,
    /// How the policy counts this entry: `fail` makes the gate fail, `warn` is reported,
    /// `ignore` is informational.
    pub action: Action,
    /// The gated metric (e.g. `Ir`).
    pub metric: String,
    /// The baseline value of the gated metric (absent for `new`).
    pub baseline: Option<u64>,
    /// The current value of the gated metric (absent for `missing`).
    pub current: Option<u64>,
    /// `current - baseline`, saturated to the `i64` range (absent unless both exist).
    pub delta: Option<i64>,
    /// `100 * delta / baseline` (absent unless both exist; absent when baseline is 0).
    pub change_pct: Option<f64>,
    /// The relative threshold applied, in percent.
    pub threshold_pct: f64,
    /// The absolute floor applied: changes smaller than this never count.
    pub floor: u64,
    /// The bench source file relative to the repository root, when known
    /// (for check-run annotations).
    #[serde(default)]
    pub source_file: Option<String>,
    /// Every metric the current run recorded for this benchmark (empty for `missing`).
    /// Lets a consumer accept the run from the comparison alone.
    #[serde(default)]
    pub current_metrics: Metrics,
    /// Which functions moved, for a regressed or improved benchmark when profiles
    /// were looked at ([`crate::why`]); absent otherwise, and in documents written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<crate::why::Why>,
}

/// The environment part of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentCheck {
    /// Whether the environment changed in a field that can move a count.
    pub verdict: RunVerdict,
    /// How the policy counts such a change (`fail`, `warn` or `ignore`).
    pub action: Action,
    /// The differing fields that can move a count (empty when consistent).
    pub changes: Vec<EnvChange>,
    /// The environment of the current run.
    pub current: Environment,
    /// Differing fields that only describe the machine (CPU model, raw CPU flags, cache
    /// description, and the policy's `drift_ignore`): shown as a note, never drift.
    #[serde(default)]
    pub informational: Vec<EnvChange>,
    /// The policy's evidence rule: drift fails the gate only when some benchmark moved
    /// past its threshold too.
    #[serde(default)]
    pub evidence_rule: bool,
}

impl EnvironmentCheck {
    /// The changed fields with their old and new values, for one sentence:
    /// `rustc: "a" -> "b"; canary: +3.1% (glibc string routines differ)`.
    pub fn describe_changes(&self) -> String {
        describe(&self.changes)
    }

    /// `the environment differs from the baselines' (field: old -> new, …)`: the one
    /// sentence both a gate reason and a warning use.
    pub(crate) fn difference_sentence(&self) -> String {
        format!(
            "the environment differs from the baselines' in what can move a count ({})",
            self.describe_changes()
        )
    }

    /// Whether drift fails the gate given the benchmarks' verdicts.
    fn fails(&self, benchmarks: &[BenchComparison]) -> bool {
        self.verdict == RunVerdict::EnvironmentChanged
            && self.action == Action::Fail
            && (!self.evidence_rule || counts_moved(benchmarks))
    }

    /// The notes this check adds when it does not fail the gate.
    fn notes(&self, benchmarks: &[BenchComparison]) -> Vec<String> {
        let mut out = Vec::new();
        if self.verdict == RunVerdict::EnvironmentChanged
            && self.action == Action::Fail
            && !self.fails(benchmarks)
        {
            out.push(format!(
                "environment differs ({}); no count moved past its threshold, so the verdict stands; refresh the fingerprint with `irgate accept`",
                self.describe_changes()
            ));
        }
        if !self.informational.is_empty() {
            let names: Vec<&str> = self
                .informational
                .iter()
                .map(|c| c.field.as_str())
                .collect();
            out.push(format!(
                "informational fields differ ({}): they describe the machine and cannot move a count",
                names.join(", ")
            ));
        }
        out
    }
}

/// True when some benchmark moved past its threshold (regressed or improved).
fn counts_moved(benchmarks: &[BenchComparison]) -> bool {
    benchmarks
        .iter()
        .any(|b| matches!(b.verdict, Verdict::Regressed | Verdict::Improved))
}

/// `field: "old" -> "new"` for each change; the canary's parts are summed into one
/// relative change.
fn describe(changes: &[EnvChange]) -> String {
    let mut parts = Vec::new();
    let (mut old, mut new, mut canary) = (0u64, 0u64, false);
    let mut canary_unknown = false;
    for c in changes {
        if c.field.starts_with("canary.") {
            canary = true;
            match (
                c.baseline.as_deref().and_then(|v| v.parse::<u64>().ok()),
                c.current.as_deref().and_then(|v| v.parse::<u64>().ok()),
            ) {
                (Some(a), Some(b)) => {
                    old += a;
                    new += b;
                }
                _ => canary_unknown = true,
            }
            continue;
        }
        let show = |v: &Option<String>| format!("{:?}", v.as_deref().unwrap_or("unknown"));
        parts.push(format!(
            "{}: {} -> {}",
            c.field,
            show(&c.baseline),
            show(&c.current)
        ));
    }
    if canary {
        if canary_unknown || old == 0 {
            parts.push("canary: recorded on one side only".to_owned());
        } else {
            let pct = (new as f64 - old as f64) * 100.0 / old as f64;
            parts.push(format!(
                "glibc string routines differ: canary {pct:+.1}% ({old} -> {new} Ir)"
            ));
        }
    }
    parts.join("; ")
}

/// Number of benchmarks per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// `regressed` entries.
    pub regressed: usize,
    /// `improved` entries.
    pub improved: usize,
    /// `unchanged` entries.
    pub unchanged: usize,
    /// `new` entries.
    pub new: usize,
    /// `missing` entries.
    pub missing: usize,
}

impl Counts {
    /// Counts the verdicts of `benchmarks`.
    pub fn of(benchmarks: &[BenchComparison]) -> Self {
        let mut c = Counts::default();
        for b in benchmarks {
            match b.verdict {
                Verdict::Regressed => c.regressed += 1,
                Verdict::Improved => c.improved += 1,
                Verdict::Unchanged => c.unchanged += 1,
                Verdict::New => c.new += 1,
                Verdict::Missing => c.missing += 1,
            }
        }
        c
    }

    /// Total number of entries.
    pub fn total(&self) -> usize {
        self.regressed + self.improved + self.unchanged + self.new + self.missing
    }
}

/// The full result of comparing a run with baselines under a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// Version of irgate that produced the document. Documents written before
    /// the rename name this field `perfgate_version`; they are read as well.
    #[serde(alias = "perfgate_version")]
    pub irgate_version: String,
    /// The outcome.
    pub gate: Gate,
    /// Why the gate failed or could not judge, one sentence each (empty when passed).
    pub reasons: Vec<String>,
    /// What the reader should know although it does not fail the gate, one sentence
    /// each: an environment that differs while no count moved, informational fields.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The gated metric by default (overrides may not change it).
    pub metric: String,
    /// Number of entries per verdict; always equal to counting `benchmarks`.
    pub counts: Counts,
    /// The environment check; absent when the gate could not judge before reading one.
    pub environment: Option<EnvironmentCheck>,
    /// One entry per benchmark, sorted by id.
    pub benchmarks: Vec<BenchComparison>,
    /// Creep against the policy's anchor revision, when the policy sets `creep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creep: Option<crate::creep::CreepReport>,
    /// With `compare --rebase-on-drift`: each benchmark's change split into the
    /// environment's share and the code's; `benchmarks` then judge the code's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebase: Option<crate::rebase::DriftSplit>,
}

/// Why a comparison document was refused.
#[derive(Debug, thiserror::Error)]
pub enum ComparisonError {
    /// Larger than [`MAX_JSON_BYTES`].
    #[error("comparison document is {0} bytes, more than the {MAX_JSON_BYTES} allowed")]
    TooLarge(usize),
    /// Not JSON, or not the documented shape.
    #[error("comparison document is not valid JSON of the documented shape: {0}")]
    Json(#[from] serde_json::Error),
    /// `schema_version` missing or not a number.
    #[error("comparison document has no numeric `schema_version`")]
    NoVersion,
    /// A version this build does not read.
    #[error("comparison schema version {found} is not supported (this irgate reads version {SCHEMA_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// The summary fields contradict the entries.
    #[error("comparison document is inconsistent: {0}")]
    Inconsistent(String),
}

/// Why [`Comparison::load`] refused a file; every message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum ComparisonFileError {
    /// The file could not be opened or read (or is not UTF-8).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds more than [`MAX_JSON_BYTES`]; reading stopped there.
    #[error("{}: more than the {MAX_JSON_BYTES} bytes a comparison document may have", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a comparison document this build reads.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What [`Comparison::from_json`] refused.
        source: ComparisonError,
    },
}

impl ComparisonFileError {
    /// The file that was refused.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::TooLarge { path } | Self::Invalid { path, .. } => path,
        }
    }
}

impl Comparison {
    /// Reads a comparison file: at most [`MAX_JSON_BYTES`] are read (a larger or
    /// endless file is refused without reading it whole), then the text goes through
    /// [`Comparison::from_json`]. The one way every front end loads a comparison file.
    pub fn load(path: &Path) -> Result<Self, ComparisonFileError> {
        let io = |source| ComparisonFileError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        // One byte past the limit tells "exactly at the limit" from "larger".
        file.take(MAX_JSON_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() > MAX_JSON_BYTES {
            return Err(ComparisonFileError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::from_json(&text).map_err(|source| ComparisonFileError::Invalid {
            path: path.to_owned(),
            source,
        })
    }

    /// Builds a comparison from per-benchmark entries and the environment check,
    /// deriving counts, gate and reasons from them.
    pub fn new(
        metric: impl Into<String>,
        mut benchmarks: Vec<BenchComparison>,
        environment: EnvironmentCheck,
    ) -> Self {
        benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
        let counts = Counts::of(&benchmarks);
        let (gate, reasons) = derive_gate(&benchmarks, Some(&environment));
        let notes = environment.notes(&benchmarks);
        Self {
            schema_version: SCHEMA_VERSION,
            irgate_version: env!("CARGO_PKG_VERSION").to_owned(),
            gate,
            reasons,
            notes,
            metric: metric.into(),
            counts,
            environment: Some(environment),
            benchmarks,
            creep: None,
            rebase: None,
        }
    }

    /// A document saying that no verdict could be reached, and why. Lets a consumer
    /// (the PR bot) tell "could not judge" apart from "no result".
    pub fn could_not_judge(reason: impl Into<String>, current: Option<Environment>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            irgate_version: env!("CARGO_PKG_VERSION").to_owned(),
            gate: Gate::CouldNotJudge,
            reasons: vec![reason.into()],
            notes: Vec::new(),
            metric: Metrics::IR.to_owned(),
            counts: Counts::default(),
            environment: current.map(|current| EnvironmentCheck {
                verdict: RunVerdict::Consistent,
                action: Action::Ignore,
                changes: Vec::new(),
                current,
                informational: Vec::new(),
                evidence_rule: false,
            }),
            benchmarks: Vec::new(),
            creep: None,
            rebase: None,
        }
    }

    /// Reads a comparison document, checking size, schema version and consistency.
    pub fn from_json(text: &str) -> Result<Self, ComparisonError> {
        if text.len() > MAX_JSON_BYTES {
            return Err(ComparisonError::TooLarge(text.len()));
        }
        let value: serde_json::Value = serde_json::from_str(text)?;
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or(ComparisonError::NoVersion)?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(ComparisonError::UnsupportedVersion { found: version });
        }
        let c: Comparison = serde_json::from_value(value)?;
        c.check_consistent()?;
        Ok(c)
    }

    /// The document as pretty-printed JSON (ends with a newline).
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: all map keys are strings and floats are
        // finite or rendered as null by serde_json.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"schema_version\":{SCHEMA_VERSION},\"error\":\"{e}\"}}")
        });
        s.push('\n');
        s
    }

    fn check_consistent(&self) -> Result<(), ComparisonError> {
        let counts = Counts::of(&self.benchmarks);
        if counts != self.counts {
            return Err(ComparisonError::Inconsistent(format!(
                "`counts` {:?} do not match the entries {:?}",
                self.counts, counts
            )));
        }
        if self.gate != Gate::CouldNotJudge {
            let (mut gate, _) = derive_gate(&self.benchmarks, self.environment.as_ref());
            if gate == Gate::Passed && self.creep.as_ref().is_some_and(|c| c.fails()) {
                gate = Gate::Failed;
            }
            if gate != self.gate {
                return Err(ComparisonError::Inconsistent(format!(
                    "`gate` is {:?} but the entries give {:?}",
                    self.gate, gate
                )));
            }
            if self.environment.is_none() {
                return Err(ComparisonError::Inconsistent(
                    "`environment` is required unless the gate could not judge".into(),
                ));
            }
        }
        Ok(())
    }

    /// The process exit code (0 passed, 1 failed, 2 could not judge).
    pub fn exit_code(&self) -> i32 {
        self.gate.exit_code()
    }

    /// The benchmarks whose verdict is `Regressed`, in id order.
    pub fn regressions(&self) -> impl Iterator<Item = &BenchComparison> {
        self.with_verdict(Verdict::Regressed)
    }

    /// The benchmarks whose verdict is `Improved`, in id order.
    pub fn improvements(&self) -> impl Iterator<Item = &BenchComparison> {
        self.with_verdict(Verdict::Improved)
    }

    /// The benchmarks with the given verdict, in id order.
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &BenchComparison> {
        self.benchmarks.iter().filter(move |b| b.verdict == verdict)
    }

    /// The entries that make the gate fail (`action = fail`, verdict not unchanged/improved).
    pub fn failures(&self) -> impl Iterator<Item = &BenchComparison> {
        self.benchmarks
            .iter()
            .filter(|b| counts_as(b, Action::Fail))
    }

    /// The entries the policy reports as warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &BenchComparison> {
        self.benchmarks
            .iter()
            .filter(|b| counts_as(b, Action::Warn))
    }

    /// True when the environment differs from the baselines'.
    pub fn environment_changed(&self) -> bool {
        self.environment
            .as_ref()
            .is_some_and(|e| e.verdict == RunVerdict::EnvironmentChanged)
    }

    /// The current run as recorded in this comparison (environment plus every
    /// non-missing benchmark's metrics), for accepting it into baselines.
    pub fn to_run(&self) -> Run {
        let mut run = Run {
            environment: self
                .environment
                .as_ref()
                .map(|e| e.current.clone())
                .unwrap_or_default(),
            ..Run::default()
        };
        for b in &self.benchmarks {
            if b.verdict != Verdict::Missing && !b.current_metrics.0.is_empty() {
                run.benchmarks.insert(
                    b.id.clone(),
                    BenchResult {
                        metrics: b.current_metrics.clone(),
                        source_file: b.source_file.clone(),
                    },
                );
            }
        }
        run
    }
}

fn counts_as(b: &BenchComparison, action: Action) -> bool {
    b.action == action && !matches!(b.verdict, Verdict::Unchanged | Verdict::Improved)
}

/// Derives the gate and its reasons from entries and the environment check.
fn derive_gate(
    benchmarks: &[BenchComparison],
    environment: Option<&EnvironmentCheck>,
) -> (Gate, Vec<String>) {
    let mut reasons = Vec::new();
    let failing = |v: Verdict| {
        benchmarks
            .iter()
            .filter(|b| b.verdict == v && b.action == Action::Fail)
            .count()
    };
    let count = crate::render::count;
    let r = failing(Verdict::Regressed);
    if r > 0 {
        reasons.push(format!("{} regressed", count(r, "benchmark")));
    }
    let m = failing(Verdict::Missing);
    if m > 0 {
        reasons.push(format!(
            "{} missing from the run but present in the baselines",
            count(m, "benchmark")
        ));
    }
    let n = failing(Verdict::New);
    if n > 0 {
        reasons.push(format!("{} without a baseline", count(n, "benchmark")));
    }
    if let Some(env) = environment {
        if env.fails(benchmarks) {
            let moved = benchmarks
                .iter()
                .filter(|b| matches!(b.verdict, Verdict::Regressed | Verdict::Improved))
                .count();
            reasons.push(format!(
                "{} and {} moved past {} threshold: the change may come from the environment rather than the code; run the baselines' commit in this environment to tell them apart, or accept the new environment on purpose with `irgate accept`",
                env.difference_sentence(),
                count(moved, "benchmark"),
                if moved == 1 { "its" } else { "their" }
            ));
        }
    }
    let gate = if reasons.is_empty() {
        Gate::Passed
    } else {
        Gate::Failed
    };
    (gate, reasons)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn load_reads_a_comparison_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comparison.json");
        let c = Comparison::could_not_judge("no results", None);
        std::fs::write(&path, c.to_json()).unwrap();
        assert_eq!(Comparison::load(&path).unwrap(), c);
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let e = Comparison::load(&missing).unwrap_err();
        assert!(matches!(e, ComparisonFileError::Io { .. }), "{e}");
        assert_eq!(e.path(), missing);
        assert!(
            e.to_string().starts_with(&missing.display().to_string()),
            "{e}"
        );

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"schema_version\": 99}").unwrap();
        let e = Comparison::load(&bad).unwrap_err();
        assert!(
            matches!(
                e,
                ComparisonFileError::Invalid {
                    source: ComparisonError::UnsupportedVersion { found: 99 },
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with(&bad.display().to_string()), "{e}");
    }

    #[test]
    fn load_refuses_an_oversized_file_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        // Sparse: one byte past the limit without writing 64 MiB.
        file.set_len(MAX_JSON_BYTES as u64 + 1).unwrap();
        let e = Comparison::load(&big).unwrap_err();
        assert!(matches!(e, ComparisonFileError::TooLarge { .. }), "{e}");
        let message = e.to_string();
        assert!(message.starts_with(&big.display().to_string()), "{message}");
        assert!(message.contains(&MAX_JSON_BYTES.to_string()), "{message}");
    }
}
