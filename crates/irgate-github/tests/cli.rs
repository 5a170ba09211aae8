//! `irgate github ...` end to end: argument parsing, exit codes, and the
//! requests made, against the fake GitHub on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // uses part of the fake; this test moves to the binary crate
#[path = "it/fake_github.rs"]
mod fake_github;

use clap::Parser;
use fake_github::{FakeGithub, Fault};
use irgate_github::cli::{run, GithubCommand};
use serde_json::json;

#[derive(Debug, Parser)]
struct Top {
    #[command(subcommand)]
    cmd: GithubCommand,
}

/// The token is read from the variable `--token-env` names. Setting one from a
/// test would race with other threads reading the environment, so an always-set
/// variable stands in: the fake accepts any token.
const TOKEN_ENV: &str = "PATH";

const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/// A fake on its own runtime, so that `run` can build and block on its own.
fn fake() -> (tokio::runtime::Runtime, FakeGithub) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeGithub::start());
    (rt, fake)
}

fn sample() -> String {
    format!(
        "{}/tests/fixtures/comparison-sample.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn post_args(url: &str, token_env: &str, extra: &[&str]) -> GithubCommand {
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
    Top::try_parse_from(args).unwrap().cmd
}

#[test]
fn post_succeeds_with_exit_zero_and_exit_with_gate_gives_one() {
    let (_rt, fake) = fake();
    assert_eq!(run(post_args(&fake.url, TOKEN_ENV, &[])), 0);
    {
        let st = fake.st();
        assert_eq!(st.check_runs.len(), 1);
        assert_eq!(st.check_runs[0].conclusion.as_deref(), Some("failure"));
        assert_eq!(st.check_runs[0].actions[0]["identifier"], "irgate-accept");
        assert_eq!(st.comments.len(), 1);
    }
    // Without the button (Actions-only mode).
    assert_eq!(
        run(post_args(&fake.url, TOKEN_ENV, &["--no-accept-button"])),
        0
    );
    assert_eq!(fake.st().check_runs[1].actions, json!([]));
    // The sample comparison's gate failed: 1 with --exit-with-gate.
    assert_eq!(
        run(post_args(&fake.url, TOKEN_ENV, &["--exit-with-gate"])),
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
    assert_eq!(run(post_args(&fake.url, TOKEN_ENV, &[])), 2);
    assert_eq!(fake.st().count("checks/list-for-ref"), 1, "not retried");
    assert!(fake.st().comments.is_empty());
}

#[test]
fn missing_credentials_and_bad_input_exit_two() {
    let (_rt, fake) = fake();
    assert_eq!(
        run(post_args(&fake.url, "IRGATE_CLI_TEST_TOKEN_UNSET", &[])),
        2
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("c.json");
    std::fs::write(&bad, "{\"schema_version\": 99}").unwrap();
    let cmd = Top::try_parse_from([
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
    ])
    .unwrap()
    .cmd;
    assert_eq!(run(cmd), 2);
    assert!(fake.st().seen.is_empty(), "nothing posted for bad input");
}

#[test]
fn handle_event_runs_the_handlers() {
    let (_rt, fake) = fake();
    let event = format!(
        "{}/tests/fixtures/webhooks/pull_request_opened.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let cmd = Top::try_parse_from([
        "github",
        "handle-event",
        "--event-name",
        "pull_request",
        "--event-path",
        &event,
        "--api-url",
        &fake.url,
        "--token-env",
        TOKEN_ENV,
    ])
    .unwrap()
    .cmd;
    assert_eq!(run(cmd), 0);
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
    assert!(Top::try_parse_from(both).is_err());
    assert!(Top::try_parse_from(&base[..base.len() - 2]).is_err());

    assert_eq!(run(Top::try_parse_from(base).unwrap().cmd), 0);
    let mut closed = base.to_vec();
    closed.extend(["--fail-closed", "--exit-with-gate"]);
    assert_eq!(run(Top::try_parse_from(closed).unwrap().cmd), 2);
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
