//! Comparing a run with baselines under a policy.

use std::collections::BTreeMap;

use crate::baseline::BaselineSet;
use crate::comparison::{BenchComparison, Comparison, EnvironmentCheck, RunVerdict, Verdict};
use crate::model::{BenchId, EnvChange, Metrics, Run};
use crate::policy::{Action, Policy, Rule};

/// Why no comparison could be made (the gate could not judge).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The run has no benchmark.
    #[error("the run is empty: no benchmark results to judge")]
    EmptyRun,
    /// The baselines have no benchmark.
    #[error("the baselines are empty: nothing to compare with (accept a run first)")]
    NoBaselines,
    /// A benchmark lacks the gated metric.
    #[error("benchmark {id}: the {side} has no `{metric}` value (gate on a metric that both record, or accept with --metric {metric})")]
    MetricAbsent {
        /// The benchmark.
        id: String,
        /// `run` or `baseline`.
        side: &'static str,
        /// The metric.
        metric: String,
    },
}

/// Classifies one change under `rule`.
pub fn classify(baseline: u64, current: u64, rule: &Rule) -> Verdict {
    let delta = i128::from(current) - i128::from(baseline);
    if delta.unsigned_abs() < u128::from(rule.floor) || delta == 0 {
        return Verdict::Unchanged;
    }
    // |delta| / baseline > threshold / 100, evaluated without dividing by zero.
    let exceeds = (delta.unsigned_abs() as f64) * 100.0 > rule.threshold_pct * (baseline as f64);
    match (exceeds, delta > 0) {
        (true, true) => Verdict::Regressed,
        (true, false) => Verdict::Improved,
        _ => Verdict::Unchanged,
    }
}

/// Compares `run` with `baselines` under `policy`.
pub fn compare(
    run: &Run,
    baselines: &BaselineSet,
    policy: &Policy,
) -> Result<Comparison, CompareError> {
    if run.is_empty() {
        return Err(CompareError::EmptyRun);
    }
    if baselines.is_empty() {
        return Err(CompareError::NoBaselines);
    }
    let metric = policy.metric.as_str();
    let base: BTreeMap<BenchId, (&Metrics, Option<&String>)> = baselines
        .suites
        .values()
        .flat_map(|b| {
            b.entries()
                .map(move |(id, m)| (id, (m, b.source_file.as_ref())))
        })
        .collect();

    let mut entries = Vec::with_capacity(run.benchmarks.len() + base.len());
    for (id, result) in &run.benchmarks {
        let rule = policy.rule_for(id);
        let current = result
            .metrics
            .get(metric)
            .ok_or_else(|| CompareError::MetricAbsent {
                id: id.to_string(),
                side: "run",
                metric: metric.to_owned(),
            })?;
        let mut e = BenchComparison {
            id: id.clone(),
            verdict: Verdict::New,
            action: policy.on_new,
            metric: metric.to_owned(),
            baseline: None,
            current: Some(current),
            delta: None,
            change_pct: None,
            threshold_pct: rule.threshold_pct,
            floor: rule.floor,
            source_file: result.source_file.clone(),
            current_metrics: result.metrics.clone(),
        };
        if let Some((bm, _)) = base.get(id) {
            let b = bm.get(metric).ok_or_else(|| CompareError::MetricAbsent {
                id: id.to_string(),
                side: "baseline",
                metric: metric.to_owned(),
            })?;
            let delta = i128::from(current) - i128::from(b);
            e.baseline = Some(b);
            e.delta = Some(delta.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
            e.change_pct = (b != 0).then(|| delta as f64 * 100.0 / b as f64);
            e.verdict = classify(b, current, &rule);
            e.action = match e.verdict {
                Verdict::Regressed => rule.on_regression,
                _ => Action::Ignore,
            };
        }
        entries.push(e);
    }
    for (id, (bm, source_file)) in &base {
        if run.benchmarks.contains_key(id) {
            continue;
        }
        let rule = policy.rule_for(id);
        entries.push(BenchComparison {
            id: id.clone(),
            verdict: Verdict::Missing,
            action: policy.on_missing,
            metric: metric.to_owned(),
            baseline: bm.get(metric),
            current: None,
            delta: None,
            change_pct: None,
            threshold_pct: rule.threshold_pct,
            floor: rule.floor,
            source_file: source_file.cloned(),
            current_metrics: Metrics::default(),
        });
    }

    // Environment: every suite the run or the baselines touch, deduplicated by field.
    let mut changes: Vec<EnvChange> = Vec::new();
    for b in baselines.suites.values() {
        for c in b.environment.diff(&run.environment, &policy.drift_ignore) {
            if !changes.contains(&c) {
                changes.push(c);
            }
        }
    }
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    let environment = EnvironmentCheck {
        verdict: if changes.is_empty() {
            RunVerdict::Consistent
        } else {
            RunVerdict::EnvironmentChanged
        },
        action: policy.on_drift,
        changes,
        current: run.environment.clone(),
    };
    Ok(Comparison::new(metric, entries, environment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(t: f64, floor: u64) -> Rule {
        Rule {
            threshold_pct: t,
            floor,
            on_regression: Action::Fail,
        }
    }

    #[test]
    fn classify_respects_threshold_and_floor() {
        assert_eq!(classify(1000, 1000, &rule(0.5, 0)), Verdict::Unchanged);
        assert_eq!(classify(1000, 1005, &rule(0.5, 0)), Verdict::Unchanged);
        assert_eq!(classify(1000, 1006, &rule(0.5, 0)), Verdict::Regressed);
        assert_eq!(classify(1000, 994, &rule(0.5, 0)), Verdict::Improved);
        assert_eq!(classify(1000, 1006, &rule(0.5, 10)), Verdict::Unchanged);
        assert_eq!(classify(0, 100, &rule(0.5, 10)), Verdict::Regressed);
        assert_eq!(classify(u64::MAX, 0, &rule(0.5, 10)), Verdict::Improved);
    }
}
