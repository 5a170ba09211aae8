//! Sticky comment, check run, status fallback and fault handling against a
//! contract-checking fake GitHub on loopback.
//!
//! (Over 600 lines: 29 end-to-end cases of posting, each a full exchange with the fake
//! GitHub.)
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fake_github::{self, FakeGithub, Fault, Seen};
use irgate_core::Gate;
use irgate_github::check::{
    self, Annotation, CheckOptions, CheckReport, Published, Repo, ReportMode,
};
use irgate_github::client::{ApiError, Auth, ClientConfig, GithubClient, RetryPolicy};
use irgate_github::comment::{self, CommentOutcome, PullRequest, StickyOptions, MARKER};
use serde_json::json;

const BOT: &str = "github-actions[bot]";
const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        total_budget: Duration::from_secs(10),
        request_timeout: Duration::from_secs(2),
    }
}

fn client(fake: &FakeGithub, retry: RetryPolicy) -> GithubClient {
    GithubClient::new(&ClientConfig {
        base_url: fake.url.clone(),
        auth: Auth::Token("ghp_test".into()),
        retry,
    })
    .unwrap()
}

fn pr() -> PullRequest {
    PullRequest::new("Codertocat/Hello-World", 2).unwrap()
}

fn repo() -> Repo {
    Repo::parse("Codertocat/Hello-World").unwrap()
}

fn report(outcome: Gate, annotations: usize) -> CheckReport {
    CheckReport {
        head_sha: SHA.into(),
        outcome,
        title: "irgate verdict".into(),
        summary: "## irgate\n\nverdict".into(),
        text: None,
        annotations: (0..annotations)
            .map(|i| {
                Annotation::failure(
                    "benches/ir.rs",
                    i as u64 + 1,
                    &format!("bench {i}"),
                    "regressed",
                )
            })
            .collect(),
        details_url: None,
    }
}

#[tokio::test]
async fn sticky_create_then_update_then_unchanged() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let opts = StickyOptions::default();
    let first = comment::upsert_sticky(&c, &pr(), "first", true, &opts)
        .await
        .unwrap();
    let CommentOutcome::Created(id) = first else {
        panic!("{first:?}")
    };
    let second = comment::upsert_sticky(&c, &pr(), "second", true, &opts)
        .await
        .unwrap();
    assert_eq!(second, CommentOutcome::Updated(id));
    let third = comment::upsert_sticky(&c, &pr(), "second", true, &opts)
        .await
        .unwrap();
    assert_eq!(third, CommentOutcome::Unchanged(id));
    {
        let st = fake.st();
        assert_eq!(st.comments.len(), 1);
        assert_eq!(st.comments[0].body, format!("{MARKER}\nsecond"));
        assert_eq!(st.count("issues/create-comment"), 1);
        assert_eq!(st.count("issues/update-comment"), 1);
        // The update is the spec's PATCH, not octocrab's POST.
        assert!(st
            .seen
            .iter()
            .any(|s| s.op == "issues/update-comment" && s.method == "PATCH"));
    }
    fake.assert_contract();
}

#[tokio::test]
async fn marker_found_on_page_three_and_spoofed_marker_ignored() {
    let fake = FakeGithub::start().await;
    let bot_id = {
        let mut st = fake.st();
        for i in 0..210 {
            st.add_comment("octocat", &format!("comment {i}"));
        }
        // A user pasting the marker must not capture the sticky comment.
        st.add_comment("mallory", &format!("{MARKER}\nfake verdict"));
        for i in 0..20 {
            st.add_comment("octocat", &format!("more {i}"));
        }
        let id = st.add_comment(BOT, &format!("{MARKER}\nold verdict"));
        for i in 0..30 {
            st.add_comment("octocat", &format!("late {i}"));
        }
        id
    };
    let c = client(&fake, fast_policy());
    let out = comment::upsert_sticky(&c, &pr(), "new verdict", true, &StickyOptions::default())
        .await
        .unwrap();
    assert_eq!(out, CommentOutcome::Updated(bot_id));
    {
        let st = fake.st();
        let pages: Vec<&str> = st
            .seen
            .iter()
            .filter(|s| s.op == "issues/list-comments")
            .map(|s| s.query.as_str())
            .collect();
        assert!(pages.iter().any(|q| q.contains("page=3")), "{pages:?}");
        let bot = st.comments.iter().find(|c| c.id == bot_id).unwrap();
        assert_eq!(bot.body, format!("{MARKER}\nnew verdict"));
        let spoof = st.comments.iter().find(|c| c.login == "mallory").unwrap();
        assert!(spoof.body.contains("fake verdict"));
        assert_eq!(st.count("issues/create-comment"), 0);
    }
    fake.assert_contract();
}

#[tokio::test]
async fn two_concurrent_processes_leave_one_comment() {
    // No in-process lock: both runs list (the barrier makes both see no
    // comment), both create, and convergence must leave exactly one.
    let fake = FakeGithub::start().await;
    fake.st().list_barrier = Some(Arc::new(tokio::sync::Barrier::new(2)));
    let opts = StickyOptions {
        in_process_lock: false,
        ..StickyOptions::default()
    };
    let c1 = client(&fake, fast_policy());
    let c2 = client(&fake, fast_policy());
    let p = pr();
    let (a, b) = tokio::join!(
        comment::upsert_sticky(&c1, &p, "run A", true, &opts),
        comment::upsert_sticky(&c2, &p, "run B", true, &opts),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let st = fake.st();
    assert_eq!(st.count("issues/create-comment"), 2, "both runs created");
    assert_eq!(st.comments.len(), 1, "{:?}", st.comments);
    assert_eq!(a.id(), b.id());
    assert_eq!(st.comments[0].id, a.id().unwrap());
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn two_concurrent_workers_in_one_process_create_once() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let opts = StickyOptions::default();
    let p = pr();
    let (a, b) = tokio::join!(
        comment::upsert_sticky(&c, &p, "run A", true, &opts),
        comment::upsert_sticky(&c, &p, "run B", true, &opts),
    );
    assert_eq!(a.unwrap().id(), b.unwrap().id());
    assert_eq!(fake.st().count("issues/create-comment"), 1);
    assert_eq!(fake.st().comments.len(), 1);
    fake.assert_contract();
}

#[tokio::test]
async fn only_when_changed_skips_but_keeps_existing_current() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let opts = StickyOptions {
        only_when_changed: true,
        ..StickyOptions::default()
    };
    let out = comment::upsert_sticky(&c, &pr(), "nothing", false, &opts)
        .await
        .unwrap();
    assert_eq!(out, CommentOutcome::Skipped);
    assert_eq!(fake.st().comments.len(), 0);
    let out = comment::upsert_sticky(&c, &pr(), "regressed", true, &opts)
        .await
        .unwrap();
    let id = out.id().unwrap();
    // Back to no change: the existing comment is updated, not left stale.
    let out = comment::upsert_sticky(&c, &pr(), "all clear", false, &opts)
        .await
        .unwrap();
    assert_eq!(out, CommentOutcome::Updated(id));
    fake.assert_contract();
}

#[tokio::test]
async fn lost_create_answer_is_not_duplicated() {
    // GitHub stores the comment but the answer is a 502: a blind retry would
    // post it twice.
    let fake = FakeGithub::start().await;
    fake.st()
        .fault("issues/create-comment", Fault::AfterApply(502));
    let c = client(&fake, fast_policy());
    let out = comment::upsert_sticky(&c, &pr(), "v", true, &StickyOptions::default())
        .await
        .unwrap();
    let st = fake.st();
    assert_eq!(st.comments.len(), 1);
    assert_eq!(st.count("issues/create-comment"), 1);
    assert_eq!(out, CommentOutcome::Unchanged(st.comments[0].id));
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn check_states_for_each_outcome() {
    for (outcome, want, accept_button) in [
        (Gate::Passed, "success", false),
        (Gate::Failed, "failure", true),
        (Gate::CouldNotJudge, "neutral", false),
    ] {
        let fake = FakeGithub::start().await;
        let c = client(&fake, fast_policy());
        let published = check::publish(&c, &repo(), &report(outcome, 1), &CheckOptions::default())
            .await
            .unwrap();
        assert!(matches!(published, Published::CheckRun { .. }));
        let st = fake.st();
        assert_eq!(st.check_runs.len(), 1);
        let run = &st.check_runs[0];
        assert_eq!(run.name, "irgate");
        assert_eq!(run.head_sha, SHA);
        assert_eq!(run.conclusion.as_deref(), Some(want));
        let has_button = run
            .actions
            .as_array()
            .map(|a| !a.is_empty())
            .unwrap_or(false);
        assert_eq!(has_button, accept_button, "{outcome:?}");
        drop(st);
        fake.assert_contract();
    }
}

#[tokio::test]
async fn fail_closed_makes_could_not_judge_fail() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let opts = CheckOptions {
        fail_closed: true,
        ..CheckOptions::default()
    };
    check::publish(&c, &repo(), &report(Gate::CouldNotJudge, 0), &opts)
        .await
        .unwrap();
    assert_eq!(
        fake.st().check_runs[0].conclusion.as_deref(),
        Some("failure")
    );
    fake.assert_contract();
}

#[tokio::test]
async fn second_publish_makes_a_new_run_without_repeating_annotations() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 2),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 2),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    assert_eq!(st.check_runs.len(), 3);
    assert!(st.check_runs.iter().all(|r| r.annotations.len() <= 2));
    let latest = st.check_runs.iter().max_by_key(|r| r.id).unwrap();
    assert_eq!(latest.conclusion.as_deref(), Some("success"));
    assert_eq!(latest.actions, json!([]));
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn pending_run_is_completed_in_place() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    check::mark_pending(&c, &repo(), SHA, ReportMode::Auto)
        .await
        .unwrap();
    check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 3),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    assert_eq!(st.check_runs.len(), 1);
    assert_eq!(st.check_runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(st.check_runs[0].annotations.len(), 3);
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn lost_answers_never_duplicate_check_runs_or_annotations() {
    let fake = FakeGithub::start().await;
    fake.st().fault("checks/create", Fault::AfterApply(502));
    fake.st().fault("checks/update", Fault::AfterApply(504));
    let c = client(&fake, fast_policy());
    check::publish(&c, &repo(), &report(Gate::Failed, 120), &all_annotations())
        .await
        .unwrap();
    let st = fake.st();
    assert_eq!(st.count("checks/create"), 1);
    assert_eq!(st.check_runs.len(), 1);
    assert_eq!(st.check_runs[0].annotations.len(), 120);
    drop(st);
    fake.assert_contract();
}

/// The requests that created or updated a check run, in order.
fn check_run_writes(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| s.op == "checks/create" || s.op == "checks/update")
        .collect()
}

/// Options that let 200 annotations through, 10 ms apart.
fn all_annotations() -> CheckOptions {
    CheckOptions {
        max_annotations: 200,
        annotation_interval: Duration::from_millis(10),
        ..CheckOptions::default()
    }
}

#[tokio::test]
async fn ten_thousand_regressions_make_one_request_with_fifty_annotations_by_default() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let published = check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 10_000),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        matches!(published, Published::CheckRun { requests: 1, .. }),
        "{published:?}"
    );
    let st = fake.st();
    assert_eq!(st.check_runs[0].annotations.len(), 50);
    let writes = check_run_writes(&st.seen);
    assert_eq!(writes.len(), 1, "one request, not 200");
    let summary = writes[0].body["output"]["summary"].as_str().unwrap();
    assert!(
        summary.ends_with(&check::annotations_left_out_note(9_950, 50)),
        "{}",
        &summary[summary.len().saturating_sub(300)..]
    );
    assert!(summary.contains("9,950 regressions are left without an annotation"));
    assert!(summary.chars().count() <= check::MAX_OUTPUT_CHARS);
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn a_raised_cap_is_sent_in_paced_batches_and_a_full_summary_keeps_the_note() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let mut big = report(Gate::Failed, 1_000);
    big.summary = "x".repeat(100_000);
    let opts = CheckOptions {
        max_annotations: 120,
        annotation_interval: Duration::from_millis(150),
        ..CheckOptions::default()
    };
    let published = check::publish(&c, &repo(), &big, &opts).await.unwrap();
    assert!(
        matches!(published, Published::CheckRun { requests: 3, .. }),
        "{published:?}"
    );
    let st = fake.st();
    assert_eq!(st.check_runs[0].annotations.len(), 120);
    let writes = check_run_writes(&st.seen);
    assert_eq!(writes.len(), 3);
    for pair in writes.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(150),
            "follow-ups {gap:?} apart"
        );
    }
    for w in &writes {
        let summary = w.body["output"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), check::MAX_OUTPUT_CHARS);
        assert!(summary.ends_with(&check::annotations_left_out_note(880, 120)));
    }
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn no_note_when_every_regression_is_annotated() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 50),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    let summary = st
        .seen
        .iter()
        .find(|s| s.op == "checks/create")
        .unwrap()
        .body["output"]["summary"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!summary.contains("without an annotation"), "{summary}");
    assert_eq!(st.check_runs[0].annotations.len(), 50);
}

#[tokio::test]
async fn annotations_are_sent_fifty_at_a_time() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let published = check::publish(&c, &repo(), &report(Gate::Failed, 120), &all_annotations())
        .await
        .unwrap();
    assert!(
        matches!(published, Published::CheckRun { requests: 3, .. }),
        "{published:?}"
    );
    let st = fake.st();
    assert_eq!(st.check_runs[0].annotations.len(), 120);
    let sizes: Vec<usize> = st
        .seen
        .iter()
        .filter(|s| s.op.starts_with("checks/") && s.op != "checks/list-for-ref")
        .map(|s| {
            s.body["output"]["annotations"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    assert_eq!(st.check_runs[0].annotations[119]["start_line"], 120);
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn status_fallback_with_same_states() {
    for (outcome, want) in [
        (Gate::Passed, "success"),
        (Gate::Failed, "failure"),
        (Gate::CouldNotJudge, "error"),
    ] {
        let fake = FakeGithub::start().await;
        fake.st().deny_checks = true;
        let c = client(&fake, fast_policy());
        let published = check::publish(&c, &repo(), &report(outcome, 3), &CheckOptions::default())
            .await
            .unwrap();
        assert_eq!(published, Published::Status);
        let st = fake.st();
        assert_eq!(st.statuses.len(), 1);
        assert_eq!(st.statuses[0]["state"], want);
        assert_eq!(st.statuses[0]["context"], "irgate");
        assert_eq!(st.statuses[0]["sha"], SHA);
        drop(st);
        fake.assert_contract();
    }
}

#[tokio::test]
async fn pending_check_and_pending_status() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    check::mark_pending(&c, &repo(), SHA, ReportMode::Auto)
        .await
        .unwrap();
    assert_eq!(fake.st().check_runs[0].status, "queued");
    check::mark_pending(&c, &repo(), SHA, ReportMode::Status)
        .await
        .unwrap();
    assert_eq!(fake.st().statuses[0]["state"], "pending");
    fake.assert_contract();
}

#[tokio::test]
async fn fault_502_then_success() {
    let fake = FakeGithub::start().await;
    fake.st().fault(
        "issues/list-comments",
        Fault::Status(502, vec![], json!({"message": "Bad Gateway"})),
    );
    let c = client(&fake, fast_policy());
    comment::upsert_sticky(&c, &pr(), "x", true, &StickyOptions::default())
        .await
        .unwrap();
    assert_eq!(fake.st().comments.len(), 1);
    assert!(fake.st().count("issues/list-comments") >= 2);
    fake.assert_contract();
}

#[tokio::test]
async fn fault_429_honours_retry_after() {
    let fake = FakeGithub::start().await;
    fake.st().fault(
        "issues/create-comment",
        Fault::Status(
            429,
            vec![("retry-after", "1".into())],
            json!({"message": "slow down"}),
        ),
    );
    let c = client(&fake, fast_policy());
    let t = Instant::now();
    comment::upsert_sticky(&c, &pr(), "x", true, &StickyOptions::default())
        .await
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        t.elapsed()
    );
    let st = fake.st();
    // A 429 means the create was not carried out, so it is safe to repeat.
    assert_eq!(st.count("issues/create-comment"), 2);
    assert_eq!(st.comments.len(), 1);
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn fault_403_rate_limit_waits_for_reset() {
    let fake = FakeGithub::start().await;
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    fake.st().fault(
        "checks/list-for-ref",
        Fault::Status(
            403,
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            json!({"message": "API rate limit exceeded"}),
        ),
    );
    let c = client(&fake, fast_policy());
    check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(fake.st().count("checks/list-for-ref"), 2);
    assert_eq!(
        fake.st().check_runs.len(),
        1,
        "a rate limit is not a reason to fall back"
    );
    fake.assert_contract();
}

#[tokio::test]
async fn rate_limit_beyond_budget_fails_at_once() {
    let fake = FakeGithub::start().await;
    fake.st().fault(
        "issues/list-comments",
        Fault::Status(
            429,
            vec![("retry-after", "3600".into())],
            json!({"message": "slow down"}),
        ),
    );
    let c = client(&fake, fast_policy());
    let t = Instant::now();
    let err = comment::upsert_sticky(&c, &pr(), "x", true, &StickyOptions::default())
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, ApiError::GaveUp { .. }), "{err}");
    assert!(err.to_string().contains("budget"), "{err}");
}

#[tokio::test]
async fn timeout_is_retried_then_bounded() {
    let fake = FakeGithub::start().await;
    for _ in 0..10 {
        fake.st()
            .fault("checks/list-for-ref", Fault::Delay(Duration::from_secs(5)));
    }
    let policy = RetryPolicy {
        max_retries: 2,
        request_timeout: Duration::from_millis(200),
        total_budget: Duration::from_secs(3),
        ..fast_policy()
    };
    let c = client(&fake, policy);
    let t = Instant::now();
    let err = check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let ApiError::GaveUp { attempts, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn timeout_then_success() {
    let fake = FakeGithub::start().await;
    fake.st()
        .fault("checks/list-for-ref", Fault::Delay(Duration::from_secs(5)));
    let policy = RetryPolicy {
        request_timeout: Duration::from_millis(300),
        ..fast_policy()
    };
    let c = client(&fake, policy);
    check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(fake.st().check_runs.len(), 1);
}

#[tokio::test]
async fn fault_422_is_not_retried() {
    let fake = FakeGithub::start().await;
    fake.st().fault(
        "issues/create-comment",
        Fault::Status(
            422,
            vec![],
            json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]}),
        ),
    );
    let c = client(&fake, fast_policy());
    let err = comment::upsert_sticky(&c, &pr(), "x", true, &StickyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::UNPROCESSABLE_ENTITY));
    assert!(err.to_string().contains("too long"), "{err}");
    assert_eq!(fake.st().count("issues/create-comment"), 1);
    assert_eq!(fake.st().comments.len(), 0);
}

#[tokio::test]
async fn huge_report_fits_github_limits() {
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let md = "| `bench` | 1 | 2 |\n".repeat(10_000);
    comment::upsert_sticky(&c, &pr(), &md, true, &StickyOptions::default())
        .await
        .unwrap();
    let mut r = report(Gate::Failed, 0);
    r.summary = md;
    check::publish(&c, &repo(), &r, &CheckOptions::default())
        .await
        .unwrap();
    // The fake enforces maxLength from the contract.
    fake.assert_contract();
    assert!(fake.st().comments[0].body.chars().count() <= 65_536);
}

#[tokio::test]
async fn github_app_auth_mints_an_installation_token() {
    let fake = FakeGithub::start().await;
    let key = include_str!("../fixtures/test-app-key.pem");
    let c = GithubClient::new(&ClientConfig {
        base_url: fake.url.clone(),
        auth: Auth::App {
            app_id: 1,
            private_key_pem: key.into(),
            installation_id: 42,
        },
        retry: fast_policy(),
    })
    .unwrap();
    check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    assert_eq!(st.count("apps/create-installation-access-token"), 1);
    assert!(st
        .seen
        .iter()
        .any(|s| s.path == "/app/installations/42/access_tokens"));
    drop(st);
    fake.assert_contract();
}

#[test]
fn bad_app_key_is_a_clear_error() {
    let err = GithubClient::new(&ClientConfig {
        base_url: "http://127.0.0.1:1".into(),
        auth: Auth::App {
            app_id: 1,
            private_key_pem: "not a key".into(),
            installation_id: 1,
        },
        retry: RetryPolicy::default(),
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("private key"), "{err}");
}

/// A base URL without a scheme (`GITHUB_API_URL=127.0.0.1:8080`) or with one
/// that is not HTTP is refused when the client is built, naming the value,
/// instead of panicking inside the HTTP stack on the first request.
#[tokio::test]
async fn base_url_without_a_scheme_is_a_clear_error() {
    let fake = FakeGithub::start().await;
    let bare = fake.url.trim_start_matches("http://").to_string();
    for bad in [
        bare.as_str(),
        "ftp://ghe.example/api/v3",
        "https://",
        "not a url",
    ] {
        let built = GithubClient::new(&ClientConfig {
            base_url: bad.into(),
            auth: Auth::Token("ghp_test".into()),
            retry: fast_policy(),
        });
        let Err(err) = built else {
            // Before the check, the request itself panicked.
            let c = built.unwrap();
            let _ = c.get("/repos/Codertocat/Hello-World").await;
            panic!("`{bad}` was accepted as a base URL");
        };
        let text = err.to_string();
        assert!(text.contains(&format!("`{bad}`")), "{text}");
        assert!(text.contains("http"), "{text}");
    }
    assert!(fake.st().seen.is_empty(), "nothing was sent");
}

#[test]
fn contract_validator_catches_mistakes() {
    // The fake is only as good as its validator: show it rejects what GitHub would.
    let c = fake_github::contract();
    let ops = &c["operations"];
    let update = &ops["checks/update"]["requestBody"]["schema"];
    let mut errs = Vec::new();
    // octocrab's UpdateCheckRunBuilder quirk: a stray `check_run_id`.
    fake_github::validate(
        update,
        &json!({"check_run_id": 1, "status": "completed", "conclusion": "success"}),
        "u",
        &mut errs,
        true,
    );
    assert!(errs.iter().any(|e| e.contains("check_run_id")), "{errs:?}");
    errs.clear();
    fake_github::validate(
        update,
        &json!({"status": "completed"}),
        "u",
        &mut errs,
        true,
    );
    assert!(
        errs.iter().any(|e| e.contains("anyOf")),
        "completed without conclusion: {errs:?}"
    );
    errs.clear();
    let anns: Vec<_> = (0..51).map(|i| json!({"path": "a.rs", "start_line": i, "end_line": i, "annotation_level": "failure", "message": "m"})).collect();
    fake_github::validate(
        update,
        &json!({"output": {"summary": "s", "annotations": anns}}),
        "u",
        &mut errs,
        true,
    );
    assert!(errs.iter().any(|e| e.contains("maxItems")), "{errs:?}");
    errs.clear();
    fake_github::validate(
        update,
        &json!({"conclusion": "passed"}),
        "u",
        &mut errs,
        true,
    );
    assert!(errs.iter().any(|e| e.contains("enum")), "{errs:?}");
    errs.clear();
    let summary = "x".repeat(65_536);
    fake_github::validate(
        update,
        &json!({"output": {"summary": summary}}),
        "u",
        &mut errs,
        true,
    );
    assert!(errs.iter().any(|e| e.contains("maxLength")), "{errs:?}");
    errs.clear();
    let create = &ops["issues/create-comment"]["requestBody"]["schema"];
    fake_github::validate(create, &json!({"text": "hi"}), "c", &mut errs, true);
    assert!(
        errs.iter().any(|e| e.contains("required `body`")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn a_workflow_job_named_irgate_is_not_taken_over() {
    let fake = FakeGithub::start().await;
    fake.st().check_runs.push(fake_github::CheckRun {
        id: 5,
        head_sha: SHA.into(),
        name: "irgate".into(),
        status: "completed".into(),
        conclusion: Some("success".into()),
        output: serde_json::Value::Null,
        annotations: vec![],
        actions: serde_json::Value::Null,
        external_id: None,
    });
    let c = client(&fake, fast_policy());
    check::publish(
        &c,
        &repo(),
        &report(Gate::Failed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    assert_eq!(st.check_runs.len(), 2);
    assert_eq!(st.check_runs[0].conclusion.as_deref(), Some("success"));
    assert_eq!(st.check_runs[1].conclusion.as_deref(), Some("failure"));
    assert_eq!(st.check_runs[1].external_id.as_deref(), Some("irgate"));
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn fault_503_with_retry_after_waits_that_long() {
    let fake = FakeGithub::start().await;
    fake.st().fault(
        "checks/list-for-ref",
        Fault::Status(
            503,
            vec![("retry-after", "1".into())],
            json!({"message": "busy"}),
        ),
    );
    let c = client(&fake, fast_policy());
    let t = Instant::now();
    check::publish(
        &c,
        &repo(),
        &report(Gate::Passed, 0),
        &CheckOptions::default(),
    )
    .await
    .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(fake.st().count("checks/list-for-ref"), 2);
    fake.assert_contract();
}

#[tokio::test]
async fn sticky_found_for_any_bot_unless_a_login_is_given() {
    let fake = FakeGithub::start().await;
    let app_id = fake
        .st()
        .add_comment("irgate-app[bot]", &format!("{MARKER}\nfrom the app"));
    let c = client(&fake, fast_policy());
    // Default: the App's own comment is found without configuring its login.
    let out = comment::upsert_sticky(&c, &pr(), "v2", true, &StickyOptions::default())
        .await
        .unwrap();
    assert_eq!(out, CommentOutcome::Updated(app_id));
    // Narrowed to another login: that bot's comment is not ours.
    let opts = StickyOptions {
        bot_login: Some(BOT.into()),
        ..StickyOptions::default()
    };
    let out = comment::upsert_sticky(&c, &pr(), "v3", true, &opts)
        .await
        .unwrap();
    assert!(
        matches!(out, CommentOutcome::Created(id) if id != app_id),
        "{out:?}"
    );
    fake.assert_contract();
}

#[tokio::test]
async fn contract_check_rejects_wrong_method_path_query_and_body() {
    // The same requests the bot makes, each with one mistake: the fake must
    // record a violation for every one, or a contract test proves nothing.
    let fake = FakeGithub::start().await;
    let c = client(&fake, fast_policy());
    let base = "/repos/Codertocat/Hello-World";
    let bad: Vec<(http::Method, String, Option<serde_json::Value>)> = vec![
        // octocrab's update_comment quirk: POST where the description says PATCH.
        (
            http::Method::POST,
            format!("{base}/issues/comments/1"),
            Some(json!({"body": "x"})),
        ),
        // A path the description does not have.
        (http::Method::GET, format!("{base}/pulls/2/comments"), None),
        // A query value outside its enum.
        (
            http::Method::GET,
            format!("{base}/commits/{SHA}/check-runs?filter=newest"),
            None,
        ),
        // An unknown query parameter.
        (
            http::Method::GET,
            format!("{base}/issues/2/comments?per_page=100&order=asc"),
            None,
        ),
        // A non-integer path parameter.
        (http::Method::GET, format!("{base}/pulls/two"), None),
        // A body without a required field, and with an unknown one.
        (
            http::Method::POST,
            format!("{base}/issues/2/comments"),
            Some(json!({"text": "hi"})),
        ),
        // A status state outside the enum.
        (
            http::Method::POST,
            format!("{base}/statuses/{SHA}"),
            Some(json!({"state": "neutral", "context": "irgate"})),
        ),
        // A title longer than maxLength.
        (
            http::Method::POST,
            format!("{base}/check-runs"),
            Some(json!({
                "name": "irgate", "head_sha": SHA, "status": "completed",
                "conclusion": "success",
                "output": {"title": "t", "summary": "x".repeat(65_536)}
            })),
        ),
    ];
    for (method, path, body) in &bad {
        let before = fake.st().violations.len();
        let err = c
            .request(
                method.clone(),
                path,
                body.as_ref(),
                irgate_github::client::Idempotency::Idempotent,
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.status(),
            Some(http::StatusCode::UNPROCESSABLE_ENTITY),
            "{method} {path}: {err}"
        );
        let violations = fake.st().violations.clone();
        assert!(
            violations.len() > before,
            "{method} {path} was not flagged: {violations:#?}"
        );
    }
    let st = fake.st();
    let all = st.violations.join("\n");
    for expected in [
        "no such operation",
        "not in enum",
        "unknown query parameter `order`",
        "not an integer",
        "missing required `body`",
        "unknown property `text`",
        "maxLength",
    ] {
        assert!(all.contains(expected), "no `{expected}` in:\n{all}");
    }
}
