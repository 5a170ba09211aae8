//! Comparing a run with baselines under a policy.

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
    /// A policy override matches no benchmark of the run or the baselines: a typo
    /// there would silently leave the benchmarks it meant under the defaults.
    #[error("{}override `match = {pattern:?}` matches no benchmark in the run or the baselines{}", at.as_deref().map(|a| format!("{a}: ")).unwrap_or_default(), closest_text(closest))]
    OverrideMatchesNothing {
        /// Where the override is written.
        at: Option<String>,
        /// Its pattern.
        pattern: String,
        /// The benchmark ids closest to the pattern.
        closest: Vec<String>,
    },
    /// The `--only` patterns left nothing of the run.
    #[error("--only {}: the filter matched no benchmark of the run (ids look like `{example}`)", patterns.join(" --only "))]
    ScopeMatchesNothing {
        /// The patterns given.
        patterns: Vec<String>,
        /// An id of the run, to show the form.
        example: String,
    },
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

fn closest_text(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest ids: {}", closest.join(", "))
    }
}

/// How many similar ids an unmatched override's error suggests.
const SUGGESTIONS: usize = 3;

/// Refuses a policy override that matches no benchmark id of `run` or `baselines`,
/// naming the closest ids.
pub fn check_overrides(
    run: &Run,
    baselines: &BaselineSet,
    policy: &Policy,
) -> Result<(), CompareError> {
    if policy.overrides.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = run
        .benchmarks
        .keys()
        .cloned()
        .chain(
            baselines
                .suites
                .values()
                .flat_map(|b| b.entries().map(|(id, _)| id)),
        )
        .map(|id| id.to_string())
        .collect();
    for o in &policy.overrides {
        if ids.iter().any(|id| o.matches(id)) {
            continue;
        }
        let mut scored: Vec<(f64, &String)> = ids
            .iter()
            .map(|id| (strsim::normalized_levenshtein(&o.pattern, id), id))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored.dedup_by(|a, b| a.1 == b.1);
        return Err(CompareError::OverrideMatchesNothing {
            at: o.at.clone(),
            pattern: o.pattern.clone(),
            closest: scored
                .into_iter()
                .take(SUGGESTIONS)
                .map(|(_, id)| id.clone())
                .collect(),
        });
    }
    Ok(())
}

/// Compares the part of `run` and `baselines` in `scope` under `policy`. The policy's
/// overrides are checked against the whole run and baselines first (an override for
/// benchmarks outside the scope is not a typo); `run` and `baselines` are left scoped.
pub fn compare_in_scope(
    run: &mut Run,
    baselines: &mut BaselineSet,
    policy: &Policy,
    scope: &crate::scope::Scope,
) -> Result<Comparison, CompareError> {
    if !run.is_empty() && !baselines.is_empty() {
        check_overrides(run, baselines, policy)?;
    }
    let example = run.benchmarks.keys().next().map(ToString::to_string);
    scope.apply(run, baselines);
    if let (true, Some(example)) = (run.is_empty() && !scope.patterns.is_empty(), example) {
        return Err(CompareError::ScopeMatchesNothing {
            patterns: scope.patterns.clone(),
            example,
        });
    }
    compare_checked(run, baselines, policy)
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

/// The entry of a baseline benchmark that the run lacks.
fn missing(
    id: BenchId,
    bm: &Metrics,
    source_file: Option<&String>,
    metric: &str,
    policy: &Policy,
) -> BenchComparison {
    let rule = policy.rule_for(&id);
    BenchComparison {
        id,
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
        why: None,
    }
}

/// Compares `run` with `baselines` under `policy`; an override that matches no
/// benchmark is an error ([`check_overrides`]).
pub fn compare(
    run: &Run,
    baselines: &BaselineSet,
    policy: &Policy,
) -> Result<Comparison, CompareError> {
    if !run.is_empty() && !baselines.is_empty() {
        check_overrides(run, baselines, policy)?;
    }
    compare_checked(run, baselines, policy)
}

/// [`compare`] without the override check.
fn compare_checked(
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
    // Both sides sorted by id, then walked together: one pass, no map lookups.
    let mut base: Vec<(BenchId, &Metrics, Option<&String>)> = baselines
        .suites
        .values()
        .flat_map(|b| {
            b.entries()
                .map(move |(id, m)| (id, m, b.source_file.as_ref()))
        })
        .collect();
    base.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let mut entries = Vec::with_capacity(run.benchmarks.len() + base.len());
    let mut base = base.into_iter().peekable();
    for (id, result) in &run.benchmarks {
        // Baselines ordered before this id have no benchmark in the run.
        while let Some((bid, bm, source_file)) = base.next_if(|(bid, _, _)| bid < id) {
            entries.push(missing(bid, bm, source_file, metric, policy));
        }
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
            why: None,
        };
        if let Some((_, bm, _)) = base.next_if(|(bid, _, _)| bid == id) {
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
    for (bid, bm, source_file) in base {
        entries.push(missing(bid, bm, source_file, metric, policy));
    }

    // Environment: every suite the run or the baselines touch, deduplicated by field.
    let mut changes: Vec<EnvChange> = Vec::new();
    let mut informational: Vec<EnvChange> = Vec::new();
    for b in baselines.suites.values() {
        for c in b.environment.diff(&run.environment, &policy.drift_ignore) {
            let list = if c.informational {
                &mut informational
            } else {
                &mut changes
            };
            if !list.contains(&c) {
                list.push(c);
            }
        }
    }
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    informational.sort_by(|a, b| a.field.cmp(&b.field));
    let environment = EnvironmentCheck {
        verdict: if changes.is_empty() {
            RunVerdict::Consistent
        } else {
            RunVerdict::EnvironmentChanged
        },
        action: policy.on_drift,
        changes,
        current: run.environment.clone(),
        informational,
        evidence_rule: policy.drift_evidence,
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
