//! Helpers shared by the integration tests of irgate-core.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use irgate_core::baseline::{self, BaselineSet, Provenance};
use irgate_core::{read_paths, Environment, ReadOptions, Run};

/// The v7 fixture run (`tests/fixtures/v7`) with the environment `env`.
pub fn fixture_run(env: Environment) -> Run {
    read_paths(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v7")],
        env,
        &ReadOptions::default(),
    )
    .unwrap()
}

/// Baselines accepted from `run`, in memory (Ir only, default provenance).
pub fn accept_into_set(run: &Run) -> BaselineSet {
    let plan = baseline::plan_accept(
        &BaselineSet::default(),
        run,
        &baseline::AcceptOptions {
            only: None,
            provenance: &Provenance::default(),
            metrics: &[],
            profiles: None,
        },
    )
    .unwrap();
    BaselineSet::from_texts(
        plan.iter()
            .map(|f| (f.relative_path.as_path(), f.contents.as_str())),
    )
    .unwrap()
}
