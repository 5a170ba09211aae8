//! The report of the `scarab-plugins` workload: reads one of its benchmark runs and
//! reports on it.
//!
//! A run is what `ci/bench` (instruction counts, Gungraun) and `ci/bench --wall`
//! (criterion) leave in a run directory. This crate reads it ([`run`]: the instruction
//! counts and the fingerprint through `irgate-core`, the criterion estimates itself),
//! fits lines ([`fit`]), reads Callgrind profiles ([`annotate`]) and renders a terminal
//! table and `docs/PERFORMANCE_REPORT.md` ([`report`]), saying of each benchmark what
//! `report.toml` says ([`layout`]). The binary `scarab-report` is the front end
//! `ci/report` calls.

pub mod annotate;
pub mod fit;
pub mod layout;
pub mod report;
pub mod run;
