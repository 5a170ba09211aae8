//! The gate: runs a workspace's Callgrind benchmarks in a pinned environment, reads
//! their results, compares them with baselines under a policy, renders verdicts. No
//! network, no async.
//!
//! Data flows one way:
//! [`bench`](mod@bench) (pinned run, [`glibc`], [`env`](mod@env)) → run directory → [`read`] → [`Run`] →
//! [`compare()`] against a [`BaselineSet`] under a [`Policy`], within a [`Scope`] →
//! [`Comparison`] → [`render`] (terminal, markdown, JSON) → the bot (`irgate-github`).
//!
//! The gate fails closed: an empty run, a missing or empty baseline directory, and an
//! unreadable summary are errors ([`Gate::CouldNotJudge`], exit code 2), never a pass.

pub mod baseline;
pub mod bench;
pub mod bisect;
pub mod callgrind;
pub mod compare;
pub mod comparison;
pub mod creep;
pub mod env;
pub mod glibc;
pub mod history;
pub mod init;
pub mod journal;
pub mod model;
pub mod policy;
pub mod profile;
pub mod read;
pub mod rebase;
pub mod render;
pub mod scope;
pub mod source;
pub mod why;
pub mod worktree;

pub use baseline::{Baseline, BaselineEntry, BaselineError, BaselineSet, Provenance};
pub use compare::{compare, compare_in_scope, CompareError};
pub use comparison::{
    BenchComparison, Comparison, ComparisonError, Counts, EnvironmentCheck, Gate, RunVerdict,
    Verdict, SCHEMA_VERSION,
};
pub use model::{BenchId, BenchResult, EnvChange, Environment, Metrics, Run, SuiteId};
pub use policy::{Action, Policy, PolicyError};
pub use read::{read_paths, read_results, ReadError, ReadOptions, ReadResult};
pub use scope::Scope;
