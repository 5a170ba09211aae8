//! Reads a `scarab-plugins` benchmark run and reports on it.
//!
//! A run is what `ci/bench` (instruction counts, Gungraun) and `ci/bench --wall`
//! (criterion) leave in a run directory. This crate reads it ([`run`]), fits lines
//! ([`fit`]), reads Callgrind profiles ([`annotate`]) and renders a terminal table,
//! a determinism check between two runs, and `docs/PERFORMANCE_REPORT.md`
//! ([`report`]). The binary `bench-report` is the front end the `ci/` scripts call.

pub mod annotate;
pub mod fit;
pub mod report;
pub mod run;
