//! Property tests: compare invariants, and parsers that never panic on any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use irgate_core::baseline::{Baseline, BaselineEntry, BaselineSet, Provenance};
use irgate_core::read::{parse_text, ReadOptions};
use irgate_core::render::{markdown, MarkdownOptions};
use irgate_core::{
    compare, BenchId, BenchResult, Comparison, Environment, Gate, Metrics, Policy, Run, Verdict,
};
use proptest::prelude::*;

fn build(irs: &[u64]) -> (Run, BaselineSet) {
    let mut run = Run::default();
    let mut benchmarks = BTreeMap::new();
    for (i, ir) in irs.iter().enumerate() {
        let id: BenchId = format!("pkg/suite/g/f{i:03}").parse().unwrap();
        let mut m = Metrics::default();
        m.insert("Ir", *ir);
        benchmarks.insert(id.key_in_suite(), m.clone());
        run.benchmarks.insert(
            id,
            BenchResult {
                metrics: m,
                source_file: None,
            },
        );
    }
    let b = Baseline {
        package: "pkg".into(),
        bench: "suite".into(),
        source_file: None,
        environment: Environment::default(),
        benchmarks: BaselineEntry::all_with(benchmarks, &Provenance::default()),
    };
    let mut set = BaselineSet::default();
    set.suites.insert(b.suite(), b);
    (run, set)
}

proptest! {
    #[test]
    fn run_against_itself_is_all_unchanged(irs in prop::collection::vec(0u64..u64::MAX / 4, 1..40)) {
        let (run, set) = build(&irs);
        let c = compare(&run, &set, &Policy::default()).unwrap();
        prop_assert_eq!(c.gate, Gate::Passed);
        prop_assert_eq!(c.exit_code(), 0);
        prop_assert!(c.benchmarks.iter().all(|b| b.verdict == Verdict::Unchanged));
        prop_assert_eq!(c.counts.unchanged, irs.len());
    }

    #[test]
    fn scaling_one_past_the_threshold_flips_exactly_that_one(
        irs in prop::collection::vec(100_000u64..1_000_000_000, 1..30),
        pick in any::<prop::sample::Index>(),
        eps in 0.001f64..0.5,
        t in 0.1f64..5.0,
    ) {
        let i = pick.index(irs.len());
        let policy = Policy {
            threshold_pct: t,
            floor: 0,
            ..Policy::default()
        };
        let (base_run, set) = build(&irs);
        let mut run = base_run.clone();
        let id = run.benchmarks.keys().nth(i).unwrap().clone();
        let scaled = (irs[i] as f64 * (1.0 + (t + eps) / 100.0)).ceil() as u64;
        run.benchmarks.get_mut(&id).unwrap().metrics.insert("Ir", scaled);
        let c = compare(&run, &set, &policy).unwrap();
        for b in &c.benchmarks {
            if b.id == id {
                prop_assert_eq!(b.verdict, Verdict::Regressed);
            } else {
                prop_assert_eq!(b.verdict, Verdict::Unchanged);
            }
        }
        prop_assert_eq!(c.gate, Gate::Failed);
        prop_assert_eq!(c.regressions().count(), 1);
    }

    #[test]
    fn within_threshold_never_fails(
        irs in prop::collection::vec(1_000u64..1_000_000_000, 1..30),
        frac in 0.0f64..0.999,
    ) {
        let policy = Policy { floor: 0, ..Policy::default() };
        let (base, set) = build(&irs);
        let mut run = base.clone();
        for r in run.benchmarks.values_mut() {
            let ir = r.metrics.ir().unwrap();
            let up = (ir as f64 * policy.threshold_pct / 100.0 * frac).floor() as u64;
            r.metrics.insert("Ir", ir + up);
        }
        let c = compare(&run, &set, &policy).unwrap();
        prop_assert_eq!(c.gate, Gate::Passed);
    }

    #[test]
    fn counts_and_markdown_agree_with_entries(
        pairs in prop::collection::vec((1u64..10_000_000, 1u64..10_000_000), 1..60),
        drop_some in any::<bool>(),
    ) {
        let (mut run, set) = build(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
        for (i, r) in run.benchmarks.values_mut().enumerate() {
            r.metrics.insert("Ir", pairs[i].1);
        }
        if drop_some {
            let first = run.benchmarks.keys().next().unwrap().clone();
            run.benchmarks.remove(&first);
        }
        if run.benchmarks.is_empty() {
            return Ok(());
        }
        let c = compare(&run, &set, &Policy::default()).unwrap();
        let back = Comparison::from_json(&c.to_json()).unwrap();
        prop_assert_eq!(back.to_json(), c.to_json());
        let md = markdown(&c, &MarkdownOptions::default());
        let headline = md.lines().next().unwrap();
        let expected_regressed = format!("{} regressed", c.regressions().count());
        let expected_missing = format!("{} missing", c.with_verdict(Verdict::Missing).count());
        prop_assert!(headline.contains(&expected_regressed));
        prop_assert!(headline.contains(&expected_missing));
        prop_assert_eq!(c.gate == Gate::Failed, c.failures().count() > 0);
    }

    #[test]
    fn summary_parser_never_panics_on_text(s in ".{0,400}") {
        let _ = parse_text(Path::new("x.json"), &s, &ReadOptions::default());
    }

    #[test]
    fn summary_parser_never_panics_on_mutated_real_summary(
        cut in 0usize..20_000,
        byte in any::<u8>(),
    ) {
        let text = include_str!("fixtures/v7/irgate-fixture-bench/fixture/compute/scaled/summary.json");
        let mut bytes = text.as_bytes().to_vec();
        let at = cut % bytes.len();
        bytes[at] = byte;
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_text(Path::new("x.json"), &s, &ReadOptions::default());
        let _ = parse_text(Path::new("x.json"), &text[..at], &ReadOptions::default());
    }

    #[test]
    fn baseline_and_policy_parsers_never_panic(s in "[a-z_=\\[\\]\". 0-9\n{}-]{0,300}") {
        let _ = Baseline::parse(Path::new("b.toml"), &s);
        let _ = Policy::parse(Path::new("p.toml"), &s);
        let _ = Comparison::from_json(&s);
    }

    #[test]
    fn bench_id_text_round_trips(parts in prop::collection::vec("[^/]{1,12}", 4..=5)) {
        let text = parts.join("/");
        let dots = parts.iter().any(|p| p == "." || p == "..");
        match text.parse::<BenchId>() {
            Ok(id) => {
                prop_assert!(!dots);
                prop_assert_eq!(id.to_string(), text);
            }
            // `.` and `..` are the only parts refused (they would leave baselines/).
            Err(_) => prop_assert!(dots),
        }
    }
}
