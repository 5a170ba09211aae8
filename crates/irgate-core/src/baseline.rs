//! Committed baselines: one TOML file per bench target, written only by `accept`.
//!
//! ```text
//! baselines/
//!   <package>/
//!     <bench>.toml      one suite: provenance, environment, benchmarks (sorted)
//! ```
//!
//! A file looks like this (keys sorted, counts as integers, so a pull request's diff of
//! `baselines/` shows exactly which numbers changed):
//!
//! ```toml
//! schema_version = 1
//! package = "scarab-plugins"
//! bench = "ir"
//! source_file = "crates/scarab-plugins/benches/ir.rs"
//!
//! [provenance]
//! commit = "3b45dc4..."
//! accepted_at = "2026-11-27T21:00:00Z"
//! accepted_by = "alice"
//! reason = "first baselines"
//!
//! [environment]
//! valgrind = "valgrind-3.19.0"
//! # ...
//!
//! [benchmarks."dispatch/on_output/plain"]
//! Ir = 12345
//! ```
//!
//! (Over 600 lines: the file format, its reader, the accept plan and the atomic write
//! belong together, since each keeps the others' promises; a third of it is tests.)

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use serde::{Deserialize, Serialize};

use crate::model::{BenchId, Environment, Metrics, Run, SuiteId};
use crate::source::line_col;

/// Version of the baseline file format.
pub const BASELINE_SCHEMA_VERSION: u32 = 1;

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
    /// `unknown`; who accepts from `$GITHUB_ACTOR`, else `$USER`, else `unknown`.
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
            accepted_at: now_rfc3339(),
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

/// The baseline of one suite (one bench target): one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`BASELINE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The cargo package.
    pub package: String,
    /// The bench target.
    pub bench: String,
    /// The bench source file relative to the repository root, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    /// The last acceptance.
    pub provenance: Provenance,
    /// The environment the numbers were measured in.
    pub environment: Environment,
    /// Metrics by `<group>/<function>[/<id>]`.
    pub benchmarks: BTreeMap<String, Metrics>,
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
        self.benchmarks.iter().filter_map(|(k, m)| {
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

    /// Parses baseline text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, BaselineError> {
        let b: Baseline = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            BaselineError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_owned(),
            message,
        };
        if b.schema_version != BASELINE_SCHEMA_VERSION {
            return Err(invalid(format!(
                "unsupported baseline schema_version {} (this irgate reads {BASELINE_SCHEMA_VERSION})",
                b.schema_version
            )));
        }
        for (key, metrics) in &b.benchmarks {
            let full = format!("{}/{}/{}", b.package, b.bench, key);
            full.parse::<BenchId>()
                .map_err(|e| invalid(format!("benchmark key {key:?}: {e}")))?;
            if metrics.ir().is_none() {
                return Err(invalid(format!("benchmark {key:?} has no Ir")));
            }
        }
        Ok(b)
    }

    /// The file's TOML text.
    pub fn to_toml(&self) -> Result<String, BaselineError> {
        let body = toml::to_string(self).map_err(|e| BaselineError::Serialize {
            suite: self.suite().to_string(),
            message: e.to_string(),
        })?;
        Ok(format!(
            "# irgate baseline for {}/{}. Written by `irgate accept`; change it through\n\
             # that command so the provenance below stays true.\n{body}",
            self.package, self.bench
        ))
    }

    /// Path of this suite's file relative to the baseline directory.
    pub fn relative_path(suite: &SuiteId) -> PathBuf {
        Path::new(&suite.package).join(format!("{}.toml", suite.bench))
    }
}

/// All baselines of a directory, by suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineSet {
    /// The baselines by suite.
    pub suites: BTreeMap<SuiteId, Baseline>,
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
    /// the suite's earlier baseline.
    fn insert_texts<'a>(
        &mut self,
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<(), BaselineError> {
        for (path, text) in files {
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
    let set = load_dir_allow_empty(dir)?;
    if set.suites.is_empty() {
        return Err(BaselineError::EmptyDir(dir.to_owned()));
    }
    Ok(set)
}

fn load_dir_allow_empty(dir: &Path) -> Result<BaselineSet, BaselineError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BaselineError::Io { path, source }
    };
    let mut texts: Vec<(PathBuf, String)> = Vec::new();
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
                if p.extension().is_some_and(|e| e == "toml") {
                    let text = std::fs::read_to_string(&p).map_err(io(&p))?;
                    texts.push((p, text));
                }
            }
        }
    }
    BaselineSet::from_texts(texts.iter().map(|(p, t)| (p.as_path(), t.as_str())))
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
/// file keep their numbers. Refuses an empty run or a selection matching nothing.
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
                schema_version: BASELINE_SCHEMA_VERSION,
                package: suite.package.clone(),
                bench: suite.bench.clone(),
                source_file: None,
                provenance: Provenance::default(),
                environment: Environment::default(),
                benchmarks: BTreeMap::new(),
            },
        };
        if options.only.is_none() {
            // A full accept replaces the suite: benchmarks gone from the run go away.
            b.benchmarks.clear();
        }
        b.provenance = options.provenance.clone();
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
            b.benchmarks.insert(id.key_in_suite(), m);
            accepted.push(id.clone());
        }
        out.push(PlannedFile {
            relative_path: rel,
            contents: b.to_toml()?,
            accepted,
        });
    }
    Ok(out)
}

/// Accepts `run` into the baselines in `dir` (created when absent) under `options`,
/// writing each file atomically. Returns the written paths.
pub fn accept(
    dir: &Path,
    run: &Run,
    options: &AcceptOptions<'_>,
) -> Result<Vec<PathBuf>, BaselineError> {
    let existing = load_dir_allow_empty(dir)?;
    let plan = plan_accept(&existing, run, options)?;
    let mut written = Vec::new();
    for f in plan {
        let path = dir.join(&f.relative_path);
        write_atomic(&path, f.contents.as_bytes())?;
        written.push(path);
    }
    Ok(written)
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
    // A temporary file is private (0600); give the result the permissions of the file
    // it replaces, or ordinary read permissions for everyone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(path).map_or_else(
            |_| std::fs::Permissions::from_mode(0o644),
            |m| m.permissions(),
        );
        tmp.as_file()
            .set_permissions(perms)
            .map_err(io(tmp.path()))?;
    }
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
            schema_version: BASELINE_SCHEMA_VERSION,
            package: package.into(),
            bench: bench.into(),
            source_file: None,
            provenance: Provenance::default(),
            environment: Environment::default(),
            benchmarks: BTreeMap::from([("group/function".to_owned(), m)]),
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
