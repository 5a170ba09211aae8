//! Posting a real comparison, the accept command and the event handlers, with
//! real webhook payloads against a contract-checking fake GitHub on loopback.
//!
//! (Over 600 lines: 26 end-to-end cases of the accept path, each a full exchange with
//! the fake GitHub.)
use std::collections::BTreeMap;
use std::time::Duration;

use crate::fake_github::{webhook, FakeGithub};
use irgate_core::baseline::{plan_accept, AcceptOptions};
use irgate_core::{
    BaselineSet, BenchId, BenchResult, Comparison, Environment, Gate, Metrics, Policy, Provenance,
    Run,
};
use irgate_github::accept::{AcceptConfig, AcceptOutcome, Refusal};
use irgate_github::check::{CheckOptions, ReportMode};
use irgate_github::client::{Auth, ClientConfig, GithubClient, RetryPolicy};
use irgate_github::comment::{PullRequest, MARKER};
use irgate_github::events::{Credentials, GithubHandler, Handled};
use irgate_github::report::{self, PostOptions};
use irgate_github::results::ResultsSource;
use serde_json::json;

const REPO: &str = "Codertocat/Hello-World";
const PR: u64 = 2;
const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASELINE_PATH: &str = "baselines/scarab-plugins/iai.toml";
const BENCH_FILE: &str = "crates/scarab-plugins/benches/iai.rs";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        total_budget: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
    }
}

pub(crate) fn client_config(fake: &FakeGithub) -> ClientConfig {
    ClientConfig {
        base_url: fake.url.clone(),
        auth: Auth::Token("ghs_test".into()),
        retry: retry(),
    }
}

fn env() -> Environment {
    Environment {
        valgrind: Some("valgrind-3.19.0".into()),
        glibc_tunables: Some("glibc.cpu.hwcaps=-ERMS".into()),
        ..Environment::default()
    }
}

fn run(load_ir: u64, function: &str) -> Run {
    let mut benchmarks = BTreeMap::new();
    for (group, func, ir) in [
        ("load", function, load_ir),
        ("dispatch", "on_output", 2_000),
    ] {
        let mut m = Metrics::default();
        m.insert("Ir", ir);
        benchmarks.insert(
            BenchId::new("scarab-plugins", "iai", group, func, None).unwrap(),
            BenchResult {
                metrics: m,
                source_file: Some(BENCH_FILE.into()),
            },
        );
    }
    Run {
        environment: env(),
        benchmarks,
    }
}

/// The baseline file text for a run (as `irgate accept` would write it).
pub(crate) fn baseline_text(r: &Run) -> String {
    let prov = Provenance {
        commit: "0000000".into(),
        accepted_at: "2026-01-01T00:00:00Z".into(),
        accepted_by: "someone".into(),
        reason: "initial".into(),
    };
    let plan = plan_accept(
        &BaselineSet::default(),
        r,
        &AcceptOptions {
            only: None,
            provenance: &prov,
            metrics: &[],
            profiles: None,
        },
    )
    .unwrap();
    plan[0].contents.clone()
}

/// Baseline: load/small = 1000 Ir. Current run: 1500 Ir (regressed).
fn regressed_comparison() -> Comparison {
    let base = baseline_text(&run(1_000, "small"));
    let set = BaselineSet::from_texts([(
        std::path::Path::new("scarab-plugins/iai.toml"),
        base.as_str(),
    )])
    .unwrap();
    irgate_core::compare(&run(1_500, "small"), &set, &Policy::default()).unwrap()
}

pub(crate) fn pr() -> PullRequest {
    PullRequest::new(REPO, PR).unwrap()
}

/// A fake with the baseline file, permissions, and the gate's results posted
/// on the head commit (as the report workflow would).
async fn scenario() -> FakeGithub {
    let fake = FakeGithub::start().await;
    {
        let mut st = fake.st();
        st.head_repo = REPO.into();
        st.head_sha = SHA.into();
        st.files.insert(
            BASELINE_PATH.into(),
            (
                baseline_text(&run(1_000, "small")).into_bytes(),
                "b".repeat(40),
            ),
        );
        st.permissions.insert("maint".into(), "write".into());
        st.permissions.insert("admin-user".into(), "admin".into());
        st.permissions.insert("reader".into(), "read".into());
    }
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    report::post(
        &client,
        &pr(),
        SHA,
        &regressed_comparison(),
        &PostOptions::default(),
    )
    .await
    .unwrap();
    fake
}

pub(crate) fn handler(fake: &FakeGithub, results: ResultsSource) -> GithubHandler {
    GithubHandler::new(
        Credentials::Fixed(client_config(fake)),
        AcceptConfig {
            results,
            ..AcceptConfig::default()
        },
        ReportMode::Auto,
    )
}

fn comment_event(action: &str, login: &str, user_type: &str, body: &str) -> Vec<u8> {
    let mut p = webhook("issue_comment_created");
    p["action"] = json!(action);
    p["issue"]["number"] = json!(PR);
    p["issue"]["pull_request"] =
        json!({"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"});
    p["comment"]["user"]["login"] = json!(login);
    p["comment"]["user"]["type"] = json!(user_type);
    p["comment"]["body"] = json!(body);
    p["comment"]["id"] = json!(777);
    p["repository"]["full_name"] = json!(REPO);
    serde_json::to_vec(&p).unwrap()
}

/// Delivers a newly created comment by the human user `login`.
pub(crate) async fn new_comment(h: &GithubHandler, login: &str, body: &str) -> Handled {
    h.dispatch(
        "issue_comment",
        &comment_event("created", login, "User", body),
    )
    .await
    .unwrap()
}

fn button_event(identifier: &str, sender: &str, head_sha: &str) -> Vec<u8> {
    let mut p = webhook("check_run_requested_action");
    p["check_run"]["name"] = json!("irgate");
    p["check_run"]["head_sha"] = json!(head_sha);
    p["check_run"]["pull_requests"][0]["number"] = json!(PR);
    p["requested_action"]["identifier"] = json!(identifier);
    p["sender"]["login"] = json!(sender);
    p["repository"]["full_name"] = json!(REPO);
    serde_json::to_vec(&p).unwrap()
}

pub(crate) fn replies(fake: &FakeGithub) -> Vec<String> {
    fake.st()
        .comments
        .iter()
        .filter(|c| !c.body.starts_with(MARKER))
        .map(|c| c.body.clone())
        .collect()
}

#[tokio::test]
async fn post_shows_failure_with_annotation_on_the_defining_line() {
    let fake = FakeGithub::start().await;
    let root = tempfile::tempdir().unwrap();
    let bench = root.path().join(BENCH_FILE);
    std::fs::create_dir_all(bench.parent().unwrap()).unwrap();
    std::fs::write(
        &bench,
        "use gungraun::*;\n\n#[library_benchmark]\nfn small() {}\n",
    )
    .unwrap();
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    let opts = PostOptions {
        source_root: Some(root.path().to_path_buf()),
        ..PostOptions::default()
    };
    let c = regressed_comparison();
    assert_eq!(c.gate, Gate::Failed);
    report::post(&client, &pr(), SHA, &c, &opts).await.unwrap();
    let st = fake.st();
    let run = &st.check_runs[0];
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(run.annotations.len(), 1);
    assert_eq!(run.annotations[0]["path"], BENCH_FILE);
    assert_eq!(run.annotations[0]["start_line"], 4);
    assert!(run.annotations[0]["message"]
        .as_str()
        .unwrap()
        .contains("1000 → 1500"));
    // The results ride along for the accept command.
    let text = run.output["text"].as_str().unwrap();
    let back = report::extract_results(text).unwrap().unwrap();
    assert_eq!(back.gate, Gate::Failed);
    assert_eq!(st.comments.len(), 1);
    assert!(st.comments[0].body.starts_with(MARKER));
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn without_a_checkout_bench_files_are_read_from_the_commit() {
    let fake = FakeGithub::start().await;
    fake.st().files.insert(
        BENCH_FILE.into(),
        (
            b"//! benches\n\nfn other() {}\nfn small() {}\n".to_vec(),
            "d".repeat(40),
        ),
    );
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    report::post(
        &client,
        &pr(),
        SHA,
        &regressed_comparison(),
        &PostOptions::default(),
    )
    .await
    .unwrap();
    let st = fake.st();
    assert_eq!(st.check_runs[0].annotations[0]["start_line"], 4);
    let read = st
        .seen
        .iter()
        .find(|s| s.op == "repos/get-content")
        .unwrap();
    assert_eq!(
        read.query,
        format!("ref={SHA}"),
        "read at the measured commit"
    );
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn post_of_the_core_sample_fixture() {
    let fake = FakeGithub::start().await;
    let text = include_str!("../fixtures/comparison-sample.json");
    let c = Comparison::from_json(text).unwrap();
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    let opts = PostOptions {
        check: CheckOptions {
            mode: ReportMode::Status,
            ..CheckOptions::default()
        },
        ..PostOptions::default()
    };
    report::post(&client, &pr(), SHA, &c, &opts).await.unwrap();
    assert_eq!(fake.st().statuses[0]["state"], "failure");
    fake.assert_contract();
}

#[tokio::test]
async fn accept_by_maintainer_commits_baselines_and_turns_the_check_green() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(
        &h,
        "maint",
        "Thanks!\n\n/irgate accept the new loader validates plugins",
    )
    .await;
    let Handled::Accept(AcceptOutcome::Accepted {
        files,
        new_head,
        benchmarks,
    }) = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(files, vec![BASELINE_PATH.to_string()]);
    assert_eq!(benchmarks, 2);
    let st = fake.st();
    // One commit to the PR branch, carrying reason and accepter.
    assert_eq!(st.commits.len(), 1);
    assert_eq!(st.commits[0].1, st.head_ref);
    assert!(st.commits[0].2.contains("Accepted-by: maint"));
    let written = String::from_utf8(st.files[BASELINE_PATH].0.clone()).unwrap();
    assert!(
        written.contains("the new loader validates plugins"),
        "{written}"
    );
    assert!(written.contains("maint"));
    assert!(written.contains("1500"));
    // The check on the new head commit is green.
    let green = st
        .check_runs
        .iter()
        .find(|c| c.head_sha == new_head)
        .unwrap();
    assert_eq!(green.conclusion.as_deref(), Some("success"));
    assert_eq!(st.reactions, vec![(777, "+1".to_string())]);
    // The sticky comment now shows the pass; one reply says what was accepted.
    let sticky: Vec<_> = st
        .comments
        .iter()
        .filter(|c| c.body.starts_with(MARKER))
        .collect();
    assert_eq!(sticky.len(), 1);
    assert!(sticky[0].body.contains("✅"), "{}", sticky[0].body);
    drop(st);
    let r = replies(&fake);
    assert_eq!(r.len(), 1);
    assert!(r[0].contains("accepted 2 benchmark"), "{}", r[0]);
    // The permission check went through the collaborator-permission route.
    assert_eq!(
        fake.st().count("repos/get-collaborator-permission-level"),
        1
    );
    fake.assert_contract();
}

#[tokio::test]
async fn accept_from_read_only_user_is_refused_with_reply() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "reader", "/irgate accept please").await;
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Refused(Refusal::NotPermitted { ref permission, .. })) if permission == "read"),
        "{out:?}"
    );
    let st = fake.st();
    assert!(st.commits.is_empty());
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let r = replies(&fake);
    assert_eq!(r.len(), 1);
    assert!(r[0].contains("`read` permission"), "{}", r[0]);
    fake.assert_contract();
}

#[tokio::test]
async fn accept_by_maintain_role_is_honoured_and_triage_is_refused() {
    // GitHub answers a maintainer with `permission: write` and
    // `role_name: maintain`; a triager with `permission: read`.
    let fake = scenario().await;
    fake.st()
        .permissions
        .insert("keeper".into(), "maintain".into());
    fake.st()
        .permissions
        .insert("triager".into(), "triage".into());
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "triager", "/irgate accept x").await;
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Refused(Refusal::NotPermitted { ref permission, .. })) if permission == "read"),
        "{out:?}"
    );
    assert!(fake.st().commits.is_empty());
    let out = new_comment(&h, "keeper", "/irgate accept intended").await;
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Accepted { .. })),
        "{out:?}"
    );
    assert_eq!(fake.st().commits.len(), 1);
    fake.assert_contract();
}

#[test]
fn refusal_replies_escape_outside_values() {
    let r = Refusal::NotPermitted {
        login: "evil</details>@org".into(),
        permission: "read`|x".into(),
    };
    let text = r.reply_text();
    assert!(
        !text.contains("</details>") && !text.contains("@org"),
        "{text}"
    );
    assert!(text.contains("`readx`"), "{text}");
    let r = Refusal::Nothing("benchmark `a|b` <img src=x> @team is new".into());
    let text = r.reply_text();
    assert!(
        !text.contains("<img") && !text.contains("@team") && !text.contains('|'),
        "{text}"
    );
}

#[tokio::test]
async fn accept_from_non_collaborator_is_refused() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "stranger", "/irgate accept x").await;
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Refused(Refusal::NotPermitted { .. }))
        ),
        "{out:?}"
    );
    assert!(fake.st().commits.is_empty());
}

#[tokio::test]
async fn accept_from_a_bot_is_ignored_silently() {
    let fake = scenario().await;
    let before = fake.st().seen.len();
    let h = handler(&fake, ResultsSource::CheckRun);
    for (login, ty) in [
        ("dependabot[bot]", "Bot"),
        ("sneaky", "Bot"),
        ("renovate[bot]", "User"),
    ] {
        let out = h
            .dispatch(
                "issue_comment",
                &comment_event("created", login, ty, "/irgate accept bump"),
            )
            .await
            .unwrap();
        assert_eq!(out, Handled::Ignored("comment by a bot"));
    }
    assert_eq!(
        fake.st().seen.len(),
        before,
        "no request for a bot's comment"
    );
}

#[tokio::test]
async fn accept_in_an_edited_comment_is_refused() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch(
            "issue_comment",
            &comment_event("edited", "admin-user", "User", "/irgate accept sneaky edit"),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        Handled::Accept(AcceptOutcome::Refused(Refusal::Edited))
    );
    assert!(fake.st().commits.is_empty());
    assert!(replies(&fake)[0].contains("edited"));
    fake.assert_contract();
}

#[tokio::test]
async fn accept_in_quoted_text_or_code_is_not_a_command() {
    let fake = scenario().await;
    let before = fake.st().seen.len();
    let h = handler(&fake, ResultsSource::CheckRun);
    for body in [
        "> /irgate accept quoted from above\n\nI disagree.",
        "Run this:\n```\n/irgate accept whatever\n```",
        "    /irgate accept indented code",
    ] {
        let out = new_comment(&h, "admin-user", body).await;
        assert_eq!(out, Handled::Ignored("no command"), "{body}");
    }
    assert_eq!(fake.st().seen.len(), before);
}

#[tokio::test]
async fn accept_needs_a_reason() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept").await;
    assert_eq!(
        out,
        Handled::Accept(AcceptOutcome::Refused(Refusal::NoReason))
    );
}

#[tokio::test]
async fn accept_when_results_are_for_an_older_push_is_refused() {
    let fake = scenario().await;
    // The author pushed again; the gate has not reported for the new head.
    fake.st().head_sha = "1111111111111111111111111111111111111111".into();
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept ok").await;
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Refused(Refusal::NoResults { .. }))
        ),
        "{out:?}"
    );
    assert!(fake.st().commits.is_empty());
    assert!(replies(&fake)[0].contains("1111111"));
    fake.assert_contract();
}

#[tokio::test]
async fn accept_with_stale_results_directory_is_refused() {
    let fake = scenario().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("comparison.json"),
        regressed_comparison().to_json(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("head-sha"),
        "2222222222222222222222222222222222222222\n",
    )
    .unwrap();
    let h = handler(&fake, ResultsSource::Dir(dir.path().to_path_buf()));
    let out = new_comment(&h, "maint", "/irgate accept ok").await;
    let Handled::Accept(AcceptOutcome::Refused(Refusal::Stale {
        results_sha,
        head_sha,
    })) = out
    else {
        panic!("{out:?}")
    };
    assert!(results_sha.starts_with("2222"));
    assert_eq!(head_sha, SHA);
    assert!(fake.st().commits.is_empty());
}

#[tokio::test]
async fn accept_from_results_directory_in_actions_mode() {
    let fake = scenario().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("comparison.json"),
        regressed_comparison().to_json(),
    )
    .unwrap();
    std::fs::write(dir.path().join("head-sha"), format!("{SHA}\n")).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        comment_event("created", "maint", "User", "/irgate accept expected"),
    )
    .unwrap();
    let h = handler(&fake, ResultsSource::Dir(dir.path().to_path_buf()));
    let out = h.handle_event_file("issue_comment", &event).await.unwrap();
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Accepted { .. })),
        "{out:?}"
    );
    assert_eq!(fake.st().commits.len(), 1);
    fake.assert_contract();
}

#[tokio::test]
async fn accept_on_a_fork_branch_is_refused() {
    let fake = scenario().await;
    fake.st().head_repo = "someone/Hello-World".into();
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept ok").await;
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Refused(Refusal::Fork { .. }))
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn comment_on_a_plain_issue_is_ignored() {
    let fake = scenario().await;
    let mut p = webhook("issue_comment_created");
    p["comment"]["body"] = json!("/irgate accept x");
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch("issue_comment", &serde_json::to_vec(&p).unwrap())
        .await
        .unwrap();
    assert!(matches!(out, Handled::Ignored(_)));
}

#[tokio::test]
async fn accept_button_with_permission_check() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch("check_run", &button_event("irgate-accept", "reader", SHA))
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Refused(Refusal::NotPermitted { .. }))
        ),
        "{out:?}"
    );
    assert!(fake.st().commits.is_empty());
    let out = h
        .dispatch("check_run", &button_event("irgate-accept", "maint", SHA))
        .await
        .unwrap();
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Accepted { .. })),
        "{out:?}"
    );
    assert_eq!(fake.st().commits.len(), 1);
    fake.assert_contract();
}

#[tokio::test]
async fn accept_button_on_an_old_commit_is_stale() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch(
            "check_run",
            &button_event(
                "irgate-accept",
                "maint",
                "3333333333333333333333333333333333333333",
            ),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            Handled::Accept(AcceptOutcome::Refused(Refusal::Stale { .. }))
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn unknown_button_and_other_checks_are_ignored() {
    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch("check_run", &button_event("lgtm|26764", "maint", SHA))
        .await
        .unwrap();
    assert_eq!(out, Handled::Ignored("unknown requested action"));
    // The real payload as delivered is another app's check run.
    let raw = serde_json::to_vec(&webhook("check_run_requested_action")).unwrap();
    assert_eq!(
        h.dispatch("check_run", &raw).await.unwrap(),
        Handled::Ignored("another check run")
    );
}

#[tokio::test]
async fn rerequested_check_is_published_again() {
    let fake = scenario().await;
    let mut p = webhook("check_run_rerequested");
    p["check_run"]["name"] = json!("irgate");
    p["check_run"]["head_sha"] = json!(SHA);
    p["check_run"]["pull_requests"] = json!([{"number": PR}]);
    p["repository"]["full_name"] = json!(REPO);
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = h
        .dispatch("check_run", &serde_json::to_vec(&p).unwrap())
        .await
        .unwrap();
    assert_eq!(out, Handled::Republished(SHA.into()));
    let st = fake.st();
    // A fresh run (annotations are not appended to the old one twice),
    // with the same verdict and the results still attached.
    assert_eq!(st.check_runs.len(), 2);
    let latest = st.check_runs.iter().max_by_key(|r| r.id).unwrap();
    assert_eq!(latest.conclusion.as_deref(), Some("failure"));
    assert!(report::extract_results(latest.output["text"].as_str().unwrap()).is_some());
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn pull_request_events_set_a_pending_check_once() {
    let fake = FakeGithub::start().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    for name in ["pull_request_opened", "pull_request_synchronize"] {
        let body = serde_json::to_vec(&webhook(name)).unwrap();
        let out = h.dispatch("pull_request", &body).await.unwrap();
        if name == "pull_request_opened" {
            assert_eq!(out, Handled::Pending(SHA.into()));
        } else {
            assert_eq!(out, Handled::Ignored("commit already has an irgate check"));
        }
    }
    let labeled = serde_json::to_vec(&webhook("pull_request_labeled")).unwrap();
    assert!(matches!(
        h.dispatch("pull_request", &labeled).await.unwrap(),
        Handled::Ignored(_)
    ));
    let wr = serde_json::to_vec(&webhook("workflow_run_completed")).unwrap();
    assert!(matches!(
        h.dispatch("workflow_run", &wr).await.unwrap(),
        Handled::Ignored(_)
    ));
    let st = fake.st();
    assert_eq!(st.check_runs.len(), 1);
    assert_eq!(st.check_runs[0].status, "queued");
    drop(st);
    fake.assert_contract();
}

#[tokio::test]
async fn pending_falls_back_to_status_without_check_permission() {
    let fake = FakeGithub::start().await;
    fake.st().deny_checks = true;
    let h = handler(&fake, ResultsSource::CheckRun);
    let body = serde_json::to_vec(&webhook("pull_request_opened")).unwrap();
    assert_eq!(
        h.dispatch("pull_request", &body).await.unwrap(),
        Handled::Pending(SHA.into())
    );
    assert_eq!(fake.st().statuses[0]["state"], "pending");
}

#[tokio::test]
async fn malformed_payload_is_an_error() {
    let fake = FakeGithub::start().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    assert!(h.dispatch("issue_comment", b"{not json").await.is_err());
    let err = h
        .dispatch("pull_request", br#"{"action":"opened"}"#)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("repository.full_name"), "{err}");
}

#[tokio::test]
async fn hostile_benchmark_name_and_reason_are_escaped() {
    let fake = FakeGithub::start().await;
    {
        let mut st = fake.st();
        st.head_repo = REPO.into();
        st.permissions.insert("maint".into(), "write".into());
    }
    let hostile = "x<img src=x onerror=alert(1)>|@everyone`](javascript:alert(1))";
    let base = baseline_text(&run(1_000, hostile));
    fake.st().files.insert(
        BASELINE_PATH.into(),
        (base.clone().into_bytes(), "c".repeat(40)),
    );
    let set = BaselineSet::from_texts([(
        std::path::Path::new("scarab-plugins/iai.toml"),
        base.as_str(),
    )])
    .unwrap();
    let c = irgate_core::compare(&run(1_500, hostile), &set, &Policy::default()).unwrap();
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    report::post(&client, &pr(), SHA, &c, &PostOptions::default())
        .await
        .unwrap();
    let body = fake.st().comments[0].body.clone();
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("@everyone"), "{body}");
    let check = fake.st().check_runs[0].output["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !check.contains("<img") && !check.contains("@everyone"),
        "{check}"
    );
    // Every table row keeps its column count: the `|` in the name is escaped.
    for line in body
        .lines()
        .filter(|l| l.starts_with('|') && l.contains("img"))
    {
        let cells = line.replace("\\|", "").matches('|').count();
        let header = body
            .lines()
            .find(|l| l.starts_with('|'))
            .unwrap()
            .matches('|')
            .count();
        assert_eq!(cells, header, "{line}");
    }
    // A hostile reason in the accept reply is escaped too.
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept <b>@org/team</b> | ok").await;
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Accepted { .. })),
        "{out:?}"
    );
    let r = replies(&fake);
    assert!(!r[0].contains("<b>") && !r[0].contains("@org"), "{}", r[0]);
    fake.assert_contract();
}

#[tokio::test]
async fn app_mode_uses_the_installation_named_in_each_delivery() {
    let fake = FakeGithub::start().await;
    let h = GithubHandler::new(
        Credentials::AppPerInstallation {
            app_id: 1,
            private_key_pem: include_str!("../fixtures/test-app-key.pem").into(),
            base_url: fake.url.clone(),
            retry: retry(),
        },
        AcceptConfig::default(),
        ReportMode::Auto,
    );
    let mut p = webhook("pull_request_synchronize");
    p["installation"]["id"] = json!(4242);
    let out = h
        .dispatch("pull_request", &serde_json::to_vec(&p).unwrap())
        .await
        .unwrap();
    assert_eq!(out, Handled::Pending(SHA.into()));
    assert!(fake
        .st()
        .seen
        .iter()
        .any(|s| s.path == "/app/installations/4242/access_tokens"));
    // A delivery without an installation cannot be served by an App.
    let opened = serde_json::to_vec(&webhook("pull_request_opened")).unwrap();
    let err = h.dispatch("pull_request", &opened).await.unwrap_err();
    assert!(err.to_string().contains("installation"), "{err}");
    fake.assert_contract();
}

/// A command inside an HTML comment is not shown in the thread, so it is not
/// acted on: on one line, across lines, unclosed, and after a visible line.
#[tokio::test]
async fn command_hidden_in_an_html_comment_is_ignored() {
    use irgate_github::accept::{find_command, Command};
    let hidden = [
        "<!-- /irgate accept x -->",
        "LGTM\n<!--\n/irgate accept x\n-->",
        "<!-- note\n   /irgate accept x\n   -->\n",
        "LGTM <!--\n/irgate accept x\n-->",
        "<!--\n/irgate accept x",
        "<!-- a --> <!-- b\n/irgate accept x\n-->",
    ];
    for body in hidden {
        assert_eq!(find_command(body), None, "{body:?}");
    }
    let visible = |body: &str| {
        assert_eq!(
            find_command(body),
            Some(Command::Accept {
                reason: "shown".into()
            }),
            "{body:?}"
        );
    };
    visible("<!-- irgate -->\n/irgate accept shown");
    visible("<!-- a\nb -->\n/irgate accept shown");
    visible("<!-- a --> /irgate accept shown");
    visible("<!---->\n/irgate accept shown");
    // Inside a code block `<!--` is text and hides nothing.
    visible("```\n<!--\n```\n/irgate accept shown");

    let fake = scenario().await;
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "Thanks!\n<!--\n/irgate accept sneaky\n-->").await;
    assert!(matches!(out, Handled::Ignored(_)), "{out:?}");
    assert!(fake.st().commits.is_empty());
    assert!(replies(&fake).is_empty(), "{:?}", replies(&fake));
}

#[tokio::test]
async fn accept_that_changes_no_number_commits_nothing() {
    let fake = scenario().await;
    // The branch's baselines already hold the measured numbers (accepted
    // earlier, with another reason at another time).
    fake.st().files.insert(
        BASELINE_PATH.into(),
        (
            baseline_text(&run(1_500, "small")).into_bytes(),
            "c".repeat(40),
        ),
    );
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept once more").await;
    assert!(
        matches!(out, Handled::Accept(AcceptOutcome::Refused(Refusal::Nothing(ref why))) if why == "the baselines already hold these numbers"),
        "{out:?}"
    );
    let st = fake.st();
    assert!(st.commits.is_empty(), "{:?}", st.commits);
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let r = replies(&fake);
    assert_eq!(r.len(), 1);
    assert!(
        r[0].contains("nothing to accept: the baselines already hold these numbers"),
        "{}",
        r[0]
    );
    fake.assert_contract();
}

/// The sticky comment's body (exactly one sticky comment must exist).
fn sticky(fake: &FakeGithub) -> String {
    let st = fake.st();
    let sticky: Vec<_> = st
        .comments
        .iter()
        .filter(|c| c.body.starts_with(MARKER))
        .collect();
    assert_eq!(sticky.len(), 1, "{sticky:?}");
    sticky[0].body.clone()
}

#[tokio::test]
async fn sticky_comment_names_and_links_its_commit_on_every_push() {
    let fake = scenario().await;
    let first = sticky(&fake);
    let link = |sha: &str| format!("[`{}`](https://github.com/{REPO}/commit/{sha})", &sha[..7]);
    assert!(first.contains(&link(SHA)), "{first}");
    // A new push with the same verdict still updates the comment to name it.
    let next = "0123456789abcdef0123456789abcdef01234567";
    let client = GithubClient::new(&client_config(&fake)).unwrap();
    report::post(
        &client,
        &pr(),
        next,
        &regressed_comparison(),
        &PostOptions::default(),
    )
    .await
    .unwrap();
    let second = sticky(&fake);
    assert!(second.contains(&link(next)), "{second}");
    assert!(!second.contains(&SHA[..7]), "{second}");
    // The verdict heading stays first.
    assert!(
        second[MARKER.len()..].trim_start().starts_with("### "),
        "{second}"
    );
    fake.assert_contract();
}

/// The file write's operation in the contract.
const PUT_FILE: &str = "repos/create-or-update-file-contents";

#[tokio::test]
async fn accept_retries_a_stale_file_sha_once_and_commits() {
    use crate::fake_github::Fault;
    let fake = scenario().await;
    fake.st().fault(
        PUT_FILE,
        Fault::Status(
            409,
            vec![],
            json!({"message": "is at 1234 but expected bbbb"}),
        ),
    );
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept the loader validates plugins").await;
    let Handled::Accept(AcceptOutcome::Accepted { files, .. }) = out else {
        panic!("{out:?}")
    };
    assert_eq!(files, vec![BASELINE_PATH.to_string()]);
    let st = fake.st();
    assert_eq!(st.count(PUT_FILE), 2, "one write, then one retry");
    assert_eq!(st.commits.len(), 1);
    // The retry checked the head again and re-read the file first.
    assert_eq!(st.count("pulls/get"), 2);
    let written = String::from_utf8(st.files[BASELINE_PATH].0.clone()).unwrap();
    assert!(written.contains("1500"), "{written}");
    assert_eq!(st.reactions, vec![(777, "+1".to_string())]);
    drop(st);
    let replies = replies(&fake);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].starts_with("irgate: accepted"), "{replies:?}");
    fake.assert_contract();
}

#[tokio::test]
async fn accept_does_not_retry_a_conflict_when_the_branch_moved_meanwhile() {
    use crate::fake_github::Fault;
    let fake = scenario().await;
    let pushed = "1111111111111111111111111111111111111111";
    fake.st().fault(
        PUT_FILE,
        Fault::StatusAndPush(
            409,
            json!({"message": "is at 1234 but expected bbbb"}),
            pushed.into(),
        ),
    );
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept the loader validates plugins").await;
    let Handled::Accept(AcceptOutcome::Refused(Refusal::CommitFailed { reason, committed })) = out
    else {
        panic!("{out:?}")
    };
    assert!(
        reason.contains(&format!("the branch moved to {pushed}")),
        "{reason}"
    );
    assert!(committed.is_empty());
    let st = fake.st();
    // No second write: the results measured a commit that is no longer the head.
    assert_eq!(st.count(PUT_FILE), 1);
    assert!(st.commits.is_empty());
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let replies = replies(&fake);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("nothing was committed"), "{replies:?}");
    fake.assert_contract();
}

#[tokio::test]
async fn accept_reports_a_second_conflict_instead_of_failing_silently() {
    use crate::fake_github::Fault;
    let fake = scenario().await;
    for _ in 0..2 {
        fake.st().fault(
            PUT_FILE,
            Fault::Status(
                409,
                vec![],
                json!({"message": "does not match <b>bbbb</b>"}),
            ),
        );
    }
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept the loader validates plugins").await;
    let Handled::Accept(AcceptOutcome::Refused(Refusal::CommitFailed { reason, committed })) = out
    else {
        panic!("{out:?}")
    };
    assert!(reason.contains("409"), "{reason}");
    assert!(reason.contains("after one retry"), "{reason}");
    assert!(committed.is_empty());
    let st = fake.st();
    assert_eq!(st.count(PUT_FILE), 2, "retried once, not more");
    assert!(st.commits.is_empty());
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let replies = replies(&fake);
    assert_eq!(replies.len(), 1, "{replies:?}");
    let r = &replies[0];
    assert!(
        r.starts_with("irgate: not accepted: committing the new baselines failed:"),
        "{r}"
    );
    assert!(r.contains("nothing was committed"), "{r}");
    assert!(r.contains("ask again"), "{r}");
    assert!(!r.contains("<b>"), "GitHub's message is escaped: {r}");
    fake.assert_contract();
}

#[tokio::test]
async fn accept_replies_when_the_commit_fails_with_a_server_error() {
    use crate::fake_github::Fault;
    let fake = scenario().await;
    // One more than the client retries.
    for _ in 0..=retry().max_retries {
        fake.st().fault(
            PUT_FILE,
            Fault::Status(500, vec![], json!({"message": "Server Error"})),
        );
    }
    let h = handler(&fake, ResultsSource::CheckRun);
    let out = new_comment(&h, "maint", "/irgate accept the loader validates plugins").await;
    let Handled::Accept(AcceptOutcome::Refused(Refusal::CommitFailed { reason, .. })) = out else {
        panic!("{out:?}")
    };
    assert!(reason.contains("500"), "{reason}");
    assert!(
        !reason.contains("after one retry"),
        "a 500 is not a conflict: {reason}"
    );
    let st = fake.st();
    assert!(st.commits.is_empty());
    // Not re-planned: the pull request was read once.
    assert_eq!(st.count("pulls/get"), 1);
    assert_eq!(st.reactions, vec![(777, "confused".to_string())]);
    drop(st);
    let replies = replies(&fake);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains("committing the new baselines failed"),
        "{replies:?}"
    );
    fake.assert_contract();
}
