//! Stored per-function profiles: `baselines/<package>/<bench>.profile.toml`, written
//! by `irgate accept` beside each baseline file, so that a comparison can say which
//! functions moved.
//!
//! ```toml
//! schema_version = 1
//! package = "scarab-plugins"
//! bench = "ir"
//! benchmark_count = 84     # and functions_listed: a file cut short is refused
//!
//! [benchmarks."dispatch/on_output/plain"]
//! total = 21314            # the benchmark's Ir; equal to the baseline's when fresh
//! functions_seen = 412     # functions with any cost in the accepted run
//! functions_listed = 41
//! self_cutoff = 118        # every function left out had self Ir <= this
//! inclusive_cutoff = 690   # ... and inclusive Ir <= this
//!
//! [benchmarks."dispatch/on_output/plain".functions]
//! "alloc::raw_vec::finish_grow" = { inclusive = 340, self = 120 }
//! "malloc" = { inclusive = 2210, self = 2210 }
//! ```
//!
//! Per benchmark it keeps the union of the top N functions by self Ir and the top N
//! by inclusive Ir (N is `irgate accept --profile-top`, default [`DEFAULT_TOP`]), each
//! with both its costs. Functions are sorted by name and costs are integers, so the
//! diff of an accept shows one changed line per function whose cost moved, an added
//! line for a function that entered the top N and a removed one for a function that
//! left it. Names are normalized by [`crate::callgrind::normalize_name`]: demangled
//! by Callgrind, without hash suffixes, without paths.
//!
//! # What a profile can tell, and what it cannot
//!
//! The file keeps the top N only. A function of the next run that the file does not
//! list is *new* only when the file listed every function of the accepted run
//! (`functions_seen` equals the number listed; the cutoffs are then 0). Otherwise it
//! may have been there below the cutoff: its old self cost is anywhere from 0 to
//! `self_cutoff`, and the comparison calls it *entered* (the top N), with a change of
//! at least its self cost minus `self_cutoff`. The combined change of all unlisted
//! functions is exact nonetheless: the benchmark's total change minus the changes of
//! the listed ones. A listed function that the run lacks has *vanished*: the run's
//! profile is complete. (A renamed function shows as one vanished and one new or
//! entered.)
//!
//! # Staleness
//!
//! The bot's accept writes baselines but not profiles (it has the comparison, not the
//! Callgrind outputs). Its numbers then leave the stored profile behind; a profile
//! whose `total` differs from the baseline's Ir is *stale*, and the comparison says so
//! instead of explaining a change with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::callgrind::Profile;
use crate::model::SuiteId;
use crate::source::line_col;

/// Version of the profile file format written.
pub const PROFILE_SCHEMA_VERSION: u32 = 1;

/// How many functions by self and by inclusive Ir a stored profile keeps by default.
pub const DEFAULT_TOP: usize = 30;

/// The suffix of profile files, which readers of baselines leave to this module.
pub const PROFILE_SUFFIX: &str = ".profile.toml";

/// Why a profile file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not valid TOML of the documented shape (truncated, malformed).
    #[error("{}:{line}:{column}: {message}", path.display())]
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
    /// Valid TOML but inconsistent, or another schema version.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One function's stored costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCost {
    /// Inclusive Ir.
    pub inclusive: u64,
    /// Self Ir.
    #[serde(rename = "self")]
    pub self_ir: u64,
}

/// The stored profile of one benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredProfile {
    /// The benchmark's total Ir in the accepted run.
    pub total: u64,
    /// How many functions had a cost in the accepted run.
    pub functions_seen: usize,
    /// Every function not listed had at most this self Ir (0 when all are listed).
    pub self_cutoff: u64,
    /// Every function not listed had at most this inclusive Ir (0 when all are listed).
    pub inclusive_cutoff: u64,
    /// The listed functions by name.
    pub functions: BTreeMap<String, StoredCost>,
}

impl StoredProfile {
    /// The top `top` functions of `profile` by self and by inclusive Ir (ties broken
    /// by name, so the choice is reproducible), with the cutoffs.
    pub fn from_profile(profile: &Profile, top: usize) -> Self {
        let ranked = |key: fn(&crate::callgrind::FunctionCost) -> u64| {
            let mut v: Vec<(&String, u64)> =
                profile.functions.iter().map(|(n, c)| (n, key(c))).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            v
        };
        let by_self = ranked(|c| c.self_ir);
        let by_inclusive = ranked(|c| c.inclusive_ir);
        let mut functions = BTreeMap::new();
        for (name, _) in by_self
            .iter()
            .take(top)
            .chain(by_inclusive.iter().take(top))
        {
            if let Some(c) = profile.functions.get(*name) {
                functions.insert(
                    (*name).clone(),
                    StoredCost {
                        inclusive: c.inclusive_ir,
                        self_ir: c.self_ir,
                    },
                );
            }
        }
        let complete = functions.len() == profile.functions.len();
        // The largest cost left out: the (top+1)-th of each ranking.
        let cutoff = |v: &[(&String, u64)]| {
            if complete {
                0
            } else {
                v.iter()
                    .filter(|(n, _)| !functions.contains_key(*n))
                    .map(|(_, c)| *c)
                    .max()
                    .unwrap_or(0)
            }
        };
        StoredProfile {
            total: profile.total_ir,
            functions_seen: profile.functions.len(),
            self_cutoff: cutoff(&by_self),
            inclusive_cutoff: cutoff(&by_inclusive),
            functions,
        }
    }

    /// Whether every function of the accepted run is listed (an unlisted one is then
    /// truly new).
    pub fn is_complete(&self) -> bool {
        self.functions.len() == self.functions_seen
    }
}

/// A profile file: the stored profiles of one suite's benchmarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Always [`PROFILE_SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// The cargo package.
    pub package: String,
    /// The bench target.
    pub bench: String,
    /// Stored profiles by `<group>/<function>[/<id>]`.
    pub benchmarks: BTreeMap<String, StoredProfile>,
}

impl ProfileFile {
    /// An empty profile file for `suite`.
    pub fn new(suite: &SuiteId) -> Self {
        Self {
            schema_version: PROFILE_SCHEMA_VERSION,
            package: suite.package.clone(),
            bench: suite.bench.clone(),
            benchmarks: BTreeMap::new(),
        }
    }

    /// The suite the file belongs to.
    pub fn suite(&self) -> SuiteId {
        SuiteId {
            package: self.package.clone(),
            bench: self.bench.clone(),
        }
    }

    /// `<package>/<bench>.profile.toml`, relative to the baseline directory.
    pub fn relative_path(suite: &SuiteId) -> PathBuf {
        Path::new(&suite.package).join(format!("{}{PROFILE_SUFFIX}", suite.bench))
    }

    /// Whether `path` names a profile file (by its suffix).
    pub fn is_profile_path(path: &Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(PROFILE_SUFFIX))
    }

    /// Parses and checks a profile file; `path` names it in errors. Refuses another
    /// schema version, a file at the wrong place for its suite, and numbers that
    /// contradict each other (a truncated or edited file).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ProfileError> {
        let invalid = |message: String| ProfileError::Invalid {
            path: path.to_owned(),
            message,
        };
        let raw: OnDisk = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ProfileError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        if raw.schema_version != PROFILE_SCHEMA_VERSION {
            return Err(invalid(format!(
                "profile schema version {} is not supported (this irgate reads version {PROFILE_SCHEMA_VERSION})",
                raw.schema_version
            )));
        }
        // The counts written first catch a file cut short at a line boundary, which
        // is still valid TOML.
        if raw.benchmark_count != raw.benchmarks.len() {
            return Err(invalid(format!(
                "`benchmark_count` is {} but the file holds {} benchmarks (truncated?)",
                raw.benchmark_count,
                raw.benchmarks.len()
            )));
        }
        if let Some((bench, p)) = raw
            .benchmarks
            .iter()
            .find(|(_, p)| p.functions_listed != p.profile.functions.len())
        {
            return Err(invalid(format!(
                "benchmark {bench:?}: `functions_listed` is {} but {} functions are listed (truncated?)",
                p.functions_listed,
                p.profile.functions.len()
            )));
        }
        let f = ProfileFile {
            schema_version: raw.schema_version,
            package: raw.package,
            bench: raw.bench,
            benchmarks: raw
                .benchmarks
                .into_iter()
                .map(|(k, v)| (k, v.profile))
                .collect(),
        };
        let expected = Self::relative_path(&f.suite());
        if !path.ends_with(&expected) {
            return Err(invalid(format!(
                "the profile of {} must live at {}",
                f.suite(),
                expected.display()
            )));
        }
        for (bench, p) in &f.benchmarks {
            let self_sum = p
                .functions
                .values()
                .fold(0u64, |s, c| s.saturating_add(c.self_ir));
            let problem = if p.functions.len() > p.functions_seen {
                Some(format!(
                    "lists {} functions but saw only {}",
                    p.functions.len(),
                    p.functions_seen
                ))
            } else if self_sum > p.total {
                Some(format!(
                    "its functions' self costs add up to {self_sum}, more than its total {}",
                    p.total
                ))
            } else if let Some((name, c)) =
                p.functions.iter().find(|(_, c)| c.self_ir > c.inclusive)
            {
                Some(format!(
                    "function {name:?} has a self cost {} above its inclusive cost {}",
                    c.self_ir, c.inclusive
                ))
            } else if p.is_complete() && self_sum != p.total {
                Some(format!(
                    "it lists every function seen, but their self costs add up to {self_sum}, not its total {}",
                    p.total
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(invalid(format!("benchmark {bench:?}: {problem}")));
            }
        }
        Ok(f)
    }

    /// The file as TOML: one line per function (`"name" = { inclusive = N, self = M }`),
    /// benchmarks and functions sorted by name, integer counts.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!(
            "# Per-function profiles of {}/{}, written by `irgate accept` beside {}.toml.\n\
             # The top functions by self and by inclusive Ir of each benchmark: see\n\
             # docs/BENCHMARK_GUIDE.md (\"Which functions moved\").\n\
             schema_version = {}\npackage = {}\nbench = {}\nbenchmark_count = {}\n",
            self.package,
            self.bench,
            self.bench,
            self.schema_version,
            toml_string(&self.package),
            toml_string(&self.bench),
            self.benchmarks.len()
        );
        for (key, p) in &self.benchmarks {
            let k = toml_string(key);
            // Writing into a String cannot fail.
            let _ = write!(
                out,
                "\n[benchmarks.{k}]\ntotal = {}\nfunctions_seen = {}\nfunctions_listed = {}\nself_cutoff = {}\ninclusive_cutoff = {}\n\n[benchmarks.{k}.functions]\n",
                p.total, p.functions_seen, p.functions.len(), p.self_cutoff, p.inclusive_cutoff
            );
            for (name, c) in &p.functions {
                let _ = writeln!(
                    out,
                    "{} = {{ inclusive = {}, self = {} }}",
                    toml_string(name),
                    c.inclusive,
                    c.self_ir
                );
            }
        }
        out
    }
}

/// `s` as a TOML basic string. Control characters and the invisible characters that
/// can make text read differently than it is (bidirectional controls, zero-width
/// characters, the byte order mark) are written as `\uXXXX`, so a reviewer reading
/// the file's diff sees them.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Zero-width and bidirectional formatting characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}')
}

/// The file as written: [`ProfileFile`] with the counts that make truncation
/// visible (`benchmark_count`, and `functions_listed` per benchmark).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    schema_version: u32,
    package: String,
    bench: String,
    benchmark_count: usize,
    benchmarks: BTreeMap<String, StoredOnDisk>,
}

/// One benchmark of [`OnDisk`].
#[derive(Deserialize)]
struct StoredOnDisk {
    functions_listed: usize,
    #[serde(flatten)]
    profile: StoredProfile,
}

/// What the baseline directory holds as the profile of one suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredProfiles {
    /// The file was read and is consistent.
    Loaded(ProfileFile),
    /// The file exists but cannot be used: truncated, corrupt, another version.
    Unreadable(ProfileError),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn profile(costs: &[(&str, u64, u64)]) -> Profile {
        Profile::of(costs)
    }

    #[test]
    fn keeps_the_top_by_self_and_by_inclusive_with_cutoffs() {
        let p = profile(&[
            ("main", 1, 100),
            ("work", 10, 99),
            ("malloc", 50, 50),
            ("memcpy", 30, 30),
            ("tiny", 9, 9),
        ]);
        let s = StoredProfile::from_profile(&p, 2);
        let names: Vec<&str> = s.functions.keys().map(String::as_str).collect();
        assert_eq!(names, ["main", "malloc", "memcpy", "work"]);
        assert_eq!((s.self_cutoff, s.inclusive_cutoff), (9, 9));
        assert_eq!(s.total, 100);
        assert!(!s.is_complete());
        let all = StoredProfile::from_profile(&p, 5);
        assert!(all.is_complete());
        assert_eq!((all.self_cutoff, all.inclusive_cutoff), (0, 0));
    }

    #[test]
    fn round_trips_sorted_and_refuses_bad_files_naming_them() {
        let suite = SuiteId {
            package: "pkg".into(),
            bench: "ir".into(),
        };
        let mut f = ProfileFile::new(&suite);
        let p = profile(&[("b", 5, 5), ("a\u{202e} `x` <b>", 7, 12)]);
        f.benchmarks
            .insert("g/f".into(), StoredProfile::from_profile(&p, 30));
        let text = f.to_toml();
        let path = Path::new("baselines/pkg/ir.profile.toml");
        assert_eq!(ProfileFile::parse(path, &text).unwrap(), f);
        // Sorted by name, one line each, the bidi control escaped.
        assert!(
            text.contains(
                "\"a\\u202E `x` <b>\" = { inclusive = 12, self = 7 }\n\"b\" = { inclusive = 5, self = 5 }\n"
            ),
            "{text}"
        );

        let at_a_line: Vec<&str> = text.lines().collect();
        let cut = at_a_line[..at_a_line.len() - 1].join("\n");
        let e = ProfileFile::parse(path, &cut).unwrap_err().to_string();
        assert!(e.contains("`functions_listed` is 2 but 1 functions"), "{e}");
        let truncated = &text[..text.len() - 8];
        let e = ProfileFile::parse(path, truncated).unwrap_err().to_string();
        assert!(e.starts_with("baselines/pkg/ir.profile.toml:"), "{e}");

        let edited = text.replace("self = 5", "self = 500");
        let e = ProfileFile::parse(path, &edited).unwrap_err().to_string();
        assert!(
            e.starts_with("baselines/pkg/ir.profile.toml: benchmark \"g/f\""),
            "{e}"
        );

        let e = ProfileFile::parse(Path::new("pkg/other.profile.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("must live at pkg/ir.profile.toml"), "{e}");

        let v2 = text.replace("schema_version = 1", "schema_version = 2");
        let e = ProfileFile::parse(path, &v2).unwrap_err().to_string();
        assert!(e.contains("schema version 2 is not supported"), "{e}");
    }
}
