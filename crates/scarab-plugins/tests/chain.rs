//! Chain semantics as properties: priority order, `Modify` feeds the next plugin,
//! `Stop` ends the chain keeping what was produced, failures count and disable, and
//! batch dispatch equals per-line dispatch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scarab_plugins::{Action, HookError, Plugin, PluginManager, PluginMetadata, PluginState};

/// What a test plugin does with a line.
#[derive(Debug, Clone)]
enum Rule {
    /// Pass on.
    Continue,
    /// Append a tag.
    Append(String),
    /// Stop when the line contains the char, else append a tag.
    StopIf(char, String),
    /// Fail when the line contains the char, else continue.
    FailIf(char),
    /// Panic when the line contains the char, else continue.
    PanicIf(char),
}

struct RulePlugin {
    meta: PluginMetadata,
    rule: Rule,
}

impl Plugin for RulePlugin {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
        apply(&self.rule, &self.meta.name, line)
    }
    fn on_input(&mut self, bytes: &[u8]) -> Result<Action<Vec<u8>>, HookError> {
        let line = String::from_utf8(bytes.to_vec()).unwrap();
        Ok(match apply(&self.rule, &self.meta.name, &line)? {
            Action::Continue => Action::Continue,
            Action::Stop => Action::Stop,
            Action::Modify(s) => Action::Modify(s.into_bytes()),
        })
    }
}

fn apply(rule: &Rule, name: &str, line: &str) -> Result<Action, HookError> {
    Ok(match rule {
        Rule::Continue => Action::Continue,
        Rule::Append(t) => Action::Modify(format!("{line}{t}")),
        Rule::StopIf(c, t) => {
            if line.contains(*c) {
                Action::Stop
            } else {
                Action::Modify(format!("{line}{t}"))
            }
        }
        Rule::FailIf(c) => {
            if line.contains(*c) {
                return Err(HookError::native(name, "rule says fail"));
            }
            Action::Continue
        }
        Rule::PanicIf(c) => {
            if line.contains(*c) {
                panic!("rule says panic");
            }
            Action::Continue
        }
    })
}

/// The reference model of the manager.
struct Model {
    /// (name, priority, rule, consecutive failures, disabled)
    plugins: Vec<(String, i32, Rule, u32, bool)>,
}

impl Model {
    fn new(specs: &[(i32, Rule)]) -> Self {
        let mut plugins: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(i, (p, r))| (format!("p{i:02}"), *p, r.clone(), 0, false))
            .collect();
        plugins.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self { plugins }
    }

    fn dispatch(&mut self, line: &str) -> String {
        let mut cur = line.to_owned();
        for (_, _, rule, fails, disabled) in self.plugins.iter_mut() {
            if *disabled {
                continue;
            }
            let failed = match rule {
                Rule::FailIf(c) | Rule::PanicIf(c) => cur.contains(*c),
                _ => false,
            };
            if failed {
                *fails += 1;
                if *fails >= 3 || matches!(rule, Rule::PanicIf(_)) {
                    *disabled = true;
                }
                continue;
            }
            *fails = 0;
            match apply(rule, "", &cur).unwrap() {
                Action::Continue => {}
                Action::Modify(s) => cur = s,
                Action::Stop => break,
            }
        }
        cur
    }
}

fn manager(specs: &[(i32, Rule)]) -> PluginManager {
    let mut m = PluginManager::new();
    for (i, (priority, rule)) in specs.iter().enumerate() {
        m.add_native(Box::new(RulePlugin {
            meta: PluginMetadata::new(format!("p{i:02}")).with_priority(*priority),
            rule: rule.clone(),
        }))
        .unwrap();
    }
    m
}

fn rule(with_failures: bool) -> impl Strategy<Value = Rule> {
    let tag = "[a-c]{1,2}";
    let base = prop_oneof![
        Just(Rule::Continue),
        tag.prop_map(Rule::Append),
        (prop::char::range('a', 'e'), tag).prop_map(|(c, t)| Rule::StopIf(c, t)),
    ];
    if with_failures {
        prop_oneof![
            4 => base,
            1 => prop::char::range('a', 'e').prop_map(Rule::FailIf),
            1 => prop::char::range('a', 'e').prop_map(Rule::PanicIf),
        ]
        .boxed()
    } else {
        base.boxed()
    }
}

fn quiet_panics() {
    // Keep expected panics of test plugins out of the test output.
    std::panic::set_hook(Box::new(|_| {}));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn chain_matches_the_model(
        specs in prop::collection::vec((-3i32..3, rule(true)), 0..6),
        lines in prop::collection::vec("[a-e]{0,4}", 1..20),
    ) {
        quiet_panics();
        let mut m = manager(&specs);
        let mut model = Model::new(&specs);
        for line in &lines {
            prop_assert_eq!(m.dispatch_output(line).into_owned(), model.dispatch(line));
        }
        // The states agree too.
        let list = m.list();
        prop_assert_eq!(list.len(), model.plugins.len());
        for (info, (name, _, _, fails, disabled)) in list.iter().zip(&model.plugins) {
            prop_assert_eq!(&info.metadata.name, name);
            prop_assert_eq!(matches!(info.state, PluginState::Disabled(_)), *disabled);
            if !*disabled {
                prop_assert_eq!(info.consecutive_failures, *fails);
            }
        }
    }

    #[test]
    fn input_chain_matches_the_model(
        specs in prop::collection::vec((-3i32..3, rule(false)), 0..6),
        lines in prop::collection::vec("[a-e]{0,4}", 1..10),
    ) {
        let mut m = manager(&specs);
        let mut model = Model::new(&specs);
        for line in &lines {
            let out = m.dispatch_input(line.as_bytes()).into_owned();
            prop_assert_eq!(String::from_utf8(out).unwrap(), model.dispatch(line));
        }
    }

    #[test]
    fn batch_equals_line_by_line(
        specs in prop::collection::vec((-3i32..3, rule(false)), 0..6),
        lines in prop::collection::vec("[a-e]{0,4}", 0..30),
    ) {
        let mut one = manager(&specs);
        let mut batch = manager(&specs);
        let expected: Vec<String> = lines.iter().map(|l| one.dispatch_output(l).into_owned()).collect();
        prop_assert_eq!(batch.dispatch_output_batch(&lines), expected);
    }
}

#[test]
fn stop_keeps_what_earlier_plugins_produced() {
    let mut m = manager(&[
        (3, Rule::Append("1".into())),
        (2, Rule::StopIf('x', "2".into())),
        (1, Rule::Append("3".into())),
    ]);
    assert_eq!(m.dispatch_output("x"), "x1");
    assert_eq!(m.dispatch_output("y"), "y123");
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut m = manager(&[(0, Rule::FailIf('f'))]);
    for line in ["f", "f", "ok", "f", "f", "ok", "f", "f"] {
        m.dispatch_output(line);
    }
    assert_eq!(m.list()[0].state, PluginState::Active);
    assert_eq!(m.list()[0].total_failures, 6);
    m.dispatch_output("f");
    assert!(matches!(m.list()[0].state, PluginState::Disabled(_)));
    assert!(m.enable("p00"));
    assert_eq!(m.list()[0].state, PluginState::Active);
}

#[test]
fn a_panicking_native_plugin_is_contained_and_disabled() {
    quiet_panics();
    let mut m = manager(&[(1, Rule::PanicIf('p')), (0, Rule::Append("!".into()))]);
    assert_eq!(m.dispatch_output("a"), "a!");
    assert_eq!(m.dispatch_output("p"), "p!");
    let info = &m.list()[0];
    assert!(matches!(&info.state, PluginState::Disabled(why) if why.contains("panicked")));
    assert_eq!(m.dispatch_output("p"), "p!");
}

struct Loader {
    meta: PluginMetadata,
    loads: std::sync::Arc<std::sync::atomic::AtomicU32>,
    unloads: std::sync::Arc<std::sync::atomic::AtomicU32>,
    resizes: std::sync::Arc<std::sync::Mutex<Vec<(String, u16, u16)>>>,
}

impl Plugin for Loader {
    fn metadata(&self) -> &PluginMetadata {
        &self.meta
    }
    fn on_load(&mut self) -> Result<(), HookError> {
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn on_resize(&mut self, cols: u16, rows: u16) -> Result<(), HookError> {
        self.resizes
            .lock()
            .unwrap()
            .push((self.meta.name.clone(), cols, rows));
        if cols == 0 {
            return Err(HookError::native(&self.meta.name, "zero columns"));
        }
        Ok(())
    }
    fn on_unload(&mut self) -> Result<(), HookError> {
        self.unloads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn load_resize_and_unload_reach_every_plugin_once() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let loads = Arc::new(AtomicU32::new(0));
    let unloads = Arc::new(AtomicU32::new(0));
    let resizes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut m = PluginManager::new();
    // A plugin that stops every line first: resize is not a chain, Stop does not end it.
    m.add_native(Box::new(RulePlugin {
        meta: PluginMetadata::new("stopper").with_priority(9),
        rule: Rule::StopIf('x', String::new()),
    }))
    .unwrap();
    for i in 0..3 {
        m.add_native(Box::new(Loader {
            meta: PluginMetadata::new(format!("l{i}")).with_priority(-i),
            loads: loads.clone(),
            unloads: unloads.clone(),
            resizes: resizes.clone(),
        }))
        .unwrap();
    }
    assert_eq!(
        loads.load(Ordering::SeqCst),
        0,
        "on_load runs before the first hook"
    );
    m.dispatch_output("x");
    m.dispatch_resize(100, 40);
    m.dispatch_resize(0, 40);
    assert_eq!(loads.load(Ordering::SeqCst), 3);
    assert_eq!(m.runtime().template.host_state().size(), (0, 40));
    let seen: Vec<(String, u16, u16)> = resizes.lock().unwrap().clone();
    let expected: Vec<(String, u16, u16)> = [(100, 40), (0, 40)]
        .into_iter()
        .flat_map(|(c, r)| (0..3).map(move |i| (format!("l{i}"), c, r)))
        .collect();
    assert_eq!(seen, expected);
    for info in m.list().into_iter().skip(1) {
        assert_eq!(info.total_failures, 1);
        assert_eq!(info.state, PluginState::Active);
    }
    assert!(m.remove("l1"));
    assert_eq!(unloads.load(Ordering::SeqCst), 1);
    drop(m);
    assert_eq!(unloads.load(Ordering::SeqCst), 3);
}

#[test]
fn an_empty_chain_returns_the_line_borrowed() {
    let mut m = PluginManager::new();
    assert!(matches!(
        m.dispatch_output("x"),
        std::borrow::Cow::Borrowed("x")
    ));
    assert!(m.dispatch_output_batch(&[]).is_empty());
}

#[test]
fn hook_budget_overrun_counts_as_a_failure_and_drops_the_result() {
    struct Slow(PluginMetadata);
    impl Plugin for Slow {
        fn metadata(&self) -> &PluginMetadata {
            &self.0
        }
        fn on_output(&mut self, line: &str) -> Result<Action, HookError> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(Action::Modify(format!("{line}slow")))
        }
    }
    let mut m = PluginManager::new();
    m.set_hook_budget(Some(std::time::Duration::from_millis(1)));
    m.add_native(Box::new(Slow(PluginMetadata::new("slow"))))
        .unwrap();
    for _ in 0..3 {
        assert_eq!(m.dispatch_output("x"), "x");
    }
    let info = &m.list()[0];
    assert!(
        matches!(&info.state, PluginState::Disabled(why) if why.contains("budget")),
        "{info:?}"
    );
}

#[test]
fn a_plugin_whose_on_load_fails_never_runs() {
    struct NoStart {
        meta: PluginMetadata,
        attempts: u32,
    }
    impl Plugin for NoStart {
        fn metadata(&self) -> &PluginMetadata {
            &self.meta
        }
        fn on_load(&mut self) -> Result<(), HookError> {
            self.attempts += 1;
            if self.attempts == 1 {
                return Err(HookError::native("nostart", "missing config"));
            }
            Ok(())
        }
        fn on_output(&mut self, _line: &str) -> Result<Action, HookError> {
            Ok(Action::Modify("ran".into()))
        }
    }
    let mut m = PluginManager::new();
    m.add_native(Box::new(NoStart {
        meta: PluginMetadata::new("nostart"),
        attempts: 0,
    }))
    .unwrap();
    assert_eq!(m.dispatch_output("x"), "x");
    assert_eq!(m.dispatch_output("x"), "x");
    let info = &m.list()[0];
    assert!(
        matches!(&info.state, PluginState::Disabled(why) if why.contains("missing config")),
        "{info:?}"
    );
    assert_eq!(info.total_failures, 1);
    assert!(!info.started);
    // Enabled again, it gets another `on_load` before it runs.
    assert!(m.enable("nostart"));
    assert_eq!(m.dispatch_output("x"), "ran");
    assert!(m.list()[0].started);
}

#[test]
fn a_panicking_metadata_is_a_load_error() {
    quiet_panics();
    struct Nameless;
    impl Plugin for Nameless {
        fn metadata(&self) -> &PluginMetadata {
            panic!("no name")
        }
    }
    let mut m = PluginManager::new();
    let e = m.add_native(Box::new(Nameless)).unwrap_err();
    assert!(
        matches!(&e, scarab_plugins::LoadError::Panicked { message, .. } if message.contains("no name")),
        "{e:?}"
    );
    assert!(m.is_empty());
}
