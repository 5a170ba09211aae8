//! The gate's policy, read from `irgate.toml`. Every key is optional.
//!
//! ```toml
//! metric = "Ir"            # gated Callgrind metric
//! threshold_pct = 0.5      # relative change (percent) that counts
//! floor = 10               # changes smaller than this many units never count
//! on_new = "warn"          # benchmark without a baseline: fail | warn | ignore
//! on_missing = "fail"      # baseline without a benchmark in the run
//! on_drift = "fail"        # environment differs from the baselines' in what can move a count
//! drift_evidence = true     # ...but fail on drift only when some count moved too
//! drift_ignore = []         # further fingerprint fields to treat as informational
//!
//! [[override]]             # first matching override wins
//! match = "scarab-plugins/ir/tokio_*/**"   # glob over the BenchId
//! threshold_pct = 2.0
//! floor = 1000
//! ```
//!
//! In globs `*` stays within one `/`-separated part of the id and `**` crosses parts.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::model::{BenchId, Environment, Metrics};
use crate::source::line_col;

/// What to do about a condition: make the gate fail, report it, or say nothing of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The gate fails.
    Fail,
    /// Reported, the gate still passes.
    Warn,
    /// Informational only.
    Ignore,
}

/// Why `irgate.toml` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key or value is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the bad key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// A per-benchmark override, selected by glob over the benchmark id.
#[derive(Debug, Clone)]
pub struct Override {
    /// The glob as written.
    pub pattern: String,
    /// Where it was written (`irgate.toml:12:9`), when read from a file.
    pub at: Option<String>,
    matcher: GlobMatcher,
    /// Relative threshold for matching benchmarks, in percent.
    pub threshold_pct: Option<f64>,
    /// Absolute floor for matching benchmarks.
    pub floor: Option<u64>,
    /// How a regression of a matching benchmark counts (default `fail`).
    pub on_regression: Option<Action>,
}

impl Override {
    /// Whether the override applies to the benchmark `id` (its text form).
    pub fn matches(&self, id: &str) -> bool {
        self.matcher.is_match(id)
    }
}

/// The gate's policy. [`Policy::default`] is what an absent `irgate.toml` means.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Gated metric (default `Ir`).
    pub metric: String,
    /// Default relative threshold, percent (default 0.5).
    pub threshold_pct: f64,
    /// Default absolute floor: changes with `|delta| < floor` never count (default 10).
    pub floor: u64,
    /// What a benchmark without baseline does (default `warn`: reported as `New`).
    pub on_new: Action,
    /// What a baseline without a benchmark does (default `fail`).
    pub on_missing: Action,
    /// What a changed environment does (default `fail`), in the fields that can move a
    /// count (see [`Environment::diff`]).
    pub on_drift: Action,
    /// The evidence rule (default on): drift makes the gate fail only when some
    /// benchmark also moved past its threshold. When the environment differs and no
    /// count moved, the gate passes with a note asking to refresh the fingerprint.
    pub drift_evidence: bool,
    /// Further environment fields to treat as informational, besides
    /// [`crate::model::INFORMATIONAL_FIELDS`] (`cpu_model`, `cpu_flags`, `cache`), which
    /// are never drift (default: none).
    pub drift_ignore: Vec<String>,
    /// Per-benchmark overrides; the first match wins.
    pub overrides: Vec<Override>,
    /// Creep against an anchor revision (`creep = { anchor = "v1.0", max_pct = 5 }`):
    /// how far a benchmark's current value may exceed its baseline at the anchor,
    /// however small each accepted step was. Default: none.
    pub creep: Option<Creep>,
    /// What creep past `max_pct` does (default `warn`: a separate "creep"
    /// section; `fail` fails the gate).
    pub on_creep: Action,
}

/// The `creep` key: an anchor and how far above it a benchmark may go.
#[derive(Debug, Clone, PartialEq)]
pub struct Creep {
    /// A git revision (tag, branch or sha) whose baselines are the anchor.
    pub anchor: String,
    /// Largest allowed rise over the anchor's value, percent.
    pub max_pct: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            metric: Metrics::IR.to_owned(),
            threshold_pct: 0.5,
            floor: 10,
            on_new: Action::Warn,
            on_missing: Action::Fail,
            on_drift: Action::Fail,
            drift_evidence: true,
            drift_ignore: Vec::new(),
            overrides: Vec::new(),
            creep: None,
            on_creep: Action::Warn,
        }
    }
}

/// The thresholds that apply to one benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Relative threshold, percent.
    pub threshold_pct: f64,
    /// Absolute floor.
    pub floor: u64,
    /// How a regression counts.
    pub on_regression: Action,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    metric: Option<Spanned<String>>,
    threshold_pct: Option<Spanned<f64>>,
    floor: Option<u64>,
    on_new: Option<Action>,
    on_missing: Option<Action>,
    on_drift: Option<Action>,
    drift_evidence: Option<bool>,
    drift_ignore: Option<Vec<Spanned<String>>>,
    #[serde(default, rename = "override")]
    overrides: Vec<RawOverride>,
    creep: Option<Spanned<RawCreep>>,
    on_creep: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreep {
    anchor: Spanned<String>,
    max_pct: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    threshold_pct: Option<Spanned<f64>>,
    floor: Option<u64>,
    on_regression: Option<Action>,
}

/// Longest `match` pattern read, in characters. Benchmark ids are short; the bound
/// keeps the glob's regex far below the size at which the glob library panics instead
/// of returning an error (a pattern of 131,072 `\u{FFFD}` did).
pub const MAX_PATTERN_CHARS: usize = 1024;

/// Builds a glob matcher where `*` stays within one id part.
pub(crate) fn id_glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(id_pattern(pattern)?.compile_matcher())
}

/// One benchmark-id pattern: `*` stays within one id part.
fn id_pattern(pattern: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

/// Builds a [`globset::GlobSet`] over benchmark ids from patterns (`*` within one part).
pub fn id_globset(patterns: &[String]) -> Result<globset::GlobSet, globset::Error> {
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        b.add(id_pattern(p)?);
    }
    b.build()
}

/// A [`PolicyError::Invalid`] at byte `offset` of `text`.
fn invalid_at(path: &Path, text: &str, offset: usize, message: String) -> PolicyError {
    let (line, column) = line_col(text, offset);
    PolicyError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

fn check_threshold(path: &Path, text: &str, t: &Spanned<f64>) -> Result<f64, PolicyError> {
    let v = *t.get_ref();
    if !v.is_finite() || v < 0.0 {
        return Err(invalid_at(
            path,
            text,
            t.span().start,
            format!("threshold_pct must be a finite number >= 0, found {v}"),
        ));
    }
    Ok(v)
}

impl Policy {
    /// Parses policy text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            PolicyError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let mut p = Policy::default();
        if let Some(m) = raw.metric {
            if m.get_ref().trim().is_empty() {
                return Err(invalid_at(
                    path,
                    text,
                    m.span().start,
                    "metric must not be empty (e.g. \"Ir\")".into(),
                ));
            }
            p.metric = m.into_inner();
        }
        if let Some(t) = raw.threshold_pct {
            p.threshold_pct = check_threshold(path, text, &t)?;
        }
        if let Some(f) = raw.floor {
            p.floor = f;
        }
        if let Some(a) = raw.on_new {
            p.on_new = a;
        }
        if let Some(a) = raw.on_missing {
            p.on_missing = a;
        }
        if let Some(a) = raw.on_drift {
            p.on_drift = a;
        }
        if let Some(e) = raw.drift_evidence {
            p.drift_evidence = e;
        }
        if let Some(fields) = raw.drift_ignore {
            p.drift_ignore.clear();
            for f in fields {
                let name = f.get_ref().as_str();
                let extra = ["extra.", "canary."]
                    .iter()
                    .any(|p| name.strip_prefix(p).is_some_and(|k| !k.is_empty()));
                if !extra && !Environment::known_names().any(|n| n == name) {
                    return Err(invalid_at(
                        path,
                        text,
                        f.span().start,
                        format!(
                            "unknown environment field {:?}; expected one of {}, extra.<name> or canary.<part>",
                            f.get_ref(),
                            Environment::known_names().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                p.drift_ignore.push(f.into_inner());
            }
        }
        if let Some(c) = raw.creep {
            let c = c.into_inner();
            let anchor = c.anchor.get_ref().trim();
            if anchor.is_empty() || anchor.starts_with('-') {
                return Err(invalid_at(
                    path,
                    text,
                    c.anchor.span().start,
                    "creep.anchor must name a git revision (a tag, branch or commit)".into(),
                ));
            }
            let max_pct = *c.max_pct.get_ref();
            if !max_pct.is_finite() || max_pct < 0.0 {
                return Err(invalid_at(
                    path,
                    text,
                    c.max_pct.span().start,
                    format!("creep.max_pct must be a finite number >= 0, found {max_pct}"),
                ));
            }
            p.creep = Some(Creep {
                anchor: anchor.to_owned(),
                max_pct,
            });
        }
        if let Some(a) = raw.on_creep {
            p.on_creep = a;
        }
        for o in raw.overrides {
            let length = o.pattern.get_ref().chars().count();
            if length > MAX_PATTERN_CHARS {
                return Err(invalid_at(
                    path,
                    text,
                    o.pattern.span().start,
                    format!(
                        "`match` is {length} characters long; a pattern may have at most \
                         {MAX_PATTERN_CHARS}"
                    ),
                ));
            }
            let matcher = id_glob(o.pattern.get_ref()).map_err(|e| {
                invalid_at(path, text, o.pattern.span().start, format!("bad glob: {e}"))
            })?;
            let threshold_pct = match &o.threshold_pct {
                Some(t) => Some(check_threshold(path, text, t)?),
                None => None,
            };
            let (line, column) = line_col(text, o.pattern.span().start);
            p.overrides.push(Override {
                at: Some(format!("{}:{line}:{column}", path.display())),
                pattern: o.pattern.into_inner(),
                matcher,
                threshold_pct,
                floor: o.floor,
                on_regression: o.on_regression,
            });
        }
        Ok(p)
    }

    /// Reads `irgate.toml` from `path`.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// The thresholds for `id`: the first matching override, else the defaults.
    pub fn rule_for(&self, id: &BenchId) -> Rule {
        let mut rule = Rule {
            threshold_pct: self.threshold_pct,
            floor: self.floor,
            on_regression: Action::Fail,
        };
        if self.overrides.is_empty() {
            return rule;
        }
        let text = id.to_string();
        if let Some(o) = self.overrides.iter().find(|o| o.matcher.is_match(&text)) {
            if let Some(t) = o.threshold_pct {
                rule.threshold_pct = t;
            }
            if let Some(f) = o.floor {
                rule.floor = f;
            }
            if let Some(a) = o.on_regression {
                rule.on_regression = a;
            }
        }
        rule
    }
}

/// The policy file's name, looked up in the working directory by default.
pub const POLICY_FILE: &str = "irgate.toml";

/// The policy file's name before the product was renamed. It is read only when
/// [`POLICY_FILE`] is absent, so that a repository that adopted the gate under
/// its old name keeps its policy until it renames the file.
pub const LEGACY_POLICY_FILE: &str = "perfgate.toml";

/// Where the policy of a run comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A file named on the command line.
    Given(PathBuf),
    /// [`POLICY_FILE`] in the directory searched.
    Default(PathBuf),
    /// [`LEGACY_POLICY_FILE`] in the directory searched, as [`POLICY_FILE`] is absent.
    Legacy(PathBuf),
    /// No file: [`Policy::default`].
    BuiltIn,
}

impl PolicySource {
    /// The policy file to read: `given` if any, else [`POLICY_FILE`] in `dir`,
    /// else [`LEGACY_POLICY_FILE`] in `dir`, else none.
    pub fn find(given: Option<&Path>, dir: &Path) -> Self {
        if let Some(p) = given {
            return Self::Given(p.to_owned());
        }
        let current = dir.join(POLICY_FILE);
        if current.is_file() {
            return Self::Default(current);
        }
        let legacy = dir.join(LEGACY_POLICY_FILE);
        if legacy.is_file() {
            return Self::Legacy(legacy);
        }
        Self::BuiltIn
    }

    /// The note to print once on stderr when the legacy file is read.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::Legacy(p) => Some(format!(
                "reading the policy from {} because there is no {POLICY_FILE}; rename it to {POLICY_FILE}",
                p.display()
            )),
            _ => None,
        }
    }

    /// Reads the policy this source names.
    pub fn load(&self) -> Result<Policy, PolicyError> {
        match self {
            Self::Given(p) | Self::Default(p) | Self::Legacy(p) => Policy::load(p),
            Self::BuiltIn => Ok(Policy::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Policy, PolicyError> {
        Policy::parse(Path::new("irgate.toml"), t)
    }

    #[test]
    fn empty_policy_is_the_default() {
        let p = parse("").unwrap();
        assert_eq!(p.metric, "Ir");
        assert_eq!(p.on_missing, Action::Fail);
    }

    #[test]
    fn unknown_key_names_its_line() {
        let e = parse("metric = \"Ir\"\n\nthreshhold_pct = 1.0\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("irgate.toml:3:"), "{s}");
        assert!(s.contains("threshhold_pct"), "{s}");
    }

    #[test]
    fn bad_value_names_its_line() {
        let e = parse("floor = 3\non_new = \"explode\"\n").unwrap_err();
        assert!(e.to_string().starts_with("irgate.toml:2:"), "{e}");
        let e = parse("threshold_pct = -1.0\n").unwrap_err();
        assert!(e.to_string().starts_with("irgate.toml:1:"), "{e}");
        let e = parse("\n\n[[override]]\nmatch = \"a/[b\"\n").unwrap_err();
        assert!(e.to_string().starts_with("irgate.toml:4:"), "{e}");
        let e = parse("drift_ignore = [\"cpu\"]\n").unwrap_err();
        assert!(e.to_string().contains("unknown environment field"), "{e}");
    }

    #[test]
    fn overrides_match_by_glob_first_wins() {
        let p = parse(
            "[[override]]\nmatch = \"pkg/iai/tokio_*/**\"\nthreshold_pct = 2.0\n\
             [[override]]\nmatch = \"**\"\nfloor = 99\n",
        )
        .unwrap();
        let a: BenchId = "pkg/iai/tokio_rt/f".parse().unwrap();
        let b: BenchId = "pkg/iai/sync/f".parse().unwrap();
        assert_eq!(p.rule_for(&a).threshold_pct, 2.0);
        assert_eq!(p.rule_for(&a).floor, 10);
        assert_eq!(p.rule_for(&b).threshold_pct, 0.5);
        assert_eq!(p.rule_for(&b).floor, 99);
    }
}
