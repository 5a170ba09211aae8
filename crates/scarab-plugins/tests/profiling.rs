//! With the `puffin` feature, the host's scopes reach the puffin profiler.
//! Run with `cargo test -p scarab-plugins --features puffin --test profiling`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "puffin")]
#[test]
fn puffin_receives_the_host_scopes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use scarab_plugins::profiling::puffin;
    use scarab_plugins::{Action, HookError, Plugin, PluginManager, PluginMetadata};

    struct Upper(PluginMetadata);
    impl Plugin for Upper {
        fn metadata(&self) -> &PluginMetadata {
            &self.0
        }
        fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
            Ok(Action::Modify(line.to_uppercase()))
        }
    }

    puffin::set_scopes_on(true);
    let scopes = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&scopes);
    puffin::GlobalProfiler::lock().add_sink(Box::new(move |frame| {
        seen.fetch_add(frame.meta().num_scopes, Ordering::SeqCst);
    }));
    let mut m = PluginManager::new();
    m.add_native(Box::new(Upper(PluginMetadata::new("upper"))))
        .unwrap();
    assert_eq!(m.dispatch_output("x"), "X");
    m.dispatch_input(b"y");
    m.dispatch_resize(10, 10);
    puffin::GlobalProfiler::lock().new_frame();
    assert!(scopes.load(Ordering::SeqCst) >= 3);
}
