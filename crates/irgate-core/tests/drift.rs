//! Drift judged by what can move a count, on real fingerprints: the one recorded in
//! `baselines/` before the pinning was extended (AVX-512 CPU, old tunables), and one
//! written by `irgate bench` on this machine kind (Intel Xeon with AVX-512), plus
//! edits of them for another CPU (an AMD EPYC without AVX-512), another rustc or
//! valgrind, other tunables and an edited canary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use irgate_core::{compare, Comparison, Environment, Gate, Policy, Run, RunVerdict};

fn fixture(name: &str) -> Environment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/env")
        .join(name);
    irgate_core::env::load(&path).unwrap()
}

/// The recorded fingerprint of this machine kind, from `irgate bench`.
fn this_machine() -> Environment {
    fixture("bench-xeon-avx512.json")
}

/// The same machine kind with a CPU that lacks every AVX-512 feature.
fn epyc_without_avx512(mut e: Environment) -> Environment {
    e.cpu_model = Some("AMD EPYC 7B13 64-Core Processor".into());
    let flags: Vec<&str> = e
        .cpu_flags
        .as_deref()
        .unwrap()
        .split(' ')
        .filter(|f| !f.starts_with("avx512"))
        .collect();
    e.cpu_flags = Some(flags.join(" "));
    e
}

fn run_with(env: Environment) -> Run {
    common::fixture_run(env)
}

/// Baselines made in `base`, judged against the same counts measured in `current`
/// (optionally with the first benchmark moved by `move_pct` percent).
fn judge(base: Environment, current: Environment, move_pct: u64, policy: &Policy) -> Comparison {
    let set = common::accept_into_set(&run_with(base));
    let mut run = run_with(current);
    if move_pct > 0 {
        let r = run.benchmarks.values_mut().next().unwrap();
        let ir = r.metrics.ir().unwrap();
        r.metrics.insert("Ir", ir + ir * move_pct / 100);
    }
    compare(&run, &set, policy).unwrap()
}

fn fields(c: &Comparison) -> Vec<String> {
    c.environment
        .as_ref()
        .unwrap()
        .changes
        .iter()
        .map(|c| c.field.clone())
        .collect()
}

#[test]
fn a_cpu_without_avx512_is_the_same_environment() {
    let c = judge(
        this_machine(),
        epyc_without_avx512(this_machine()),
        0,
        &Policy::default(),
    );
    assert_eq!(c.gate, Gate::Passed, "{:?}", c.reasons);
    let env = c.environment.as_ref().unwrap();
    assert_eq!(env.verdict, RunVerdict::Consistent, "{:?}", env.changes);
    let informational: Vec<&str> = env.informational.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(informational, ["cpu_flags", "cpu_model"]);
    assert!(
        c.notes.iter().any(|n| n.contains("cannot move a count")),
        "{:?}",
        c.notes
    );
    // Even with a real regression the verdict is about the code, not the CPU.
    let c = judge(
        this_machine(),
        epyc_without_avx512(this_machine()),
        2,
        &Policy::default(),
    );
    assert_eq!(c.gate, Gate::Failed);
    assert_eq!(c.reasons, ["1 benchmark regressed"]);
}

#[test]
fn the_recorded_baselines_pass_on_a_cpu_without_avx512_when_no_count_moved() {
    // The case: baselines from an AVX-512 CPU under the old tunables, run on
    // an EPYC without AVX-512 under the same tunables. The old tunables left AVX512DQ,
    // BMI1, BMI2 and MOVBE usable, so the effective flags differ; no count moved, so
    // the evidence rule lets the gate pass, with a note that names the fields.
    let old = fixture("recorded-avx512-old-tunables.json");
    let c = judge(
        old.clone(),
        epyc_without_avx512(old.clone()),
        0,
        &Policy::default(),
    );
    assert_eq!(c.gate, Gate::Passed, "{:?}", c.reasons);
    assert_eq!(fields(&c), ["cpu_flags_effective"]);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("no count moved") && n.contains("avx512dq")),
        "{:?}",
        c.notes
    );
    // The recorded baseline against this machine's new fingerprint: differs in the
    // tunables, the canary and more, and still passes when no count moved.
    let c = judge(old, this_machine(), 0, &Policy::default());
    assert_eq!(c.gate, Gate::Passed, "{:?}", c.reasons);
    assert!(fields(&c).contains(&"glibc_tunables".to_owned()));
}

#[test]
fn real_drift_is_reported_and_fails_when_counts_moved() {
    let base = this_machine();
    type Edit = Box<dyn Fn(&mut Environment)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "glibc_tunables",
            Box::new(|e: &mut Environment| e.glibc_tunables = Some(String::new())),
        ),
        (
            "valgrind",
            Box::new(|e: &mut Environment| e.valgrind = Some("valgrind-3.22.0".into())),
        ),
        (
            "rustc",
            Box::new(|e: &mut Environment| e.rustc = Some("rustc 1.96.0 (0 2026-06-01)".into())),
        ),
        (
            "canary.memcpy",
            Box::new(|e: &mut Environment| {
                let v = e.canary.get_mut("memcpy").unwrap();
                *v += *v * 31 / 1000;
            }),
        ),
    ];
    for (field, edit) in edits {
        let mut current = base.clone();
        edit(&mut current);
        // No count moved: drift is reported, the gate passes with a note.
        let c = judge(base.clone(), current.clone(), 0, &Policy::default());
        assert_eq!(c.gate, Gate::Passed, "{field}: {:?}", c.reasons);
        assert!(
            fields(&c).iter().any(|f| f == field),
            "{field}: {:?}",
            fields(&c)
        );
        assert!(
            c.notes.iter().any(|n| n.contains("no count moved")),
            "{field}: {:?}",
            c.notes
        );
        // A count moved: the gate fails, naming the field and saying counts moved.
        let c = judge(base.clone(), current.clone(), 2, &Policy::default());
        assert_eq!(c.gate, Gate::Failed, "{field}");
        let field_name = field.split('.').next().unwrap();
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains(field_name) && r.contains("moved past")),
            "{field}: {:?}",
            c.reasons
        );
        // Without the evidence rule, drift alone fails.
        let strict = Policy {
            drift_evidence: false,
            ..Policy::default()
        };
        let c = judge(base.clone(), current, 0, &strict);
        assert_eq!(c.gate, Gate::Failed, "{field}");
    }
}

#[test]
fn a_changed_canary_says_by_how_much() {
    let base = this_machine();
    let mut current = base.clone();
    for v in current.canary.values_mut() {
        *v += *v * 31 / 1000;
    }
    let c = judge(base, current, 2, &Policy::default());
    let reason = c.reasons.iter().find(|r| r.contains("canary")).unwrap();
    assert!(
        reason.contains("glibc string routines differ: canary +3.1%"),
        "{reason}"
    );
}
