//! Load benchmark for the webhook service.
//!
//! Starts the recording server (`examples/webhook_server.rs`, re-executed from this
//! binary so that nothing else needs building) as a second process on 127.0.0.1,
//! sends signed copies of GitHub's example deliveries from this process, then stops
//! the server with SIGTERM and checks the ids it wrote: every accepted delivery is
//! handled exactly once, none is lost, and deliberate replays are refused.
//!
//! ```sh
//! cargo bench -p irgate-github --bench webhook_load
//! ```
//!
//! Knobs (environment): `IRGATE_LOAD_DELIVERIES` (default 2000, at least 2000),
//! `IRGATE_LOAD_CONCURRENCY` (default 16), `IRGATE_LOAD_TIMEOUT_SECS` (default 120),
//! `IRGATE_LOAD_SERVER_LOG` (the server's log filter, default `error`).
//! It prints throughput, latency percentiles and the server's peak resident memory
//! (`VmHWM` from `/proc/<pid>/status`), and exits non-zero if any check fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../examples/webhook_server.rs"]
#[allow(dead_code)]
mod webhook_server;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use irgate_github::server::{sign, WebhookSecret};

const ROLE_VAR: &str = "IRGATE_LOAD_ROLE";
const SECRET: &str = "irgate-load-benchmark-secret";
/// Every `REPLAY_EVERY`-th delivery is sent a second time and must be refused.
const REPLAY_EVERY: usize = 50;

const FIXTURES: &[(&str, &str)] = &[
    ("issue_comment", "issue_comment_created"),
    ("pull_request", "pull_request_opened"),
    ("pull_request", "pull_request_synchronize"),
    ("check_run", "check_run_rerequested"),
    ("check_run", "check_run_requested_action"),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Request {
    id: String,
    event: &'static str,
    body: Arc<Vec<u8>>,
    signature: String,
    replay: bool,
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    latencies: Vec<Duration>,
    retried_503: usize,
    errors: Vec<String>,
    accepted: Vec<String>,
}

fn vm_status(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached on a failure path; a clean run has already waited for it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(ids_out: &Path, replay_cache: usize) -> Server {
    let exe = std::env::current_exe().expect("own executable");
    let mut child = Command::new(exe)
        .env(ROLE_VAR, "server")
        .env("IRGATE_WEBHOOK_SECRET", SECRET)
        .env("IRGATE_BIND", "127.0.0.1:0")
        .env("IRGATE_QUEUE_CAPACITY", "1024")
        .env("IRGATE_WORKERS", "4")
        .env("IRGATE_SHUTDOWN_GRACE_SECS", "30")
        .env("IRGATE_REPLAY_CACHE_CAPACITY", replay_cache.to_string())
        // The deliberate replays would each log a warning.
        .env(
            "RUST_LOG",
            std::env::var("IRGATE_LOAD_SERVER_LOG").unwrap_or_else(|_| "error".into()),
        )
        .args(["--ids-out", ids_out.to_str().expect("utf-8 temp path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server process");
    let stdout = child.stdout.take().expect("server stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("server did not start: {first:?}"))
        .to_string();
    // Keep reading stdout in the background so the pipe never fills.
    let last = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&last);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            *sink.lock().unwrap() = line;
        }
    });
    Server { child, addr }
}

async fn drive(
    addr: &str,
    requests: Arc<Vec<Request>>,
    concurrency: usize,
    deadline: Instant,
) -> Tally {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("http client");
    let url = format!("http://{addr}/webhook");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next, requests) = (
            client.clone(),
            url.clone(),
            Arc::clone(&next),
            Arc::clone(&requests),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = requests.get(i) else { break };
                if Instant::now() > deadline {
                    tally
                        .errors
                        .push(format!("{}: time budget exhausted", req.id));
                    continue;
                }
                // A 503 (queue full) is retried the way GitHub's redelivery would.
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let began = Instant::now();
                    let sent = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-github-event", req.event)
                        .header("x-github-delivery", &req.id)
                        .header("x-hub-signature-256", &req.signature)
                        .body(req.body.as_ref().clone())
                        .send()
                        .await;
                    match sent {
                        Ok(res) => {
                            let status = res.status().as_u16();
                            let _ = res.bytes().await;
                            tally.latencies.push(began.elapsed());
                            *tally.statuses.entry(status).or_default() += 1;
                            if status == 503 && attempts < 20 && Instant::now() < deadline {
                                tally.retried_503 += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                continue;
                            }
                            if status == 202 {
                                tally.accepted.push(req.id.clone());
                            }
                        }
                        Err(err) => tally.errors.push(format!("{}: {err}", req.id)),
                    }
                    break;
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.expect("load task");
        for (s, n) in t.statuses {
            *total.statuses.entry(s).or_default() += n;
        }
        total.latencies.extend(t.latencies);
        total.retried_503 += t.retried_503;
        total.errors.extend(t.errors);
        total.accepted.extend(t.accepted);
    }
    total
}

fn bench() -> Result<(), String> {
    let deliveries = env_usize("IRGATE_LOAD_DELIVERIES", 2000).max(2000);
    let concurrency = env_usize("IRGATE_LOAD_CONCURRENCY", 16).max(1);
    let budget = Duration::from_secs(env_usize("IRGATE_LOAD_TIMEOUT_SECS", 120) as u64);

    let fixtures_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let secret = WebhookSecret::new(SECRET).map_err(|e| e.to_string())?;
    let bodies: Vec<(&'static str, Arc<Vec<u8>>)> = FIXTURES
        .iter()
        .map(|(event, name)| {
            let path = fixtures_dir.join(format!("{name}.json"));
            let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (*event, Arc::new(body))
        })
        .collect();

    // Build and sign every request before the clock starts.
    let mut requests = Vec::with_capacity(deliveries + deliveries / REPLAY_EVERY);
    for i in 0..deliveries {
        let (event, body) = &bodies[i % bodies.len()];
        let request = Request {
            id: format!("00000000-load-4000-8000-{i:012}"),
            event,
            body: Arc::clone(body),
            signature: sign(&secret, body),
            replay: false,
        };
        requests.push(request);
    }
    // Replays go last, after their originals have certainly been answered.
    for i in (0..deliveries).step_by(REPLAY_EVERY) {
        let original = &requests[i];
        let replay = Request {
            id: original.id.clone(),
            event: original.event,
            body: Arc::clone(&original.body),
            signature: original.signature.clone(),
            replay: true,
        };
        requests.push(replay);
    }
    let replays = requests.iter().filter(|r| r.replay).count();
    let originals: Vec<String> = requests
        .iter()
        .filter(|r| !r.replay)
        .map(|r| r.id.clone())
        .collect();
    let (first, replayed): (Vec<Request>, Vec<Request>) =
        requests.into_iter().partition(|r| !r.replay);

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ids_out = dir.path().join("handled-ids.txt");
    let mut server = start_server(&ids_out, deliveries * 2);
    let pid = server.child.id();
    let rss_idle = vm_status(pid, "VmRSS:");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + budget;
    let began = Instant::now();
    let main_tally = runtime.block_on(drive(&server.addr, Arc::new(first), concurrency, deadline));
    let elapsed = began.elapsed();
    let replay_tally = runtime.block_on(drive(
        &server.addr,
        Arc::new(replayed),
        concurrency,
        deadline,
    ));
    let peak_kib = vm_status(pid, "VmHWM:");
    let rss_kib = vm_status(pid, "VmRSS:");

    // Graceful stop: SIGTERM, then the server drains and writes the ids it handled.
    let stop_began = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if !killed.success() {
        return Err("kill -TERM failed".into());
    }
    let status = loop {
        if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if stop_began.elapsed() > Duration::from_secs(60) {
            return Err("server did not exit within 60 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stop_time = stop_began.elapsed();
    if !status.success() {
        return Err(format!("server exited with {status}"));
    }
    let handled_text = std::fs::read_to_string(&ids_out)
        .map_err(|e| format!("server wrote no ids to {}: {e}", ids_out.display()))?;
    let handled: Vec<&str> = handled_text.lines().collect();

    // Checks.
    let mut failures = Vec::new();
    let unique: HashSet<&str> = handled.iter().copied().collect();
    if unique.len() != handled.len() {
        failures.push(format!(
            "{} deliveries handled more than once",
            handled.len() - unique.len()
        ));
    }
    let expected: HashSet<&str> = originals.iter().map(String::as_str).collect();
    let lost: Vec<&&str> = expected
        .iter()
        .filter(|id| !unique.contains(**id))
        .collect();
    if !lost.is_empty() {
        failures.push(format!(
            "{} deliveries lost, e.g. {:?}",
            lost.len(),
            lost.first()
        ));
    }
    let extra = unique.iter().filter(|id| !expected.contains(**id)).count();
    if extra > 0 {
        failures.push(format!("{extra} unknown ids handled"));
    }
    if main_tally.accepted.len() != deliveries {
        failures.push(format!(
            "{} of {deliveries} deliveries got 202",
            main_tally.accepted.len()
        ));
    }
    if replay_tally.statuses.get(&409).copied().unwrap_or(0) != replays {
        failures.push(format!(
            "replays answered {:?}, expected {replays} × 409",
            replay_tally.statuses
        ));
    }
    for e in main_tally.errors.iter().chain(&replay_tally.errors).take(5) {
        failures.push(format!("request error: {e}"));
    }

    let mut latencies = main_tally.latencies.clone();
    latencies.sort();
    let kib = |v: Option<u64>| {
        v.map_or_else(
            || "n/a".to_string(),
            |k| format!("{:.1} MiB", k as f64 / 1024.0),
        )
    };
    println!("webhook_load: {deliveries} signed deliveries + {replays} replays, concurrency {concurrency}, loopback");
    println!("  wall time          {:.3} s", elapsed.as_secs_f64());
    println!(
        "  throughput         {:.0} deliveries/s",
        deliveries as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency            p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "  answers            {:?} (503 retried: {})",
        main_tally.statuses, main_tally.retried_503
    );
    println!("  replays            {:?}", replay_tally.statuses);
    println!(
        "  server memory      VmHWM {} (peak), VmRSS {} after load, {} idle",
        kib(peak_kib),
        kib(rss_kib),
        kib(rss_idle)
    );
    println!(
        "  shutdown           {:.3} s after SIGTERM",
        stop_time.as_secs_f64()
    );
    println!(
        "  handled ids        {} written, {} unique, {} lost, {} duplicates",
        handled.len(),
        unique.len(),
        lost.len(),
        handled.len() - unique.len()
    );
    if failures.is_empty() {
        println!("  result             ok: every delivery handled exactly once");
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn main() -> ExitCode {
    if std::env::var(ROLE_VAR).as_deref() == Ok("server") {
        return match webhook_server::run(std::env::args().skip(1).collect()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("webhook_load server: {err}");
                ExitCode::from(2)
            }
        };
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special.
    // Under `cargo test` the bench is only compiled and started, so keep it cheap.
    if !std::env::args().any(|a| a == "--bench") {
        println!("webhook_load: run with `cargo bench -p irgate-github --bench webhook_load`");
        return ExitCode::SUCCESS;
    }
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("webhook_load FAILED:\n{err}");
            ExitCode::FAILURE
        }
    }
}
