//! The script cache, the metrics collector and its targets check, the session
//! format, and the async façade.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use scarab_plugins::session::{parse_session, SessionEvent};
use scarab_plugins::{
    Action, AsyncError, AsyncPluginHost, FusabiPlugin, FusabiRuntime, HookError, Metric,
    MetricsCollector, Plugin, PluginManager, PluginMetadata, PluginState, ScriptCache,
};

const HIGHLIGHT: &str = include_str!("../plugins/highlight.fsx");

#[test]
fn the_cache_compiles_each_content_once() {
    let cache = Arc::new(ScriptCache::in_memory());
    let rt = FusabiRuntime {
        cache: Some(Arc::clone(&cache)),
        ..FusabiRuntime::default()
    };
    for _ in 0..3 {
        let mut p = FusabiPlugin::from_source(HIGHLIGHT, "h.fsx", rt.clone()).unwrap();
        p.load().unwrap();
    }
    let s = cache.stats();
    assert_eq!((s.misses, s.hits, s.entries), (1, 2, 1));
    // Different content, different entry.
    let mut p = FusabiPlugin::from_source(format!("{HIGHLIGHT}\n"), "h.fsx", rt).unwrap();
    p.load().unwrap();
    assert_eq!(cache.stats().misses, 2);
    assert_ne!(ScriptCache::key("a"), ScriptCache::key("b"));
}

#[test]
fn the_disk_cache_survives_a_restart_and_recovers_from_damage() {
    let dir = tempfile::tempdir().unwrap();
    let first = ScriptCache::with_dir(dir.path()).unwrap();
    first.get_or_compile(HIGHLIGHT, Path::new("h.fsx")).unwrap();
    assert_eq!(first.stats().misses, 1);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);

    let second = ScriptCache::with_dir(dir.path()).unwrap();
    let chunk = second
        .get_or_compile(HIGHLIGHT, Path::new("h.fsx"))
        .unwrap();
    assert_eq!(second.stats().disk_hits, 1);
    assert_eq!(second.stats().misses, 0);

    // A damaged cache file is a miss, and is rewritten.
    let file = files[0].as_ref().unwrap().path();
    std::fs::write(&file, b"FZB\x01\x01garbage").unwrap();
    let third = ScriptCache::with_dir(dir.path()).unwrap();
    let again = third.get_or_compile(HIGHLIGHT, Path::new("h.fsx")).unwrap();
    assert_eq!((third.stats().misses, third.stats().disk_hits), (1, 0));
    assert_eq!(*again, *chunk);
    let fourth = ScriptCache::with_dir(dir.path()).unwrap();
    fourth
        .get_or_compile(HIGHLIGHT, Path::new("h.fsx"))
        .unwrap();
    assert_eq!(fourth.stats().disk_hits, 1);
}

#[test]
fn compile_errors_are_not_cached() {
    let cache = ScriptCache::in_memory();
    for _ in 0..2 {
        assert!(cache
            .get_or_compile("let x = in", Path::new("bad.fsx"))
            .is_err());
    }
    assert_eq!(cache.stats().misses, 2);
    assert_eq!(cache.stats().entries, 0);
}

#[test]
fn metrics_count_and_summarise() {
    let m = MetricsCollector::new(true);
    for us in 1..=100u64 {
        m.record(Metric::OutputHook, Duration::from_micros(us));
    }
    let r = m.report();
    let s = r.get(Metric::OutputHook).unwrap();
    assert_eq!(s.count, 100);
    assert_eq!(s.total, Duration::from_micros(5050));
    // Three significant digits.
    assert!(
        (49_900..=50_100).contains(&(s.p50.as_nanos() as u64)),
        "{:?}",
        s.p50
    );
    assert!(
        (98_900..=99_100).contains(&(s.p99.as_nanos() as u64)),
        "{:?}",
        s.p99
    );
    assert!(
        (99_900..=100_100).contains(&(s.max.as_nanos() as u64)),
        "{:?}",
        s.max
    );
    m.reset();
    assert_eq!(m.report().get(Metric::OutputHook).unwrap().count, 0);
}

#[test]
fn a_disabled_collector_records_nothing() {
    let m = MetricsCollector::new(false);
    assert!(m.start().is_none());
    m.record(Metric::VmExec, Duration::from_micros(5));
    m.finish(Metric::VmExec, m.start());
    assert_eq!(m.report().get(Metric::VmExec).unwrap().count, 0);
    m.set_enabled(true);
    m.finish(Metric::VmExec, m.start());
    assert_eq!(m.report().get(Metric::VmExec).unwrap().count, 1);
}

#[test]
fn the_targets_check_passes_and_fails_on_the_seed_targets() {
    let m = MetricsCollector::new(true);
    assert!(m.report().targets_met(), "no data is not a failure");
    assert!(m.report().check_targets().iter().all(|c| c.met.is_none()));
    m.record(Metric::PluginLoad, Duration::from_millis(99));
    m.record(Metric::BytecodeLoad, Duration::from_micros(400));
    m.record(Metric::OutputHook, Duration::from_micros(49));
    m.record(Metric::InputHook, Duration::from_micros(10));
    m.record(Metric::VmExec, Duration::from_micros(19));
    m.record(Metric::ResizeHook, Duration::from_secs(1)); // no target
    let report = m.report();
    assert!(report.targets_met(), "{report}");
    let targets: Vec<_> = report
        .check_targets()
        .iter()
        .map(|c| (c.metric, c.target))
        .collect();
    assert_eq!(
        targets,
        [
            (Metric::PluginLoad, Duration::from_millis(100)),
            (Metric::BytecodeLoad, Duration::from_micros(500)),
            (Metric::OutputHook, Duration::from_micros(50)),
            (Metric::InputHook, Duration::from_micros(50)),
            (Metric::VmExec, Duration::from_micros(20)),
        ]
    );
    // Push the 99th percentile of VM exec over 20 µs.
    for _ in 0..5 {
        m.record(Metric::VmExec, Duration::from_micros(25));
    }
    let report = m.report();
    assert!(!report.targets_met());
    let missed: Vec<_> = report
        .check_targets()
        .into_iter()
        .filter(|c| c.met == Some(false))
        .map(|c| c.metric)
        .collect();
    assert_eq!(missed, [Metric::VmExec]);
    assert!(report.to_string().contains("MISSED"));
}

#[test]
fn the_manager_feeds_every_metric() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let mut m = PluginManager::new();
    m.load_dir(&src_dir).unwrap();
    // One bytecode plugin too.
    let src = std::fs::read_to_string(src_dir.join("noop.fsx")).unwrap();
    let chunk = scarab_plugins::fusabi::bytecode::compile_source(&src, Path::new("n.fsx")).unwrap();
    let fzb = dir.path().join("other.fzb");
    std::fs::write(
        &fzb,
        scarab_plugins::fusabi::bytecode::encode_fzb(&chunk, &fzb).unwrap(),
    )
    .unwrap();
    m.load_file(&fzb).unwrap();
    m.dispatch_output("error at http://x");
    m.dispatch_output_batch(&["a".to_owned(), "b".to_owned()]);
    m.dispatch_input(b"ll\r");
    m.dispatch_resize(90, 20);
    let r = m.metrics().report();
    for metric in Metric::ALL {
        assert!(
            r.get(metric).unwrap().count > 0,
            "{metric:?} has no data:\n{r}"
        );
    }
}

#[test]
fn session_files_parse() {
    let text = "# c\n\nout hello world\nout\nin ll\\r\\e[A\\x41\\\\\nresize 80x24\n";
    let events = parse_session(text, Path::new("s.session")).unwrap();
    assert_eq!(
        events,
        [
            SessionEvent::Output("hello world".into()),
            SessionEvent::Output(String::new()),
            SessionEvent::Input(b"ll\r\x1b[AA\\".to_vec()),
            SessionEvent::Resize { cols: 80, rows: 24 },
        ]
    );
    for (bad, line) in [
        ("out x\nresize 80\n", 2),
        ("jump 3\n", 1),
        ("in \\q\n", 1),
        ("resize 1x99999\n", 1),
    ] {
        let e = parse_session(bad, Path::new("s.session")).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("s.session:{line}: ")),
            "{e}"
        );
    }
    let shipped = scarab_plugins::session::read_session(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sessions/sample.session"
    ))
    .unwrap();
    assert!(shipped.len() > 20);
}

struct Sleepy(PluginMetadata, Duration);

impl Plugin for Sleepy {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
        if line == "slow" {
            std::thread::sleep(self.1);
        }
        Ok(Action::Modify(format!("{line}+")))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_async_facade_runs_the_chain_off_the_runtime() {
    let mut m = PluginManager::new();
    let rt = m.runtime().clone();
    m.load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/plugins"))
        .unwrap();
    drop(rt);
    let host = AsyncPluginHost::spawn(m, Duration::from_secs(5)).unwrap();
    assert_eq!(
        host.dispatch_output("an error".into()).await.unwrap(),
        "[ERROR] an error"
    );
    assert_eq!(
        host.dispatch_output_batch(vec!["warning".into(), "ok".into()])
            .await
            .unwrap(),
        ["[WARN] warning", "ok"]
    );
    assert_eq!(
        host.dispatch_input(b"gs\r".to_vec()).await.unwrap(),
        b"git status\r"
    );
    host.dispatch_resize(100, 30).await.unwrap();
    assert_eq!(host.list().await.unwrap().len(), 6);
}

#[tokio::test(flavor = "current_thread")]
async fn an_overrunning_hook_times_out_the_caller_and_is_disabled() {
    let mut m = PluginManager::new();
    m.add_native(Box::new(Sleepy(
        PluginMetadata::new("sleepy"),
        Duration::from_millis(300),
    )))
    .unwrap();
    let host = AsyncPluginHost::spawn(m, Duration::from_millis(50)).unwrap();
    assert_eq!(host.dispatch_output("fast".into()).await.unwrap(), "fast+");
    // Deadline: 50 ms × (1 plugin + 1). The hook sleeps 300 ms.
    match host.dispatch_output("slow".into()).await {
        Err(AsyncError::Timeout(d)) => assert_eq!(d, Duration::from_millis(100)),
        other => panic!("{other:?}"),
    }
    // While the overrunning call is still running, calls fail fast.
    assert!(matches!(
        host.dispatch_output("x".into()).await,
        Err(AsyncError::Busy)
    ));
    // Once it returns, the chain answers again, and the overrun counted as a failure.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let list = host.list().await.unwrap();
    assert_eq!(list[0].total_failures, 1);
    assert_eq!(list[0].state, PluginState::Active);
    assert_eq!(host.dispatch_output("fast".into()).await.unwrap(), "fast+");
}

/// Records the name of the thread each hook ran on.
struct WhereAmI(PluginMetadata);

impl Plugin for WhereAmI {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn on_output(&mut self, _line: &str) -> Result<Action, HookError> {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        Ok(Action::Modify(name))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_facade_never_runs_hooks_on_runtime_threads() {
    let mut m = PluginManager::new();
    m.add_native(Box::new(WhereAmI(PluginMetadata::new("where"))))
        .unwrap();
    let host = AsyncPluginHost::spawn(m, Duration::from_secs(5)).unwrap();
    assert_eq!(host.hook_budget(), Duration::from_secs(5));
    for _ in 0..4 {
        let on = host.dispatch_output(String::new()).await.unwrap();
        assert_eq!(on, "scarab-plugins");
    }
    // Within the runtime the worker threads have another name.
    let here = tokio::spawn(async { std::thread::current().name().unwrap_or("").to_owned() })
        .await
        .unwrap();
    assert_ne!(here, "scarab-plugins");
}
