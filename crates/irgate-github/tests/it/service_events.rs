//! The webhook service with the real GitHub handlers: signed deliveries over
//! loopback HTTP reach the handlers, which talk to the fake GitHub.
use std::sync::Arc;
use std::time::Duration;

use crate::fake_github::{self, webhook, FakeGithub};
use irgate_github::accept::AcceptConfig;
use irgate_github::check::ReportMode;
use irgate_github::client::{Auth, ClientConfig, RetryPolicy};
use irgate_github::events::{Credentials, GithubHandler, Handled};
use irgate_github::server::{self, ServerConfig, WebhookSecret};

async fn deliver(
    http: &reqwest::Client,
    url: &str,
    secret: &WebhookSecret,
    event: &str,
    id: &str,
    body: Vec<u8>,
) -> u16 {
    http.post(format!("{url}{}", server::WEBHOOK_PATH))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", id)
        .header("X-Hub-Signature-256", server::sign(secret, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn wait_for(fake: &FakeGithub, what: impl Fn(&fake_github::State) -> bool) {
    for _ in 0..200 {
        if what(&fake.st()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached; requests: {:#?}", fake.st().seen);
}

/// The real handlers, talking to `fake` with a token, in check-run mode.
fn handler(fake: &FakeGithub) -> GithubHandler {
    GithubHandler::new(
        Credentials::Fixed(ClientConfig {
            base_url: fake.url.clone(),
            auth: Auth::Token("ghs_test".into()),
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
        }),
        AcceptConfig::default(),
        ReportMode::Auto,
    )
}

#[tokio::test]
async fn signed_deliveries_reach_the_github_handlers() {
    let fake = FakeGithub::start().await;
    fake.st().permissions.insert("reader".into(), "read".into());
    let handler = Arc::new(handler(&fake));
    let secret = WebhookSecret::new("s3cret").unwrap();
    let config = ServerConfig::new(secret.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(server::serve_with_shutdown(
        listener,
        config,
        handler,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let http = reqwest::Client::new();

    // pull_request opened → a queued check on the head commit.
    let body = serde_json::to_vec(&webhook("pull_request_opened")).unwrap();
    let status = deliver(&http, &url, &secret, "pull_request", "d-1", body).await;
    assert!((200..300).contains(&status), "{status}");
    wait_for(&fake, |st| st.check_runs.len() == 1).await;

    // An accept from a read-only user → a refusal reply.
    let mut p = webhook("issue_comment_created");
    p["issue"]["number"] = serde_json::json!(2);
    p["issue"]["pull_request"] = serde_json::json!({"url": "x"});
    p["comment"]["user"]["login"] = serde_json::json!("reader");
    p["comment"]["body"] = serde_json::json!("/irgate accept trust me");
    let body = serde_json::to_vec(&p).unwrap();
    let status = deliver(&http, &url, &secret, "issue_comment", "d-2", body).await;
    assert!((200..300).contains(&status), "{status}");
    wait_for(&fake, |st| {
        st.comments
            .iter()
            .any(|c| c.body.contains("not accepted") && c.body.contains("`read`"))
    })
    .await;

    stop_tx.send(()).unwrap();
    let report = service.await.unwrap().unwrap();
    assert_eq!(report.stats.handled, 2, "{report:?}");
    assert_eq!(report.stats.failed, 0, "{report:?}");
    fake.assert_contract();
}

#[tokio::test]
async fn merge_group_checks_requested_marks_the_queued_merge_commit_pending() {
    // GitHub's own example delivery (`@octokit/webhooks-examples`): the merge
    // queue asks for checks on the merge commit it made.
    let fake = FakeGithub::start().await;
    let handler = handler(&fake);
    let payload = webhook("merge_group_checks_requested");
    let head = payload["merge_group"]["head_sha"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(&payload).unwrap();
    let handled = handler.dispatch("merge_group", &body).await.unwrap();
    assert_eq!(handled, Handled::Pending(head.clone()));
    {
        let st = fake.st();
        assert_eq!(st.check_runs.len(), 1);
        assert_eq!(st.check_runs[0].head_sha, head);
        assert_eq!(st.check_runs[0].status, "queued");
        assert!(st
            .seen
            .iter()
            .all(|s| s.path.starts_with("/repos/octo-org/octo-repo/")));
    }
    // Asked again (a re-queue), the existing check is left alone.
    let again = handler.dispatch("merge_group", &body).await.unwrap();
    assert_eq!(
        again,
        Handled::Ignored("commit already has an irgate check")
    );
    assert_eq!(fake.st().check_runs.len(), 1);
    // Other actions (`destroyed`) do nothing; a head that is not a commit id
    // is refused naming the field.
    let mut gone = payload.clone();
    gone["action"] = serde_json::json!("destroyed");
    let handled = handler
        .dispatch("merge_group", &serde_json::to_vec(&gone).unwrap())
        .await
        .unwrap();
    assert!(matches!(handled, Handled::Ignored(_)), "{handled:?}");
    let mut bad = payload;
    bad["merge_group"]["head_sha"] = serde_json::json!("main");
    let err = handler
        .dispatch("merge_group", &serde_json::to_vec(&bad).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("merge_group.head_sha"), "{err}");
    fake.assert_contract();
}
