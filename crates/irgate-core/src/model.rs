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

/// The environment fingerprint: what instruction counts may depend on.
///
/// Recorded with every run and every baseline. A field is `None` when it could not be
/// determined; two fingerprints differ in a field only when both sides know it or one
/// side knows it and the other does not.
///
/// Fields fall in two classes (see [`Environment::diff`]): those that can move a count
/// (valgrind, runner, rustc, target, glibc, the tunables in force, the CPU flags left
/// usable after the tunables, every `extra` entry and the canary's counts) and those
/// that only describe the machine (`cpu_model`, the raw `cpu_flags`, `cache`).
/// Unknown fields are refused when a fingerprint is read, so a typo never hides a fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// The CPU model name (informational).
    pub cpu_model: Option<String>,
    /// The CPU flags glibc's ifunc selection may test (sorted, space-separated), as the
    /// host reports them. Informational: what is compared is the part of them that the
    /// tunables leave usable ([`Environment::effective_cpu_flags`]).
    pub cpu_flags: Option<String>,
    /// The cache geometry handed to Callgrind (`--I1=.. --D1=.. --LL=..`) or, when not
    /// pinned, the host's cache sizes.
    pub cache: Option<String>,
    /// Further facts that move instruction counts, by name (e.g. `callgrind_args`,
    /// `preload`, `rustc_commit`); compared like the fields above, as `extra.<name>`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Ir of each part of the calibration workload (the canary: glibc's string and
    /// memory routines, allocation, hashing, formatting) run under the same valgrind,
    /// tunables and preload as the benchmarks. A changed canary shows that the
    /// environment moves counts even where its fields look the same.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub canary: BTreeMap<String, u64>,
}

/// Fields of [`Environment`] that only describe the machine: a difference in them is
/// reported as a note, never as drift. `cpu_flags` is compared through
/// [`Environment::EFFECTIVE_FLAGS`] instead.
pub const INFORMATIONAL_FIELDS: [&str; 3] = ["cpu_model", "cpu_flags", "cache"];

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

    /// The name of the derived field that compares CPU flags: the ifunc-relevant flags
    /// that remain usable after `glibc_tunables`.
    pub const EFFECTIVE_FLAGS: &'static str = "cpu_flags_effective";

    /// The name under which canary differences are reported (`canary.<part>`).
    pub const CANARY: &'static str = "canary";

    /// Every name a difference can carry besides `extra.<key>` and `canary.<part>`: the
    /// fields, the effective flags and the canary.
    pub fn known_names() -> impl Iterator<Item = &'static str> {
        Self::FIELD_NAMES
            .into_iter()
            .chain([Self::EFFECTIVE_FLAGS, Self::CANARY])
    }

    /// The CPU flags that glibc's string, memory and libm selectors test and that the
    /// recorded tunables leave usable (see [`crate::glibc::effective_flags`]). `None`
    /// when the raw flags are unknown.
    pub fn effective_cpu_flags(&self) -> Option<String> {
        let flags = self.cpu_flags.as_deref()?;
        Some(crate::glibc::effective_flags(
            flags,
            self.glibc_tunables.as_deref().unwrap_or(""),
            self.glibc.as_deref(),
        ))
    }

    /// The canary's total Ir over all parts, when it ran.
    pub fn canary_total(&self) -> Option<u64> {
        (!self.canary.is_empty()).then(|| self.canary.values().sum())
    }

    /// The fields whose values differ between `self` (baseline) and `current`, each
    /// marked as able to move a count or informational. Names in `ignore` (policy
    /// `drift_ignore`) and [`INFORMATIONAL_FIELDS`] are informational; everything else
    /// (including `cpu_flags_effective`, every `extra.<key>` and `canary.<part>`) can
    /// move a count.
    pub fn diff(&self, current: &Environment, ignore: &[String]) -> Vec<EnvChange> {
        let informational =
            |name: &str| INFORMATIONAL_FIELDS.contains(&name) || ignore.iter().any(|i| i == name);
        let mut out: Vec<EnvChange> = self
            .fields()
            .into_iter()
            .zip(current.fields())
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, a), (_, b))| EnvChange {
                field: name.to_owned(),
                baseline: a.map(str::to_owned),
                current: b.map(str::to_owned),
                informational: informational(name),
            })
            .collect();
        let (a, b) = (self.effective_cpu_flags(), current.effective_cpu_flags());
        if a != b {
            out.push(EnvChange {
                field: Self::EFFECTIVE_FLAGS.to_owned(),
                baseline: a,
                current: b,
                informational: informational(Self::EFFECTIVE_FLAGS),
            });
        }
        let keys: std::collections::BTreeSet<&String> =
            self.extra.keys().chain(current.extra.keys()).collect();
        for key in keys {
            let field = format!("extra.{key}");
            let (a, b) = (self.extra.get(key), current.extra.get(key));
            if a != b {
                out.push(EnvChange {
                    informational: informational(&field),
                    field,
                    baseline: a.cloned(),
                    current: b.cloned(),
                });
            }
        }
        let parts: std::collections::BTreeSet<&String> =
            self.canary.keys().chain(current.canary.keys()).collect();
        let canary_ignored = informational(Self::CANARY);
        for part in parts {
            let (a, b) = (self.canary.get(part), current.canary.get(part));
            if a != b {
                out.push(EnvChange {
                    field: format!("{}.{part}", Self::CANARY),
                    baseline: a.map(u64::to_string),
                    current: b.map(u64::to_string),
                    informational: canary_ignored,
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
        .chain(self.canary_total().map(|t| format!("canary {t} Ir")))
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
    /// True when the field only describes the machine and cannot move a count (a note,
    /// never drift).
    #[serde(default)]
    pub informational: bool,
}

/// What one benchmark of a run measured, plus where it is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchResult {
    /// The metric values.
    pub metrics: Metrics,
    /// The bench source file relative to the repository root
    /// (e.g. `crates/scarab-plugins/benches/ir.rs`), when known. Never absolute.
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
        assert!(!d[0].informational);
        let d = a.diff(&b, &["glibc_tunables".into()]);
        assert!(d.len() == 1 && d[0].informational, "{d:?}");
        b.glibc_tunables.clone_from(&a.glibc_tunables);
        b.extra
            .insert("callgrind_args".into(), "--cache-sim=no".into());
        let d = a.diff(&b, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "extra.callgrind_args");
        assert_eq!(d[0].baseline, None);
        assert!(a.diff(&b, &["extra.callgrind_args".into()])[0].informational);
        b.extra.clear();
        b.canary.insert("memcpy".into(), 1200);
        let d = a.diff(&b, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "canary.memcpy");
        assert!(!d[0].informational);
    }

    #[test]
    fn cpu_model_and_raw_flags_are_informational() {
        let a = Environment {
            cpu_model: Some("Intel Xeon".into()),
            cpu_flags: Some("avx2 avx512f erms sse2".into()),
            glibc: Some("glibc 2.36".into()),
            glibc_tunables: Some(String::new()),
            ..Environment::default()
        };
        let mut b = a.clone();
        b.cpu_model = Some("AMD EPYC".into());
        b.cpu_flags = Some("avx2 erms sse2".into());
        let d = a.diff(&b, &[]);
        let fields: Vec<(&str, bool)> = d
            .iter()
            .map(|c| (c.field.as_str(), c.informational))
            .collect();
        // Without tunables avx512f is usable on one side only: the effective flags differ.
        assert_eq!(
            fields,
            [
                ("cpu_model", true),
                ("cpu_flags", true),
                ("cpu_flags_effective", false)
            ]
        );
    }

    #[test]
    fn unknown_fingerprint_fields_are_refused() {
        let e = serde_json::from_str::<Environment>(r#"{"valgrind": "v", "cpu_flagz": "x"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("cpu_flagz"), "{e}");
    }
}
