//! Creep against an anchor: small accepted changes add up, each passing review
//! on its own. With `creep = { anchor = REV, max_pct = N }` in the policy, the
//! comparison also measures every benchmark's current value against its
//! baseline at the anchor revision, and lists those more than N% above it in a
//! separate "creep" section. The gate fails on it only with `on_creep = "fail"`.

use serde::{Deserialize, Serialize};

use crate::baseline::BaselineSet;
use crate::comparison::{Comparison, Gate};
use crate::policy::{Action, Creep};

/// The creep section of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreepReport {
    /// The anchor as the policy names it.
    pub anchor: String,
    /// The commit it resolved to.
    pub anchor_commit: String,
    /// The largest rise allowed, percent.
    pub max_pct: f64,
    /// `fail` or `warn` (`on_creep`).
    pub action: Action,
    /// Benchmarks measured against the anchor (in the run and at the anchor).
    pub compared: usize,
    /// Those more than `max_pct` above their anchor value, largest rise first.
    pub benchmarks: Vec<CreepEntry>,
}

/// One benchmark past the creep limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreepEntry {
    /// The benchmark id.
    pub id: String,
    /// Its baseline at the anchor.
    pub anchor_value: u64,
    /// Its value in this run.
    pub current: u64,
    /// The rise, percent of the anchor value.
    pub change_pct: f64,
}

impl CreepReport {
    /// Whether the report makes the gate fail.
    pub fn fails(&self) -> bool {
        self.action == Action::Fail && !self.benchmarks.is_empty()
    }

    /// The sentence the gate gives when creep fails it.
    pub fn reason(&self) -> String {
        format!(
            "{} benchmark(s) crept more than {}% above their value at the anchor {} (on_creep = \"fail\")",
            self.benchmarks.len(),
            self.max_pct,
            self.anchor
        )
    }
}

/// Measures `c`'s current values of its metric against `anchor` (the baselines
/// at the anchor commit `anchor_commit`), and records the result in `c`: the
/// report, and with `on_creep = "fail"` a failed gate when anything crept.
pub fn apply(
    c: &mut Comparison,
    anchor: &BaselineSet,
    anchor_commit: &str,
    creep: &Creep,
    on_creep: Action,
) {
    let mut compared = 0;
    let mut benchmarks = Vec::new();
    for b in &c.benchmarks {
        let Some(current) = b.current else { continue };
        let Some(at_anchor) = anchor
            .suites
            .get(&b.id.suite())
            .and_then(|s| s.benchmarks.get(&b.id.key_in_suite()))
            .and_then(|e| e.metrics.get(&b.metric))
        else {
            continue;
        };
        compared += 1;
        if at_anchor == 0 {
            continue;
        }
        let change_pct = (current as f64 - at_anchor as f64) * 100.0 / at_anchor as f64;
        if change_pct > creep.max_pct {
            benchmarks.push(CreepEntry {
                id: b.id.to_string(),
                anchor_value: at_anchor,
                current,
                change_pct,
            });
        }
    }
    benchmarks.sort_by(|a, b| {
        b.change_pct
            .total_cmp(&a.change_pct)
            .then_with(|| a.id.cmp(&b.id))
    });
    let report = CreepReport {
        anchor: creep.anchor.clone(),
        anchor_commit: anchor_commit.to_owned(),
        max_pct: creep.max_pct,
        action: on_creep,
        compared,
        benchmarks,
    };
    if report.fails() && c.gate == Gate::Passed {
        c.gate = Gate::Failed;
    }
    if report.fails() && c.gate != Gate::CouldNotJudge {
        c.reasons.push(report.reason());
    }
    c.creep = Some(report);
}
