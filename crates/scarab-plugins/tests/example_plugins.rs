//! The shipped example plugins load and behave as documented, from source and from bytecode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use scarab_plugins::fusabi::bytecode::{compile_source, encode_fzb, parse_header, stamp_metadata};
use scarab_plugins::{
    Action, FusabiPlugin, FusabiRuntime, Hook, Plugin, PluginManager, PluginState,
};

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins")
}

fn load(name: &str) -> FusabiPlugin {
    let mut p =
        FusabiPlugin::from_path(plugins_dir().join(name), FusabiRuntime::default()).unwrap();
    p.load().unwrap_or_else(|e| panic!("{e}"));
    p
}

#[test]
fn every_example_loads_from_source() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(plugins_dir()).unwrap() {
        let path = entry.unwrap().path();
        let mut p = FusabiPlugin::from_path(&path, FusabiRuntime::default()).unwrap();
        p.load().unwrap_or_else(|e| panic!("{e}"));
        names.push(p.metadata().name.clone());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "highlight",
            "input_remap",
            "line_counter",
            "noop",
            "resize_logger",
            "url_detect"
        ]
    );
}

#[test]
fn noop_continues() {
    let mut p = load("noop.fsx");
    assert_eq!(p.on_output("anything").unwrap(), Action::Continue);
}

#[test]
fn highlight_tags_errors_and_warnings() {
    let mut p = load("highlight.fsx");
    assert_eq!(
        p.on_output("build ERROR: oops").unwrap(),
        Action::Modify("[ERROR] build ERROR: oops".into())
    );
    assert_eq!(
        p.on_output("warning: unused").unwrap(),
        Action::Modify("[WARN] warning: unused".into())
    );
    assert_eq!(p.on_output("all good").unwrap(), Action::Continue);
}

#[test]
fn url_detect_marks_urls() {
    let mut p = load("url_detect.fsx");
    assert_eq!(
        p.on_output("see https://example.org/x").unwrap(),
        Action::Modify("<url> see https://example.org/x".into())
    );
    assert_eq!(
        p.on_output("plain http://a.b").unwrap(),
        Action::Modify("<url> plain http://a.b".into())
    );
    assert_eq!(p.on_output("no link").unwrap(), Action::Continue);
}

#[test]
fn input_remap_expands_aliases() {
    let mut p = load("input_remap.fsx");
    assert_eq!(
        p.on_input(b"ll\r").unwrap(),
        Action::Modify(b"ls -l\r".to_vec())
    );
    assert_eq!(
        p.on_input(b"gs\r").unwrap(),
        Action::Modify(b"git status\r".to_vec())
    );
    assert_eq!(p.on_input(b"x").unwrap(), Action::Continue);
    assert_eq!(
        p.on_output("output is not touched").unwrap(),
        Action::Continue
    );
}

#[test]
fn line_counter_counts_single_and_batched_lines() {
    let mut p = load("line_counter.fsx");
    for _ in 0..5 {
        assert_eq!(p.on_output("x").unwrap(), Action::Continue);
    }
    let lines: Vec<String> = (0..7).map(|i| format!("line {i}")).collect();
    assert_eq!(
        p.on_output_batch(&lines).unwrap(),
        vec![Action::Continue; 7]
    );
    let counter = p.vm_mut().unwrap().globals.get("counter").cloned().unwrap();
    let scarab_plugins::fusabi_vm::Value::Array(a) = counter else {
        panic!("counter is not an array")
    };
    assert_eq!(
        a.lock().unwrap()[0],
        scarab_plugins::fusabi_vm::Value::Int(12)
    );
    p.on_unload().unwrap();
}

#[test]
fn resize_logger_exports_only_on_resize() {
    let mut p = load("resize_logger.fsx");
    assert!(p.hook(Hook::Output).is_none());
    assert!(p.hook(Hook::Resize).is_some());
    // What it logs is checked in tests/tracing.rs.
    p.on_resize(132, 43).unwrap();
}

#[test]
fn examples_run_the_same_from_bytecode() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(plugins_dir()).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        let meta = parse_header(&src, &path).unwrap();
        let mut chunk = compile_source(&src, &path).unwrap();
        stamp_metadata(&mut chunk, &meta);
        let out = dir
            .path()
            .join(path.file_name().unwrap())
            .with_extension("fzb");
        std::fs::write(&out, encode_fzb(&chunk, &path).unwrap()).unwrap();
    }
    let mut m = PluginManager::new();
    let report = m.load_dir(dir.path()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.loaded.len(), 6);
    assert_eq!(
        m.dispatch_output("an error at https://x.y"),
        "<url> [ERROR] an error at https://x.y"
    );
    assert_eq!(&*m.dispatch_input(b"ll\r"), b"ls -l\r");
    m.dispatch_resize(100, 30);
    for info in m.list() {
        assert_eq!(info.state, PluginState::Active, "{info:?}");
    }
    // Priorities survive compilation: highlight (50) runs before url_detect (40).
    let order: Vec<_> = m.list().into_iter().map(|i| i.metadata.name).collect();
    assert_eq!(
        order,
        [
            "highlight",
            "url_detect",
            "input_remap",
            "noop",
            "resize_logger",
            "line_counter"
        ]
    );
}
