//! The webhook service over real loopback TCP: graceful shutdown drains the queue,
//! the grace period bounds it, and the body limit holds for chunked bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::server_common::{config, fixture, secret, Recorder};
use irgate_github::server::{router, serve_with_shutdown, sign, ServerConfig, ShutdownReport};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<ShutdownReport>,
}

async fn start(cfg: ServerConfig, recorder: &Arc<Recorder>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = Arc::clone(recorder);
    let server = tokio::spawn(async move {
        serve_with_shutdown(listener, cfg, handler, async {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    Running { addr, stop, server }
}

async fn post(client: &reqwest::Client, addr: SocketAddr, id: &str, body: &[u8]) -> u16 {
    client
        .post(format!("http://{addr}/webhook"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", id)
        .header("x-hub-signature-256", sign(&secret(), body))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn shutdown_finishes_every_queued_delivery() {
    let recorder = Recorder::slow(Duration::from_millis(100));
    let mut cfg = config();
    cfg.workers = 2;
    let running = start(cfg, &recorder).await;
    let client = reqwest::Client::new();
    let body = fixture("pull_request_opened");
    let health = client
        .get(format!("http://{}/healthz", running.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    for i in 0..8 {
        assert_eq!(
            post(&client, running.addr, &format!("s-{i}"), &body).await,
            202
        );
    }
    // 8 deliveries at 100 ms with 2 workers: most are still queued now.
    assert!(recorder.ids().len() < 8);
    running.stop.send(()).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), running.server)
        .await
        .expect("shutdown did not finish")
        .unwrap();
    assert_eq!(report.unfinished, 0);
    assert_eq!((report.stats.queued, report.stats.handled), (8, 8));
    let mut ids = recorder.ids();
    ids.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("s-{i}")).collect();
    assert_eq!(ids, expected);
    // The listener is closed.
    assert!(TcpStream::connect(running.addr).await.is_err());
}

#[tokio::test]
async fn shutdown_grace_bounds_the_drain() {
    let recorder = Recorder::slow(Duration::from_secs(3600));
    let mut cfg = config();
    cfg.workers = 1;
    cfg.shutdown_grace = Duration::from_millis(300);
    let running = start(cfg, &recorder).await;
    let client = reqwest::Client::new();
    let body = fixture("pull_request_synchronize");
    for i in 0..3 {
        assert_eq!(
            post(&client, running.addr, &format!("g-{i}"), &body).await,
            202
        );
    }
    let began = Instant::now();
    running.stop.send(()).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), running.server)
        .await
        .expect("shutdown was not bounded by the grace period")
        .unwrap();
    assert!(began.elapsed() < Duration::from_secs(20));
    assert_eq!(report.unfinished, 3);
    assert_eq!(report.stats.handled, 0);
}

#[tokio::test]
async fn deliveries_after_the_queue_stopped_get_503_and_are_not_remembered() {
    let recorder = Recorder::new();
    let (app, queue) = router(&config(), Arc::clone(&recorder));
    // The queue stops at once and drains nothing.
    queue.run(async {}).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let body = fixture("issue_comment_created");
    let res = client
        .post(format!("http://{addr}/webhook"))
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "late")
        .header("x-hub-signature-256", sign(&secret(), &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().contains_key("retry-after"));
    server.abort();
    assert!(recorder.ids().is_empty());
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_refused() {
    let recorder = Recorder::new();
    let mut cfg = config();
    cfg.max_body_bytes = 1024;
    let running = start(cfg, &recorder).await;
    let body = vec![b' '; 8 * 1024];
    let sig = sign(&secret(), &body);
    let addr = running.addr;
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = format!(
            "POST /webhook HTTP/1.1\r\nhost: {addr}\r\nx-github-event: pull_request\r\n\
             x-github-delivery: chunked\r\nx-hub-signature-256: {sig}\r\n\
             transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        )
        .into_bytes();
        for chunk in body.chunks(512) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        // The server may answer and close before reading everything; ignore write errors.
        let _ = stream.write_all(&request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    running.stop.send(()).unwrap();
    let report = running.server.await.unwrap();
    assert_eq!(report.stats.queued, 0);
    assert!(recorder.ids().is_empty());
}

#[tokio::test]
async fn an_address_in_use_is_a_bind_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = config();
    cfg.bind = taken.local_addr().unwrap();
    let err = irgate_github::server::serve(cfg, Recorder::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, irgate_github::server::ServeError::Bind { addr, .. } if addr == cfg_addr(&taken)),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&taken.local_addr().unwrap().to_string()),
        "{err}"
    );
}

fn cfg_addr(listener: &TcpListener) -> SocketAddr {
    listener.local_addr().unwrap()
}
