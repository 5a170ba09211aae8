//! Fuzzing what the bot reads from GitHub and from comments: webhook deliveries of
//! each handled event through `GithubHandler::dispatch`, the accept command in a
//! comment body, and the comparison embedded in a check run's text. Each target
//! starts from real deliveries and documents and mutates them (see the engine in
//! irgate-core's `tests/fuzzing/mod.rs`), and also feeds arbitrary bytes and token
//! sequences.
//!
//! The deliveries go through the real `dispatch`, with credentials that can never
//! make a client: every step that reads the payload runs, and a delivery that gets
//! through all of them ends at the client step with a configuration error instead
//! of a request. Nothing leaves the process.
//!
//! `IRGATE_FUZZ_CASES` sets the inputs per target (default 256); this binary is
//! separate from `tests/it/` so that its count can be raised alone. The figures of
//! the long runs and their commands are in `docs/FUZZING.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../irgate-core/tests/fuzzing/mod.rs"]
mod fuzzing;

use std::path::{Path, PathBuf};

use fuzzing::{run, Corpus, Outcome, JSON_TOKENS, TEXT_TOKENS};
use irgate_core::Comparison;
use irgate_github::accept::{find_command, AcceptConfig, Command, COMMAND};
use irgate_github::check::{ReportMode, ACCEPT_ACTION_ID, CHECK_NAME};
use irgate_github::client::{ApiError, Auth, ClientConfig, RetryPolicy};
use irgate_github::events::{Credentials, EventError, GithubHandler, Handled};
use irgate_github::report::{embedded_results, extract_results, RESULTS_MARKER};
use proptest::prelude::*;
use serde_json::{json, Value};

fn webhooks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks")
}

/// A real delivery, as bytes and as JSON.
fn delivery(name: &str) -> (String, Vec<u8>, Value) {
    let path = webhooks().join(format!("{name}.json"));
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value = serde_json::from_slice(&bytes).unwrap();
    (name.to_owned(), bytes, value)
}

/// A delivery changed so that it reaches further into its handler (the real ones
/// are for other apps' check runs, or comments without a command).
fn variant(name: &str, value: &Value, change: impl FnOnce(&mut Value)) -> (String, Vec<u8>) {
    let mut v = value.clone();
    change(&mut v);
    (name.to_owned(), serde_json::to_vec_pretty(&v).unwrap())
}

/// A handler whose client configuration is refused (no URL scheme), so that no
/// delivery can make a request.
fn offline_handler() -> GithubHandler {
    GithubHandler::new(
        Credentials::Fixed(ClientConfig {
            base_url: "no-scheme".into(),
            auth: Auth::Token("ghs_fuzz".into()),
            retry: RetryPolicy::default(),
        }),
        AcceptConfig::default(),
        ReportMode::Auto,
    )
}

/// Dispatch property: no panic; the delivery is ignored, refused with an error
/// that names the event, or decoded through to the client step; never anything
/// that would have needed GitHub.
fn dispatch_property(
    rt: &tokio::runtime::Runtime,
    handler: &GithubHandler,
    event: &str,
    bytes: &[u8],
) -> Result<Outcome, TestCaseError> {
    match rt.block_on(handler.dispatch(event, bytes)) {
        Ok(Handled::Ignored(_)) => Ok(Outcome::Rejected),
        Err(EventError::Api(ApiError::Config(_))) => Ok(Outcome::Accepted),
        Err(e @ EventError::Payload { .. }) => {
            let message = e.to_string();
            prop_assert!(
                message.starts_with(&format!("{event} payload: ")),
                "{message}"
            );
            Ok(Outcome::Rejected)
        }
        other => Err(TestCaseError::fail(format!(
            "{event}: an outcome that needs GitHub: {other:?}"
        ))),
    }
}

/// Runs `seeds` through `dispatch` under each of `events` in turn.
fn webhook_target(
    target: &'static str,
    events: &'static [&'static str],
    seeds: Vec<(String, Vec<u8>)>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handler = offline_handler();
    let turn = std::cell::Cell::new(0usize);
    run(target, Corpus::new(seeds, JSON_TOKENS), |bytes| {
        let event = events[turn.get() % events.len()];
        turn.set(turn.get() + 1);
        dispatch_property(&rt, &handler, event, bytes)
    });
}

fn issue_comment_seeds() -> Vec<(String, Vec<u8>)> {
    let (name, bytes, v) = delivery("issue_comment_created");
    let on_pr = |v: &mut Value| {
        v["issue"]["pull_request"] = json!({"url": "https://api.github.com/repos/o/r/pulls/1"});
        v["comment"]["body"] =
            json!("Looks right.\n\n/irgate accept the new parser is faster on large input\n");
    };
    vec![
        (name, bytes),
        variant("issue_comment on a pull request with a command", &v, on_pr),
        variant("issue_comment edited, command without reason", &v, |v| {
            on_pr(v);
            v["action"] = json!("edited");
            v["comment"]["body"] = json!("> quoted\n\n```\ncode\n```\n/irgate accept");
        }),
    ]
}

#[test]
fn fuzz_webhook_issue_comment() {
    webhook_target(
        "webhook_issue_comment",
        &["issue_comment"],
        issue_comment_seeds(),
    );
}

fn check_run_seeds() -> Vec<(String, Vec<u8>)> {
    let (n1, b1, action) = delivery("check_run_requested_action");
    let (n2, b2, rerun) = delivery("check_run_rerequested");
    vec![
        (n1, b1),
        (n2, b2),
        variant("check_run irgate Accept button", &action, |v| {
            v["check_run"]["name"] = json!(CHECK_NAME);
            v["requested_action"]["identifier"] = json!(ACCEPT_ACTION_ID);
        }),
        variant("check_run irgate rerequested", &rerun, |v| {
            v["check_run"]["name"] = json!(CHECK_NAME);
            v["check_run"]["pull_requests"] = json!([{"number": 7}]);
        }),
    ]
}

#[test]
fn fuzz_webhook_check_run() {
    webhook_target("webhook_check_run", &["check_run"], check_run_seeds());
}

fn pull_request_seeds() -> Vec<(String, Vec<u8>)> {
    [
        "pull_request_opened",
        "pull_request_synchronize",
        "pull_request_labeled",
    ]
    .into_iter()
    .map(|n| {
        let (name, bytes, _) = delivery(n);
        (name, bytes)
    })
    .collect()
}

#[test]
fn fuzz_webhook_pull_request() {
    webhook_target(
        "webhook_pull_request",
        &["pull_request"],
        pull_request_seeds(),
    );
}

#[test]
fn fuzz_webhook_merge_group() {
    let (name, bytes, _) = delivery("merge_group_checks_requested");
    webhook_target("webhook_merge_group", &["merge_group"], vec![(name, bytes)]);
}

/// Every delivery under every event name, handled or not (`ping`, `workflow_run`
/// and `push` are only parsed as JSON and ignored): a payload of one event sent
/// under another's name.
#[test]
fn fuzz_webhook_any_event() {
    let mut seeds = issue_comment_seeds();
    seeds.extend(check_run_seeds());
    seeds.extend(pull_request_seeds());
    for n in ["merge_group_checks_requested", "workflow_run_completed"] {
        let (name, bytes, _) = delivery(n);
        seeds.push((name, bytes));
    }
    seeds.push((
        "ping".into(),
        br#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_vec(),
    ));
    webhook_target(
        "webhook_any_event",
        &[
            "issue_comment",
            "check_run",
            "pull_request",
            "merge_group",
            "workflow_run",
            "ping",
            "push",
        ],
        seeds,
    );
}

/// Comment bodies with and without the command, in quotes, code, HTML comments.
fn comment_seeds() -> Vec<(String, Vec<u8>)> {
    let (_, _, v) = delivery("issue_comment_created");
    let real = v["comment"]["body"].as_str().unwrap().to_owned();
    [
        real.as_str(),
        "/irgate accept faster parser is slower on tiny input",
        "LGTM\n\n  /irgate accept  ok  \n",
        "> you said\n/irgate accept lazy\n\n/irgate accept mine\r\n",
        "```\n/irgate accept code\n```\n~~~sh\nx\n~~~\n    /irgate accept indented\n\t/irgate accept tab\n/irgate accept after",
        "<!-- hidden\n/irgate accept hidden\n--> shown <!-->\n<!--->/irgate accept\n/irgate accept <!-- c --> visible",
        "<!-- never closed\n/irgate accept",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| (format!("comment body {i}"), s.as_bytes().to_vec()))
    .collect()
}

/// Accept-command property: no panic; a command found is in the body, and its
/// reason is non-empty, starts with no space, holds no HTML comment and has at most
/// 500 characters.
fn command_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    let body = String::from_utf8_lossy(bytes);
    match find_command(&body) {
        None => Ok(Outcome::Rejected),
        Some(found) => {
            prop_assert!(body.contains(COMMAND));
            if let Command::Accept { reason } = &found {
                prop_assert!(!reason.is_empty());
                prop_assert!(!reason.starts_with(char::is_whitespace), "{reason:?}");
                prop_assert!(reason.chars().count() <= 500);
                // HTML comments are not shown, so none is left in the reason.
                prop_assert!(!reason.contains("<!--"), "{reason:?}");
            }
            Ok(Outcome::Accepted)
        }
    }
}

#[test]
fn fuzz_accept_command() {
    run(
        "accept_command",
        Corpus::new(comment_seeds(), TEXT_TOKENS),
        command_property,
    );
}

/// Check-run texts that hold results: what `embedded_results` writes for the
/// sample comparisons, alone and inside other text.
fn results_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for path in [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/comparison-sample.json"),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../irgate-core/tests/fixtures/comparison-sample.json"),
    ] {
        let c = Comparison::load(&path).unwrap();
        let text = embedded_results(&c);
        out.push((
            format!("embedded {}", path.display()),
            text.as_bytes().to_vec(),
        ));
        out.push((
            format!("embedded {} in a longer text", path.display()),
            format!("## irgate\n\nSome verdict.\n\n{text}\n<!-- more -->\n```\nx\n```\n")
                .into_bytes(),
        ));
    }
    out
}

/// Results-extraction property: no panic; a comparison read from a text is written
/// back by `embedded_results` and read again equal.
fn results_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    match extract_results(&text) {
        None => Ok(Outcome::Rejected),
        Some(Err(e)) => {
            prop_assert!(!e.to_string().is_empty());
            Ok(Outcome::Rejected)
        }
        Some(Ok(c)) => {
            let again = embedded_results(&c);
            if again.contains(RESULTS_MARKER) {
                match extract_results(&again) {
                    Some(Ok(back)) => prop_assert_eq!(back, c),
                    other => {
                        return Err(TestCaseError::fail(format!(
                            "written results do not read back: {other:?}"
                        )))
                    }
                }
            }
            Ok(Outcome::Accepted)
        }
    }
}

#[test]
fn fuzz_results_extraction() {
    let mut tokens = TEXT_TOKENS.to_vec();
    tokens.extend(JSON_TOKENS);
    run(
        "results_extraction",
        Corpus::new(results_seeds(), &tokens),
        results_property,
    );
}

/// The seeds reach as far as intended: the deep variants get through every
/// decoding step to the client, and the command and results seeds are found.
#[test]
fn the_seeds_reach_past_the_decoding() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handler = offline_handler();
    let reach = |event: &str, seeds: Vec<(String, Vec<u8>)>, deep: &str| {
        let (_, bytes) = seeds.into_iter().find(|(n, _)| n == deep).unwrap();
        assert_eq!(
            dispatch_property(&rt, &handler, event, &bytes).unwrap(),
            Outcome::Accepted,
            "{deep}"
        );
    };
    reach(
        "issue_comment",
        issue_comment_seeds(),
        "issue_comment on a pull request with a command",
    );
    reach(
        "issue_comment",
        issue_comment_seeds(),
        "issue_comment edited, command without reason",
    );
    reach(
        "check_run",
        check_run_seeds(),
        "check_run irgate Accept button",
    );
    reach(
        "check_run",
        check_run_seeds(),
        "check_run irgate rerequested",
    );
    reach("pull_request", pull_request_seeds(), "pull_request_opened");
    let (_, merge, _) = delivery("merge_group_checks_requested");
    assert_eq!(
        dispatch_property(&rt, &handler, "merge_group", &merge).unwrap(),
        Outcome::Accepted
    );
    for (name, bytes) in results_seeds() {
        assert_eq!(
            results_property(&bytes).unwrap(),
            Outcome::Accepted,
            "{name}"
        );
    }
    let found = comment_seeds()
        .iter()
        .filter(|(_, b)| command_property(b).unwrap() == Outcome::Accepted)
        .count();
    assert_eq!(found, 5, "comment seeds with a command");
}
