//! What the host reports through `tracing`: a span per dispatch, per plugin load and
//! per hook call, and the messages plugins log with `Host.log`.
//!
//! One test in its own process on purpose: `tracing` caches per call site whether
//! anyone listens, and tests running on other threads without a subscriber would
//! race with the scoped subscriber used here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use scarab_plugins::{
    Action, FusabiPlugin, Hook, HookError, Plugin, PluginManager, PluginMetadata,
};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// What the layer saw: span names, and `Host.log` messages as (plugin, message).
#[derive(Clone, Default)]
struct Seen {
    spans: Arc<Mutex<Vec<String>>>,
    logs: Arc<Mutex<Vec<(String, String)>>>,
}

#[derive(Default)]
struct Fields {
    plugin: String,
    message: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "plugin" {
            self.plugin = value.to_owned();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "plugin" => self.plugin = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Seen {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: Context<'_, S>,
    ) {
        self.spans
            .lock()
            .unwrap()
            .push(attrs.metadata().name().to_owned());
    }
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == "scarab_plugins::script" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            self.logs
                .lock()
                .unwrap()
                .push((fields.plugin, fields.message));
        }
    }
}

impl Seen {
    fn run(f: impl FnOnce()) -> (Vec<String>, Vec<(String, String)>) {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry().with(seen.clone());
        tracing::subscriber::with_default(subscriber, f);
        let spans = seen.spans.lock().unwrap().clone();
        let logs = seen.logs.lock().unwrap().clone();
        (spans, logs)
    }
}

struct Bang(PluginMetadata);

impl Plugin for Bang {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
        Ok(Action::Modify(format!("{line}!")))
    }
}

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins")
}

#[test]
fn spans_and_plugin_logs() {
    // Spans: one per dispatch and plugin load, one per plugin per hook call.
    let (spans, _) = Seen::run(|| {
        let mut m = PluginManager::new();
        m.add_native(Box::new(Bang(PluginMetadata::new("bang"))))
            .unwrap();
        let rt = m.runtime().clone();
        let src = "let f l = Continue in { on_output = f }";
        m.add_fusabi(FusabiPlugin::from_source(src, "s.fsx", rt).unwrap())
            .unwrap();
        assert_eq!(m.dispatch_output("a"), "a!");
        m.dispatch_output_batch(&["b".to_owned()]);
        m.dispatch_input(b"c");
        m.dispatch_resize(1, 2);
    });
    for name in [
        "scarab.dispatch_output",
        "scarab.dispatch_output_batch",
        "scarab.dispatch_input",
        "scarab.dispatch_resize",
        "scarab.plugin_load",
    ] {
        assert_eq!(
            spans.iter().filter(|s| *s == name).count(),
            1,
            "{name}: {spans:?}"
        );
    }
    // 2 plugins × 4 dispatches.
    assert_eq!(
        spans.iter().filter(|s| *s == "scarab.hook").count(),
        8,
        "{spans:?}"
    );

    // resize_logger reads the `{ cols; rows }` record and `Host.cols ()`, even when
    // the plugin was made with a runtime other than the manager's.
    let (_, logs) = Seen::run(|| {
        let mut p = FusabiPlugin::from_path(
            plugins_dir().join("resize_logger.fsx"),
            scarab_plugins::FusabiRuntime::default(),
        )
        .unwrap();
        p.load().unwrap();
        assert!(p.hook(Hook::Output).is_none());
        assert!(p.hook(Hook::Resize).is_some());
        let mut m = PluginManager::new();
        m.add_fusabi(p).unwrap();
        m.dispatch_resize(132, 43);
        m.dispatch_resize(80, 24);
        assert_eq!(m.list()[0].total_failures, 0);
    });
    let owned = |p: &str, m: &str| (p.to_owned(), m.to_owned());
    assert_eq!(
        logs,
        [
            owned("resize_logger", "resized to 132x43 (host says 132 columns)"),
            owned("resize_logger", "resized to 80x24 (host says 80 columns)"),
        ]
    );

    // url_detect logs each URL line; line_counter logs its count on unload.
    let (_, logs) = Seen::run(|| {
        let mut m = PluginManager::new();
        m.load_file(plugins_dir().join("line_counter.fsx")).unwrap();
        m.load_file(plugins_dir().join("url_detect.fsx")).unwrap();
        m.dispatch_output("see https://a.b");
        m.dispatch_output_batch(&["x".to_owned(), "y".to_owned()]);
        m.unload_all();
    });
    assert_eq!(
        logs,
        [
            owned("url_detect", "url in: see https://a.b"),
            owned("line_counter", "counted 3 output lines"),
        ]
    );
}
