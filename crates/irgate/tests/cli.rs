//! The command line on captured fixtures: exit codes, fail-closed cases, report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{irgate, text};

fn core_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../irgate-core/tests/fixtures")
}

/// `irgate compare --baselines baselines --env <env> <args...>` in `dir`.
fn compare_in(dir: &Path, env: &str, args: &[&str]) -> Output {
    let mut all = vec!["compare", "--baselines", "baselines", "--env", env];
    all.extend_from_slice(args);
    irgate(dir, &all)
}

/// A work dir with an environment file and baselines accepted from the v7 fixtures.
fn accepted() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env.json");
    std::fs::write(&env, "{\"glibc_tunables\": \"glibc.cpu.hwcaps=-ERMS\"}").unwrap();
    let results = core_fixtures().join("v7");
    let out = irgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "baselines",
            "--reason",
            "test",
            "--commit",
            "abcabcabcabcabcabcabcabcabcabcabcabcabca",
            "--env",
            env.to_str().unwrap(),
            results.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    (
        dir,
        env.to_str().unwrap().to_owned(),
        results.to_str().unwrap().to_owned(),
    )
}

#[test]
fn same_results_pass_with_exit_0() {
    let (dir, env, results) = accepted();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains('\u{1b}'), "no colour when piped");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(irgate(dir.path(), &["compare"]).status.code(), Some(2));
    assert_eq!(irgate(dir.path(), &["bogus"]).status.code(), Some(2));
}

#[test]
fn unreadable_inputs_exit_2_and_save_a_could_not_judge_document() {
    let (dir, env, _) = accepted();
    std::fs::write(dir.path().join("bad.json"), "{\"version\": \"7\", trunc").unwrap();
    let out = compare_in(dir.path(), &env, &["--save-json", "out.json", "bad.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bad.json:1:"), "{}", text(&out));
    let saved = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    let c = irgate_core::Comparison::from_json(&saved).unwrap();
    assert_eq!(c.gate, irgate_core::Gate::CouldNotJudge);
}

/// Result paths that cannot be read even by root: exit 2 and the path in the message.
#[cfg(unix)]
#[test]
fn unreadable_result_directories_exit_2_naming_the_path() {
    let (dir, env, results) = accepted();
    let looped = dir.path().join("looped");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    std::fs::write(dir.path().join("plain"), "x").unwrap();
    let tree = dir.path().join("tree");
    let bad = tree.join("g/f/summary.json");
    std::fs::create_dir_all(&bad).unwrap(); // a directory where a summary should be
    for (arg, named) in [
        ("looped", "looped"),
        ("plain/results", "plain/results"),
        ("tree", "tree/g/f/summary.json"),
    ] {
        let out = compare_in(dir.path(), &env, &[&results, arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", text(&out));
        assert!(text(&out).contains(named), "{arg}: {}", text(&out));
    }
}

#[test]
fn bad_policy_exits_2_with_line() {
    let (dir, env, results) = accepted();
    std::fs::write(
        dir.path().join("irgate.toml"),
        "metric = \"Ir\"\nthreshold = 1\n",
    )
    .unwrap();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("irgate.toml:2:"), "{}", text(&out));
}

#[test]
fn legacy_policy_file_is_read_only_without_the_new_one() {
    let (dir, env, results) = accepted();
    let note = "there is no irgate.toml";
    // Only the old name: it is read (its error names it), with one note.
    std::fs::write(
        dir.path().join("perfgate.toml"),
        "metric = \"Ir\"\nthreshold = 1\n",
    )
    .unwrap();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("perfgate.toml:2:"), "{}", text(&out));
    assert_eq!(text(&out).matches(note).count(), 1, "{}", text(&out));
    // A valid old file: the gate judges under it and says so once.
    std::fs::write(dir.path().join("perfgate.toml"), "threshold_pct = 5.0\n").unwrap();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).matches(note).count(),
        1,
        "{}",
        text(&out)
    );
    // Both names: the new one wins and nothing is said.
    std::fs::write(dir.path().join("perfgate.toml"), "threshold = 1\n").unwrap();
    std::fs::write(dir.path().join("irgate.toml"), "threshold_pct = 5.0\n").unwrap();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(note), "{}", text(&out));
}

#[test]
fn report_re_renders_a_saved_comparison() {
    let sample = core_fixtures().join("comparison-sample.json");
    let dir = tempfile::tempdir().unwrap();
    let out = irgate(
        dir.path(),
        &["report", sample.to_str().unwrap(), "--format", "markdown"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).starts_with("### ❌ irgate failed"));
    let out = irgate(
        dir.path(),
        &["report", sample.to_str().unwrap(), "--exit-status"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn baseline_show_lists_the_accepted_numbers() {
    let (dir, _, _) = accepted();
    let out = irgate(
        dir.path(),
        &["baseline", "show", "--baselines", "baselines"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("compute/scaled"), "{}", text(&out));
    assert!(text(&out).contains("Ir=70021"), "{}", text(&out));
}

#[test]
fn repository_policy_is_valid() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../irgate.toml");
    irgate_core::Policy::load(&p).unwrap();
}

/// `irgate env --extra` records further facts; a change in one is drift naming it.
#[test]
fn env_extras_are_recorded_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let results = core_fixtures().join("v7");
    let r = results.to_str().unwrap();
    for (file, args) in [("a.json", "--cache-sim=no"), ("b.json", "--cache-sim=yes")] {
        let out = irgate(
            dir.path(),
            &[
                "env",
                "--glibc-tunables",
                "glibc.cpu.hwcaps=-ERMS",
                "--cache",
                "none",
                "--extra",
                &format!("callgrind_args={args}"),
                "--extra",
                "preload=fixed_entropy",
                "--output",
                file,
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let a = irgate_core::env::load(&dir.path().join("a.json")).unwrap();
    assert_eq!(a.extra["callgrind_args"], "--cache-sim=no");
    assert_eq!(a.extra["preload"], "fixed_entropy");
    assert_eq!(a.glibc_tunables.as_deref(), Some("glibc.cpu.hwcaps=-ERMS"));
    assert_eq!(a.cache.as_deref(), Some("none"));
    let out = irgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "bl",
            "--reason",
            "t",
            "--env",
            "a.json",
            r,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = irgate(
        dir.path(),
        &["compare", "--baselines", "bl", "--env", "a.json", r],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // No count moved: the drift is named in a note and the gate passes (evidence rule).
    let out = irgate(
        dir.path(),
        &["compare", "--baselines", "bl", "--env", "b.json", r],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("note: environment differs (extra.callgrind_args"),
        "{}",
        text(&out)
    );
    // Without the evidence rule the same drift fails the gate.
    std::fs::write(dir.path().join("strict.toml"), "drift_evidence = false\n").unwrap();
    let out = irgate(
        dir.path(),
        &[
            "compare",
            "--baselines",
            "bl",
            "--policy",
            "strict.toml",
            "--env",
            "b.json",
            r,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("extra.callgrind_args"),
        "{}",
        text(&out)
    );
}

/// Bad `--extra` arguments are usage errors that say what is wrong.
#[test]
fn env_rejects_bad_extras() {
    let dir = tempfile::tempdir().unwrap();
    for (arg, says) in [
        ("novalue", "KEY=VALUE"),
        ("Bad-Key=x", "a-z, 0-9"),
        ("glibc_tunables=x", "own option"),
    ] {
        let out = irgate(dir.path(), &["env", "--extra", arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", text(&out));
        assert!(text(&out).contains(says), "{arg}: {}", text(&out));
    }
    let out = irgate(dir.path(), &["env", "--extra", "a=1", "--extra", "a=2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("twice"), "{}", text(&out));
}

/// `accept` refuses unreadable results, a selection matching nothing, and a partial
/// accept into a file from another environment; none of them touches the baselines.
#[test]
fn accept_refuses_and_leaves_baselines_untouched() {
    let (dir, env, results) = accepted();
    let file = dir
        .path()
        .join("baselines/irgate-fixture-bench/fixture.toml");
    let before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(dir.path().join("bad.json"), "{\"version\": \"7\", trunc").unwrap();
    std::fs::write(dir.path().join("other.json"), "{\"glibc_tunables\": \"\"}").unwrap();
    let accept = |extra: &[&str], env: &str| {
        let mut args = vec![
            "accept",
            "--baselines",
            "baselines",
            "--reason",
            "r",
            "--commit",
            "defdefdefdefdefdefdefdefdefdefdefdefdefd",
            "--env",
            env,
        ];
        args.extend_from_slice(extra);
        irgate(dir.path(), &args)
    };
    for (extra, env, says) in [
        (
            vec![results.as_str(), "bad.json"],
            env.as_str(),
            "bad.json:1:",
        ),
        (
            vec!["--only", "nothing/*/*/*", results.as_str()],
            env.as_str(),
            "nothing to accept",
        ),
        (
            vec!["--only", "**/scaled", results.as_str()],
            "other.json",
            "glibc_tunables",
        ),
    ] {
        let out = accept(&extra, env);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{extra:?}: {}", text(&out));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "{extra:?}");
    }
    let out = irgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "baselines",
            "--reason",
            " ",
            "--env",
            &env,
            &results,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn compare_only_judges_the_selected_part_of_run_and_baselines() {
    let (dir, env, _) = accepted();
    // A partial run: only the `compute` group's summaries.
    let partial = core_fixtures().join("v7/irgate-fixture-bench/fixture/compute");
    let partial = partial.to_str().unwrap();
    let only = |scope: &str| compare_in(dir.path(), &env, &["--only", scope, partial]);
    // Without --only the memory benchmark's baseline has no result: Missing, exit 1.
    let out = compare_in(dir.path(), &env, &[partial]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("memory/clone_64k"), "{}", text(&out));
    // Scoped to the compute group, the same partial run passes.
    let out = only("irgate-fixture-bench/fixture/compute/**");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A scope that selects nothing is an empty run: could not judge.
    let out = only("nothing/**");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // --partial judges exactly what the run has.
    let out = compare_in(dir.path(), &env, &["--partial", partial]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("memory/clone_64k"), "{}", text(&out));
}

#[test]
fn io_errors_name_their_cause_once() {
    let (dir, env, _) = accepted();
    let out = compare_in(dir.path(), &env, &["no-such-results"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such-results"), "{}", text(&out));
    assert_eq!(
        text(&out).matches("(os error 2)").count(),
        1,
        "{}",
        text(&out)
    );
    let out = irgate(
        dir.path(),
        &[
            "compare",
            "--baselines",
            "baselines",
            "--env",
            "no-such-env.json",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such-env.json"), "{}", text(&out));
    assert_eq!(
        text(&out).matches("(os error 2)").count(),
        1,
        "{}",
        text(&out)
    );
    let out = irgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "b",
            "--reason",
            "r",
            "--env",
            &env,
            "nothing",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        text(&out).matches("(os error 2)").count(),
        1,
        "{}",
        text(&out)
    );
}

#[test]
fn every_command_defaults_the_baselines_to_baselines() {
    let (dir, env, results) = accepted();
    let out = irgate(dir.path(), &["compare", "--env", &env, &results]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = irgate(
        dir.path(),
        &[
            "accept",
            "--reason",
            "again",
            "--commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--env",
            &env,
            &results,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("baselines"), "{}", text(&out));
    let out = irgate(dir.path(), &["baseline", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn accept_refuses_a_commit_that_is_not_a_full_sha() {
    let (dir, env, results) = accepted();
    let file = dir
        .path()
        .join("baselines/irgate-fixture-bench/fixture.toml");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = irgate(
        dir.path(),
        &[
            "accept", "--reason", "r", "--commit", "abc1234", "--env", &env, &results,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--commit \"abc1234\""),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "nothing written"
    );
}

#[test]
fn an_override_that_matches_nothing_is_an_error_with_the_closest_ids() {
    let (dir, env, results) = accepted();
    std::fs::write(
        dir.path().join("irgate.toml"),
        "threshold_pct = 1.0\n\n[[override]]\nmatch = \"irgate-fixture-bench/fixture/compute/scaeld\"\nthreshold_pct = 50.0\n",
    )
    .unwrap();
    let out = compare_in(dir.path(), &env, &[&results]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("irgate.toml:4:9: override"), "{t}");
    assert!(t.contains("compute/scaeld"), "{t}");
    assert!(
        t.contains("closest ids: irgate-fixture-bench/fixture/compute/scaled"),
        "{t}"
    );
    // Outside the scope of --only, the same override is no typo: it matches a baseline.
    std::fs::write(
        dir.path().join("irgate.toml"),
        "[[override]]\nmatch = \"irgate-fixture-bench/fixture/memory/**\"\nthreshold_pct = 50.0\n",
    )
    .unwrap();
    let out = compare_in(
        dir.path(),
        &env,
        &[
            "--only",
            "irgate-fixture-bench/fixture/compute/**",
            &results,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn an_only_filter_that_matches_nothing_says_so_with_an_example_id() {
    let (dir, env, results) = accepted();
    let out = compare_in(dir.path(), &env, &["--only", "fixture/compute/*", &results]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("--only fixture/compute/*: the filter matched no benchmark"),
        "{t}"
    );
    assert!(
        t.contains("ids look like `irgate-fixture-bench/fixture/"),
        "{t}"
    );
    assert!(!t.contains("the run is empty"), "{t}");
}

#[test]
fn the_comparing_process_glibc_tunables_never_reach_the_fingerprint() {
    let (dir, _, results) = accepted();
    // No --env and no environment.json beside the results: the fingerprint is
    // captured now, and GLIBC_TUNABLES of this process must not be taken for the
    // benchmark's.
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(["compare", "--format", "json", &results])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-Compare_Time_Value")
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!t.contains("Compare_Time_Value"), "{t}");
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        c["environment"]["current"]["glibc_tunables"].is_null(),
        "{t}"
    );
}

#[test]
fn the_fingerprint_runner_comes_from_cargo_lock_not_from_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A workspace whose lock names gungraun 0.17.2, and a different runner first on PATH.
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"gungraun\"\nversion = \"0.17.2\"\n",
    )
    .unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("gungraun-runner");
    std::fs::write(&fake, "#!/bin/sh\necho gungraun-runner 0.20.0\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_irgate"))
            .args(args)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("GLIBC_TUNABLES", "glibc.foo=1")
            .output()
            .unwrap()
    };
    let out = run(&["env"]);
    assert!(out.status.success(), "{}", text(&out));
    let env: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(env["runner"], "gungraun-runner 0.17.2");

    // A compare without a recorded fingerprint records the same runner, and the
    // comparing process's GLIBC_TUNABLES as unknown, so neither is drift.
    let results = core_fixtures().join("v7");
    let out = Command::new(env!("CARGO_BIN_EXE_irgate"))
        .args(["accept", "--baselines", "bl", "--reason", "t"])
        .arg(&results)
        .current_dir(dir.path())
        .env_remove("GLIBC_TUNABLES")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&[
        "compare",
        "--baselines",
        "bl",
        "--format",
        "json",
        results.to_str().unwrap(),
    ]);
    let c = irgate_core::Comparison::from_json(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let e = c.environment.as_ref().unwrap();
    assert_eq!(
        e.current.runner.as_deref(),
        Some("gungraun-runner 0.17.2"),
        "{e:?}"
    );
    assert!(
        !e.changes
            .iter()
            .any(|c| c.field == "runner" || c.field == "glibc_tunables"),
        "{:?}",
        e.changes
    );

    // An explicit runner that cannot run is an error, not a silent fallback.
    let out = run(&["env", "--runner", "/nonexistent/gungraun-runner"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--runner"), "{}", text(&out));
}

#[test]
fn setup_without_a_callgrind_suite_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\npath = \"lib.rs\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("lib.rs"), "").unwrap();
    let out = irgate(dir.path(), &["setup"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no bench target of this workspace uses gungraun or iai-callgrind"),
        "{}",
        text(&out)
    );
}
