//! Which benchmarks a comparison judges: `--only` globs and `--partial` runs.
//!
//! A scope is applied to the run and to the baselines alike, so that a benchmark
//! outside it is neither judged nor reported as missing.

use std::collections::BTreeSet;

use globset::GlobSet;

use crate::baseline::BaselineSet;
use crate::model::Run;
use crate::policy::id_globset;

/// The part of the suite a comparison judges.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only benchmarks whose id matches one of these globs (`*` within one `/` part,
    /// `**` across parts); `None` judges every benchmark.
    pub only: Option<GlobSet>,
    /// The run is a deliberate part of the suite: baselines without a result in the
    /// run are out of scope instead of missing.
    pub partial: bool,
    /// The `--only` patterns as given, for messages.
    pub patterns: Vec<String>,
}

impl Scope {
    /// A scope from `--only` patterns (none: every benchmark) and `--partial`.
    pub fn new(only_patterns: &[String], partial: bool) -> Result<Self, globset::Error> {
        let only = if only_patterns.is_empty() {
            None
        } else {
            Some(id_globset(only_patterns)?)
        };
        Ok(Self {
            only,
            partial,
            patterns: only_patterns.to_vec(),
        })
    }

    /// Whether the scope judges every benchmark.
    pub fn is_everything(&self) -> bool {
        self.only.is_none() && !self.partial
    }

    /// Narrows `run` with the globs, then `baselines` to the same benchmarks: with
    /// `partial`, to exactly those the narrowed run has. Suites left without a
    /// baseline benchmark are dropped.
    pub fn apply(&self, run: &mut Run, baselines: &mut BaselineSet) {
        if self.is_everything() {
            return;
        }
        let only = self.only.as_ref();
        if let Some(only) = only {
            run.benchmarks.retain(|id, _| only.is_match(id.to_string()));
        }
        let ran: BTreeSet<String> = run.benchmarks.keys().map(ToString::to_string).collect();
        let keep =
            |id: &str| only.is_none_or(|o| o.is_match(id)) && (!self.partial || ran.contains(id));
        for b in baselines.suites.values_mut() {
            let prefix = format!("{}/{}/", b.package, b.bench);
            b.benchmarks
                .retain(|key, _| keep(&format!("{prefix}{key}")));
        }
        baselines.suites.retain(|_, b| !b.benchmarks.is_empty());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::baseline::{Baseline, BaselineEntry, Provenance};
    use crate::model::{BenchResult, Environment, Metrics};
    use std::collections::BTreeMap;

    fn fixture() -> (Run, BaselineSet) {
        let mut run = Run::default();
        let mut benchmarks = BTreeMap::new();
        for name in ["g/a/x", "g/b/x", "h/c/x"] {
            let mut m = Metrics::default();
            m.insert("Ir", 10);
            benchmarks.insert(name.to_owned(), m.clone());
            if name != "g/b/x" {
                run.benchmarks.insert(
                    format!("p/s/{name}").parse().unwrap(),
                    BenchResult {
                        metrics: m,
                        source_file: None,
                    },
                );
            }
        }
        let b = Baseline {
            package: "p".into(),
            bench: "s".into(),
            source_file: None,
            environment: Environment::default(),
            benchmarks: BaselineEntry::all_with(benchmarks, &Provenance::default()),
        };
        let mut set = BaselineSet::default();
        set.suites.insert(b.suite(), b);
        (run, set)
    }

    fn names(set: &BaselineSet) -> Vec<String> {
        set.suites
            .values()
            .flat_map(|b| b.benchmarks.keys().cloned())
            .collect()
    }

    #[test]
    fn only_narrows_run_and_baselines_alike() {
        let (mut run, mut set) = fixture();
        Scope::new(&["p/s/g/**".into()], false)
            .unwrap()
            .apply(&mut run, &mut set);
        assert_eq!(run.benchmarks.len(), 1);
        assert_eq!(names(&set), ["g/a/x", "g/b/x"]);
    }

    #[test]
    fn partial_keeps_only_what_ran() {
        let (mut run, mut set) = fixture();
        Scope::new(&[], true).unwrap().apply(&mut run, &mut set);
        assert_eq!(run.benchmarks.len(), 2);
        assert_eq!(names(&set), ["g/a/x", "h/c/x"]);
    }

    #[test]
    fn empty_scope_changes_nothing_and_suites_without_benchmarks_go() {
        let (mut run, mut set) = fixture();
        Scope::default().apply(&mut run, &mut set);
        assert_eq!((run.benchmarks.len(), names(&set).len()), (2, 3));
        Scope::new(&["nothing/**".into()], false)
            .unwrap()
            .apply(&mut run, &mut set);
        assert!(run.benchmarks.is_empty() && set.suites.is_empty());
    }
}
