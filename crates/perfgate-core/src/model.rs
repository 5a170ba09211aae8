//! The data model shared by every stage: benchmark identities, metric values, the
//! environment fingerprint and one run's results.
//!
//! These types are the vocabulary of the crate; their names are kept stable.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a [`BenchId`] could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchIdError {
    /// A component was empty.
    #[error("benchmark id component `{component}` is empty")]
    Empty {
        /// Which component (`package`, `bench`, `group`, `function`, `id`).
        component: &'static str,
    },
    /// A component contained `/`, the separator of the id's text form.
    #[error("benchmark id component `{component}` contains `/`: {value:?}")]
    Slash {
        /// Which component.
        component: &'static str,
        /// The offending value.
        value: String,
    },
    /// A component was `.` or `..`, which would name another directory when the id
    /// becomes a baseline path (`<package>/<bench>.toml`).
    #[error("benchmark id component `{component}` must not be `.` or `..`")]
    Dots {
        /// Which component.
        component: &'static str,
    },
    /// The text form did not have 4 or 5 `/`-separated parts.
    #[error("benchmark id {0:?} must look like `<package>/<bench>/<group>/<function>[/<id>]`")]
    Shape(String),
}

/// Stable, human-readable identity of one benchmark:
/// `<package>/<bench file>/<group>/<function>[/<id>]`.
///
/// `bench` is the bench target name (the file stem of `benches/<bench>.rs`), never a
/// path, so an id never contains an absolute path and is the same on every machine.
/// Components may hold any characters except `/` and may not be `.` or `..`;
/// renderers escape them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BenchId {
    package: String,
    bench: String,
    group: String,
    function: String,
    id: Option<String>,
}

fn check_part(component: &'static str, value: &str) -> Result<(), BenchIdError> {
    if value.is_empty() {
        return Err(BenchIdError::Empty { component });
    }
    if value == "." || value == ".." {
        return Err(BenchIdError::Dots { component });
    }
    if value.contains('/') {
        return Err(BenchIdError::Slash {
            component,
            value: value.to_owned(),
        });
    }
    Ok(())
}

impl BenchId {
    /// Builds an id from its parts, rejecting empty parts and parts containing `/`.
    pub fn new(
        package: impl Into<String>,
        bench: impl Into<String>,
        group: impl Into<String>,
        function: impl Into<String>,
        id: Option<String>,
    ) -> Result<Self, BenchIdError> {
        let (package, bench, group, function) =
            (package.into(), bench.into(), group.into(), function.into());
        check_part("package", &package)?;
        check_part("bench", &bench)?;
        check_part("group", &group)?;
        check_part("function", &function)?;
        if let Some(id) = &id {
            check_part("id", id)?;
        }
        Ok(Self {
            package,
            bench,
            group,
            function,
            id,
        })
    }

    /// The cargo package that holds the benchmark.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// The bench target name (file stem under `benches/`).
    pub fn bench(&self) -> &str {
        &self.bench
    }

    /// The benchmark group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The benchmarked function.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The optional case id (`#[bench::<id>]`).
    pub fn case(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The suite (one baseline file) this benchmark belongs to.
    pub fn suite(&self) -> SuiteId {
        SuiteId {
            package: self.package.clone(),
            bench: self.bench.clone(),
        }
    }

    /// The id without package and bench: `<group>/<function>[/<id>]`, the key used
    /// inside a suite's baseline file.
    pub fn key_in_suite(&self) -> String {
        match &self.id {
            Some(id) => format!("{}/{}/{}", self.group, self.function, id),
            None => format!("{}/{}", self.group, self.function),
        }
    }
}

impl fmt::Display for BenchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.bench, self.key_in_suite())
    }
}

impl FromStr for BenchId {
    type Err = BenchIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [p, b, g, f] => Self::new(*p, *b, *g, *f, None),
            [p, b, g, f, i] => Self::new(*p, *b, *g, *f, Some((*i).to_owned())),
            _ => Err(BenchIdError::Shape(s.to_owned())),
        }
    }
}

impl Serialize for BenchId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BenchId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One bench target of one package: the unit that gets one baseline file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SuiteId {
    /// The cargo package.
    pub package: String,
    /// The bench target name.
    pub bench: String,
}

impl fmt::Display for SuiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.package, self.bench)
    }
}

/// Metric values of one benchmark, by Callgrind event name (`Ir`, `Dr`, `Dw`,
/// `EstimatedCycles`, ...). Counts are integers; `Ir` is always present in a valid run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics(pub BTreeMap<String, u64>);

impl Metrics {
    /// The metric that is gated by default.
    pub const IR: &'static str = "Ir";

    /// The value of `name`, if recorded.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.get(name).copied()
    }

    /// Records `value` for `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: u64) {
        self.0.insert(name.into(), value);
    }

    /// The instruction count, if recorded.
    pub fn ir(&self) -> Option<u64> {
        self.get(Self::IR)
    }
}

/// The environment fingerprint: everything known to move instruction counts.
///
/// Recorded with every run and every baseline. A field is `None` when it could not be
/// determined; two fingerprints differ in a field only when both sides know it or one
/// side knows it and the other does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    /// `valgrind --version`, e.g. `valgrind-3.19.0`.
    pub valgrind: Option<String>,
    /// The benchmark runner and its version, e.g. `gungraun-runner 0.20.0`.
    pub runner: Option<String>,
    /// `rustc --version`.
    pub rustc: Option<String>,
    /// The target triple the benchmarks were built for.
    pub target: Option<String>,
    /// The C library version, e.g. `glibc 2.36`.
    pub glibc: Option<String>,
    /// The `GLIBC_TUNABLES` value in force (`""` when unset).
    pub glibc_tunables: Option<String>,
    /// The CPU model name.
    pub cpu_model: Option<String>,
    /// The CPU flags glibc's ifunc selection depends on (sorted, space-separated).
    pub cpu_flags: Option<String>,
    /// The cache geometry handed to Callgrind (`--I1=.. --D1=.. --LL=..`) or, when not
    /// pinned, the host's cache sizes.
    pub cache: Option<String>,
    /// Further facts that move instruction counts, by name (e.g. `callgrind_args`,
    /// `preload`, `rustc_commit`); compared like the fields above, as `extra.<name>`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Environment {
    /// Field names in a fixed order, paired with their values.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 9] {
        [
            ("valgrind", self.valgrind.as_deref()),
            ("runner", self.runner.as_deref()),
            ("rustc", self.rustc.as_deref()),
            ("target", self.target.as_deref()),
            ("glibc", self.glibc.as_deref()),
            ("glibc_tunables", self.glibc_tunables.as_deref()),
            ("cpu_model", self.cpu_model.as_deref()),
            ("cpu_flags", self.cpu_flags.as_deref()),
            ("cache", self.cache.as_deref()),
        ]
    }

    /// The names of every field, in [`Environment::fields`] order.
    pub const FIELD_NAMES: [&'static str; 9] = [
        "valgrind",
        "runner",
        "rustc",
        "target",
        "glibc",
        "glibc_tunables",
        "cpu_model",
        "cpu_flags",
        "cache",
    ];

    /// The fields whose values differ between `self` (baseline) and `current`, skipping
    /// the names in `ignore`.
    pub fn diff(&self, current: &Environment, ignore: &[String]) -> Vec<EnvChange> {
        let mut out: Vec<EnvChange> = self
            .fields()
            .into_iter()
            .zip(current.fields())
            .filter(|((name, _), _)| !ignore.iter().any(|i| i == name))
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, a), (_, b))| EnvChange {
                field: name.to_owned(),
                baseline: a.map(str::to_owned),
                current: b.map(str::to_owned),
            })
            .collect();
        let keys: std::collections::BTreeSet<&String> =
            self.extra.keys().chain(current.extra.keys()).collect();
        for key in keys {
            let field = format!("extra.{key}");
            if ignore.contains(&field) {
                continue;
            }
            let (a, b) = (self.extra.get(key), current.extra.get(key));
            if a != b {
                out.push(EnvChange {
                    field,
                    baseline: a.cloned(),
                    current: b.cloned(),
                });
            }
        }
        out
    }

    /// A one-line description for reports.
    pub fn one_line(&self) -> String {
        let parts: Vec<String> = [
            self.valgrind.as_deref(),
            self.runner.as_deref(),
            self.rustc.as_deref(),
            self.target.as_deref(),
            self.glibc.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .chain(
            self.glibc_tunables
                .as_deref()
                .map(|t| format!("GLIBC_TUNABLES={t:?}")),
        )
        .chain(self.cpu_model.clone())
        .collect();
        if parts.is_empty() {
            "unknown environment".to_owned()
        } else {
            parts.join(" · ")
        }
    }
}

/// One differing field of two environment fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvChange {
    /// The field name, as in [`Environment::FIELD_NAMES`].
    pub field: String,
    /// The baseline's value.
    pub baseline: Option<String>,
    /// The current run's value.
    pub current: Option<String>,
}

/// What one benchmark of a run measured, plus where it is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchResult {
    /// The metric values.
    pub metrics: Metrics,
    /// The bench source file relative to the repository root
    /// (e.g. `crates/scarab-plugins/benches/iai.rs`), when known. Never absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
}

/// The results of one benchmark run: `BenchId → Metrics` plus the [`Environment`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The environment fingerprint of the machine that ran the benchmarks.
    pub environment: Environment,
    /// Results by benchmark, sorted by id.
    pub benchmarks: BTreeMap<BenchId, BenchResult>,
}

impl Run {
    /// The suites (bench targets) present in this run.
    pub fn suites(&self) -> std::collections::BTreeSet<SuiteId> {
        self.benchmarks.keys().map(BenchId::suite).collect()
    }

    /// True when the run holds no benchmark.
    pub fn is_empty(&self) -> bool {
        self.benchmarks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_id_round_trips_through_text() {
        let id = BenchId::new("pkg", "iai", "g", "f", Some("case_1".into())).unwrap();
        assert_eq!(id.to_string(), "pkg/iai/g/f/case_1");
        assert_eq!("pkg/iai/g/f/case_1".parse::<BenchId>().unwrap(), id);
        let id = BenchId::new("pkg", "iai", "g", "f", None).unwrap();
        assert_eq!("pkg/iai/g/f".parse::<BenchId>().unwrap(), id);
    }

    #[test]
    fn bench_id_rejects_bad_shapes() {
        assert!("a/b/c".parse::<BenchId>().is_err());
        assert!("a/b/c/d/e/f".parse::<BenchId>().is_err());
        assert!("a//c/d".parse::<BenchId>().is_err());
        assert!(BenchId::new("a", "/abs/path", "g", "f", None).is_err());
        // `..` would leave the baseline directory in `<package>/<bench>.toml`.
        assert!(matches!(
            BenchId::new("..", "b", "g", "f", None),
            Err(BenchIdError::Dots {
                component: "package"
            })
        ));
        assert!("p/./g/f".parse::<BenchId>().is_err());
        assert!("p/b/g/f/..".parse::<BenchId>().is_err());
    }

    #[test]
    fn environment_diff_lists_changed_fields_only() {
        let a = Environment {
            glibc_tunables: Some("glibc.cpu.hwcaps=-ERMS".into()),
            rustc: Some("rustc 1.95.0".into()),
            ..Environment::default()
        };
        let mut b = a.clone();
        b.glibc_tunables = Some(String::new());
        let d = a.diff(&b, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "glibc_tunables");
        assert!(a.diff(&b, &["glibc_tunables".into()]).is_empty());
        b.glibc_tunables.clone_from(&a.glibc_tunables);
        b.extra
            .insert("callgrind_args".into(), "--cache-sim=no".into());
        let d = a.diff(&b, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "extra.callgrind_args");
        assert_eq!(d[0].baseline, None);
        assert!(a.diff(&b, &["extra.callgrind_args".into()]).is_empty());
    }
}
