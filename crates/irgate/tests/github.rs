//! `irgate github ...` end to end: argument parsing, exit codes, and the
//! requests made, running the binary against the bot's fake GitHub on loopback.
#![cfg(feature = "github")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The bot's contract-checking fake GitHub, shared with its own tests; this file
// uses only part of it.
#[allow(dead_code)]
#[path = "../../irgate-github/tests/it/fake_github.rs"]
mod fake_github;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fake_github::{FakeGithub, Fault};
use serde_json::json;

/// The variable `--token-env` names; set for the child process only (the fake
/// accepts any token).
const TOKEN_ENV: &str = "IRGATE_GITHUB_TEST_TOKEN";

/// Variables the `irgate github` arguments fall back to, cleared so that the
/// caller's environment cannot change a test.
const ARG_VARIABLES: &[&str] = &[
    "GITHUB_API_URL",
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY_PATH",
    "GITHUB_APP_INSTALLATION_ID",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "IRGATE_BOT_LOGIN",
    "IRGATE_BOT_CONFIG",
];

const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/// A fake on its own runtime, serving while the test waits for the binary.
fn fake() -> (tokio::runtime::Runtime, FakeGithub) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeGithub::start());
    (rt, fake)
}

/// The bot's test fixtures.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../irgate-github/tests/fixtures")
}

/// Runs `irgate <args...>` (the first argument is `github`).
fn irgate(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_irgate"));
    for var in ARG_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env(TOKEN_ENV, "test-token")
        .env_remove("IRGATE_CLI_TEST_TOKEN_UNSET")
        .output()
        .unwrap()
}

/// Runs `irgate <args...>` with `vars` set in its environment.
fn irgate_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_irgate"));
    for var in ARG_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env(TOKEN_ENV, "test-token")
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Bounded: a `serve` that accepted its configuration would run forever.
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "irgate {args:?} still running after 60 s: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The exit code of `irgate <args...>`, its output shown when it has none.
fn run(args: &[&str]) -> i32 {
    let out = irgate(args);
    out.status.code().unwrap_or_else(|| {
        panic!(
            "irgate {args:?} ended by a signal: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A usage error: clap's exit code 2 and its usage line.
fn refused_usage(args: &[&str]) -> bool {
    let out = irgate(args);
    out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains("Usage:")
}

fn sample() -> String {
    fixtures()
        .join("comparison-sample.json")
        .to_str()
        .unwrap()
        .to_owned()
}

fn post_args(url: &str, token_env: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "github",
        "post",
        "--repo",
        "Codertocat/Hello-World",
        "--pr",
        "2",
        "--sha",
        SHA,
        "--api-url",
        url,
        "--token-env",
        token_env,
        "--max-retries",
        "1",
        "--request-timeout-secs",
        "5",
    ];
    let c = sample();
    args.extend(["--comparison", c.as_str()]);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

/// Runs a `post_args` command.
fn run_post(args: Vec<String>) -> i32 {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn post_succeeds_with_exit_zero_and_exit_with_gate_gives_one() {
    let (_rt, fake) = fake();
    assert_eq!(run_post(post_args(&fake.url, TOKEN_ENV, &[])), 0);
    {
        let st = fake.st();
        assert_eq!(st.check_runs.len(), 1);
        assert_eq!(st.check_runs[0].conclusion.as_deref(), Some("failure"));
        assert_eq!(st.check_runs[0].actions[0]["identifier"], "irgate-accept");
        assert_eq!(st.comments.len(), 1);
    }
    // Without the button (Actions-only mode).
    assert_eq!(
        run_post(post_args(&fake.url, TOKEN_ENV, &["--no-accept-button"])),
        0
    );
    assert_eq!(fake.st().check_runs[1].actions, json!([]));
    // The sample comparison's gate failed: 1 with --exit-with-gate.
    assert_eq!(
        run_post(post_args(&fake.url, TOKEN_ENV, &["--exit-with-gate"])),
        1
    );
    assert_eq!(fake.st().comments.len(), 1, "still one sticky comment");
    fake.assert_contract();
}

#[test]
fn non_retryable_answer_exits_two() {
    let (_rt, fake) = fake();
    fake.st().fault(
        "checks/list-for-ref",
        Fault::Status(401, vec![], json!({"message": "Bad credentials"})),
    );
    assert_eq!(run_post(post_args(&fake.url, TOKEN_ENV, &[])), 2);
    assert_eq!(fake.st().count("checks/list-for-ref"), 1, "not retried");
    assert!(fake.st().comments.is_empty());
}

#[test]
fn missing_credentials_and_bad_input_exit_two() {
    let (_rt, fake) = fake();
    assert_eq!(
        run_post(post_args(&fake.url, "IRGATE_CLI_TEST_TOKEN_UNSET", &[])),
        2
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("c.json");
    std::fs::write(&bad, "{\"schema_version\": 99}").unwrap();
    let cmd = [
        "github",
        "post",
        "--repo",
        "o/r",
        "--pr",
        "1",
        "--sha",
        SHA,
        "--comparison",
        bad.to_str().unwrap(),
        "--api-url",
        &fake.url,
        "--token-env",
        TOKEN_ENV,
    ];
    assert_eq!(run(&cmd), 2);
    assert!(fake.st().seen.is_empty(), "nothing posted for bad input");
}

#[test]
fn handle_event_runs_the_handlers() {
    let (_rt, fake) = fake();
    let event = fixtures().join("webhooks/pull_request_opened.json");
    let event = event.to_str().unwrap();
    let cmd = [
        "github",
        "handle-event",
        "--event-name",
        "pull_request",
        "--event-path",
        event,
        "--api-url",
        &fake.url,
        "--token-env",
        TOKEN_ENV,
    ];
    assert_eq!(run(&cmd), 0);
    assert_eq!(fake.st().check_runs[0].status, "queued");
    fake.assert_contract();
}

#[test]
fn could_not_judge_without_a_comparison_posts_a_failing_check_when_fail_closed() {
    let (_rt, fake) = fake();
    let base = [
        "github",
        "post",
        "--repo",
        "Codertocat/Hello-World",
        "--pr",
        "2",
        "--sha",
        SHA,
        "--api-url",
        &fake.url,
        "--token-env",
        TOKEN_ENV,
        "--could-not-judge",
        "the gate run left no comparison.json",
    ];
    // --comparison and --could-not-judge exclude each other; one is required.
    let mut both = base.to_vec();
    both.extend(["--comparison", "c.json"]);
    assert!(refused_usage(&both));
    assert!(refused_usage(&base[..base.len() - 2]));
    assert!(
        fake.st().seen.is_empty(),
        "nothing posted for a usage error"
    );

    assert_eq!(run(&base), 0);
    let mut closed = base.to_vec();
    closed.extend(["--fail-closed", "--exit-with-gate"]);
    assert_eq!(run(&closed), 2);
    let st = fake.st();
    let conclusions: Vec<_> = st
        .check_runs
        .iter()
        .map(|c| c.conclusion.clone().unwrap_or_default())
        .collect();
    assert_eq!(conclusions, ["neutral", "failure"]);
    assert_eq!(st.comments.len(), 1);
    assert!(
        st.comments[0].body.contains("no comparison.json"),
        "{}",
        st.comments[0].body
    );
    drop(st);
    fake.assert_contract();
}

/// Exit 2 and an error naming `option` and `value` (not a panic's 101).
fn refused_naming(out: &Output, option: &str, value: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(option), "{option} not named: {stderr}");
    assert!(
        stderr.contains(&format!("`{value}`")),
        "{value} not named: {stderr}"
    );
}

#[test]
fn urls_without_a_scheme_are_refused_naming_the_option() {
    let (_rt, fake) = fake();
    let bare = fake.url.trim_start_matches("http://").to_owned();
    // --api-url on the command line, then GITHUB_API_URL from the environment.
    let args = post_args(&bare, TOKEN_ENV, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused_naming(&irgate_with(&args, &[]), "--api-url", &bare);
    let without: Vec<&str> = {
        let at = args.iter().position(|a| *a == "--api-url").unwrap();
        [&args[..at], &args[at + 2..]].concat()
    };
    refused_naming(
        &irgate_with(&without, &[("GITHUB_API_URL", &bare)]),
        "GITHUB_API_URL",
        &bare,
    );
    let handle = [
        "github",
        "handle-event",
        "--event-name",
        "pull_request",
        "--event-path",
        "e.json",
        "--token-env",
        TOKEN_ENV,
    ];
    refused_naming(
        &irgate_with(&handle, &[("GITHUB_API_URL", &bare)]),
        "GITHUB_API_URL",
        &bare,
    );
    // The "Details" link goes to GitHub as a URL too.
    let details = post_args(&fake.url, TOKEN_ENV, &["--details-url", "runs/42"]);
    let details: Vec<&str> = details.iter().map(String::as_str).collect();
    refused_naming(&irgate_with(&details, &[]), "--details-url", "runs/42");
    // The service's API URL.
    refused_naming(
        &irgate_with(
            &["github", "serve"],
            &[
                ("GITHUB_API_URL", &bare),
                ("IRGATE_WEBHOOK_SECRET", "s"),
                ("GITHUB_TOKEN", "t"),
                ("IRGATE_BIND", "127.0.0.1:0"),
            ],
        ),
        "GITHUB_API_URL",
        &bare,
    );
    assert!(fake.st().seen.is_empty(), "nothing was sent");
}

#[test]
fn post_refuses_pr_zero_and_a_sha_that_is_not_a_full_commit_id() {
    let (_rt, fake) = fake();
    let with = |flag: &str, value: &str| {
        let mut args = post_args(&fake.url, TOKEN_ENV, &[]);
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_owned();
        irgate_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    for pr in ["0", "00"] {
        let out = with("--pr", pr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--pr {pr}: {stderr}");
        assert!(stderr.contains("--pr"), "{stderr}");
    }
    for sha in [
        "abc",
        "abc1234",
        &SHA[..39],
        &format!("{SHA}0"),
        &SHA.replace('e', "g"),
    ] {
        let out = with("--sha", sha);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--sha {sha}: {stderr}");
        assert!(stderr.contains("--sha"), "{stderr}");
        assert!(stderr.contains("40"), "{stderr}");
    }
    assert!(fake.st().seen.is_empty(), "nothing posted for bad input");
}

#[test]
fn post_without_a_pull_request_sets_only_the_check_on_the_commit() {
    // A merge queue's merge commit or a push to the default branch: no pull
    // request to comment on, but the check must be there for the queue and
    // for branch protection.
    let (_rt, fake) = fake();
    let mut args = post_args(&fake.url, TOKEN_ENV, &["--no-accept-button"]);
    let at = args.iter().position(|a| a == "--pr").unwrap();
    args.drain(at..at + 2);
    assert_eq!(run_post(args), 0);
    let st = fake.st();
    assert_eq!(st.check_runs.len(), 1);
    assert_eq!(st.check_runs[0].head_sha, SHA);
    assert_eq!(st.check_runs[0].conclusion.as_deref(), Some("failure"));
    assert!(st.comments.is_empty(), "no comment without a pull request");
    assert!(
        st.seen
            .iter()
            .all(|s| !s.op.starts_with("issues/") && !s.op.starts_with("pulls/")),
        "{:?}",
        st.seen.iter().map(|s| &s.op).collect::<Vec<_>>()
    );
    drop(st);
    fake.assert_contract();
}

#[test]
fn a_failed_gate_on_the_default_branch_comments_on_the_commit_once() {
    let (_rt, fake) = fake();
    let without_pr = |extra: &[&str]| {
        let mut args = post_args(&fake.url, TOKEN_ENV, extra);
        let at = args.iter().position(|a| a == "--pr").unwrap();
        args.drain(at..at + 2);
        args
    };
    // The sample comparison's gate failed: a check and a commit comment.
    assert_eq!(
        run_post(without_pr(&[
            "--no-accept-button",
            "--commit-comment-on-failure"
        ])),
        0
    );
    {
        let st = fake.st();
        assert_eq!(st.check_runs.len(), 1);
        assert_eq!(st.commit_comments.len(), 1);
        let (sha, body) = &st.commit_comments[0];
        assert_eq!(sha, SHA);
        assert!(body.contains("For commit [`ec26c3e`]"), "{body}");
        assert!(body.contains("regress"), "{body}");
        assert!(st.comments.is_empty(), "no pull-request comment");
    }
    // Without the flag, no comment either; with --pr the flag is refused.
    assert_eq!(run_post(without_pr(&["--no-accept-button"])), 0);
    assert!(refused_usage(
        &post_args(&fake.url, TOKEN_ENV, &["--commit-comment-on-failure"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    ));
    let st = fake.st();
    assert_eq!(st.commit_comments.len(), 1, "no comment without the flag");
    assert_eq!(st.check_runs.len(), 2);
    drop(st);
    fake.assert_contract();
}
