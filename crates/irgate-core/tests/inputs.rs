//! Reading real summaries, and every bad-input case: each fails closed with a message
//! that names the file (and line where there is one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use irgate_core::baseline::{self, Baseline, BaselineError, BaselineSet, Provenance};
use irgate_core::read::{parse_text, read_paths, ReadError, ReadOptions};
use irgate_core::{compare, Environment, Gate, Policy, RunVerdict, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn v7_scaled() -> String {
    std::fs::read_to_string(
        fixtures().join("v7/irgate-fixture-bench/fixture/compute/scaled/summary.json"),
    )
    .unwrap()
}

#[test]
fn reads_real_v7_directory() {
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let ids: Vec<String> = run.benchmarks.keys().map(ToString::to_string).collect();
    assert_eq!(
        ids,
        [
            "irgate-fixture-bench/fixture/compute/fibonacci/large",
            "irgate-fixture-bench/fixture/compute/fibonacci/small",
            "irgate-fixture-bench/fixture/compute/scaled",
            "irgate-fixture-bench/fixture/memory/clone_64k",
        ]
    );
    for (id, r) in &run.benchmarks {
        assert!(r.metrics.ir().unwrap() > 1000, "{id}");
        assert!(!id.to_string().contains("/home"), "{id}");
        assert_eq!(r.source_file.as_deref(), Some("benches/fixture.rs"));
        // Rates are not counts and are not kept.
        assert!(r.metrics.get("L1HitRate").is_none());
    }
}

#[test]
fn stream_and_directory_give_the_same_ids() {
    let a = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let b = read_paths(
        &[fixtures().join("stream-v7.jsonl")],
        Environment::default(),
        &opts(),
    )
    .unwrap();
    let ka: Vec<_> = a.benchmarks.keys().collect();
    let kb: Vec<_> = b.benchmarks.keys().collect();
    assert_eq!(ka, kb);
    // Ir is deterministic: two runs of the same build agree exactly.
    for (id, r) in &a.benchmarks {
        assert_eq!(r.metrics.ir(), b.benchmarks[id].metrics.ir(), "{id}");
    }
}

#[test]
fn reads_v6_summary() {
    let run = read_paths(&[fixtures().join("v6")], Environment::default(), &opts()).unwrap();
    let (id, r) = run.benchmarks.iter().next().unwrap();
    assert_eq!(
        id.to_string(),
        "irgate-fixture-bench/fixture/compute/scaled"
    );
    assert_eq!(r.metrics.ir(), Some(70_021));
    assert_eq!(r.metrics.get("Dr"), Some(20_011));
    // Absolute benchmark_file from another machine and no repo root: not kept.
    assert_eq!(r.source_file, None);
}

#[test]
fn absolute_paths_from_another_machine_are_never_in_ids_and_map_to_the_repo() {
    // The v6 fixture carries /home/runner/... paths; with this repository as root the
    // source file is found by its longest existing suffix.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let options = ReadOptions {
        repo_root: Some(repo.canonicalize().unwrap()),
    };
    let run = read_paths(&[fixtures().join("v6")], Environment::default(), &options).unwrap();
    let (id, r) = run.benchmarks.iter().next().unwrap();
    assert!(!id.to_string().contains("home"));
    assert_eq!(
        r.source_file.as_deref(),
        Some("crates/irgate/tests/fixture-bench/benches/fixture.rs")
    );
    // The same for v7, whose benchmark_file is relative to an absolute project_root.
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &options).unwrap();
    for (id, r) in &run.benchmarks {
        assert!(!id.to_string().contains("home"), "{id}");
        assert_eq!(
            r.source_file.as_deref(),
            Some("crates/irgate/tests/fixture-bench/benches/fixture.rs"),
            "{id}"
        );
    }
}

#[test]
fn truncated_json_names_file_and_line() {
    let text = v7_scaled();
    let cut = &text[..text.len() / 2];
    let e = parse_text(Path::new("cut/summary.json"), cut, &opts()).unwrap_err();
    assert!(matches!(e, ReadError::Json { .. }), "{e}");
    assert!(e.to_string().starts_with("cut/summary.json:1:"), "{e}");
}

#[test]
fn invalid_json_is_an_error() {
    for bad in [
        "",
        "   ",
        "{not json}",
        "[1,2",
        "null",
        "{\"version\": \"7\"} trailing",
    ] {
        let e = parse_text(Path::new("x.json"), bad, &opts()).unwrap_err();
        assert!(e.to_string().contains("x.json"), "{bad:?}: {e}");
    }
}

#[test]
fn unknown_schema_version_is_rejected() {
    let text = v7_scaled().replace("\"version\":\"7\"", "\"version\":\"8\"");
    let e = parse_text(Path::new("s.json"), &text, &opts()).unwrap_err();
    assert!(matches!(e, ReadError::UnsupportedVersion { ref version, .. } if version == "8"));
    assert!(
        e.to_string().contains("unsupported summary schema version"),
        "{e}"
    );
}

#[test]
fn nan_and_negative_counts_are_rejected() {
    let text = v7_scaled();
    assert!(text.contains("\"new\":70021"));
    for (bad, what) in [
        ("-5", "negative"),
        ("NaN", "invalid JSON"),
        ("1.5", "non-integer"),
        ("\"7\"", "not a number"),
    ] {
        let t = text.replace("\"new\":70021", &format!("\"new\":{bad}"));
        let e = parse_text(Path::new("s.json"), &t, &opts()).unwrap_err();
        assert!(e.to_string().contains(what), "{bad}: {e}");
    }
}

#[test]
fn duplicate_benchmarks_across_shards_are_an_error() {
    let e = read_paths(
        &[fixtures().join("v7"), fixtures().join("stream-v7.jsonl")],
        Environment::default(),
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(e, ReadError::Duplicate { .. }), "{e}");
    assert!(e.to_string().contains("appears twice"), "{e}");
}

#[test]
fn empty_run_and_empty_directory_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_paths(&[dir.path().to_owned()], Environment::default(), &opts()).unwrap_err();
    assert!(matches!(e, ReadError::NoSummaries(_)), "{e}");
    let e = read_paths(&[], Environment::default(), &opts()).unwrap_err();
    assert!(matches!(e, ReadError::Empty), "{e}");
}

#[test]
fn missing_path_is_an_error() {
    let e = read_paths(
        &[PathBuf::from("does/not/exist")],
        Environment::default(),
        &opts(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("does/not/exist"), "{e}");
}

/// Reads `paths` and returns the error, which must name `names` (a path part).
fn read_err(paths: &[PathBuf], names: &str) -> ReadError {
    let e = read_paths(paths, Environment::default(), &opts()).unwrap_err();
    assert!(e.to_string().contains(names), "{e}");
    e
}

/// Directories and summaries that cannot be read, whoever runs the test (root ignores
/// permission bits, so these use failures that permissions do not cause).
#[cfg(unix)]
#[test]
fn unreadable_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A results path that is a symlink loop (ELOOP).
    let looped = dir.path().join("looped");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let e = read_err(&[looped], "looped");
    assert!(matches!(e, ReadError::Io { .. }), "{e:?}");

    // A results path below a regular file (ENOTDIR).
    let file = write(dir.path(), "plain", "x");
    let e = read_err(&[file.join("results")], "plain/results");
    assert!(matches!(e, ReadError::Io { .. }), "{e:?}");

    // Inside a results tree: a summary that is a looping link, a directory, a FIFO.
    for (case, make) in [("link", 0), ("directory", 1), ("fifo", 2)] {
        let tree = dir.path().join(format!("tree-{case}"));
        write(&tree, "a/good/summary.json", &v7_scaled());
        let bad = tree.join("b/bad").join("summary.json");
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        match make {
            0 => std::os::unix::fs::symlink(&bad, &bad).unwrap(),
            1 => std::fs::create_dir(&bad).unwrap(),
            _ => {
                let ok = std::process::Command::new("mkfifo")
                    .arg(&bad)
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
        }
        let e = read_err(&[tree], "b/bad/summary.json");
        assert!(matches!(e, ReadError::Io { .. }), "{case}: {e:?}");
    }
}

/// A directory with mode 000. Root reads it regardless, so this case is asserted only
/// when the permission actually denies access (the test then checks it strictly).
#[cfg(unix)]
#[test]
fn permission_denied_directory_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("locked");
    write(&sub, "a/summary.json", &v7_scaled());
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o000)).unwrap();
    let denied = std::fs::read_dir(&sub).is_err();
    let r = read_paths(&[dir.path().to_owned()], Environment::default(), &opts());
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    if denied {
        let e = r.unwrap_err();
        assert!(e.to_string().contains("locked"), "{e}");
        assert!(matches!(e, ReadError::Io { .. }), "{e:?}");
    } else {
        // Running as root: permission bits deny nothing; the cases that deny even root
        // are in `unreadable_directory_is_an_error`.
        assert_eq!(r.unwrap().benchmarks.len(), 1);
    }
}

#[test]
fn a_summary_without_callgrind_profile_is_an_error() {
    let text = v7_scaled().replace("\"tool\":\"Callgrind\"", "\"tool\":\"DHAT\"");
    let e = parse_text(Path::new("s.json"), &text, &opts()).unwrap_err();
    assert!(e.to_string().contains("no Callgrind profile"), "{e}");
}

fn sample_baseline() -> Baseline {
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let set = BaselineSet::default();
    let plan = baseline::plan_accept(
        &set,
        &run,
        &baseline::AcceptOptions {
            only: None,
            provenance: &Provenance {
                commit: "abc".into(),
                accepted_at: "2026-11-27T21:00:00Z".into(),
                accepted_by: "tester".into(),
                reason: "test".into(),
            },
            metrics: &["Dr".into()],
            profiles: None,
        },
    )
    .unwrap();
    Baseline::parse(&plan[0].relative_path, &plan[0].contents).unwrap()
}

#[test]
fn malformed_baseline_toml_reports_the_line() {
    let text = sample_baseline().to_toml().unwrap();
    let bad = text.replacen("Ir = ", "Ir = -", 1);
    let line = bad.lines().position(|l| l.contains("Ir = -")).unwrap() + 1;
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(matches!(e, BaselineError::Parse { .. }), "{e}");
    assert!(e.to_string().starts_with(&format!("b.toml:{line}:")), "{e}");

    let bad = text.replacen("[environment]", "[environment\n", 1);
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(e.to_string().starts_with("b.toml:"), "{e}");

    let bad = text.replacen(
        "schema_version = 2",
        "schema_version = 2\nsurprise = true",
        1,
    );
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(e.to_string().contains("surprise"), "{e}");

    // A provenance key holding a number, or a metric holding text, names its line.
    let bad = text.replacen("accepted_by = \"tester\"", "accepted_by = 3", 1);
    let line = bad.lines().position(|l| l == "accepted_by = 3").unwrap() + 1;
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(e.to_string().starts_with(&format!("b.toml:{line}:")), "{e}");
    let bad = text.replacen("accepted_in = ", "acceptd_in = ", 1);
    let line = bad
        .lines()
        .position(|l| l.starts_with("acceptd_in"))
        .unwrap()
        + 1;
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(e.to_string().starts_with(&format!("b.toml:{line}:")), "{e}");
    // A benchmark without its provenance is refused, naming the missing key.
    let bad = text.replacen("reason = \"test\"\n", "", 1);
    let e = Baseline::parse(Path::new("b.toml"), &bad).unwrap_err();
    assert!(matches!(e, BaselineError::Parse { .. }), "{e}");
    assert!(e.to_string().contains("reason"), "{e}");
}

/// A schema version 1 file (one file-level provenance), as irgate wrote it before.
const V1_BASELINE: &str = r#"schema_version = 1
package = "pkg"
bench = "ir"
source_file = "benches/ir.rs"

[provenance]
commit = "1111111111111111111111111111111111111111"
accepted_at = "2026-11-01T10:00:00Z"
accepted_by = "alice"
reason = "first baselines"

[environment]
glibc_tunables = "glibc.cpu.hwcaps=-ERMS"

[benchmarks."g/a"]
Dr = 5
Ir = 100

[benchmarks."g/b"]
Ir = 200
"#;

#[test]
fn schema_1_is_read_with_the_file_provenance_on_every_benchmark_and_rewritten_as_2() {
    let b = Baseline::parse(Path::new("pkg/ir.toml"), V1_BASELINE).unwrap();
    assert_eq!(b.benchmarks.len(), 2);
    for e in b.benchmarks.values() {
        assert_eq!(
            e.provenance.commit,
            "1111111111111111111111111111111111111111"
        );
        assert_eq!(e.provenance.accepted_by, "alice");
        assert_eq!(e.provenance.reason, "first baselines");
    }
    assert_eq!(b.benchmarks["g/a"].metrics.get("Dr"), Some(5));
    let text = b.to_toml().unwrap();
    assert!(text.contains("schema_version = 2\n"), "{text}");
    assert!(!text.contains("[provenance]"), "{text}");
    assert!(
        text.contains(
            "[benchmarks.\"g/a\"]\nDr = 5\nIr = 100\naccepted_at = \"2026-11-01T10:00:00Z\"\n\
             accepted_by = \"alice\"\naccepted_in = \"1111111111111111111111111111111111111111\"\n\
             reason = \"first baselines\"\n"
        ),
        "{text}"
    );
    assert_eq!(Baseline::parse(Path::new("pkg/ir.toml"), &text).unwrap(), b);

    // A v1 file keeps v1 keys only: per-benchmark provenance there is unknown.
    let bad = V1_BASELINE.replacen("Ir = 200", "Ir = 200\nreason = \"x\"", 1);
    let e = Baseline::parse(Path::new("pkg/ir.toml"), &bad).unwrap_err();
    assert!(e.to_string().starts_with("pkg/ir.toml:"), "{e}");
}

#[test]
fn an_unknown_schema_version_names_the_file_and_the_versions_read() {
    let text = V1_BASELINE.replacen("schema_version = 1", "schema_version = 7", 1);
    let e = Baseline::parse(Path::new("pkg/ir.toml"), &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pkg/ir.toml: unsupported baseline schema_version 7 (this irgate reads 1 and 2)"
    );
    let e = Baseline::parse(Path::new("pkg/ir.toml"), "package = \"pkg\"\n").unwrap_err();
    assert!(e.to_string().starts_with("pkg/ir.toml:1:"), "{e}");
    assert!(e.to_string().contains("schema_version"), "{e}");
}

#[test]
fn a_full_accept_gives_new_provenance_only_to_the_numbers_it_moves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/ir.toml"), V1_BASELINE).unwrap();
    let set = baseline::load_dir(dir.path()).unwrap();
    let mut run = irgate_core::Run {
        environment: Environment {
            glibc_tunables: Some("glibc.cpu.hwcaps=-ERMS".into()),
            ..Environment::default()
        },
        ..irgate_core::Run::default()
    };
    for (id, ir, dr) in [("pkg/ir/g/a", 100, 5), ("pkg/ir/g/b", 250, 0)] {
        let mut m = irgate_core::Metrics::default();
        m.insert("Ir", ir);
        if dr > 0 {
            m.insert("Dr", dr);
        }
        run.benchmarks.insert(
            id.parse().unwrap(),
            irgate_core::BenchResult {
                metrics: m,
                source_file: None,
            },
        );
    }
    let prov = Provenance {
        commit: "2222222222222222222222222222222222222222".into(),
        accepted_at: "2026-12-01T10:00:00Z".into(),
        accepted_by: "bob".into(),
        reason: "b got slower".into(),
    };
    let plan = baseline::plan_accept(
        &set,
        &run,
        &baseline::AcceptOptions {
            only: None,
            provenance: &prov,
            metrics: &baseline::default_metrics(),
            profiles: None,
        },
    )
    .unwrap();
    let b = Baseline::parse(&plan[0].relative_path, &plan[0].contents).unwrap();
    let old = &set.suites[&b.suite()];
    // g/a did not move: its entry, provenance included, is the old one.
    assert_eq!(b.benchmarks["g/a"], old.benchmarks["g/a"]);
    assert_eq!(b.benchmarks["g/b"].metrics.ir(), Some(250));
    assert_eq!(b.benchmarks["g/b"].provenance, prov);
    // Accepting the same run again changes nothing at all.
    let again = BaselineSet::default().with_planned(&plan).unwrap();
    let plan2 = baseline::plan_accept(
        &again,
        &run,
        &baseline::AcceptOptions {
            only: None,
            provenance: &Provenance::default(),
            metrics: &baseline::default_metrics(),
            profiles: None,
        },
    )
    .unwrap();
    assert_eq!(plan2[0].contents, plan[0].contents);
}

#[test]
fn malformed_policy_reports_the_line() {
    let e = Policy::parse(
        Path::new("irgate.toml"),
        "metric = \"Ir\"\nfloor = \"ten\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("irgate.toml:2:"), "{e}");
}

#[test]
fn baseline_from_a_different_environment_is_drift() {
    let mut b = sample_baseline();
    b.environment.glibc_tunables = Some("glibc.cpu.hwcaps=-ERMS".into());
    let mut set = BaselineSet::default();
    set.suites.insert(b.suite(), b);
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let c = compare(&run, &set, &Policy::default()).unwrap();
    let env = c.environment.as_ref().unwrap();
    assert_eq!(env.verdict, RunVerdict::EnvironmentChanged);
    assert_eq!(env.changes[0].field, "glibc_tunables");
    // No count moved: the evidence rule lets the gate pass, with a note naming the field.
    assert_eq!(c.gate, Gate::Passed);
    assert!(
        c.notes.iter().any(|n| n.contains("glibc_tunables")),
        "{:?}",
        c.notes
    );
    // Without the evidence rule, drift alone fails the gate.
    let strict = Policy::parse(Path::new("p.toml"), "drift_evidence = false\n").unwrap();
    let c = compare(&run, &set, &strict).unwrap();
    assert_eq!(c.gate, Gate::Failed);
    // Under a lenient policy the same drift is only a warning.
    let lenient = Policy::parse(Path::new("p.toml"), "on_drift = \"warn\"\n").unwrap();
    let c = compare(&run, &set, &lenient).unwrap();
    assert_eq!(c.gate, Gate::Passed);
    assert!(c.environment_changed());
}

#[test]
fn baseline_dir_missing_or_empty_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = baseline::load_dir(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(e, BaselineError::MissingDir(_)), "{e}");
    let e = baseline::load_dir(dir.path()).unwrap_err();
    assert!(matches!(e, BaselineError::EmptyDir(_)), "{e}");
}

#[test]
fn accept_writes_sorted_integer_toml_and_only_touches_named_benchmarks() {
    let dir = tempfile::tempdir().unwrap();
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let prov = Provenance {
        commit: "c1".into(),
        accepted_at: "t1".into(),
        accepted_by: "a".into(),
        reason: "first".into(),
    };
    let metrics = baseline::default_metrics();
    let accept = |run: &irgate_core::Run, only: Option<&globset::GlobSet>| {
        baseline::accept(
            dir.path(),
            run,
            &baseline::AcceptOptions {
                only,
                provenance: &prov,
                metrics: &metrics,
                profiles: None,
            },
        )
    };
    let written = accept(&run, None).unwrap();
    assert_eq!(written.len(), 1);
    let text = std::fs::read_to_string(&written[0]).unwrap();
    assert!(text.contains("Ir = 70021"), "{text}");
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("[benchmarks."))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written[0]).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "baseline files are readable by everyone"
        );
    }
    // No temporary files left behind.
    let files: Vec<_> = std::fs::read_dir(written[0].parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);

    // A second accept with --only changes one benchmark and nothing else.
    let mut run2 = run.clone();
    for r in run2.benchmarks.values_mut() {
        let ir = r.metrics.ir().unwrap();
        r.metrics.insert("Ir", ir + 1000);
    }
    let only = irgate_core::policy::id_globset(&["**/scaled".into()]).unwrap();
    accept(&run2, Some(&only)).unwrap();
    let set = baseline::load_dir(dir.path()).unwrap();
    let b = set.suites.values().next().unwrap();
    assert_eq!(b.benchmarks["compute/scaled"].metrics.ir(), Some(71_021));
    assert_eq!(
        b.benchmarks["compute/fibonacci/large"].metrics.ir(),
        Some(84_611)
    );

    // Nothing matching --only, and an empty run, are refused.
    let none = irgate_core::policy::id_globset(&["nothing/**".into()]).unwrap();
    assert!(accept(&run2, Some(&none)).is_err());
    assert!(accept(&irgate_core::Run::default(), None).is_err());
}

#[test]
fn new_benchmark_is_reported_never_passed_silently() {
    let b = sample_baseline();
    let mut set = BaselineSet::default();
    let mut b2 = b.clone();
    b2.benchmarks.remove("compute/scaled");
    set.suites.insert(b2.suite(), b2);
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let c = compare(&run, &set, &Policy::default()).unwrap();
    let new: Vec<_> = c.with_verdict(Verdict::New).collect();
    assert_eq!(new.len(), 1);
    assert_eq!(c.counts.new, 1);
    let strict = Policy::parse(Path::new("p.toml"), "on_new = \"fail\"\n").unwrap();
    assert_eq!(compare(&run, &set, &strict).unwrap().gate, Gate::Failed);
}

#[test]
fn comparison_json_rejects_other_versions_and_inconsistency() {
    let text = include_str!("fixtures/comparison-sample.json");
    let e = irgate_core::Comparison::from_json(&text.replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 2",
        1,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("version 2"), "{e}");
    let e = irgate_core::Comparison::from_json(&text.replacen(
        "\"gate\": \"failed\"",
        "\"gate\": \"passed\"",
        1,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("inconsistent"), "{e}");
    let e = irgate_core::Comparison::from_json(&text.replacen(
        "\"regressed\": 1",
        "\"regressed\": 0",
        1,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("inconsistent"), "{e}");
}

/// A stream of `n` distinct benchmarks built from the real `compute/scaled` summary.
fn big_stream(n: usize) -> String {
    let base: serde_json::Value = serde_json::from_str(&v7_scaled()).unwrap();
    let mut out = String::new();
    for i in 0..n {
        let mut v = base.clone();
        let f = format!("f{i:05}");
        v["function_name"] = f.clone().into();
        v["module_path"] = format!("fixture::compute::{f}").into();
        v["output_dir"] =
            format!("target/gungraun/irgate-fixture-bench/fixture/compute/{f}").into();
        out.push_str(&serde_json::to_string(&v).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn a_large_stream_reads_completely_and_reports_the_real_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = big_stream(2_000);
    let file = write(dir.path(), "stream.jsonl", &text);
    let run = read_paths(&[file], Environment::default(), &opts()).unwrap();
    let whole = parse_text(Path::new("stream.jsonl"), &text, &opts()).unwrap();
    assert_eq!(run.benchmarks.len(), 2_000);
    let ids: Vec<_> = whole.iter().map(|(id, _)| id.clone()).collect();
    let from_run: Vec<_> = run.benchmarks.keys().cloned().collect();
    assert_eq!(ids, from_run);
    // A bad object near the end is reported with its real line number.
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1_990] = "{\"version\": \"7\", oops}";
    let bad = write(dir.path(), "bad.jsonl", &lines.join("\n"));
    let e = read_paths(&[bad], Environment::default(), &opts()).unwrap_err();
    assert!(e.to_string().contains("bad.jsonl:1991:"), "{e}");
}

#[test]
fn read_results_name_the_file_and_carry_the_run_time_and_start() {
    let dir = fixtures().join("v7/irgate-fixture-bench/fixture/compute/scaled");
    let results = irgate_core::read_results(&[fixtures().join("v7")], &opts()).unwrap();
    let ids: Vec<String> = results.iter().map(|r| r.id.to_string()).collect();
    let run = read_paths(&[fixtures().join("v7")], Environment::default(), &opts()).unwrap();
    let want: Vec<String> = run.benchmarks.keys().map(ToString::to_string).collect();
    assert_eq!(ids, want, "sorted by id, as read_paths");
    let scaled = results
        .iter()
        .find(|r| r.id.to_string() == "irgate-fixture-bench/fixture/compute/scaled")
        .unwrap();
    assert_eq!(scaled.file, dir.join("summary.json"));
    assert_eq!(scaled.duration_ns, Some(200_785_378));
    assert_eq!(
        scaled.started_at.as_deref(),
        Some("2026-11-27T21:07:44.18248359Z")
    );
    for r in &results {
        assert_eq!(r.result, run.benchmarks[&r.id], "{}", r.id);
        assert!(r.file.ends_with("summary.json"), "{:?}", r.file);
        assert!(
            r.duration_ns.is_some() && r.started_at.is_some(),
            "{}",
            r.id
        );
    }
    // A stream: every result names the stream.
    let stream = fixtures().join("stream-v7.jsonl");
    let results = irgate_core::read_results(std::slice::from_ref(&stream), &opts()).unwrap();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| r.file == stream));
    // v6 carries neither.
    let results = irgate_core::read_results(&[fixtures().join("v6")], &opts()).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].duration_ns, None);
    assert_eq!(results[0].started_at, None);
}

#[test]
fn read_results_reject_duplicates_and_nothing_as_read_paths_does() {
    let e = irgate_core::read_results(
        &[fixtures().join("v7"), fixtures().join("stream-v7.jsonl")],
        &opts(),
    )
    .unwrap_err();
    let ReadError::Duplicate { first, second, .. } = &e else {
        panic!("{e}");
    };
    assert!(first.starts_with(fixtures().join("v7")), "{first:?}");
    assert_eq!(**second, fixtures().join("stream-v7.jsonl"));
    let e = irgate_core::read_results(&[], &opts()).unwrap_err();
    assert!(matches!(e, ReadError::Empty), "{e}");
}

#[test]
fn a_run_time_or_start_of_another_shape_is_ignored() {
    let text = v7_scaled()
        .replace("\"duration_ns\":200785378", "\"duration_ns\":\"soon\"")
        .replace(
            "\"started_at\":\"2026-11-27T21:07:44.18248359Z\"",
            "\"started_at\":12",
        );
    assert!(!text.contains("200785378"), "the fixture changed");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "summary.json", &text);
    let results = irgate_core::read_results(&[dir.path().to_owned()], &opts()).unwrap();
    assert_eq!(results[0].duration_ns, None);
    assert_eq!(results[0].started_at, None);
}
