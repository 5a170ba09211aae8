//! What the report says about which benchmarks: `report.toml`, read at build time.
//!
//! The report's sections name benchmarks of the suite (the chains it fits, the loads
//! it compares, the optimisations it weighs). Those names live in `report.toml`, one
//! table per section, and [`Layout::check`] requires every one of them in the run, so
//! a renamed or missing benchmark stops the report with its name instead of leaving a
//! hole in the document.

use irgate_core::{BenchId, SuiteId};
use serde::Deserialize;

use crate::run::Run;

/// The text of `report.toml`.
pub const LAYOUT_TOML: &str = include_str!("../report.toml");

/// Why the layout could not be read or does not fit the run.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// `report.toml` did not parse.
    #[error("report.toml: {0}")]
    Toml(String),
    /// A name in `report.toml` is not a benchmark name of the suite.
    #[error("report.toml: {name:?} is not `group/function/id` or a valid benchmark id: {message}")]
    Name {
        /// The name as written.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// Benchmarks the report names are not in the run.
    #[error("no benchmark {} in the {suite}", quoted(names))]
    Missing {
        /// The names, `group/function/id` (or `group/function/*`, `group/*`).
        names: Vec<String>,
        /// Which results lack them: `run` or `wall-clock run`.
        suite: &'static str,
    },
    /// The run holds a group that `report.toml` does not describe.
    #[error("group `{0}` of the run has no description in report.toml")]
    UnknownGroup(String),
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One benchmark group and its prose in "Results by group".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's name (`library_benchmark_group!(name = ...)`).
    pub name: String,
    /// What the group measures.
    pub description: String,
    /// Ids starting with this prefix and ending in `_<N>` get per-element columns.
    #[serde(default)]
    pub per_element_ids: Option<String>,
}

/// One of the seed's targets: a wall-clock limit and the benchmark checked against it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What the target is about.
    pub label: String,
    /// The limit, nanoseconds.
    pub limit_ns: f64,
    /// The benchmark checked.
    #[serde(default)]
    pub benchmark: Option<String>,
    /// Or the slowest case of this function (`group/function`).
    #[serde(default)]
    pub slowest_of: Option<String>,
}

/// The chains whose cost per plugin the report fits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chaining {
    /// The group of the chain benchmarks.
    pub group: String,
    /// The chain kinds (functions of the group).
    pub kinds: Vec<String>,
    /// Prefix of the id before the plugin count.
    pub id_prefix: String,
    /// Plugin counts measured.
    pub sizes: Vec<u32>,
    /// The kind of no-op plugins, whose cost per plugin is set against `one_plugin`.
    pub noop_kind: String,
    /// A dispatch through one no-op plugin.
    pub one_plugin: String,
    /// The same dispatch without plugins.
    pub no_plugin: String,
}

impl Chaining {
    /// The benchmark of `kind` with `n` plugins.
    pub fn name(&self, kind: &str, n: u32) -> String {
        format!("{}/{kind}/{}{n}", self.group, self.id_prefix)
    }
}

/// Source against bytecode loading, and the load steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loading {
    /// The function loading source (`group/function`).
    pub source: String,
    /// The function loading bytecode (`group/function`).
    pub bytecode: String,
    /// The scripts both load (ids).
    pub scripts: Vec<String>,
    /// The steps of a load, each measured alone.
    pub steps: Vec<String>,
}

/// A language compared in words with the subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compared {
    /// The language (function of the peers group).
    pub language: String,
    /// How the prose names it.
    pub shown: String,
}

/// The same plugin in several languages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The group of the peer benchmarks.
    pub group: String,
    /// The languages (functions of the group), in table order.
    pub languages: Vec<String>,
    /// The case of one line that gets tagged.
    pub tagged: String,
    /// The case of one line that passes.
    pub plain: String,
    /// The case of many lines.
    pub mixed: String,
    /// How many lines the `mixed` case runs.
    pub lines: u32,
    /// The language the ratios are against.
    pub reference: String,
    /// The language compared in words with each of `compared`.
    pub subject: String,
    /// The languages `subject` is compared with.
    pub compared: Vec<Compared>,
}

impl Peers {
    /// The benchmark of `language` on `case`.
    pub fn name(&self, language: &str, case: &str) -> String {
        format!("{}/{language}/{case}", self.group)
    }
}

/// The same work without and with one optimisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimisation {
    /// What the optimisation is.
    pub label: String,
    /// The benchmark without it.
    pub without: String,
    /// The benchmark with it.
    pub with: String,
}

/// The benchmarks of the sentence on the metrics collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// One timing with the collector off.
    pub timing_off: String,
    /// One timing with the collector on.
    pub timing_on: String,
    /// One processing dispatch with metrics off.
    pub dispatch_off: String,
}

/// The benchmarks of the sentence on lazy loading.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lazy {
    /// Start-up, lazily.
    pub startup_lazy: String,
    /// Start-up, eagerly.
    pub startup_eager: String,
    /// Start-up and the first line, lazily.
    pub first_line_lazy: String,
    /// Start-up and the first line, eagerly.
    pub first_line_eager: String,
}

/// The benchmarks the bottleneck section profiles, by the role its recommendations
/// give them, and two it compares with by Ir.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bottlenecks {
    /// Loading a script from source (profiled).
    pub source_load: String,
    /// Loading bytecode (profiled).
    pub bytecode_load: String,
    /// A dispatch through a no-op plugin (profiled).
    pub noop_dispatch: String,
    /// A dispatch through a processing plugin (profiled).
    pub processing_dispatch: String,
    /// Making a VM without the template (profiled).
    pub cold_vm: String,
    /// A long chain of processing plugins (profiled).
    pub long_chain: String,
    /// Loading the same script through the cache (Ir only).
    pub cached_load: String,
    /// Making a VM from the template (Ir only).
    pub template_vm: String,
}

impl Bottlenecks {
    /// The benchmarks whose profiles are read.
    pub fn profiled(&self) -> [&str; 6] {
        [
            &self.source_load,
            &self.bytecode_load,
            &self.noop_dispatch,
            &self.processing_dispatch,
            &self.cold_vm,
            &self.long_chain,
        ]
    }
}

/// `report.toml`: the suite and, per section, the benchmarks it names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// The instruction-count suite, `<package>/<bench target>`.
    pub suite: String,
    /// The groups, in report order.
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
    /// The seed's targets.
    #[serde(rename = "target")]
    pub targets: Vec<Target>,
    /// The chains.
    pub chaining: Chaining,
    /// Source against bytecode.
    pub loading: Loading,
    /// The peers.
    pub peers: Peers,
    /// With against without.
    #[serde(rename = "optimisation")]
    pub optimisations: Vec<Optimisation>,
    /// The metrics sentence.
    pub metrics: Metrics,
    /// The lazy-loading sentence.
    pub lazy: Lazy,
    /// The profiled benchmarks.
    pub bottlenecks: Bottlenecks,
}

impl Layout {
    /// The layout built into this binary.
    pub fn builtin() -> Result<Self, LayoutError> {
        Self::parse(LAYOUT_TOML)
    }

    /// Parses a layout and checks that every name in it is a benchmark name.
    pub fn parse(text: &str) -> Result<Self, LayoutError> {
        let layout: Self = toml::from_str(text).map_err(|e| LayoutError::Toml(e.to_string()))?;
        layout.suite_id()?;
        if !layout.chaining.kinds.contains(&layout.chaining.noop_kind) {
            return Err(LayoutError::Name {
                name: layout.chaining.noop_kind.clone(),
                message: "`chaining.noop_kind` must be one of `chaining.kinds`".to_owned(),
            });
        }
        for name in layout.benchmarks() {
            layout.id(&name)?;
        }
        Ok(layout)
    }

    /// The suite as an id.
    pub fn suite_id(&self) -> Result<SuiteId, LayoutError> {
        match self.suite.split_once('/') {
            Some((package, bench)) if !package.is_empty() && !bench.is_empty() => Ok(SuiteId {
                package: package.to_owned(),
                bench: bench.to_owned(),
            }),
            _ => Err(LayoutError::Name {
                name: self.suite.clone(),
                message: "the suite must be `<package>/<bench target>`".to_owned(),
            }),
        }
    }

    /// The id of `group/function[/id]` in the suite.
    pub fn id(&self, name: &str) -> Result<BenchId, LayoutError> {
        let suite = self.suite_id()?;
        bench_id(&suite, name).map_err(|message| LayoutError::Name {
            name: name.to_owned(),
            message,
        })
    }

    /// Every benchmark the report names, each once, in the order of the file.
    pub fn benchmarks(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.targets.iter().filter_map(|t| t.benchmark.clone()));
        let c = &self.chaining;
        for kind in &c.kinds {
            out.extend(c.sizes.iter().map(|&n| c.name(kind, n)));
        }
        out.push(c.one_plugin.clone());
        out.push(c.no_plugin.clone());
        let l = &self.loading;
        for script in &l.scripts {
            out.push(format!("{}/{script}", l.source));
            out.push(format!("{}/{script}", l.bytecode));
        }
        out.extend(l.steps.iter().cloned());
        let p = &self.peers;
        for lang in &p.languages {
            for case in [&p.tagged, &p.plain, &p.mixed] {
                out.push(p.name(lang, case));
            }
        }
        for o in &self.optimisations {
            out.push(o.without.clone());
            out.push(o.with.clone());
        }
        let m = &self.metrics;
        out.extend([&m.timing_off, &m.timing_on, &m.dispatch_off].map(String::clone));
        let z = &self.lazy;
        out.extend(
            [
                &z.startup_lazy,
                &z.startup_eager,
                &z.first_line_lazy,
                &z.first_line_eager,
            ]
            .map(String::clone),
        );
        let b = &self.bottlenecks;
        out.extend(b.profiled().map(str::to_owned));
        out.extend([&b.cached_load, &b.template_vm].map(String::clone));
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|n| seen.insert(n.clone()));
        out
    }

    /// Requires every benchmark, group and `slowest_of` function the report names in
    /// the run's instruction counts, and in its wall-clock results when the wall-clock
    /// suite ran; and a description for every group of the run.
    pub fn check(&self, run: &Run) -> Result<(), LayoutError> {
        let suite = self.suite_id()?;
        let in_suite = |id: &&BenchId| id.suite() == suite;
        let ir: Vec<&BenchId> = run.ir.keys().filter(in_suite).collect();
        let wall: Vec<&BenchId> = run.wall.keys().filter(in_suite).collect();
        self.check_names(&ir, "run")?;
        if !run.wall.is_empty() {
            self.check_names(&wall, "wall-clock run")?;
        }
        let described: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        if let Some(id) = ir
            .iter()
            .chain(&wall)
            .find(|id| !described.contains(&id.group()))
        {
            return Err(LayoutError::UnknownGroup(id.group().to_owned()));
        }
        Ok(())
    }

    fn check_names(&self, present: &[&BenchId], suite: &'static str) -> Result<(), LayoutError> {
        let mut missing = Vec::new();
        for name in self.benchmarks() {
            let id = self.id(&name)?;
            if !present.contains(&&id) {
                missing.push(name);
            }
        }
        for t in &self.targets {
            if let Some(f) = &t.slowest_of {
                if !present.iter().any(|id| in_function(id, f)) {
                    missing.push(format!("{f}/*"));
                }
            }
        }
        for g in &self.groups {
            if !present.iter().any(|id| id.group() == g.name) {
                missing.push(format!("{}/*", g.name));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(LayoutError::Missing {
                names: missing,
                suite,
            })
        }
    }
}

/// True when `id` is a case of `group/function`.
pub fn in_function(id: &BenchId, function: &str) -> bool {
    function
        .split_once('/')
        .is_some_and(|(g, f)| id.group() == g && id.function() == f)
}

/// The id of `group/function[/id]` in `suite`; the error says what is wrong.
pub fn bench_id(suite: &SuiteId, name: &str) -> Result<BenchId, String> {
    let mut parts = name.splitn(3, '/');
    let (Some(group), Some(function)) = (parts.next(), parts.next()) else {
        return Err("expected `group/function/id`".to_owned());
    };
    BenchId::new(
        suite.package.clone(),
        suite.bench.clone(),
        group,
        function,
        parts.next().map(str::to_owned),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_layout_parses_and_names_each_benchmark_once() {
        let l = Layout::builtin().unwrap();
        assert_eq!(l.groups.len(), 8);
        let names = l.benchmarks();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(names.contains(&"dispatch/output/processing".to_owned()));
    }

    #[test]
    fn every_group_is_one_of_the_bench_file() {
        let bench = include_str!("../../scarab-plugins/benches/ir.rs");
        for g in Layout::builtin().unwrap().groups {
            assert!(
                bench.contains(&format!("name = {},", g.name)),
                "group {} is not in benches/ir.rs",
                g.name
            );
        }
    }

    #[test]
    fn a_bad_name_is_refused_naming_it() {
        let text = LAYOUT_TOML.replace("\"vm/call/direct\"", "\"vm\"");
        let err = Layout::parse(&text).unwrap_err().to_string();
        assert!(err.contains("\"vm\""), "{err}");
    }
}
