//! The command line on captured fixtures: exit codes, fail-closed cases, report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn core_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../perfgate-core/tests/fixtures")
}

fn perfgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perfgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A work dir with an environment file and baselines accepted from the v7 fixtures.
fn accepted() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env.json");
    std::fs::write(&env, "{\"glibc_tunables\": \"glibc.cpu.hwcaps=-ERMS\"}").unwrap();
    let results = core_fixtures().join("v7");
    let out = perfgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "baselines",
            "--reason",
            "test",
            "--commit",
            "abc",
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
    let out = perfgate(
        dir.path(),
        &[
            "compare",
            "--baselines",
            "baselines",
            "--env",
            &env,
            &results,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains('\u{1b}'), "no colour when piped");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(perfgate(dir.path(), &["compare"]).status.code(), Some(2));
    assert_eq!(perfgate(dir.path(), &["bogus"]).status.code(), Some(2));
}

#[test]
fn unreadable_inputs_exit_2_and_save_a_could_not_judge_document() {
    let (dir, env, _) = accepted();
    std::fs::write(dir.path().join("bad.json"), "{\"version\": \"7\", trunc").unwrap();
    let out = perfgate(
        dir.path(),
        &[
            "compare",
            "--baselines",
            "baselines",
            "--env",
            &env,
            "--save-json",
            "out.json",
            "bad.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bad.json:1:"), "{}", text(&out));
    let saved = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    let c = perfgate_core::Comparison::from_json(&saved).unwrap();
    assert_eq!(c.gate, perfgate_core::Gate::CouldNotJudge);
}

#[test]
fn bad_policy_exits_2_with_line() {
    let (dir, env, results) = accepted();
    std::fs::write(
        dir.path().join("perfgate.toml"),
        "metric = \"Ir\"\nthreshold = 1\n",
    )
    .unwrap();
    let out = perfgate(
        dir.path(),
        &[
            "compare",
            "--baselines",
            "baselines",
            "--env",
            &env,
            &results,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("perfgate.toml:2:"), "{}", text(&out));
}

#[test]
fn report_re_renders_a_saved_comparison() {
    let sample = core_fixtures().join("comparison-sample.json");
    let dir = tempfile::tempdir().unwrap();
    let out = perfgate(
        dir.path(),
        &["report", sample.to_str().unwrap(), "--format", "markdown"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).starts_with("### ❌ perfgate failed"));
    let out = perfgate(
        dir.path(),
        &["report", sample.to_str().unwrap(), "--exit-status"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn baseline_show_lists_the_accepted_numbers() {
    let (dir, _, _) = accepted();
    let out = perfgate(
        dir.path(),
        &["baseline", "show", "--baselines", "baselines"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("compute/scaled"), "{}", text(&out));
    assert!(text(&out).contains("Ir=70021"), "{}", text(&out));
}

#[test]
fn repository_policy_is_valid() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../perfgate.toml");
    perfgate_core::Policy::load(&p).unwrap();
}

#[test]
fn ci_bench_environment_toml_is_accepted_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let results = core_fixtures().join("v7");
    let toml = |args: &str| {
        format!(
            "suite = \"x\"\nvalgrind = \"valgrind-3.19.0\"\nglibc_tunables = \"-ERMS\"\n\
             callgrind_args = \"{args}\"\nwall_seconds = 12\n"
        )
    };
    std::fs::write(dir.path().join("a.toml"), toml("--cache-sim=no")).unwrap();
    std::fs::write(dir.path().join("b.toml"), toml("--cache-sim=yes")).unwrap();
    let r = results.to_str().unwrap();
    let out = perfgate(
        dir.path(),
        &[
            "accept",
            "--baselines",
            "bl",
            "--reason",
            "t",
            "--env",
            "a.toml",
            r,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = perfgate(
        dir.path(),
        &["compare", "--baselines", "bl", "--env", "a.toml", r],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = perfgate(
        dir.path(),
        &["compare", "--baselines", "bl", "--env", "b.toml", r],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("extra.callgrind_args"),
        "{}",
        text(&out)
    );
}
