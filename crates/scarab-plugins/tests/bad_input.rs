//! Every kind of bad plugin input gets an error naming the file (and line and column
//! where there is one), nothing panics, and the other plugins keep running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use scarab_plugins::fusabi::bytecode::{compile_source, encode_fzb};
use scarab_plugins::{
    FusabiPlugin, FusabiRuntime, HookError, LoadError, ManagerError, Plugin, PluginManager,
    PluginState, MAX_FZB_BYTES,
};

const GOOD: &str =
    "// @name good\nlet on_output line = Modify (\"ok:\" ++ line)\nin\n{ on_output = on_output }\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn good_fzb() -> Vec<u8> {
    let p = Path::new("good.fsx");
    encode_fzb(&compile_source(GOOD, p).unwrap(), p).unwrap()
}

/// Load `bad` next to a good plugin with `load_dir` (eagerly), check the good one still
/// runs, and return the error reported for the bad one.
fn load_next_to_good(name: &str, bad: &[u8]) -> (LoadError, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.fsx", GOOD.as_bytes());
    let bad_path = write(dir.path(), name, bad);
    let options = scarab_plugins::ManagerOptions {
        lazy: false,
        ..Default::default()
    };
    let mut m = PluginManager::with_runtime(FusabiRuntime::default(), options);
    let mut report = m.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, ["good"]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(m.dispatch_output("x"), "ok:x");
    let e = report.errors.pop().unwrap();
    assert_eq!(e.path(), bad_path);
    assert!(
        e.to_string().contains(&bad_path.display().to_string()),
        "{e}"
    );
    (e, bad_path)
}

#[test]
fn fzb_with_bad_magic() {
    let (e, _) = load_next_to_good("bad.fzb", b"NOPE\x01not bytecode at all");
    assert!(matches!(e, LoadError::BadBytecode { .. }), "{e:?}");
    assert!(e.to_string().contains("magic"), "{e}");
}

#[test]
fn fzb_with_unknown_version() {
    let mut bytes = good_fzb();
    bytes[4] = 99;
    let (e, _) = load_next_to_good("v99.fzb", &bytes);
    assert!(matches!(e, LoadError::BadBytecode { .. }), "{e:?}");
    assert!(e.to_string().contains("version"), "{e}");
}

#[test]
fn fzb_truncated_at_every_length_is_an_error() {
    let bytes = good_fzb();
    let path = Path::new("cut.fzb");
    for len in 0..bytes.len() {
        let r = FusabiPlugin::from_bytes(bytes[..len].to_vec(), path, FusabiRuntime::default());
        match r {
            Err(LoadError::BadBytecode { path: p, .. }) => assert_eq!(p, path),
            Err(other) => panic!("length {len}: unexpected error {other}"),
            Ok(_) => panic!("length {len} of {} was accepted", bytes.len()),
        }
    }
    let (e, _) = load_next_to_good("cut.fzb", &bytes[..bytes.len() / 2]);
    assert!(matches!(e, LoadError::BadBytecode { .. }), "{e:?}");
}

#[test]
fn fzb_over_the_size_bound() {
    let mut bytes = good_fzb();
    bytes.resize(usize::try_from(MAX_FZB_BYTES).unwrap() + 1, 0);
    let (e, _) = load_next_to_good("huge.fzb", &bytes);
    match e {
        LoadError::TooLarge {
            size, limit, kind, ..
        } => {
            assert_eq!(size, MAX_FZB_BYTES + 1);
            assert_eq!(limit, MAX_FZB_BYTES);
            assert_eq!(kind, ".fzb");
        }
        other => panic!("{other:?}"),
    }
    // The same bound applies to bytes handed over directly.
    let r = FusabiPlugin::from_bytes(bytes, "huge.fzb", FusabiRuntime::default());
    assert!(matches!(r, Err(LoadError::TooLarge { .. })));
}

#[test]
fn fsx_with_a_syntax_error_names_line_and_column() {
    let src = "// @name broken\nlet on_output line =\n    if then Continue\nin\n{ on_output = on_output }\n";
    let (e, path) = load_next_to_good("broken.fsx", src.as_bytes());
    match &e {
        LoadError::Syntax { line, column, .. } => {
            assert_eq!((*line, *column), (3, 8), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with(&format!("{}:3:8: syntax error", path.display())),
        "{e}"
    );
}

#[test]
fn fsx_with_a_lexical_error_names_line_and_column() {
    let (e, _) = load_next_to_good("lex.fsx", b"let x = 1 in\n  x $ 2\n");
    assert!(
        matches!(
            e,
            LoadError::Syntax {
                line: 2,
                column: 5,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn fsx_cut_off_at_the_end() {
    let (e, _) = load_next_to_good("eof.fsx", b"let on_output line =\n");
    assert!(matches!(e, LoadError::Syntax { .. }), "{e:?}");
}

#[test]
fn script_without_an_export_record() {
    let (e, _) = load_next_to_good("noexports.fsx", b"let x = 41 in x + 1\n");
    match e {
        LoadError::NoExports { got, .. } => assert_eq!(got, "int"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn script_exporting_a_hook_that_is_not_a_function() {
    let (e, _) = load_next_to_good("notfn.fsx", b"{ on_output = 42 }\n");
    match e {
        LoadError::HookNotFunction { hook, got, .. } => {
            assert_eq!(hook, "on_output");
            assert_eq!(got, "int");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn script_failing_at_top_level() {
    let (e, _) = load_next_to_good(
        "top.fsx",
        b"let z = 0 in\nlet x = 1 / z in\n{ on_output = x }\n",
    );
    assert!(matches!(e, LoadError::TopLevel { .. }), "{e:?}");
}

#[test]
fn binary_garbage_named_fsx() {
    let (e, _) = load_next_to_good("garbage.fsx", &[0xff, 0xfe, 0x00, 0x80]);
    assert!(matches!(e, LoadError::NotSource { .. }), "{e:?}");
}

/// Run a misbehaving plugin in a chain between two good ones, check the chain keeps
/// working and the bad one is disabled after three failures in a row.
fn misbehaving_hook(src: &str, expect: impl Fn(&HookError)) {
    let mut m = PluginManager::new();
    let rt = m.runtime().clone();
    let first = "// @name first\n// @priority 10\nlet f line = Modify (line ++ \"1\")\nin\n{ on_output = f }\n";
    let last = "// @name last\n// @priority -10\nlet f line = Modify (line ++ \"3\")\nin\n{ on_output = f }\n";
    m.add_fusabi(FusabiPlugin::from_source(first, "first.fsx", rt.clone()).unwrap())
        .unwrap();
    m.add_fusabi(FusabiPlugin::from_source(last, "last.fsx", rt.clone()).unwrap())
        .unwrap();
    m.add_fusabi(FusabiPlugin::from_source(src, "bad.fsx", rt.clone()).unwrap())
        .unwrap();
    for i in 1..=5 {
        assert_eq!(m.dispatch_output("x"), "x13", "call {i}");
        let bad = m
            .list()
            .into_iter()
            .find(|p| p.metadata.name == "bad")
            .unwrap();
        if i < 3 {
            assert_eq!(bad.state, PluginState::Active);
            assert_eq!(bad.consecutive_failures, i);
        } else {
            assert!(matches!(bad.state, PluginState::Disabled(_)), "{bad:?}");
            assert_eq!(bad.total_failures, 3);
        }
        assert!(bad.last_error.unwrap().contains("bad.fsx"));
    }
    // The error itself, straight from the plugin.
    let mut p = FusabiPlugin::from_source(src, "bad.fsx", rt).unwrap();
    let e = p.on_output("x").unwrap_err();
    expect(&e);
    // And the plugin keeps working afterwards on a fresh VM.
    let _ = p.on_output("y");
}

#[test]
fn hook_returning_the_wrong_type() {
    misbehaving_hook("let f line = 42\nin\n{ on_output = f }\n", |e| {
        assert!(
            matches!(e, HookError::BadReturn { got, .. } if got == "the int 42"),
            "{e:?}"
        );
    });
}

#[test]
fn hook_returning_an_unknown_variant() {
    misbehaving_hook("let f line = Replace line\nin\n{ on_output = f }\n", |e| {
        assert!(matches!(e, HookError::BadReturn { .. }), "{e:?}");
    });
}

#[test]
fn hook_returning_modify_of_a_non_string() {
    misbehaving_hook("let f line = Modify 3\nin\n{ on_output = f }\n", |e| {
        assert!(matches!(e, HookError::BadReturn { .. }), "{e:?}");
    });
}

#[test]
fn hook_raising_a_runtime_error() {
    misbehaving_hook(
        "let f line =\n    let z = 0 in\n    let q = 10 / z in\n    Continue\nin\n{ on_output = f }\n",
        |e| {
            assert!(
                matches!(e, HookError::Runtime { message, .. } if message.contains("Division by zero")),
                "{e:?}"
            );
        },
    );
}

#[test]
fn hook_that_does_not_compile_is_disabled_at_once_under_lazy_loading() {
    let mut m = PluginManager::new();
    let rt = m.runtime().clone();
    m.add_fusabi(FusabiPlugin::from_source("let f = in f", "lazy.fsx", rt).unwrap())
        .unwrap();
    assert_eq!(m.dispatch_output("x"), "x");
    let info = &m.list()[0];
    assert!(matches!(info.state, PluginState::Disabled(_)));
    assert!(
        info.last_error.as_ref().unwrap().starts_with("lazy.fsx:1:"),
        "{info:?}"
    );
}

#[test]
fn empty_plugin_directory() {
    let dir = tempfile::tempdir().unwrap();
    for files in [&[][..], &["README.txt"][..]] {
        for f in files {
            write(dir.path(), f, b"not a plugin");
        }
        let mut m = PluginManager::new();
        let e = m.load_dir(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: plugin directory holds no .fsx or .fzb files",
                dir.path().display()
            )
        );
        match e {
            ManagerError::Load(LoadError::EmptyDirectory { path }) => {
                assert_eq!(path, dir.path());
            }
            other => panic!("{other:?}"),
        }
        assert!(m.is_empty());
    }
}

#[test]
fn missing_plugin_directory() {
    let mut m = PluginManager::new();
    let e = m.load_dir("/nonexistent/plugins").unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/plugins: "), "{e}");
}

#[test]
fn unreadable_plugin_file() {
    // Tests run as root, where a chmod 000 file is still readable; these fail for anyone.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.fsx", GOOD.as_bytes());
    // A dangling link.
    let gone = dir.path().join("gone.fsx");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &gone).unwrap();
    // A directory where a file is expected.
    let is_dir = dir.path().join("is_dir.fzb");
    std::fs::create_dir(&is_dir).unwrap();
    // A link that points at itself.
    let looped = dir.path().join("loop.fsx");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    // A device, which would otherwise be read without end.
    let device = dir.path().join("zero.fsx");
    std::os::unix::fs::symlink("/dev/zero", &device).unwrap();

    let mut m = PluginManager::new();
    let report = m.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, ["good"]);
    let errors: Vec<(PathBuf, std::io::ErrorKind, Option<i32>, String)> = report
        .errors
        .iter()
        .map(|e| match e {
            LoadError::Io { path, source } => (
                path.clone(),
                source.kind(),
                source.raw_os_error(),
                e.to_string(),
            ),
            other => panic!("expected an I/O error, got {other:?}"),
        })
        .collect();
    // load_dir goes in name order: gone, is_dir, loop, zero.
    let paths: Vec<&PathBuf> = errors.iter().map(|e| &e.0).collect();
    assert_eq!(paths, [&gone, &is_dir, &looped, &device]);
    assert_eq!(errors[0].1, std::io::ErrorKind::NotFound);
    assert_eq!(errors[1].1, std::io::ErrorKind::IsADirectory);
    const ELOOP: i32 = 40; // Linux
    assert_eq!(errors[2].2, Some(ELOOP), "{}", errors[2].3);
    assert_eq!(errors[3].1, std::io::ErrorKind::InvalidInput);
    for (path, _, _, message) in &errors {
        assert!(
            message.starts_with(&format!("{}: cannot read plugin file: ", path.display())),
            "{message}"
        );
    }
    assert!(
        errors[3].3.ends_with("not a regular file"),
        "{}",
        errors[3].3
    );
    assert_eq!(m.dispatch_output("x"), "ok:x");
}

#[test]
fn fsx_over_the_size_bound() {
    let mut src = GOOD.as_bytes().to_vec();
    src.resize(
        usize::try_from(scarab_plugins::MAX_FSX_BYTES).unwrap() + 1,
        b'\n',
    );
    let (e, _) = load_next_to_good("huge.fsx", &src);
    match e {
        LoadError::TooLarge {
            size, limit, kind, ..
        } => {
            assert_eq!(size, scarab_plugins::MAX_FSX_BYTES + 1);
            assert_eq!(limit, scarab_plugins::MAX_FSX_BYTES);
            assert_eq!(kind, ".fsx");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_form_is_told_by_the_magic_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // Bytecode in a file named .fsx loads as bytecode (decoded at once, counted as a
    // bytecode load) and runs.
    let fzb_as_fsx = write(dir.path(), "compiled.fsx", &good_fzb());
    let rt = FusabiRuntime::default();
    let mut p = FusabiPlugin::from_path(&fzb_as_fsx, rt.clone()).unwrap();
    let bytecode_loads = |rt: &FusabiRuntime| {
        rt.metrics
            .report()
            .get(scarab_plugins::Metric::BytecodeLoad)
            .unwrap()
            .count
    };
    assert_eq!(bytecode_loads(&rt), 1);
    assert_eq!(
        p.on_output("x").unwrap(),
        scarab_plugins::Action::Modify("ok:x".into())
    );
    assert_eq!(rt.cache.as_ref().unwrap().stats().misses, 0, "not compiled");
    // Source in a file with another extension loads as source (compiled, no bytecode load).
    let src_as_txt = write(dir.path(), "plugin.txt", GOOD.as_bytes());
    let rt = FusabiRuntime::default();
    let mut p = FusabiPlugin::from_path(&src_as_txt, rt.clone()).unwrap();
    assert_eq!(
        p.on_output("x").unwrap(),
        scarab_plugins::Action::Modify("ok:x".into())
    );
    assert_eq!(bytecode_loads(&rt), 0);
    assert_eq!(rt.cache.as_ref().unwrap().stats().misses, 1, "compiled");
    // Source in a file named .fzb is not compiled: a .fzb must have the magic.
    let (e, _) = load_next_to_good("source.fzb", GOOD.as_bytes());
    assert!(
        matches!(&e, LoadError::BadBytecode { reason, .. } if reason.contains("magic")),
        "{e:?}"
    );
}

#[test]
fn batch_hook_returning_the_wrong_shape() {
    for (src, got) in [
        ("let b ls = 42\nin\n{ on_output_batch = b }\n", "the int 42"),
        (
            "let b ls = [Continue]\nin\n{ on_output_batch = b }\n",
            "1 actions for 2 lines",
        ),
        (
            "let b ls = [Continue; 7]\nin\n{ on_output_batch = b }\n",
            "the int 7",
        ),
    ] {
        let mut p = FusabiPlugin::from_source(src, "batch.fsx", FusabiRuntime::default()).unwrap();
        let e = p
            .on_output_batch(&["a".to_owned(), "b".to_owned()])
            .unwrap_err();
        assert!(
            matches!(&e, HookError::BadReturn { origin, hook: "on_output_batch", got: g, .. }
                if origin == "batch.fsx" && g == got),
            "{src}: {e:?}"
        );
        // In a chain: the batch passes unchanged, the failure counts once per batch,
        // and the next plugin still runs.
        let mut m = PluginManager::new();
        let rt = m.runtime().clone();
        m.add_fusabi(FusabiPlugin::from_source(src, "batch.fsx", rt.clone()).unwrap())
            .unwrap();
        m.add_fusabi(FusabiPlugin::from_source(GOOD, "good.fsx", rt).unwrap())
            .unwrap();
        let lines = ["a".to_owned(), "b".to_owned()];
        assert_eq!(m.dispatch_output_batch(&lines), ["ok:a", "ok:b"]);
        let bad = &m.list()[0];
        assert_eq!(bad.metadata.name, "batch");
        assert_eq!(bad.consecutive_failures, 1);
    }
}

#[test]
fn duplicate_plugin_names() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.fsx", GOOD.as_bytes());
    write(dir.path(), "b.fsx", GOOD.as_bytes());
    let mut m = PluginManager::new();
    let report = m.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, ["good"]);
    assert!(matches!(
        &report.errors[..],
        [LoadError::DuplicateName { name, .. }] if name == "good"
    ));
}

#[test]
fn bad_header() {
    let (e, _) = load_next_to_good("hdr.fsx", b"// @priority high\n{ on_output = 1 }\n");
    assert!(matches!(e, LoadError::Header { line: 1, .. }), "{e:?}");
}
