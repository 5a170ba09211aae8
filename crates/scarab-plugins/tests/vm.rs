//! The plugin VM: replacement under a million calls, replacement after errors,
//! panics at the VM boundary, the template, and direct versus adapter calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use scarab_plugins::fusabi_vm::{Value, VmError};
use scarab_plugins::{
    Action, FusabiPlugin, FusabiRuntime, Hook, HookError, HostState, Plugin, PluginManager,
    PluginState, VmTemplate, DEFAULT_STACK_BOUND,
};

const NOOP: &str = include_str!("../plugins/noop.fsx");

#[test]
fn a_million_calls_keep_the_stack_bounded() {
    let rt = FusabiRuntime::default();
    let bound = rt.stack_bound;
    let mut p = FusabiPlugin::from_source(NOOP, "noop.fsx", rt).unwrap();
    p.load().unwrap();
    let mut max_stack = 0;
    for _ in 0..1_000_000 {
        assert_eq!(p.on_output("line").unwrap(), Action::Continue);
        max_stack = max_stack.max(p.stack_size());
    }
    // Without replacement the stack would hold millions of values by now.
    assert!(
        max_stack <= bound,
        "stack reached {max_stack}, bound {bound}"
    );
    assert!(max_stack > 0);
    let replaced = p.vm_replacements();
    assert!(
        (1_000_000 / (bound as u64 + 1)..=1_000_000).contains(&replaced),
        "{replaced} replacements"
    );
}

#[test]
fn the_vm_does_leak_without_replacement() {
    // Keeps the test above honest: calling the hook on the VM directly grows the stack.
    let mut p = FusabiPlugin::from_source(NOOP, "noop.fsx", FusabiRuntime::default()).unwrap();
    p.load().unwrap();
    let hook = p.hook(Hook::Output).unwrap().clone();
    let vm = p.vm_mut().unwrap();
    let before = vm.stack_size();
    for _ in 0..100 {
        vm.call_value(hook.clone(), &[Value::Str("x".into())])
            .unwrap();
    }
    assert!(vm.stack_size() >= before + 100, "{}", vm.stack_size());
}

#[test]
fn a_small_bound_replaces_often_and_keeps_state() {
    let rt = FusabiRuntime {
        stack_bound: 8,
        ..FusabiRuntime::default()
    };
    let src = include_str!("../plugins/line_counter.fsx");
    let mut p = FusabiPlugin::from_source(src, "line_counter.fsx", rt).unwrap();
    for _ in 0..1000 {
        p.on_output("x").unwrap();
        assert!(p.stack_size() <= 8);
    }
    assert!(p.vm_replacements() >= 100);
    let Some(Value::Array(a)) = p.vm_mut().unwrap().globals.get("counter").cloned() else {
        panic!("no counter")
    };
    assert_eq!(a.lock().unwrap()[0], Value::Int(1000));
}

#[test]
fn the_vm_is_replaced_after_an_error() {
    let src = "let f line =\n  if line = \"boom\" then\n    let z = 0 in let q = 1 / z in Continue\n  else Modify (line ++ \"!\")\nin\n{ on_output = f }\n";
    let mut p = FusabiPlugin::from_source(src, "e.fsx", FusabiRuntime::default()).unwrap();
    assert_eq!(p.on_output("a").unwrap(), Action::Modify("a!".into()));
    let before = p.vm_replacements();
    assert!(p.on_output("boom").is_err());
    assert_eq!(p.vm_replacements(), before + 1);
    assert_eq!(p.stack_size(), 0);
    assert_eq!(p.vm_mut().unwrap().frame_count(), 0);
    assert_eq!(p.on_output("b").unwrap(), Action::Modify("b!".into()));
}

/// A runtime whose template has `Test.explode`, a host function that panics on "boom".
fn runtime_with_panicking_host_fn() -> FusabiRuntime {
    let mut t = VmTemplate::new(Arc::new(HostState::default()));
    t.register_function("Test.explode", 1, |_vm, args| {
        if args.first() == Some(&Value::Str("boom".into())) {
            panic!("host function exploded");
        }
        Err(VmError::Runtime("not boom".into()))
    });
    FusabiRuntime {
        template: Arc::new(t),
        ..FusabiRuntime::default()
    }
}

#[test]
fn a_panic_inside_the_vm_is_caught_and_disables_the_plugin() {
    std::panic::set_hook(Box::new(|_| {}));
    let rt = runtime_with_panicking_host_fn();
    let src = "// @name exploder\nlet f line =\n  let r = Test.explode line in Continue\nin\n{ on_output = f }\n";
    let mut p = FusabiPlugin::from_source(src, "exploder.fsx", rt.clone()).unwrap();
    let e = p.on_output("boom").unwrap_err();
    assert!(
        matches!(&e, HookError::Panicked { message, .. } if message.contains("exploded")),
        "{e:?}"
    );
    assert_eq!(p.stack_size(), 0);

    let mut m = PluginManager::with_runtime(rt.clone(), Default::default());
    m.add_fusabi(FusabiPlugin::from_source(src, "exploder.fsx", rt).unwrap())
        .unwrap();
    assert_eq!(m.dispatch_output("boom"), "boom");
    assert!(matches!(m.list()[0].state, PluginState::Disabled(_)));
}

#[test]
fn a_panic_while_loading_is_caught_and_names_the_file() {
    std::panic::set_hook(Box::new(|_| {}));
    let rt = runtime_with_panicking_host_fn();
    // The script's top level runs at load time and panics there.
    let src = "// @name loadbomb\nlet r = Test.explode \"boom\" in\nlet f l = Continue in\n{ on_output = f }\n";
    let mut p = FusabiPlugin::from_source(src, "loadbomb.fsx", rt.clone()).unwrap();
    match p.load() {
        Err(scarab_plugins::LoadError::Panicked { path, message }) => {
            assert_eq!(path, std::path::Path::new("loadbomb.fsx"));
            assert!(message.contains("exploded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // In a chain: disabled at its first call, the other plugin keeps running.
    let mut m = PluginManager::with_runtime(rt.clone(), Default::default());
    m.add_fusabi(FusabiPlugin::from_source(src, "loadbomb.fsx", rt.clone()).unwrap())
        .unwrap();
    let up = "let f l = let u = String.toUpper l in Modify u in { on_output = f }";
    m.add_fusabi(FusabiPlugin::from_source(up, "up.fsx", rt).unwrap())
        .unwrap();
    for _ in 0..3 {
        assert_eq!(m.dispatch_output("a"), "A");
    }
    let bomb = m
        .list()
        .into_iter()
        .find(|i| i.metadata.name == "loadbomb")
        .unwrap();
    assert!(matches!(bomb.state, PluginState::Disabled(_)), "{bomb:?}");
    assert_eq!(bomb.total_failures, 1);
    assert!(bomb
        .last_error
        .unwrap()
        .starts_with("loadbomb.fsx: panicked"));
}

#[test]
fn the_template_shares_host_functions_and_isolates_globals() {
    let host = Arc::new(HostState::new(10, 5));
    let t = VmTemplate::new(Arc::clone(&host));
    let mut a = t.instantiate();
    let b = t.instantiate();
    a.globals.insert("mine".into(), Value::Int(1));
    assert!(!b.globals.contains_key("mine"));
    assert!(Arc::ptr_eq(&a.host_registry, &b.host_registry));
    // The cold VM offers the same globals.
    let cold = t.cold_vm();
    let mut names: Vec<_> = cold.globals.keys().cloned().collect();
    let mut tnames: Vec<_> = b.globals.keys().cloned().collect();
    names.sort();
    tnames.sort();
    assert_eq!(names, tnames);
}

#[test]
fn each_plugin_has_its_own_vm_from_the_shared_template() {
    let rt = FusabiRuntime::default();
    let a_src =
        "let secret = \"a\" in let f l = Modify secret in { secret = secret; on_output = f }";
    let b_src = "let f l = let s = secret in Modify s in { on_output = f }";
    let mut a = FusabiPlugin::from_source(a_src, "a.fsx", rt.clone()).unwrap();
    let mut b = FusabiPlugin::from_source(b_src, "b.fsx", rt.clone()).unwrap();
    assert_eq!(a.on_output("x").unwrap(), Action::Modify("a".into()));
    // b cannot see a's exports: separate globals.
    assert!(b.on_output("x").is_err());
    let ra = Arc::clone(&a.vm_mut().unwrap().host_registry);
    let rb = Arc::clone(&b.vm_mut().unwrap().host_registry);
    assert!(Arc::ptr_eq(&ra, &rb), "host functions are registered once");
    let t = rt.template.instantiate();
    assert!(Arc::ptr_eq(&ra, &t.host_registry));
    // A replaced VM still shares the template's registry.
    assert!(b.vm_replacements() >= 1);
    assert!(Arc::ptr_eq(
        &b.vm_mut().unwrap().host_registry,
        &t.host_registry
    ));
}

#[test]
fn only_allowed_stdlib_modules_are_reachable() {
    for (src, ok) in [
        (
            "let f l = let u = String.toUpper l in Modify u in { on_output = f }",
            true,
        ),
        (
            "let f l = let r = Process.run \"ls\" in Continue in { on_output = f }",
            false,
        ),
        (
            "let f l = let r = File.readLines \"x\" in Continue in { on_output = f }",
            false,
        ),
        (
            "let f l = let r = print l in Continue in { on_output = f }",
            false,
        ),
    ] {
        let mut p = FusabiPlugin::from_source(src, "s.fsx", FusabiRuntime::default()).unwrap();
        assert_eq!(p.on_output("a").is_ok(), ok, "{src}");
    }
}

#[test]
fn host_functions_report_the_terminal_size() {
    let src = "let f l =\n  let c = Host.cols () in\n  let r = Host.rows () in\n  let s = String.format \"%dx%d\" [c; r] in\n  Modify s\nin\n{ on_output = f }\n";
    let mut m = PluginManager::new();
    let rt = m.runtime().clone();
    m.add_fusabi(FusabiPlugin::from_source(src, "size.fsx", rt).unwrap())
        .unwrap();
    assert_eq!(m.dispatch_output(""), "80x24");
    m.dispatch_resize(132, 43);
    assert_eq!(m.dispatch_output(""), "132x43");
}

#[test]
fn a_hook_that_is_not_exported_costs_no_vm_call() {
    for metrics_on in [true, false] {
        let rt = FusabiRuntime {
            metrics: Arc::new(scarab_plugins::MetricsCollector::new(metrics_on)),
            ..FusabiRuntime::default()
        };
        let metrics = Arc::clone(&rt.metrics);
        let vm_exec = || {
            metrics
                .report()
                .get(scarab_plugins::Metric::VmExec)
                .unwrap()
                .count
        };
        let src = "let f t = Modify \"y\" in { on_input = f }";
        let mut p = FusabiPlugin::from_source(src, "i.fsx", rt.clone()).unwrap();
        p.load().unwrap();
        assert_eq!(p.vm_calls(), 0);
        let stack = p.stack_size();
        for _ in 0..10 {
            assert_eq!(p.on_output("x").unwrap(), Action::Continue);
            assert_eq!(
                p.on_output_batch(&["a".into(), "b".into()]).unwrap(),
                [Action::Continue, Action::Continue]
            );
            p.on_resize(1, 1).unwrap();
            p.on_load().unwrap();
        }
        // Nothing entered the VM: no call counted, no timing, nothing left on its stack.
        assert_eq!(p.vm_calls(), 0);
        assert_eq!(p.stack_size(), stack);
        assert_eq!(vm_exec(), 0);
        assert_eq!(p.on_input(b"x").unwrap(), Action::Modify(b"y".to_vec()));
        assert_eq!(p.vm_calls(), 1);
        assert!(p.stack_size() > stack, "a real call leaves values behind");
        assert_eq!(vm_exec(), u64::from(metrics_on));
    }
}

#[test]
fn a_batch_hook_is_one_vm_call_per_batch() {
    let lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    // The line counter exports `on_output_batch`: one VM call for the whole batch.
    let counter = include_str!("../plugins/line_counter.fsx");
    let mut p = FusabiPlugin::from_source(counter, "c.fsx", FusabiRuntime::default()).unwrap();
    assert_eq!(
        p.on_output_batch(&lines).unwrap(),
        vec![Action::Continue; 100]
    );
    assert_eq!(p.vm_calls(), 1);
    // Without a batch export the host falls back to one call per line.
    let mut n = FusabiPlugin::from_source(NOOP, "noop.fsx", FusabiRuntime::default()).unwrap();
    n.on_output_batch(&lines).unwrap();
    assert_eq!(n.vm_calls(), 100);

    // The same through the manager, which hands each plugin the batch in one call.
    let rt = FusabiRuntime::default();
    let metrics = Arc::clone(&rt.metrics);
    let mut m = PluginManager::with_runtime(rt.clone(), Default::default());
    m.add_fusabi(FusabiPlugin::from_source(counter, "c.fsx", rt.clone()).unwrap())
        .unwrap();
    m.add_fusabi(FusabiPlugin::from_source(NOOP, "noop.fsx", rt).unwrap())
        .unwrap();
    for _ in 0..3 {
        assert_eq!(m.dispatch_output_batch(&lines), lines);
    }
    let vm_exec = metrics
        .report()
        .get(scarab_plugins::Metric::VmExec)
        .unwrap()
        .count;
    // line_counter: 3 batches = 3 calls; noop: 300 lines = 300 calls.
    assert_eq!(vm_exec, 3 + 300);
}

#[test]
fn resize_passes_a_cols_rows_record() {
    let src = "let seen = Array.create 2 0\nin\nlet on_resize size =\n  let c = size.cols in\n  let r = size.rows in\n  let a = Array.set 0 c seen in\n  Array.set 1 r seen\nin\n{ seen = seen; on_resize = on_resize }\n";
    let mut p = FusabiPlugin::from_source(src, "r.fsx", FusabiRuntime::default()).unwrap();
    p.on_resize(132, 43).unwrap();
    let Some(Value::Array(a)) = p.vm_mut().unwrap().globals.get("seen").cloned() else {
        panic!("no array")
    };
    assert_eq!(*a.lock().unwrap(), [Value::Int(132), Value::Int(43)]);
}

#[test]
fn lazy_plugins_compile_on_first_call() {
    let mut p = FusabiPlugin::from_source(NOOP, "noop.fsx", FusabiRuntime::default()).unwrap();
    assert!(!p.is_loaded());
    assert_eq!(p.metadata().name, "noop");
    p.on_output("x").unwrap();
    assert!(p.is_loaded());
}

#[test]
fn lazy_loading_reads_at_start_and_compiles_at_the_first_hook_call() {
    let dir = tempfile::tempdir().unwrap();
    let good = "// @name tagger\nlet f l = Modify (\"t:\" ++ l) in { on_output = f }\n";
    std::fs::write(dir.path().join("tagger.fsx"), good).unwrap();
    // A syntax error is not found at start: nothing is compiled yet.
    std::fs::write(dir.path().join("broken.fsx"), "let f = in\n").unwrap();
    let rt = FusabiRuntime::default();
    let cache = Arc::clone(rt.cache.as_ref().unwrap());
    let metrics = Arc::clone(&rt.metrics);
    let mut m = PluginManager::with_runtime(rt, Default::default());
    let report = m.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, ["broken", "tagger"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        cache.stats().misses + cache.stats().hits,
        0,
        "nothing compiled"
    );
    let plugin_loads = || {
        metrics
            .report()
            .get(scarab_plugins::Metric::PluginLoad)
            .unwrap()
            .count
    };
    assert_eq!(plugin_loads(), 0);
    assert!(m.list().iter().all(|i| !i.started));
    // The files were read at start: removing them changes nothing.
    drop(dir);
    assert_eq!(m.dispatch_output("x"), "t:x");
    assert_eq!(cache.stats().misses, 2, "both compiled at the first call");
    assert_eq!(plugin_loads(), 1, "only the good one loaded");
    let list = m.list();
    let broken = list.iter().find(|i| i.metadata.name == "broken").unwrap();
    assert!(
        matches!(broken.state, PluginState::Disabled(_)),
        "{broken:?}"
    );
    assert!(
        broken
            .last_error
            .as_deref()
            .unwrap()
            .contains("broken.fsx:1:"),
        "{broken:?}"
    );
    let tagger = list.iter().find(|i| i.metadata.name == "tagger").unwrap();
    assert!(tagger.started && tagger.state == PluginState::Active);
    // Later calls do not compile again.
    m.dispatch_output("y");
    assert_eq!(cache.stats().misses, 2);

    // Eager loading compiles in `load_dir` and reports the broken file there.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tagger.fsx"), good).unwrap();
    std::fs::write(dir.path().join("broken.fsx"), "let f = in\n").unwrap();
    let options = scarab_plugins::ManagerOptions {
        lazy: false,
        ..Default::default()
    };
    let mut m = PluginManager::with_runtime(FusabiRuntime::default(), options);
    let report = m.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, ["tagger"]);
    assert!(matches!(
        &report.errors[..],
        [scarab_plugins::LoadError::Syntax { line: 1, .. }]
    ));
}

#[test]
fn the_default_stack_bound_is_documented() {
    assert_eq!(FusabiRuntime::default().stack_bound, DEFAULT_STACK_BOUND);
}

#[test]
fn input_that_is_not_utf8_passes_on_unchanged_unless_modified() {
    let mut m = PluginManager::new();
    let rt = m.runtime().clone();
    m.add_fusabi(
        FusabiPlugin::from_source("let f t = Continue in { on_input = f }", "c.fsx", rt).unwrap(),
    )
    .unwrap();
    let raw = b"\xff\xfeok\x1b[A";
    assert!(matches!(
        m.dispatch_input(raw),
        std::borrow::Cow::Borrowed(b) if b == raw
    ));
    let rt = m.runtime().clone();
    m.add_fusabi(
        FusabiPlugin::from_source(
            "let f t = Modify (t ++ \"!\") in { on_input = f }",
            "m.fsx",
            rt,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        &*m.dispatch_input(raw),
        "\u{FFFD}\u{FFFD}ok\x1b[A!".as_bytes()
    );
}
