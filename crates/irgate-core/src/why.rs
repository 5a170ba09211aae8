//! Which functions moved: for each regressed or improved benchmark, the functions
//! whose self and inclusive Ir changed most between the stored profile
//! ([`crate::profile`]) and the run's Callgrind outputs ([`crate::callgrind`]).
//!
//! The explanation never invents a reason. When there is no stored profile, when it
//! is stale (its total is not the baseline's Ir), when it or the run's outputs cannot
//! be read, or when the run's outputs do not add up to the benchmark's Ir, the
//! benchmark's [`Why`] says which, and lists no function. What "new" can mean with a
//! stored top N is in [`crate::profile`]; [`MoverKind`] names the cases.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::baseline::BaselineSet;
use crate::callgrind::{CallgrindError, Profile};
use crate::comparison::{BenchComparison, Comparison, Verdict};
use crate::model::BenchId;
use crate::profile::{StoredProfile, StoredProfiles};

/// How many functions each list of a [`Why`] keeps.
pub const MAX_MOVERS: usize = 10;

/// Whether a benchmark's change could be explained by function, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhyStatus {
    /// The movers below explain the change.
    Explained,
    /// No profile is stored for the benchmark.
    NoProfile,
    /// The stored profile's total is not the baseline's Ir.
    StaleProfile,
    /// The suite's profile file cannot be read.
    UnreadableProfile,
    /// The run has no Callgrind output for the benchmark.
    NoRunProfile,
    /// The run's Callgrind output cannot be read.
    UnreadableRunProfile,
    /// The run's Callgrind outputs do not add up to the benchmark's current Ir.
    RunProfileMismatch,
    /// The benchmark is gated on another metric than Ir, which profiles hold.
    OtherMetric,
}

/// What happened to a function between the stored profile and the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoverKind {
    /// Listed in the stored profile and present in the run: exact deltas.
    Changed,
    /// Absent from a stored profile that lists every function of its run: it did
    /// not run then. Deltas are exact (its whole cost).
    New,
    /// Listed in the stored profile, absent from the run (whose profile is
    /// complete): exact deltas (minus its whole cost).
    Vanished,
    /// Not listed in a stored profile that keeps only the top N, and now above
    /// the cutoff: it may have run before, below the cutoff. Its deltas are lower
    /// bounds (current cost minus the cutoff).
    Entered,
}

/// One function that moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mover {
    /// The function's normalized name (untrusted text: escape it to render it).
    pub function: String,
    /// What happened to it.
    pub kind: MoverKind,
    /// Self Ir in the stored profile (absent when not listed there).
    pub baseline_self: Option<u64>,
    /// Self Ir in the run (0 for `vanished`).
    pub current_self: u64,
    /// Inclusive Ir in the stored profile (absent when not listed there).
    pub baseline_inclusive: Option<u64>,
    /// Inclusive Ir in the run (0 for `vanished`).
    pub current_inclusive: u64,
    /// Change of self Ir (a lower bound for `entered`).
    pub self_delta: i64,
    /// Change of inclusive Ir (a lower bound for `entered`).
    pub inclusive_delta: i64,
    /// `100 * self_delta / delta` of the benchmark: this function's share of the
    /// change (self deltas of all functions add up to the benchmark's change).
    pub self_share_pct: Option<f64>,
}

/// Why one benchmark moved, by function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// Whether the movers explain the change.
    pub status: WhyStatus,
    /// One sentence for a reader: what was found, or why nothing is explained.
    pub message: String,
    /// The functions with the largest self Ir changes, largest first (at most
    /// [`MAX_MOVERS`]; empty unless explained).
    #[serde(default)]
    pub self_movers: Vec<Mover>,
    /// The functions with the largest inclusive Ir changes, largest first (at most
    /// [`MAX_MOVERS`]; empty unless explained).
    #[serde(default)]
    pub inclusive_movers: Vec<Mover>,
    /// The combined self change of the functions the stored profile does not list
    /// (exact: the benchmark's change minus the listed functions' changes).
    #[serde(default)]
    pub unlisted_self_delta: i64,
    /// Whether the stored profile lists every function of its run (then an
    /// unlisted function is `new`, never `entered`).
    #[serde(default)]
    pub stored_complete: bool,
}

impl Why {
    fn not_explained(status: WhyStatus, message: String) -> Self {
        Self {
            status,
            message,
            self_movers: Vec::new(),
            inclusive_movers: Vec::new(),
            unlisted_self_delta: 0,
            stored_complete: false,
        }
    }
}

/// What the run holds for one benchmark: `None` when it has no Callgrind output
/// (a result read from a stream, or a run without the outputs).
pub type RunProfile = Option<Result<Profile, CallgrindError>>;

/// The Callgrind outputs Gungraun wrote beside `summary_file` (a benchmark's
/// `summary.json`), read as one profile: `None` when `summary_file` is not a
/// `summary.json` (a stream) or no `callgrind.*.out` is beside it.
pub fn run_profile_beside(summary_file: &std::path::Path) -> RunProfile {
    if summary_file.file_name().is_none_or(|n| n != "summary.json") {
        return None;
    }
    let dir = summary_file.parent()?;
    let outputs = match crate::callgrind::outputs_in(dir) {
        Ok(o) => o,
        Err(e) => return Some(Err(e)),
    };
    if outputs.is_empty() {
        return None;
    }
    Some(Profile::read_files(&outputs))
}

/// Adds a [`Why`] to every regressed and improved benchmark of `comparison`, from
/// the profiles stored with `baselines` and the run's (`run_profile` is asked only
/// for those benchmarks). A profile file that cannot be read adds one note to the
/// comparison naming it; the verdicts do not change.
pub fn explain(
    comparison: &mut Comparison,
    baselines: &BaselineSet,
    mut run_profile: impl FnMut(&BenchId) -> RunProfile,
) {
    let mut noted = BTreeSet::new();
    for b in &mut comparison.benchmarks {
        if !matches!(b.verdict, Verdict::Regressed | Verdict::Improved) {
            continue;
        }
        let suite = b.id.suite();
        let why = match baselines.profile_file(&suite) {
            None => Why::not_explained(
                WhyStatus::NoProfile,
                "no profile is stored for this benchmark (`irgate accept` from a run directory stores one)".into(),
            ),
            Some(StoredProfiles::Unreadable(e)) => {
                if noted.insert(suite.clone()) {
                    comparison.notes.push(format!(
                        "{e}; the benchmarks of {suite} are judged on their totals, without a profile"
                    ));
                }
                Why::not_explained(
                    WhyStatus::UnreadableProfile,
                    format!("the stored profile cannot be read ({e})"),
                )
            }
            Some(StoredProfiles::Loaded(f)) => match f.benchmarks.get(&b.id.key_in_suite()) {
                None => Why::not_explained(
                    WhyStatus::NoProfile,
                    "no profile is stored for this benchmark (`irgate accept` from a run directory stores one)".into(),
                ),
                Some(stored) => explain_one(b, stored, run_profile(&b.id)),
            },
        };
        b.why = Some(why);
    }
}

/// The [`Why`] of one benchmark with a stored profile.
fn explain_one(b: &BenchComparison, stored: &StoredProfile, run: RunProfile) -> Why {
    let (Some(baseline), Some(current), Some(delta)) = (b.baseline, b.current, b.delta) else {
        return Why::not_explained(
            WhyStatus::NoProfile,
            "the benchmark has no baseline and current value to compare".into(),
        );
    };
    if b.metric != crate::model::Metrics::IR {
        return Why::not_explained(
            WhyStatus::OtherMetric,
            format!(
                "profiles hold Ir, and this benchmark is gated on {}",
                b.metric
            ),
        );
    }
    if stored.total != baseline {
        return Why::not_explained(
            WhyStatus::StaleProfile,
            format!(
                "the stored profile is stale: its total is {} Ir but the baseline's {} is {} (accepted without a profile, e.g. by the bot); re-accept from a run directory to refresh it",
                stored.total, b.metric, baseline
            ),
        );
    }
    let profile = match run {
        None => {
            return Why::not_explained(
                WhyStatus::NoRunProfile,
                "the run has no Callgrind output for this benchmark".into(),
            )
        }
        Some(Err(e)) => {
            return Why::not_explained(
                WhyStatus::UnreadableRunProfile,
                format!("the run's Callgrind output cannot be read: {e}"),
            )
        }
        Some(Ok(p)) => p,
    };
    if profile.total_ir != current {
        return Why::not_explained(
            WhyStatus::RunProfileMismatch,
            format!(
                "the run's Callgrind outputs add up to {} Ir, not the benchmark's {current}",
                profile.total_ir
            ),
        );
    }
    let complete = stored.is_complete();
    let share = |d: i64| (delta != 0).then(|| d as f64 * 100.0 / delta as f64);
    let signed = |a: u64, b: u64| {
        (i128::from(a) - i128::from(b)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    };
    let mut all: Vec<Mover> = Vec::new();
    let mut listed_delta: i64 = 0;
    for (name, s) in &stored.functions {
        let (cs, ci, kind) = match profile.functions.get(name) {
            Some(c) => (c.self_ir, c.inclusive_ir, MoverKind::Changed),
            None => (0, 0, MoverKind::Vanished),
        };
        let self_delta = signed(cs, s.self_ir);
        listed_delta = listed_delta.saturating_add(self_delta);
        all.push(Mover {
            function: name.clone(),
            kind,
            baseline_self: Some(s.self_ir),
            current_self: cs,
            baseline_inclusive: Some(s.inclusive),
            current_inclusive: ci,
            self_delta,
            inclusive_delta: signed(ci, s.inclusive),
            self_share_pct: share(self_delta),
        });
    }
    for (name, c) in &profile.functions {
        if stored.functions.contains_key(name) {
            continue;
        }
        let (kind, self_delta, inclusive_delta) = if complete {
            (
                MoverKind::New,
                signed(c.self_ir, 0),
                signed(c.inclusive_ir, 0),
            )
        } else if c.self_ir > stored.self_cutoff || c.inclusive_ir > stored.inclusive_cutoff {
            (
                MoverKind::Entered,
                signed(c.self_ir.saturating_sub(stored.self_cutoff), 0),
                signed(c.inclusive_ir.saturating_sub(stored.inclusive_cutoff), 0),
            )
        } else {
            // Below both cutoffs then and now, as far as the stored profile knows.
            continue;
        };
        all.push(Mover {
            function: name.clone(),
            kind,
            baseline_self: None,
            current_self: c.self_ir,
            baseline_inclusive: None,
            current_inclusive: c.inclusive_ir,
            self_delta,
            inclusive_delta,
            self_share_pct: share(self_delta),
        });
    }
    let top = |key: fn(&Mover) -> i64| {
        let mut v: Vec<Mover> = all.iter().filter(|m| key(m) != 0).cloned().collect();
        v.sort_by(|a, b| {
            key(b)
                .unsigned_abs()
                .cmp(&key(a).unsigned_abs())
                .then_with(|| a.function.cmp(&b.function))
        });
        v.truncate(MAX_MOVERS);
        v
    };
    let self_movers = top(|m| m.self_delta);
    let inclusive_movers = top(|m| m.inclusive_delta);
    let unlisted = delta.saturating_sub(listed_delta);
    let message = match self_movers.first() {
        Some(m) => format!(
            "largest self change: {} {:+} Ir ({})",
            m.function,
            m.self_delta,
            m.self_share_pct
                .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}% of the change"))
        ),
        None => "no listed function moved".to_owned(),
    };
    Why {
        status: WhyStatus::Explained,
        message,
        self_movers,
        inclusive_movers,
        unlisted_self_delta: unlisted,
        stored_complete: complete,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::Action;

    fn prof(costs: &[(&str, u64, u64)]) -> Profile {
        Profile::of(costs)
    }

    fn entry(baseline: u64, current: u64) -> BenchComparison {
        BenchComparison {
            id: "pkg/ir/g/f".parse().unwrap(),
            verdict: Verdict::Regressed,
            action: Action::Fail,
            metric: "Ir".into(),
            baseline: Some(baseline),
            current: Some(current),
            delta: Some(current as i64 - baseline as i64),
            change_pct: None,
            threshold_pct: 0.5,
            floor: 10,
            source_file: None,
            current_metrics: crate::model::Metrics::default(),
            why: None,
        }
    }

    #[test]
    fn exact_deltas_add_up_and_unlisted_functions_are_entered_not_new() {
        let before = prof(&[
            ("main", 10, 1000),
            ("dispatch", 500, 990),
            ("malloc", 300, 300),
            ("free", 100, 100),
            ("small", 5, 5),
            ("gone", 85, 85),
        ]);
        let stored = StoredProfile::from_profile(&before, 4);
        assert!(!stored.is_complete());
        assert_eq!(stored.self_cutoff, 5);
        let after = prof(&[
            ("main", 10, 1310),
            ("dispatch", 560, 1290),
            ("malloc", 450, 450),
            ("free", 160, 160),
            ("small", 5, 5),
            ("gone", 85, 85),
            ("memcpy", 30, 30),
        ]);
        let b = entry(before.total_ir, after.total_ir);
        let why = explain_one(&b, &stored, Some(Ok(after)));
        assert_eq!(why.status, WhyStatus::Explained, "{}", why.message);
        let got: Vec<(&str, MoverKind, i64)> = why
            .self_movers
            .iter()
            .map(|m| (m.function.as_str(), m.kind, m.self_delta))
            .collect();
        assert_eq!(
            got,
            [
                ("malloc", MoverKind::Changed, 150),
                ("dispatch", MoverKind::Changed, 60),
                ("free", MoverKind::Changed, 60),
                // Not listed (below the cutoff of 5 before): at least 30 - 5.
                ("memcpy", MoverKind::Entered, 25),
            ]
        );
        // The listed functions' deltas and the unlisted rest add up to the change.
        let listed: i64 = 150 + 60 + 60;
        assert_eq!(why.unlisted_self_delta, b.delta.unwrap() - listed);
        assert_eq!(why.unlisted_self_delta, 30);
        assert!((why.self_movers[0].self_share_pct.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(why.inclusive_movers[0].function, "main");
    }

    #[test]
    fn a_complete_profile_has_new_and_vanished_functions() {
        let before = prof(&[("main", 10, 20), ("old", 10, 10)]);
        let stored = StoredProfile::from_profile(&before, 30);
        let after = prof(&[("main", 10, 40), ("fresh", 30, 30)]);
        let b = entry(20, 40);
        let why = explain_one(&b, &stored, Some(Ok(after)));
        let kinds: BTreeMap<&str, (MoverKind, i64)> = why
            .self_movers
            .iter()
            .map(|m| (m.function.as_str(), (m.kind, m.self_delta)))
            .collect();
        assert_eq!(kinds["fresh"], (MoverKind::New, 30));
        assert_eq!(kinds["old"], (MoverKind::Vanished, -10));
        // The unlisted functions' change is the new function's cost.
        assert_eq!(why.unlisted_self_delta, 30);
    }

    #[test]
    fn never_explains_with_a_stale_or_missing_profile() {
        let before = prof(&[("main", 100, 100)]);
        let stored = StoredProfile::from_profile(&before, 30);
        let after = prof(&[("main", 200, 200)]);
        let stale = explain_one(&entry(150, 200), &stored, Some(Ok(after.clone())));
        assert_eq!(stale.status, WhyStatus::StaleProfile);
        assert!(stale.self_movers.is_empty());
        assert!(stale.message.contains("stale"), "{}", stale.message);

        let mut dr = entry(100, 200);
        dr.metric = "Dr".into();
        let other = explain_one(&dr, &stored, Some(Ok(prof(&[("main", 200, 200)]))));
        assert_eq!(other.status, WhyStatus::OtherMetric);
        assert!(other.self_movers.is_empty());

        let none = explain_one(&entry(100, 200), &stored, None);
        assert_eq!(none.status, WhyStatus::NoRunProfile);

        let mismatch = explain_one(&entry(100, 201), &stored, Some(Ok(after)));
        assert_eq!(mismatch.status, WhyStatus::RunProfileMismatch);
        assert!(mismatch.self_movers.is_empty());

        let bad = CallgrindError::Syntax {
            path: "x/callgrind.f.out".into(),
            line: 7,
            message: "boom".into(),
        };
        let e = explain_one(&entry(100, 200), &stored, Some(Err(bad)));
        assert_eq!(e.status, WhyStatus::UnreadableRunProfile);
        assert!(
            e.message.contains("x/callgrind.f.out:7: boom"),
            "{}",
            e.message
        );
    }
}
