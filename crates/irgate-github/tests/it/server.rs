//! The webhook service's HTTP contract, driven in-process through the router with
//! GitHub's own example payloads: signatures, replays, size limit, unknown events,
//! queueing and the health endpoint.

use std::sync::Arc;
use std::time::Duration;

use crate::server_common::{config, fixture, request, secret, signed, Recorder};
use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use irgate_github::server::{router, sign, verify_signature, Health, WebhookSecret, HEALTH_PATH};
use tower::ServiceExt;

/// Sends one request through the router and returns status, headers and body.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// A router whose work queue runs in the background, and its recorder.
fn running(recorder: &Arc<Recorder>) -> Router {
    let (app, queue) = router(&config(), Arc::clone(recorder));
    tokio::spawn(queue.run(std::future::pending()));
    app
}

async fn health(app: &Router) -> Health {
    let req = Request::get(HEALTH_PATH).body(Body::empty()).unwrap();
    let (status, _, body) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn signature_matches_githubs_documented_example() {
    // The example from GitHub's "Validating webhook deliveries" page.
    let secret = WebhookSecret::new("It's a Secret to Everybody").unwrap();
    let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(sign(&secret, b"Hello, World!"), expected);
    assert!(verify_signature(&secret, b"Hello, World!", expected));
    assert!(!verify_signature(&secret, b"Hello, World?", expected));
    assert!(!verify_signature(
        &secret,
        b"Hello, World!",
        &expected[..70]
    ));
    assert!(!verify_signature(
        &secret,
        b"Hello, World!",
        &expected["sha256=".len()..]
    ));
    let sha1_style = expected.replace("sha256=", "sha1=");
    assert!(!verify_signature(&secret, b"Hello, World!", &sha1_style));
    assert!(!verify_signature(&secret, b"Hello, World!", "sha256=zz"));
}

#[test]
fn empty_secret_is_refused() {
    assert!(WebhookSecret::new("").is_err());
    assert_eq!(format!("{:?}", secret()), "WebhookSecret(<redacted>)");
}

#[tokio::test]
async fn valid_delivery_reaches_the_handler_exactly_once_with_the_raw_body() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let cases = [
        ("issue_comment", "issue_comment_created"),
        ("pull_request", "pull_request_opened"),
        ("pull_request", "pull_request_synchronize"),
        ("check_run", "check_run_rerequested"),
        ("check_run", "check_run_requested_action"),
    ];
    for (i, (event, name)) in cases.iter().enumerate() {
        let id = format!("00000000-0000-0000-0000-00000000000{i}");
        let (status, _, body) = send(&app, signed(event, &id, fixture(name))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{name}: {body}");
    }
    recorder.wait_for(cases.len()).await;
    // Give a stray second call the chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), cases.len());
    for (i, (event, name)) in cases.iter().enumerate() {
        let id = format!("00000000-0000-0000-0000-00000000000{i}");
        let got: Vec<_> = seen.iter().filter(|d| d.delivery_id == id).collect();
        assert_eq!(got.len(), 1, "{id} handled {} times", got.len());
        assert_eq!(got[0].event, *event);
        assert_eq!(
            got[0].body.as_ref(),
            fixture(name).as_slice(),
            "{name} body changed"
        );
    }
    let stats = health(&app).await.stats;
    assert_eq!((stats.queued, stats.handled, stats.failed), (5, 5, 0));
}

#[tokio::test]
async fn missing_signature_is_refused_before_the_handler() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let req = request(
        "issue_comment",
        "d-1",
        None,
        fixture("issue_comment_created"),
    );
    let (status, _, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(health(&app).await.stats.bad_signature, 1);
    assert!(recorder.ids().is_empty());
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let body = fixture("issue_comment_created");
    let wrong_secret = sign(&WebhookSecret::new("not the secret").unwrap(), &body);
    let other_body = sign(&secret(), b"{}");
    let good = sign(&secret(), &body);
    let upper = good.replace("sha256=", "SHA256=");
    let sha1 = good.replace("sha256=", "sha1=");
    for (i, sig) in [
        wrong_secret,
        other_body,
        upper,
        sha1,
        "sha256=".to_string(),
        String::new(),
    ]
    .iter()
    .enumerate()
    {
        let req = request(
            "issue_comment",
            &format!("bad-{i}"),
            Some(sig),
            body.clone(),
        );
        let (status, _, _) = send(&app, req).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "signature {sig:?} was accepted"
        );
    }
    // A body changed by one byte after signing.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let (status, _, _) = send(
        &app,
        request("issue_comment", "bad-t", Some(&good), tampered),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The same id, correctly signed, is still accepted: refused requests are not remembered.
    let (status, _, _) = send(&app, signed("issue_comment", "bad-0", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    recorder.wait_for(1).await;
    assert_eq!(recorder.ids(), vec!["bad-0".to_string()]);
    assert_eq!(health(&app).await.stats.bad_signature, 7);
}

#[tokio::test]
async fn replayed_delivery_is_refused_and_handled_once() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let body = fixture("pull_request_opened");
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let (first, _, _) = send(&app, signed("pull_request", id, body.clone())).await;
    let (second, _, _) = send(&app, signed("pull_request", id, body.clone())).await;
    assert_eq!(first, StatusCode::ACCEPTED);
    assert_eq!(second, StatusCode::CONFLICT);
    recorder.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(recorder.ids(), vec![id.to_string()]);
    assert_eq!(health(&app).await.stats.replayed, 1);
}

#[tokio::test]
async fn concurrent_copies_of_one_delivery_are_queued_once() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let body = fixture("issue_comment_created");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let app = app.clone();
        let req = signed("issue_comment", "same-id", body.clone());
        tasks.push(tokio::spawn(async move { send(&app, req).await.0 }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, conflicts), (1, 15));
    recorder.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(recorder.ids().len(), 1);
}

#[tokio::test]
async fn replay_cache_is_bounded_and_forgets_the_oldest() {
    let recorder = Recorder::new();
    let mut cfg = config();
    cfg.replay_cache_capacity = 2;
    let (app, queue) = router(&cfg, Arc::clone(&recorder));
    tokio::spawn(queue.run(std::future::pending()));
    let body = fixture("pull_request_synchronize");
    for id in ["a", "b", "c"] {
        let (status, _, _) = send(&app, signed("pull_request", id, body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // "c" and "b" are remembered; "a" has been forgotten.
    let (status, _, _) = send(&app, signed("pull_request", "c", body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = send(&app, signed("pull_request", "b", body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = send(&app, signed("pull_request", "a", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let recorder = Recorder::new();
    let mut cfg = config();
    let body = fixture("pull_request_opened");
    cfg.max_body_bytes = body.len() - 1;
    let (app, queue) = router(&cfg, Arc::clone(&recorder));
    tokio::spawn(queue.run(std::future::pending()));
    let (status, _, _) = send(&app, signed("pull_request", "big", body.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine.
    let mut cfg = config();
    cfg.max_body_bytes = body.len();
    let (app, queue) = router(&cfg, Arc::clone(&recorder));
    tokio::spawn(queue.run(std::future::pending()));
    let (status, _, _) = send(&app, signed("pull_request", "fits", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    recorder.wait_for(1).await;
    assert_eq!(recorder.ids(), vec!["fits".to_string()]);
}

#[tokio::test]
async fn unknown_and_unwanted_events_get_2xx_and_are_ignored() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let (status, _, body) = send(
        &app,
        signed("workflow_run", "w-1", fixture("workflow_run_completed")),
    )
    .await;
    assert!(status.is_success(), "{status}");
    assert!(body.contains("ignored"), "{body}");
    let (status, _, _) = send(
        &app,
        signed("star", "s-1", b"{\"action\":\"created\"}".to_vec()),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let (status, _, body) = send(
        &app,
        signed(
            "ping",
            "p-1",
            b"{\"zen\":\"Keep it logically awesome.\"}".to_vec(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("pong"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(recorder.ids().is_empty());
    assert_eq!(health(&app).await.stats.ignored, 2);
}

#[tokio::test]
async fn unknown_events_are_still_signature_checked() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let req = request("star", "s-1", None, b"{}".to_vec());
    let (status, _, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_or_malformed_delivery_headers_get_400() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let body = fixture("issue_comment_created");
    let sig = sign(&secret(), &body);
    let no_id = Request::post("/webhook")
        .header("x-github-event", "issue_comment")
        .header("x-hub-signature-256", &sig)
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&app, no_id).await.0, StatusCode::BAD_REQUEST);
    let no_event = Request::post("/webhook")
        .header("x-github-delivery", "d-1")
        .header("x-hub-signature-256", &sig)
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&app, no_event).await.0, StatusCode::BAD_REQUEST);
    // An id that is not a GUID-like token (it would reach logs and file names).
    let bad_id = request("issue_comment", "../../d-1 x", Some(&sig), body);
    assert_eq!(send(&app, bad_id).await.0, StatusCode::BAD_REQUEST);
    assert!(recorder.ids().is_empty());
}

#[tokio::test]
async fn full_queue_answers_503_and_the_delivery_can_be_redelivered() {
    let recorder = Recorder::new();
    let mut cfg = config();
    cfg.queue_capacity = 1;
    let (app, queue) = router(&cfg, Arc::clone(&recorder));
    let body = fixture("pull_request_opened");
    // No worker yet: the first delivery fills the queue.
    let (first, _, _) = send(&app, signed("pull_request", "q-1", body.clone())).await;
    assert_eq!(first, StatusCode::ACCEPTED);
    let (second, headers, _) = send(&app, signed("pull_request", "q-2", body.clone())).await;
    assert_eq!(second, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key("retry-after"));
    let h = health(&app).await.stats;
    assert_eq!((h.queue_depth, h.queue_full), (1, 1));
    // Once the worker runs, a redelivery of the refused id (same GUID, as GitHub's
    // "Redeliver" sends) is accepted: refused deliveries are not remembered.
    tokio::spawn(queue.run(std::future::pending()));
    recorder.wait_for(1).await;
    let (again, _, _) = send(&app, signed("pull_request", "q-2", body)).await;
    assert_eq!(again, StatusCode::ACCEPTED);
    recorder.wait_for(2).await;
    assert_eq!(recorder.ids(), vec!["q-1".to_string(), "q-2".to_string()]);
}

#[tokio::test]
async fn handler_errors_and_panics_are_counted_and_do_not_stop_the_worker() {
    let recorder = Arc::new(Recorder {
        fail_ids: vec!["fails".to_string()],
        panic_ids: vec!["panics".to_string()],
        ..Recorder::default()
    });
    let app = running(&recorder);
    let body = fixture("issue_comment_created");
    for id in ["fails", "panics", "works"] {
        let (status, _, _) = send(&app, signed("issue_comment", id, body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    recorder.wait_for(2).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = health(&app).await.stats;
            if s.handled + s.failed == 3 {
                assert_eq!((s.handled, s.failed), (1, 2));
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn health_reports_ok() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let h = health(&app).await;
    assert_eq!(h.status, "ok");
    assert_eq!(h.stats.received, 0);
    // Only GET and POST on the two known paths exist.
    let req = Request::get("/webhook").body(Body::empty()).unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let req = Request::get("/nope").body(Body::empty()).unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signature_first_then_the_raw_body_is_queued_byte_for_byte() {
    // Nothing is parsed before the signature check: an unsigned body that is
    // not JSON is refused as unsigned, not as malformed. A signed JSON body is
    // checked, not rewritten: the handler gets the bytes GitHub signed.
    let recorder = Recorder::new();
    let app = running(&recorder);
    let garbage = b"\xff{not json".to_vec();
    let (status, _, _) = send(&app, request("issue_comment", "g-1", None, garbage.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let odd = b" {\"zeta\": 1,\n  \"alpha\" : [ 1.50 ] }\r\n".to_vec();
    let (status, _, _) = send(&app, signed("issue_comment", "g-2", odd.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    recorder.wait_for(1).await;
    let seen = recorder.seen.lock().unwrap();
    assert_eq!(seen[0].body.as_ref(), odd.as_slice());
}

/// A signed delivery whose body is not a JSON object is refused with `400`
/// before it is queued, so GitHub's delivery log shows the failure; its id is
/// not remembered, so a fixed redelivery is accepted.
#[tokio::test]
async fn signed_malformed_json_is_refused_with_400_and_not_queued() {
    let recorder = Recorder::new();
    let app = running(&recorder);
    let id = "00000000-0000-0000-0000-0000000000aa";
    for bad in [
        &b"{not json"[..],
        b"",
        b"[1, 2]",
        b"\"text\"",
        b"{\"a\": 1} trailing",
    ] {
        let (status, _, body) = send(&app, signed("issue_comment", id, bad.to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert!(body.contains("JSON"), "{body}");
    }
    let stats = health(&app).await.stats;
    assert_eq!((stats.queued, stats.bad_request), (0, 5));
    assert!(recorder.ids().is_empty());
    // The same id with a good body is still accepted.
    let (status, _, _) = send(
        &app,
        signed("issue_comment", id, fixture("issue_comment_created")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    recorder.wait_for(1).await;
}
