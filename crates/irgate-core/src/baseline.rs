//! Committed baselines: one TOML file per bench target, written only by `accept`.
//!
//! ```text
//! baselines/
//!   <package>/
//!     <bench>.toml          one suite: environment, then benchmarks (sorted), each
//!                           with its numbers and its own provenance
//!     <bench>.profile.toml  the suite's per-function profiles (crate::profile);
//!                           never read as a baseline
//! ```
//!
//! A file looks like this (schema_version 2; keys sorted, counts as integers, so a pull
//! request's diff of `baselines/` shows exactly which numbers changed):
//!
//! ```toml
//! schema_version = 2
//! package = "scarab-plugins"
//! bench = "ir"
//! source_file = "crates/scarab-plugins/benches/ir.rs"
//!
//! [environment]
//! valgrind = "valgrind-3.19.0"
//! # ...
//!
//! [benchmarks."dispatch/on_output/plain"]
//! Dr = 10
//! Dw = 5
//! Ir = 12345
//! accepted_at = "2026-11-27T21:00:00Z"
//! accepted_by = "alice"
//! accepted_in = "3b45dc4..."
//! reason = "first baselines"
//! ```
//!
//! # Why provenance is per benchmark
//!
//! Each benchmark carries who accepted its numbers, when, from which commit and why;
//! there is no file-level provenance (the file's history is in git). An accept only
//! rewrites the entries whose numbers it changes: a benchmark whose stored metrics
//! equal the run's keeps its old provenance, byte for byte. So two pull requests that
//! accept *different* benchmarks touch different lines, and `git merge` combines them
//! without a conflict, even for neighbouring benchmarks of one file (their tables are
//! separated by the next table's header line, which neither side changes).
//!
//! Two pull requests that accept the *same* benchmark differently do conflict, as they
//! should: only one set of numbers can be right. Resolve it by taking either side
//! (`git checkout --ours`/`--theirs` on the file) and then re-running `irgate accept`
//! on the merged tree, from a run of the merged code, so the numbers and their
//! provenance describe what was merged.
//!
//! # Schema versions
//!
//! Version 2 is written. Version 1 (one `[provenance]` table for the whole file, with
//! `commit` where version 2 says `accepted_in`) is still read: every benchmark gets the
//! file's provenance in memory. The next `irgate accept` that touches a version 1 file
//! rewrites it whole as version 2 (even when no number changes, so a bare re-accept of
//! the same run is the migration); land that migration alone, before pull requests
//! that accept benchmarks, so that theirs merge. Other versions are refused, naming
//! the file and the versions this irgate reads.
//!
//! (Over 600 lines: the file format, its reader, the accept plan and the atomic write
//! belong together, since each keeps the others' promises; a third of it is tests.)

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::callgrind::Profile;
use crate::model::{BenchId, Environment, Metrics, Run, SuiteId};
use crate::profile::{ProfileError, ProfileFile, StoredProfile, StoredProfiles, PROFILE_SUFFIX};
use crate::source::line_col;

/// Version of the baseline file format that `accept` writes.
pub const BASELINE_SCHEMA_VERSION: u32 = 2;

/// The versions of the baseline file format this irgate reads.
pub const READ_SCHEMA_VERSIONS: [u32; 2] = [1, BASELINE_SCHEMA_VERSION];

/// Metrics stored by default: the deterministic counts (cache metrics depend on the
/// host's cache geometry and are left out unless asked for).
pub const DEFAULT_METRICS: [&str; 3] = ["Ir", "Dr", "Dw"];

/// [`DEFAULT_METRICS`] as owned names, for [`AcceptOptions::metrics`].
pub fn default_metrics() -> Vec<String> {
    DEFAULT_METRICS.iter().map(|s| (*s).to_owned()).collect()
}

/// Why baselines could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// I/O on a file or directory failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The baseline directory does not exist.
    #[error("baseline directory {0} does not exist (accept a run first: `irgate accept`)")]
    MissingDir(PathBuf),
    /// The directory holds no baseline file.
    #[error("baseline directory {0} holds no baseline (*.toml) file (accept a run first: `irgate accept`)")]
    EmptyDir(PathBuf),
    /// A file is not valid baseline TOML.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file is valid TOML but inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A baseline could not be turned into TOML.
    #[error("cannot write the baseline of {suite} as TOML: {message}")]
    Serialize {
        /// The suite.
        suite: String,
        /// The serializer's message.
        message: String,
    },
    /// Refused to accept: the run is empty or nothing matched.
    #[error("nothing to accept: {0}")]
    NothingToAccept(String),
    /// The commit given for the provenance is not one.
    #[error("--commit {rev:?}: {reason}")]
    BadCommit {
        /// What was given.
        rev: String,
        /// Why it was refused.
        reason: String,
    },
    /// Refused to accept: a partial accept would mix environments in one file.
    #[error("{path}: the run's environment differs from this baseline's ({fields}); accept the whole suite (without --only) to move it to the new environment")]
    MixedEnvironment {
        /// The file.
        path: PathBuf,
        /// The differing fields.
        fields: String,
    },
    /// An accept was killed while it replaced files: readers refuse the directory.
    #[error("{journal}: an accept was interrupted while it replaced the baseline files, so some may be new and others old; run `irgate baseline recover` to finish it")]
    Interrupted {
        /// The journal it left.
        journal: PathBuf,
    },
    /// The journal of a multi-file write is unreadable or does not match the files.
    #[error("{path}: {message}")]
    Journal {
        /// The journal (or the file it names).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Whether `s` is a full SHA-1 commit id: exactly 40 hex digits (either case).
pub fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A commit as provenance stores it: a full object name, lower-case hex (40 digits for
/// SHA-1 repositories, 64 for SHA-256). Anything else (a short sha, a branch, `HEAD`)
/// is resolved with `git rev-parse --verify <rev>^{commit}` in the working directory,
/// and refused when git cannot resolve it, so that a baseline never names a commit
/// that cannot be found again.
pub fn resolve_commit(rev: &str) -> Result<String, BaselineError> {
    let rev = rev.trim();
    let is_full =
        |s: &str| is_sha1_hex(s) || (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    if is_full(rev) {
        return Ok(rev.to_ascii_lowercase());
    }
    let refused = |reason: String| BaselineError::BadCommit {
        rev: rev.to_owned(),
        reason,
    };
    if rev.is_empty() || rev.starts_with('-') {
        return Err(refused("not a commit".into()));
    }
    let out = std::process::Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .output()
        .map_err(|e| refused(format!("it is not a full sha and git could not run: {e}")))?;
    let full = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && is_full(&full) {
        Ok(full)
    } else {
        Err(refused(
            "it is not a full sha (40 or 64 hex digits) and git cannot resolve it here".into(),
        ))
    }
}

/// Who accepted a baseline, when, from which commit, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The commit the run was made from.
    pub commit: String,
    /// RFC 3339 time of acceptance.
    pub accepted_at: String,
    /// Who accepted it.
    pub accepted_by: String,
    /// Why.
    pub reason: String,
}

impl Provenance {
    /// The provenance of an accept made now, filling what is not given: the commit
    /// from `$GITHUB_SHA`, else `git rev-parse HEAD` in the working directory, else
    /// `unknown`; who accepts from `$GITHUB_ACTOR`, else `$USER`, else `unknown`; the
    /// time from `$SOURCE_DATE_EPOCH` (seconds since the epoch, the reproducible-builds
    /// convention) when it is set, else the clock.
    pub fn now(reason: String, commit: Option<String>, accepted_by: Option<String>) -> Self {
        Self::now_with(
            reason,
            commit,
            accepted_by,
            |k| std::env::var(k).ok(),
            git_head,
        )
    }

    /// [`Provenance::now`] with the environment and the `git` lookup given (tests).
    pub fn now_with(
        reason: String,
        commit: Option<String>,
        accepted_by: Option<String>,
        var: impl Fn(&str) -> Option<String>,
        head: impl FnOnce() -> Option<String>,
    ) -> Self {
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Self {
            commit: set(commit)
                .or_else(|| set(var("GITHUB_SHA")))
                .or_else(|| set(head()))
                .unwrap_or_else(|| "unknown".to_owned()),
            accepted_at: set(var("SOURCE_DATE_EPOCH"))
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map_or_else(now_rfc3339, rfc3339),
            accepted_by: set(accepted_by)
                .or_else(|| set(var("GITHUB_ACTOR")))
                .or_else(|| set(var("USER")))
                .unwrap_or_else(|| "unknown".to_owned()),
            reason,
        }
    }
}

/// `git rev-parse HEAD` in the working directory, when it works.
fn git_head() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The current UTC time as RFC 3339 (`2026-11-27T21:00:00Z`), for
/// [`Provenance::accepted_at`].
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (civil-from-days conversion).
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The baseline of one suite (one bench target): one file, as read (from either
/// schema version) and as written (always [`BASELINE_SCHEMA_VERSION`]). Its serde form
/// is the version 2 file without `schema_version` (`irgate baseline show --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The cargo package.
    pub package: String,
    /// The bench target.
    pub bench: String,
    /// The bench source file relative to the repository root, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    /// The environment the numbers were measured in.
    pub environment: Environment,
    /// Numbers and provenance by `<group>/<function>[/<id>]`.
    pub benchmarks: BTreeMap<String, BaselineEntry>,
}

/// One benchmark of a baseline: its stored metrics and who accepted them.
///
/// In the file it is one table: the metrics first (`Dr`, `Dw`, `Ir`, ...), then
/// `accepted_at`, `accepted_by`, `accepted_in` (the commit) and `reason`. Every key
/// that is not one of those four is a metric and must hold an integer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineEntry {
    /// The stored metrics.
    pub metrics: Metrics,
    /// Who accepted these numbers, when, from which commit and why.
    pub provenance: Provenance,
}

impl BaselineEntry {
    /// Entries for `benchmarks` that share one `provenance` (one accept's benchmarks,
    /// or a schema version 1 file's).
    pub fn all_with(
        benchmarks: impl IntoIterator<Item = (String, Metrics)>,
        provenance: &Provenance,
    ) -> BTreeMap<String, BaselineEntry> {
        benchmarks
            .into_iter()
            .map(|(k, metrics)| {
                let provenance = provenance.clone();
                (
                    k,
                    BaselineEntry {
                        metrics,
                        provenance,
                    },
                )
            })
            .collect()
    }

    /// The provenance keys of an entry's table, in file order.
    const PROVENANCE_KEYS: [&'static str; 4] =
        ["accepted_at", "accepted_by", "accepted_in", "reason"];
}

impl Serialize for BaselineEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = &self.provenance;
        let mut map = serializer.serialize_map(Some(self.metrics.0.len() + 4))?;
        for (name, value) in &self.metrics.0 {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("accepted_at", &p.accepted_at)?;
        map.serialize_entry("accepted_by", &p.accepted_by)?;
        map.serialize_entry("accepted_in", &p.commit)?;
        map.serialize_entry("reason", &p.reason)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for BaselineEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = BaselineEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of metric counts with accepted_at, accepted_by, accepted_in and reason")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut e = BaselineEntry::default();
                let mut seen = [false; 4];
                while let Some(key) = map.next_key::<String>()? {
                    let slot = BaselineEntry::PROVENANCE_KEYS
                        .iter()
                        .position(|k| *k == key);
                    match slot {
                        Some(i) => {
                            if seen[i] {
                                return Err(A::Error::duplicate_field(
                                    BaselineEntry::PROVENANCE_KEYS[i],
                                ));
                            }
                            seen[i] = true;
                            let v: String = map.next_value()?;
                            let p = &mut e.provenance;
                            match i {
                                0 => p.accepted_at = v,
                                1 => p.accepted_by = v,
                                2 => p.commit = v,
                                _ => p.reason = v,
                            }
                        }
                        None => {
                            let v: u64 = map.next_value()?;
                            e.metrics.insert(key, v);
                        }
                    }
                }
                if let Some(i) = seen.iter().position(|s| !s) {
                    return Err(A::Error::missing_field(BaselineEntry::PROVENANCE_KEYS[i]));
                }
                Ok(e)
            }
        }
        deserializer.deserialize_map(EntryVisitor)
    }
}

/// Just the version of a baseline file, read first to pick the reader.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: u32,
}

/// A schema_version 2 file, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    /// Already checked by [`VersionProbe`]; named so `deny_unknown_fields` allows it.
    #[serde(rename = "schema_version")]
    _schema_version: u32,
    package: String,
    bench: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_file: Option<String>,
    environment: Environment,
    benchmarks: BTreeMap<String, BaselineEntry>,
}

/// The file-level provenance of a schema_version 1 file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvenanceV1 {
    commit: String,
    accepted_at: String,
    accepted_by: String,
    reason: String,
}

/// A schema_version 1 file: one provenance for all its benchmarks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    /// Already checked by [`VersionProbe`]; named so `deny_unknown_fields` allows it.
    #[serde(rename = "schema_version")]
    _schema_version: u32,
    package: String,
    bench: String,
    #[serde(default)]
    source_file: Option<String>,
    provenance: ProvenanceV1,
    environment: Environment,
    benchmarks: BTreeMap<String, Metrics>,
}

impl From<FileV1> for Baseline {
    fn from(f: FileV1) -> Self {
        let p = Provenance {
            commit: f.provenance.commit,
            accepted_at: f.provenance.accepted_at,
            accepted_by: f.provenance.accepted_by,
            reason: f.provenance.reason,
        };
        Baseline {
            package: f.package,
            bench: f.bench,
            source_file: f.source_file,
            environment: f.environment,
            benchmarks: BaselineEntry::all_with(f.benchmarks, &p),
        }
    }
}

impl Baseline {
    /// The suite this file describes.
    pub fn suite(&self) -> SuiteId {
        SuiteId {
            package: self.package.clone(),
            bench: self.bench.clone(),
        }
    }

    /// The benchmark ids with their metrics.
    pub fn entries(&self) -> impl Iterator<Item = (BenchId, &Metrics)> + '_ {
        self.benchmarks.iter().filter_map(|(k, e)| {
            let m = &e.metrics;
            let mut parts = k.split('/');
            let (group, function) = (parts.next()?, parts.next()?);
            let case = parts.next().map(str::to_owned);
            if parts.next().is_some() {
                return None;
            }
            BenchId::new(&*self.package, &*self.bench, group, function, case)
                .ok()
                .map(|id| (id, m))
        })
    }

    /// Parses baseline text of any version in [`READ_SCHEMA_VERSIONS`]; `path` only
    /// names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, BaselineError> {
        fn de<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, BaselineError> {
            toml::from_str(text).map_err(|e| {
                let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
                BaselineError::Parse {
                    path: path.to_owned(),
                    line,
                    column,
                    message: e.message().to_owned(),
                }
            })
        }
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_owned(),
            message,
        };
        let b: Baseline = match de::<VersionProbe>(path, text)?.schema_version {
            1 => de::<FileV1>(path, text)?.into(),
            BASELINE_SCHEMA_VERSION => {
                let f: FileV2 = de(path, text)?;
                Baseline {
                    package: f.package,
                    bench: f.bench,
                    source_file: f.source_file,
                    environment: f.environment,
                    benchmarks: f.benchmarks,
                }
            }
            other => {
                return Err(invalid(format!(
                    "unsupported baseline schema_version {other} (this irgate reads {})",
                    READ_SCHEMA_VERSIONS
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
        };
        // The names also go into the file's path and its header comment.
        for (field, name) in [("package", &b.package), ("bench", &b.bench)] {
            if let Some(c) = name.chars().find(|c| c.is_control()) {
                return Err(invalid(format!(
                    "`{field}` {name:?} contains the control character {c:?}"
                )));
            }
        }
        for (key, entry) in &b.benchmarks {
            let full = format!("{}/{}/{}", b.package, b.bench, key);
            full.parse::<BenchId>()
                .map_err(|e| invalid(format!("benchmark key {key:?}: {e}")))?;
            if entry.metrics.ir().is_none() {
                return Err(invalid(format!("benchmark {key:?} has no Ir")));
            }
        }
        Ok(b)
    }

    /// The file's TOML text, always in schema version [`BASELINE_SCHEMA_VERSION`].
    pub fn to_toml(&self) -> Result<String, BaselineError> {
        #[derive(Serialize)]
        struct Out<'a> {
            schema_version: u32,
            package: &'a str,
            bench: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            source_file: Option<&'a str>,
            environment: &'a Environment,
            benchmarks: &'a BTreeMap<String, BaselineEntry>,
        }
        let out = Out {
            schema_version: BASELINE_SCHEMA_VERSION,
            package: &self.package,
            bench: &self.bench,
            source_file: self.source_file.as_deref(),
            environment: &self.environment,
            benchmarks: &self.benchmarks,
        };
        let body = toml::to_string(&out).map_err(|e| BaselineError::Serialize {
            suite: self.suite().to_string(),
            message: e.to_string(),
        })?;
        Ok(format!(
            "# irgate baseline for {}/{}. Written by `irgate accept`; change it through\n\
             # that command so each benchmark's provenance stays true.\n{body}",
            self.package, self.bench
        ))
    }

    /// Path of this suite's file relative to the baseline directory.
    pub fn relative_path(suite: &SuiteId) -> PathBuf {
        Path::new(&suite.package).join(format!("{}.toml", suite.bench))
    }
}

/// All baselines of a directory, by suite, with the profile files beside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineSet {
    /// The baselines by suite.
    pub suites: BTreeMap<SuiteId, Baseline>,
    /// The profile files (`<package>/<bench>.profile.toml`) by suite, as read: a file
    /// that cannot be used is kept as [`StoredProfiles::Unreadable`], so that a
    /// comparison judges on totals and says why it cannot explain.
    pub profiles: BTreeMap<SuiteId, StoredProfiles>,
}

impl BaselineSet {
    /// Builds a set from `(relative path, text)` pairs, e.g. fetched through an API.
    pub fn from_texts<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<Self, BaselineError> {
        let mut set = BaselineSet::default();
        set.insert_texts(files)?;
        Ok(set)
    }

    /// The set as it is once `planned` (from [`plan_accept`]) is written: each
    /// planned file replaces its suite's baseline or adds it. A planned file is
    /// read back exactly as a file on disk would be, so the result is what the
    /// next run compares against.
    pub fn with_planned(&self, planned: &[PlannedFile]) -> Result<BaselineSet, BaselineError> {
        let mut set = self.clone();
        set.insert_texts(
            planned
                .iter()
                .map(|f| (f.relative_path.as_path(), f.contents.as_str())),
        )?;
        Ok(set)
    }

    /// Parses each `(relative path, text)` and puts it in the set, replacing
    /// the suite's earlier baseline. A `*.profile.toml` is a profile file, never a
    /// baseline: it goes to [`BaselineSet::profiles`], and a bad one is kept as
    /// unreadable rather than failing the set.
    fn insert_texts<'a>(
        &mut self,
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<(), BaselineError> {
        for (path, text) in files {
            if ProfileFile::is_profile_path(path) {
                self.insert_profile(path, ProfileFile::parse(path, text));
                continue;
            }
            let b = Baseline::parse(path, text)?;
            let expected = Baseline::relative_path(&b.suite());
            if !path.ends_with(&expected) {
                return Err(BaselineError::Invalid {
                    path: path.to_owned(),
                    message: format!(
                        "a baseline for {} must live at {}",
                        b.suite(),
                        expected.display()
                    ),
                });
            }
            self.suites.insert(b.suite(), b);
        }
        Ok(())
    }

    /// Records the profile file read from `path` (or why it could not be used) under
    /// the suite its path names.
    fn insert_profile(&mut self, path: &Path, read: Result<ProfileFile, ProfileError>) {
        let suite = suite_of_profile_path(path);
        let entry = match read {
            Ok(f) => StoredProfiles::Loaded(f),
            Err(e) => StoredProfiles::Unreadable(e),
        };
        self.profiles.insert(suite, entry);
    }

    /// The stored profile of a suite, when a profile file was read for it.
    pub fn profile_file(&self, suite: &SuiteId) -> Option<&StoredProfiles> {
        self.profiles.get(suite)
    }

    /// Every benchmark id in the set with its metrics.
    pub fn entries(&self) -> impl Iterator<Item = (BenchId, &Metrics)> + '_ {
        self.suites.values().flat_map(Baseline::entries)
    }

    /// Number of benchmarks.
    pub fn len(&self) -> usize {
        self.suites.values().map(|b| b.benchmarks.len()).sum()
    }

    /// True when no benchmark is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads every `<package>/<bench>.toml` below `dir`. A missing or empty directory is an
/// error: the gate never passes for lack of baselines.
pub fn load_dir(dir: &Path) -> Result<BaselineSet, BaselineError> {
    if !dir.exists() {
        return Err(BaselineError::MissingDir(dir.to_owned()));
    }
    crate::journal::check_no_journal(dir)?;
    let set = load_dir_allow_empty(dir)?;
    if set.suites.is_empty() {
        return Err(BaselineError::EmptyDir(dir.to_owned()));
    }
    Ok(set)
}

/// The suite a profile file's path names: `<package>/<bench>.profile.toml`.
fn suite_of_profile_path(path: &Path) -> SuiteId {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let bench = name
        .strip_suffix(PROFILE_SUFFIX)
        .unwrap_or(&name)
        .to_owned();
    let package = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    SuiteId { package, bench }
}

fn load_dir_allow_empty(dir: &Path) -> Result<BaselineSet, BaselineError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BaselineError::Io { path, source }
    };
    let mut texts: Vec<(PathBuf, String)> = Vec::new();
    let mut profile_errors: Vec<ProfileError> = Vec::new();
    if dir.exists() {
        let mut pkgs: Vec<_> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .collect::<Result<_, _>>()
            .map_err(io(dir))?;
        pkgs.sort_by_key(|e| e.file_name());
        for pkg in pkgs {
            let pdir = pkg.path();
            if !pkg.file_type().map_err(io(&pdir))?.is_dir() {
                continue;
            }
            let mut files: Vec<_> = std::fs::read_dir(&pdir)
                .map_err(io(&pdir))?
                .collect::<Result<_, _>>()
                .map_err(io(&pdir))?;
            files.sort_by_key(|e| e.file_name());
            for f in files {
                let p = f.path();
                if ProfileFile::is_profile_path(&p) {
                    // A profile that cannot be read leaves the baselines usable.
                    match std::fs::read_to_string(&p) {
                        Ok(text) => texts.push((p, text)),
                        Err(e) => profile_errors.push(ProfileError::Invalid {
                            path: p,
                            message: format!("cannot read: {e}"),
                        }),
                    }
                } else if p.extension().is_some_and(|e| e == "toml") {
                    let text = std::fs::read_to_string(&p).map_err(io(&p))?;
                    texts.push((p, text));
                }
            }
        }
    }
    let mut set = BaselineSet::from_texts(texts.iter().map(|(p, t)| (p.as_path(), t.as_str())))?;
    for e in profile_errors {
        let path = match &e {
            ProfileError::Parse { path, .. } | ProfileError::Invalid { path, .. } => path.clone(),
        };
        set.insert_profile(&path, Err(e));
    }
    Ok(set)
}

/// What to accept and how.
#[derive(Debug, Clone)]
pub struct AcceptOptions<'a> {
    /// Only benchmarks whose id matches (all when `None`).
    pub only: Option<&'a GlobSet>,
    /// Who, when, why.
    pub provenance: &'a Provenance,
    /// Which metrics to store (Ir is always stored).
    pub metrics: &'a [String],
    /// The run's per-function profiles, to store beside the baselines
    /// (`<bench>.profile.toml`); `None` writes no profile file (the bot, which has
    /// the comparison but not the Callgrind outputs).
    pub profiles: Option<&'a RunProfiles>,
}

/// The per-function profiles of a run, for [`plan_profiles`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProfiles {
    /// How many functions by self and by inclusive Ir to store per benchmark.
    pub top: usize,
    /// The profile of each benchmark that has one.
    pub by_bench: BTreeMap<BenchId, Profile>,
}

/// A baseline file to write: its path relative to the baseline directory and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Relative path, e.g. `scarab-plugins/ir.toml`.
    pub relative_path: PathBuf,
    /// The new TOML text.
    pub contents: String,
    /// The benchmark ids whose numbers this accept sets in the file.
    pub accepted: Vec<BenchId>,
}

/// Computes the new contents of the baseline files for accepting `run` into `existing`,
/// without touching the disk. Only the matching benchmarks change; others in the same
/// file keep their numbers. A matching benchmark whose stored metrics equal the run's
/// keeps its old provenance; only moved (or new) numbers get `options.provenance`.
/// Every planned file is written in schema version [`BASELINE_SCHEMA_VERSION`].
/// Refuses an empty run or a selection matching nothing.
pub fn plan_accept(
    existing: &BaselineSet,
    run: &Run,
    options: &AcceptOptions<'_>,
) -> Result<Vec<PlannedFile>, BaselineError> {
    if run.is_empty() {
        return Err(BaselineError::NothingToAccept("the run is empty".into()));
    }
    let mut by_suite: BTreeMap<SuiteId, Vec<&BenchId>> = BTreeMap::new();
    for id in run.benchmarks.keys() {
        if options.only.is_none_or(|g| g.is_match(id.to_string())) {
            by_suite.entry(id.suite()).or_default().push(id);
        }
    }
    if by_suite.is_empty() {
        return Err(BaselineError::NothingToAccept(
            "no benchmark of the run matches --only".into(),
        ));
    }
    let mut out = Vec::new();
    for (suite, ids) in by_suite {
        let rel = Baseline::relative_path(&suite);
        let mut b = match existing.suites.get(&suite) {
            Some(b) => {
                if options.only.is_some() {
                    let diff = b.environment.diff(&run.environment, &[]);
                    if !diff.is_empty() {
                        return Err(BaselineError::MixedEnvironment {
                            path: rel,
                            fields: diff
                                .iter()
                                .map(|c| c.field.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                }
                b.clone()
            }
            None => Baseline {
                package: suite.package.clone(),
                bench: suite.bench.clone(),
                source_file: None,
                environment: Environment::default(),
                benchmarks: BTreeMap::new(),
            },
        };
        let before = if options.only.is_none() {
            // A full accept replaces the suite: benchmarks gone from the run go away.
            std::mem::take(&mut b.benchmarks)
        } else {
            b.benchmarks.clone()
        };
        b.environment = run.environment.clone();
        let mut accepted = Vec::new();
        for id in ids {
            let result = &run.benchmarks[id];
            let mut m = Metrics::default();
            for (name, value) in &result.metrics.0 {
                if name == Metrics::IR || options.metrics.iter().any(|x| x == name) {
                    m.insert(name.clone(), *value);
                }
            }
            if b.source_file.is_none() {
                b.source_file.clone_from(&result.source_file);
            }
            let key = id.key_in_suite();
            // Numbers that do not move keep the provenance of their earlier accept,
            // so the file's lines for them do not change (and merges stay clean).
            let entry = match before.get(&key) {
                Some(old) if old.metrics == m => old.clone(),
                _ => BaselineEntry {
                    metrics: m,
                    provenance: options.provenance.clone(),
                },
            };
            b.benchmarks.insert(key, entry);
            accepted.push(id.clone());
        }
        out.push(PlannedFile {
            relative_path: rel,
            contents: b.to_toml()?,
            accepted,
        });
    }
    if let Some(profiles) = options.profiles {
        let more = plan_profiles(existing, &out, profiles)?;
        out.extend(more);
    }
    Ok(out)
}

/// The profile files that go with the planned baseline files `planned` (from
/// [`plan_accept`]): for each suite, the stored profile file with the accepted
/// benchmarks' profiles replaced by the run's (or dropped when the run has none for
/// it), other benchmarks' kept, and benchmarks gone from the new baseline dropped.
/// A suite whose profile file would list no benchmark gets none. The planned
/// profile files list no `accepted` ids (their baseline files do).
pub fn plan_profiles(
    existing: &BaselineSet,
    planned: &[PlannedFile],
    profiles: &RunProfiles,
) -> Result<Vec<PlannedFile>, BaselineError> {
    let mut out = Vec::new();
    for f in planned {
        if ProfileFile::is_profile_path(&f.relative_path) {
            continue;
        }
        let b = Baseline::parse(&f.relative_path, &f.contents)?;
        let suite = b.suite();
        let mut file = match existing.profiles.get(&suite) {
            Some(StoredProfiles::Loaded(p)) => p.clone(),
            _ => ProfileFile::new(&suite),
        };
        file.benchmarks.retain(|k, _| b.benchmarks.contains_key(k));
        for id in &f.accepted {
            let key = id.key_in_suite();
            match profiles.by_bench.get(id) {
                Some(p) => {
                    file.benchmarks
                        .insert(key, StoredProfile::from_profile(p, profiles.top));
                }
                None => {
                    file.benchmarks.remove(&key);
                }
            }
        }
        if file.benchmarks.is_empty() {
            continue;
        }
        out.push(PlannedFile {
            relative_path: ProfileFile::relative_path(&suite),
            contents: file.to_toml(),
            accepted: Vec::new(),
        });
    }
    Ok(out)
}

/// Accepts `run` into the baselines in `dir` (created when absent) under `options`,
/// writing every planned file as one change through
/// [`journal::write_files`](crate::journal): a kill at any point leaves either all
/// the old files or, after [`journal::recover`](crate::journal::recover), all the new
/// ones. Refuses a directory an interrupted accept left its journal in (recover it
/// first, as `irgate accept` does). Returns the written paths.
pub fn accept(
    dir: &Path,
    run: &Run,
    options: &AcceptOptions<'_>,
) -> Result<Vec<PathBuf>, BaselineError> {
    crate::journal::check_no_journal(dir)?;
    let existing = load_dir_allow_empty(dir)?;
    let plan = plan_accept(&existing, run, options)?;
    let files: Vec<(PathBuf, Vec<u8>)> = plan
        .into_iter()
        .map(|f| (f.relative_path, f.contents.into_bytes()))
        .collect();
    crate::journal::write_files(dir, &files)?;
    Ok(files.into_iter().map(|(rel, _)| dir.join(rel)).collect())
}

/// Gives `file`, which is about to replace `target`, the permissions of `target`, or
/// ordinary read permissions for everyone (0644) when there is none yet. A no-op
/// outside Unix.
pub(crate) fn set_permissions_of(file: &std::fs::File, target: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(target).map_or_else(
            |_| std::fs::Permissions::from_mode(0o644),
            |m| m.permissions(),
        );
        file.set_permissions(perms)?;
    }
    #[cfg(not(unix))]
    let _ = (file, target);
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| BaselineError::Io { path: p, source }
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&parent).map_err(io(&parent))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    // A temporary file is private (0600).
    set_permissions_of(tmp.as_file(), path).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| BaselineError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(package: &str, bench: &str, ir: u64) -> Baseline {
        let mut m = Metrics::default();
        m.insert(Metrics::IR, ir);
        Baseline {
            package: package.into(),
            bench: bench.into(),
            source_file: None,
            environment: Environment::default(),
            benchmarks: BTreeMap::from([(
                "group/function".to_owned(),
                BaselineEntry {
                    metrics: m,
                    provenance: Provenance::default(),
                },
            )]),
        }
    }

    fn planned(b: &Baseline) -> PlannedFile {
        PlannedFile {
            relative_path: Baseline::relative_path(&b.suite()),
            contents: b.to_toml().unwrap(),
            accepted: Vec::new(),
        }
    }

    #[test]
    fn with_planned_replaces_and_adds_suites() {
        let (a, b) = (baseline("pkg", "a", 10), baseline("pkg", "b", 20));
        let texts = [planned(&a), planned(&b)];
        let set = BaselineSet::from_texts(
            texts
                .iter()
                .map(|f| (f.relative_path.as_path(), f.contents.as_str())),
        )
        .unwrap();
        let (a2, c) = (baseline("pkg", "a", 11), baseline("other", "c", 30));
        let merged = set.with_planned(&[planned(&a2), planned(&c)]).unwrap();
        assert_eq!(merged.suites.len(), 3);
        assert_eq!(merged.suites[&a.suite()], a2);
        assert_eq!(merged.suites[&b.suite()], b);
        assert_eq!(merged.suites[&c.suite()], c);
        // The set itself is unchanged.
        assert_eq!(set.suites[&a.suite()], a);
        assert_eq!(set.with_planned(&[]).unwrap(), set);

        // A planned file is checked like a file on disk.
        let mut misplaced = planned(&c);
        misplaced.relative_path = PathBuf::from("pkg/c.toml");
        let err = set.with_planned(&[misplaced]).unwrap_err();
        assert!(err.to_string().contains("must live at"), "{err}");
    }

    fn run_of(ids: &[(&str, u64)]) -> Run {
        let mut run = Run::default();
        for (id, ir) in ids {
            let mut m = Metrics::default();
            m.insert(Metrics::IR, *ir);
            run.benchmarks.insert(
                id.parse().unwrap(),
                crate::model::BenchResult {
                    metrics: m,
                    source_file: None,
                },
            );
        }
        run
    }

    fn cg_profile(total: u64) -> Profile {
        let mut p = Profile {
            total_ir: total,
            ..Profile::default()
        };
        p.functions.insert(
            "main".into(),
            crate::callgrind::FunctionCost {
                self_ir: total,
                inclusive_ir: total,
            },
        );
        p
    }

    #[test]
    fn accept_refuses_a_directory_an_interrupted_accept_left_its_journal_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(crate::journal::JOURNAL_FILE), "").unwrap();
        let provenance = Provenance::default();
        let metrics = default_metrics();
        let options = AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
            profiles: None,
        };
        let e = accept(dir.path(), &run_of(&[("pkg/ir/g/a", 1)]), &options).unwrap_err();
        assert!(matches!(e, BaselineError::Interrupted { .. }), "{e}");
        assert!(!dir.path().join("pkg").exists(), "nothing written");
    }

    #[test]
    fn accept_writes_profiles_that_load_dir_does_not_read_as_baselines() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_of(&[("pkg/ir/g/a", 100), ("pkg/ir/g/b", 200)]);
        let profiles = RunProfiles {
            top: 30,
            by_bench: BTreeMap::from([("pkg/ir/g/a".parse().unwrap(), cg_profile(100))]),
        };
        let provenance = Provenance::default();
        let metrics = default_metrics();
        let options = AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
            profiles: Some(&profiles),
        };
        let plan = plan_accept(&BaselineSet::default(), &run, &options).unwrap();
        let paths: Vec<_> = plan.iter().map(|f| f.relative_path.clone()).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("pkg/ir.toml"),
                PathBuf::from("pkg/ir.profile.toml")
            ]
        );
        // Only the baseline file counts the accepted benchmarks.
        assert_eq!(plan[1].accepted, Vec::<BenchId>::new());
        accept(dir.path(), &run, &options).unwrap();

        let set = load_dir(dir.path()).unwrap();
        assert_eq!(set.suites.len(), 1, "the profile file is no baseline");
        assert_eq!(set.len(), 2);
        let suite = SuiteId {
            package: "pkg".into(),
            bench: "ir".into(),
        };
        let Some(StoredProfiles::Loaded(f)) = set.profile_file(&suite) else {
            panic!("{:?}", set.profiles)
        };
        assert_eq!(f.benchmarks.keys().collect::<Vec<_>>(), ["g/a"]);
        assert_eq!(f.benchmarks["g/a"].total, 100);

        // An accept without profiles (the bot's) leaves the file alone: it goes stale.
        let run2 = run_of(&[("pkg/ir/g/a", 150), ("pkg/ir/g/b", 200)]);
        let bot = AcceptOptions {
            profiles: None,
            ..options.clone()
        };
        let plan = plan_accept(&set, &run2, &bot).unwrap();
        assert_eq!(plan.len(), 1);

        // A corrupt profile file leaves the baselines readable and is reported.
        let bad = dir.path().join("pkg/ir.profile.toml");
        std::fs::write(&bad, "schema_version = 1\npackage = \"pkg\"\nbench = ").unwrap();
        let set = load_dir(dir.path()).unwrap();
        assert_eq!(set.len(), 2);
        let Some(StoredProfiles::Unreadable(e)) = set.profile_file(&suite) else {
            panic!("{:?}", set.profiles)
        };
        assert!(e.to_string().starts_with(&bad.display().to_string()), "{e}");

        // A directory with only a profile file holds no baseline.
        let only = tempfile::tempdir().unwrap();
        std::fs::create_dir(only.path().join("pkg")).unwrap();
        std::fs::copy(&bad, only.path().join("pkg/ir.profile.toml")).unwrap();
        assert!(matches!(
            load_dir(only.path()),
            Err(BaselineError::EmptyDir(_))
        ));
    }

    #[test]
    fn a_partial_accept_keeps_the_other_profiles_and_a_full_one_drops_gone_benchmarks() {
        let run = run_of(&[("pkg/ir/g/a", 100), ("pkg/ir/g/b", 200)]);
        let all = RunProfiles {
            top: 30,
            by_bench: BTreeMap::from([
                ("pkg/ir/g/a".parse().unwrap(), cg_profile(100)),
                ("pkg/ir/g/b".parse().unwrap(), cg_profile(200)),
            ]),
        };
        let provenance = Provenance::default();
        let metrics = default_metrics();
        let options = AcceptOptions {
            only: None,
            provenance: &provenance,
            metrics: &metrics,
            profiles: Some(&all),
        };
        let set = BaselineSet::default()
            .with_planned(&plan_accept(&BaselineSet::default(), &run, &options).unwrap())
            .unwrap();
        let only_a = globset::GlobSetBuilder::new()
            .add(globset::Glob::new("pkg/ir/g/a").unwrap())
            .build()
            .unwrap();
        let run_a = run_of(&[("pkg/ir/g/a", 120), ("pkg/ir/g/b", 200)]);
        let a = RunProfiles {
            top: 30,
            by_bench: BTreeMap::from([("pkg/ir/g/a".parse().unwrap(), cg_profile(120))]),
        };
        let partial = AcceptOptions {
            only: Some(&only_a),
            profiles: Some(&a),
            ..options.clone()
        };
        let next = set
            .with_planned(&plan_accept(&set, &run_a, &partial).unwrap())
            .unwrap();
        let suite = SuiteId {
            package: "pkg".into(),
            bench: "ir".into(),
        };
        let Some(StoredProfiles::Loaded(f)) = next.profile_file(&suite) else {
            panic!()
        };
        assert_eq!(f.benchmarks["g/a"].total, 120);
        assert_eq!(f.benchmarks["g/b"].total, 200);

        // A full accept of a run without b drops b's profile with its baseline.
        let only_run = run_of(&[("pkg/ir/g/a", 120)]);
        let full = AcceptOptions {
            profiles: Some(&a),
            ..options.clone()
        };
        let last = next
            .with_planned(&plan_accept(&next, &only_run, &full).unwrap())
            .unwrap();
        let Some(StoredProfiles::Loaded(f)) = last.profile_file(&suite) else {
            panic!()
        };
        assert_eq!(f.benchmarks.keys().collect::<Vec<_>>(), ["g/a"]);
    }

    #[test]
    fn provenance_defaults_follow_the_documented_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let head = || Some("h3ad".to_owned());
        let p = super::Provenance::now_with("r".into(), None, None, env(&[]), head);
        assert_eq!(
            (p.commit.as_str(), p.accepted_by.as_str()),
            ("h3ad", "unknown")
        );
        let all = env(&[
            ("GITHUB_SHA", "gh"),
            ("GITHUB_ACTOR", "octo"),
            ("USER", "me"),
        ]);
        let p = super::Provenance::now_with("r".into(), None, None, all, head);
        assert_eq!((p.commit.as_str(), p.accepted_by.as_str()), ("gh", "octo"));
        let p = super::Provenance::now_with(
            "r".into(),
            Some("given".into()),
            Some("who".into()),
            all,
            head,
        );
        assert_eq!(
            (p.commit.as_str(), p.accepted_by.as_str()),
            ("given", "who")
        );
        let p =
            super::Provenance::now_with("r".into(), None, None, env(&[("USER", "me")]), || None);
        assert_eq!(
            (p.commit.as_str(), p.accepted_by.as_str()),
            ("unknown", "me")
        );
        assert_eq!(p.reason, "r");
        let at = |v: &'static str| {
            super::Provenance::now_with(
                "r".into(),
                None,
                None,
                move |k: &str| (k == "SOURCE_DATE_EPOCH").then(|| v.to_owned()),
                || None,
            )
            .accepted_at
        };
        assert_eq!(at("1764547200"), "2025-12-01T00:00:00Z");
        // Not a number of seconds: the clock's time.
        assert_ne!(at("yesterday"), "yesterday");
        assert!(at("yesterday").ends_with('Z'));
    }

    #[test]
    fn commits_are_full_shas() {
        let sha = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            super::resolve_commit(sha).unwrap(),
            sha.to_ascii_lowercase()
        );
        let sha256 = "a".repeat(64);
        assert_eq!(super::resolve_commit(&sha256).unwrap(), sha256);
        let forty_g = "g".repeat(40);
        for bad in ["", "-n", "zzz-not-a-rev", "not a commit", forty_g.as_str()] {
            let e = super::resolve_commit(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--commit {:?}:", bad.trim())), "{e}");
        }
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_813_200), "2026-11-27T21:00:00Z");
    }
}
