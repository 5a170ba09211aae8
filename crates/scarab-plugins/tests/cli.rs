//! The `fusabi-compile` and `scarab-demo` binaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use scarab_plugins::{FusabiPlugin, FusabiRuntime, Plugin};

const COMPILE: &str = env!("CARGO_BIN_EXE_fusabi-compile");
const DEMO: &str = env!("CARGO_BIN_EXE_scarab-demo");
const PLUGINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins");

/// Run `cmd`, assert that it succeeded (showing its stderr if not) and return its stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn compiles_source_to_bytecode_that_loads_with_its_header() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(COMPILE)
            .arg(format!("{PLUGINS}/highlight.fsx"))
            .arg("-o")
            .arg(dir.path().join("h.fzb")),
    );
    let bytes = std::fs::read(dir.path().join("h.fzb")).unwrap();
    assert!(bytes.starts_with(b"FZB\x01"));
    let mut p = FusabiPlugin::from_bytes(bytes, "h.fzb", FusabiRuntime::default()).unwrap();
    assert_eq!(p.metadata().name, "highlight");
    assert_eq!(p.metadata().priority, 50);
    assert_eq!(
        p.on_output("error!").unwrap(),
        scarab_plugins::Action::Modify("[ERROR] error!".into())
    );
}

#[test]
fn compiles_a_directory_of_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(COMPILE);
    cmd.arg("--out-dir").arg(dir.path());
    for e in std::fs::read_dir(PLUGINS).unwrap() {
        cmd.arg(e.unwrap().path());
    }
    run_ok(&mut cmd);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6);
}

#[test]
fn reports_syntax_errors_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.fsx");
    std::fs::write(&src, "let f x =\n  x +\nin { on_output = f }\n").unwrap();
    let out = Command::new(COMPILE).arg(&src).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:3:1: syntax error", src.display())),
        "{stderr}"
    );
    assert!(!dir.path().join("bad.fzb").exists());
}

#[test]
fn a_missing_input_is_an_io_error() {
    let out = Command::new(COMPILE)
        .arg("/nonexistent.fsx")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("/nonexistent.fsx: cannot read"));
}

#[test]
fn a_device_or_fifo_input_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.fsx");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    for input in [std::path::Path::new("/dev/zero"), fifo.as_path()] {
        // Without the bound, /dev/zero is read until memory runs out and the FIFO
        // blocks the open forever.
        let out = Command::new(COMPILE)
            .arg("--check")
            .arg(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", input.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}: ", input.display()))
                && stderr.contains("not a regular file"),
            "{stderr}"
        );
    }
}

#[test]
fn the_demo_replays_the_sample_session() {
    let stdout = run_ok(Command::new(DEMO).env("RUST_LOG", "off"));
    for expected in [
        "[ERROR] error[E0308]: mismatched types",
        "[WARN] warning: unused variable",
        "[input] ll\\r -> ls -l\\r",
        "<url> docs at https://docs.rs/scarab",
        "[resize] 80x24",
        "plugins (chain order):",
        "vm_exec",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let batched = run_ok(
        Command::new(DEMO)
            .args(["--batch", "8", "--no-metrics"])
            .env("RUST_LOG", "off"),
    );
    // Same transformed lines, in the same order, batched or not.
    let body = |s: &str| {
        s.split("\nplugins (chain order):")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(body(&batched), body(&stdout));
}

#[test]
fn the_demo_reuses_its_disk_cache_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        run_ok(
            Command::new(DEMO)
                .args(["--no-metrics", "--eager", "--cache-dir"])
                .arg(dir.path())
                .env("RUST_LOG", "off"),
        )
    };
    assert!(run().contains("script cache: 0 hits (0 from disk), 6 misses"));
    assert!(run().contains("script cache: 6 hits (6 from disk), 0 misses"));
}
