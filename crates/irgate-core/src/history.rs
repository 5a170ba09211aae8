//! The accepted values of each benchmark, read from the git history of the
//! committed baselines: no server, the repository is the database.
//!
//! The history follows the first parent from `HEAD`, the line of commits the
//! default branch went through, so a value accepted on a branch appears at the
//! merge that brought it in; its provenance (who, when, why, and the commit the
//! numbers were measured on) comes from the baseline entry itself. At each
//! commit that touched the baseline directory, every `<package>/<bench>.toml`
//! is read (`git cat-file`), and a benchmark gets a point when its value of the
//! metric differs from its previous one, or first appears.
//!
//! A baseline file that does not parse at some commit is skipped with a warning
//! naming the commit and the file; its benchmarks keep their earlier values.
//! Uncommitted changes are not history and are not read.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, BaselineError, BaselineSet};

/// Version of the JSON `irgate history --format json` writes.
pub const HISTORY_SCHEMA_VERSION: u32 = 1;

/// What to read.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// A directory inside the git work tree (git runs there).
    pub repo_dir: PathBuf,
    /// The baseline directory, relative to `repo_dir`.
    pub baselines: PathBuf,
    /// Only points after this revision; each benchmark's value at it is kept as
    /// its first point, so the first change has something to be measured from.
    pub since: Option<String>,
    /// Only benchmarks whose id (`package/bench/group/function[/case]`) or
    /// key within the suite (`group/function[/case]`) matches one of these globs
    /// (`*` within one `/` part, `**` across parts). Empty: all.
    pub benches: Vec<String>,
    /// The metric followed (`Ir` by default).
    pub metric: String,
}

/// The history of every selected benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// [`HISTORY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The metric followed.
    pub metric: String,
    /// Benchmarks by id, each with its accepted values, oldest first.
    pub benchmarks: Vec<BenchHistory>,
    /// Files skipped because they did not parse, as `commit:path: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One benchmark's accepted values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchHistory {
    /// `package/bench/group/function[/case]`.
    pub id: String,
    /// Oldest first.
    pub points: Vec<Point>,
}

/// One accepted value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The commit (first-parent line) where the value appeared, full sha.
    pub commit: String,
    /// That commit's date, RFC 3339.
    pub committed_at: String,
    /// When the value was accepted, from the baseline entry (RFC 3339).
    pub accepted_at: String,
    /// Who accepted it.
    pub accepted_by: String,
    /// The commit the numbers were measured on (`accepted_in`).
    pub accepted_in: String,
    /// Why.
    pub reason: String,
    /// The value.
    pub value: u64,
    /// Change from the previous point (`None` for the first).
    pub change: Option<i128>,
    /// The change in percent of the previous value (`None` for the first, or
    /// when the previous value was 0).
    pub change_pct: Option<f64>,
}

/// Why the history cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// `repo_dir` is not inside a git work tree (or git is missing).
    #[error("{}: not inside a git repository: {reason}", dir.display())]
    NotARepository {
        /// The directory.
        dir: PathBuf,
        /// What git said.
        reason: String,
    },
    /// `--since` names no commit.
    #[error("`{rev}` is not a revision of this repository: {reason}")]
    NoSuchRevision {
        /// The revision.
        rev: String,
        /// What git said.
        reason: String,
    },
    /// A `--bench` glob does not parse.
    #[error("--bench `{pattern}`: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A baseline file at the revision does not parse (the message names it).
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// Git failed on a command that should work.
    #[error("git {args}: {reason}")]
    Git {
        /// The arguments.
        args: String,
        /// What failed.
        reason: String,
    },
}

/// Runs git in `dir` and returns its stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String, (String, String)> {
    let shown = args.join(" ");
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| (shown.clone(), format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err((shown, err));
    }
    String::from_utf8(out.stdout).map_err(|_| (shown, "output is not UTF-8".into()))
}

fn git_err((args, reason): (String, String)) -> HistoryError {
    HistoryError::Git { args, reason }
}

/// Reads the history of the baselines under `options`.
pub fn read_history(options: &HistoryOptions) -> Result<History, HistoryError> {
    let dir = &options.repo_dir;
    check_repository(dir)?;
    let globs = bench_globs(&options.benches)?;
    let since = match &options.since {
        Some(rev) => Some(resolve_commit(dir, rev)?),
        None => None,
    };
    let pathspec = options.baselines.to_string_lossy().into_owned();
    // No commit yet: an empty history, not an error.
    if git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_err() {
        return Ok(empty(options));
    }
    let log = git(
        dir,
        &[
            "log",
            "--first-parent",
            "--reverse",
            "--format=%H %cI",
            "--",
            &pathspec,
        ],
    )
    .map_err(git_err)?;
    let commits: Vec<(String, String)> = log
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(h, d)| (h.to_string(), d.to_string()))
        .collect();
    let after: Option<HashSet<String>> = match &since {
        Some(sha) => {
            let range = format!("{sha}..HEAD");
            let list = git(dir, &["rev-list", "--first-parent", &range]).map_err(git_err)?;
            Some(list.lines().map(str::to_string).collect())
        }
        None => None,
    };

    let mut blobs = BlobReader::start(dir)?;
    let mut warnings = Vec::new();
    // The latest parsed state of each file, so that a file that fails to
    // parse keeps its benchmarks' earlier values.
    let mut files: BTreeMap<String, Baseline> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (commit, committed_at) in &commits {
        let present = baseline_files(dir, commit, &pathspec)?;
        files.retain(|p, _| present.contains(p));
        for path in &present {
            let short = commit.get(..7).unwrap_or(commit);
            let text = match blobs.read(&format!("{commit}:{path}"))? {
                Some(t) => t,
                None => {
                    warnings.push(format!("{short}:{path}: not UTF-8 text; skipped"));
                    continue;
                }
            };
            match Baseline::parse(Path::new(&format!("{short}:{path}")), &text) {
                Ok(b) => {
                    files.insert(path.clone(), b);
                }
                Err(e) => warnings.push(format!("{e}; skipped")),
            }
        }
        for b in files.values() {
            for (key, entry) in &b.benchmarks {
                let id = format!("{}/{}/{key}", b.package, b.bench);
                if !globs
                    .as_ref()
                    .is_none_or(|g| g.is_match(&id) || g.is_match(key))
                {
                    continue;
                }
                let Some(value) = entry.metrics.get(&options.metric) else {
                    continue;
                };
                let points = series.entry(id).or_default();
                let previous = points.last().map(|p| p.value);
                if previous == Some(value) {
                    continue;
                }
                let change = previous.map(|p| i128::from(value) - i128::from(p));
                let change_pct = previous
                    .filter(|p| *p > 0)
                    .map(|p| (value as f64 - p as f64) * 100.0 / p as f64);
                let prov = &entry.provenance;
                points.push(Point {
                    commit: commit.clone(),
                    committed_at: committed_at.clone(),
                    accepted_at: prov.accepted_at.clone(),
                    accepted_by: prov.accepted_by.clone(),
                    accepted_in: prov.commit.clone(),
                    reason: prov.reason.clone(),
                    value,
                    change,
                    change_pct,
                });
            }
        }
    }
    blobs.finish();

    let mut benchmarks = Vec::new();
    for (id, mut points) in series {
        if let Some(after) = &after {
            // Keep the last point at or before `since`, as the starting value.
            let first_after = points
                .iter()
                .position(|p| after.contains(&p.commit))
                .unwrap_or(points.len());
            let keep_from = first_after.saturating_sub(1);
            points.drain(..keep_from);
        }
        if !points.is_empty() {
            benchmarks.push(BenchHistory { id, points });
        }
    }
    Ok(History {
        schema_version: HISTORY_SCHEMA_VERSION,
        metric: options.metric.clone(),
        benchmarks,
        warnings,
    })
}

/// The baselines as committed at `rev`: every `<package>/<bench>.toml` under
/// `baselines` (relative to `repo_dir`) in that commit's tree, and the commit's
/// full sha. Used for the creep anchor. A file that does not parse there is an
/// error naming `rev:path:line:column`.
pub fn baselines_at(
    repo_dir: &Path,
    baselines: &Path,
    rev: &str,
) -> Result<(String, BaselineSet), HistoryError> {
    check_repository(repo_dir)?;
    let sha = resolve_commit(repo_dir, rev)?;
    let pathspec = baselines.to_string_lossy().into_owned();
    let short = sha.get(..7).unwrap_or(&sha).to_string();
    let mut blobs = BlobReader::start(repo_dir)?;
    let mut texts = Vec::new();
    for path in baseline_files(repo_dir, &sha, &pathspec)? {
        let name = PathBuf::from(format!("{short}:{path}"));
        match blobs.read(&format!("{sha}:{path}"))? {
            Some(text) => texts.push((name, text)),
            None => {
                return Err(HistoryError::Git {
                    args: format!("cat-file {}", name.display()),
                    reason: "not UTF-8 text".into(),
                })
            }
        }
    }
    blobs.finish();
    let set = BaselineSet::from_texts(texts.iter().map(|(p, t)| (p.as_path(), t.as_str())))?;
    Ok((sha, set))
}

/// Fails unless `dir` is inside a git work tree.
fn check_repository(dir: &Path) -> Result<(), HistoryError> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .map(drop)
        .map_err(|(_, reason)| HistoryError::NotARepository {
            dir: dir.to_owned(),
            reason,
        })
}

/// The full sha of the commit `rev` names.
fn resolve_commit(dir: &Path, rev: &str) -> Result<String, HistoryError> {
    let spec = format!("{rev}^{{commit}}");
    let sha = git(dir, &["rev-parse", "--verify", "--quiet", &spec]).map_err(|(_, reason)| {
        HistoryError::NoSuchRevision {
            rev: rev.to_owned(),
            reason: if reason.is_empty() {
                "git rev-parse finds no such commit (a shallow clone may lack it: fetch it, or its tag)".into()
            } else {
                reason
            },
        }
    })?;
    Ok(sha.trim().to_string())
}

/// The baseline files (`*.toml`, not `*.profile.toml`) under `pathspec` in
/// `commit`'s tree, repository-relative.
fn baseline_files(dir: &Path, commit: &str, pathspec: &str) -> Result<Vec<String>, HistoryError> {
    let listing = git(
        dir,
        &[
            "ls-tree",
            "-r",
            "--full-name",
            "--name-only",
            commit,
            "--",
            pathspec,
        ],
    )
    .map_err(git_err)?;
    Ok(listing
        .lines()
        .filter(|p| p.ends_with(".toml") && !p.ends_with(".profile.toml"))
        .map(str::to_string)
        .collect())
}

fn empty(options: &HistoryOptions) -> History {
    History {
        schema_version: HISTORY_SCHEMA_VERSION,
        metric: options.metric.clone(),
        benchmarks: Vec::new(),
        warnings: Vec::new(),
    }
}

fn bench_globs(patterns: &[String]) -> Result<Option<globset::GlobSet>, HistoryError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for p in patterns {
        crate::policy::id_globset(std::slice::from_ref(p)).map_err(|e| HistoryError::Glob {
            pattern: p.clone(),
            reason: e.to_string(),
        })?;
    }
    crate::policy::id_globset(patterns)
        .map(Some)
        .map_err(|e| HistoryError::Glob {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })
}

/// One `git cat-file --batch` process that reads blobs by `rev:path`.
struct BlobReader {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl BlobReader {
    fn start(dir: &Path) -> Result<Self, HistoryError> {
        let failed = |reason: String| HistoryError::Git {
            args: "cat-file --batch".into(),
            reason,
        };
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed(format!("cannot run git: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(failed("no pipes to git".into()));
        };
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// The blob at `spec` as text; `None` when it is not UTF-8.
    fn read(&mut self, spec: &str) -> Result<Option<String>, HistoryError> {
        let failed = |reason: String| HistoryError::Git {
            args: format!("cat-file --batch ({spec})"),
            reason,
        };
        writeln!(self.stdin, "{spec}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| failed(e.to_string()))?;
        let mut header = String::new();
        self.stdout
            .read_line(&mut header)
            .map_err(|e| failed(e.to_string()))?;
        // "<sha> blob <size>" or "<spec> missing".
        let mut parts = header.split_whitespace();
        let (_, kind, size) = (parts.next(), parts.next(), parts.next());
        let size: usize = match (kind, size.and_then(|s| s.parse().ok())) {
            (Some("blob"), Some(n)) => n,
            _ => return Err(failed(format!("unexpected answer `{}`", header.trim()))),
        };
        let mut bytes = vec![0; size + 1];
        self.stdout
            .read_exact(&mut bytes)
            .map_err(|e| failed(e.to_string()))?;
        bytes.pop(); // the newline after the contents
        Ok(String::from_utf8(bytes).ok())
    }

    fn finish(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}
