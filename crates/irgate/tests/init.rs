//! Adoption: `irgate init` on a workspace as another repository has it
//! (`tests/fixtures/adopt`: a library, a Gungraun bench and a criterion bench beside
//! it), then the commands it prints, run as printed, then `irgate compare`, each with
//! the real binary under real Callgrind. Also: a second init without `--force`
//! changes nothing and says so, `--force` rewrites, and a workspace without a
//! Callgrind bench is a clear error.
//!
//! The fixture is copied to a temporary directory first, so no tracked file is
//! touched. The runner comes from `irgate setup` in irgate's default cache, where
//! `ci/setup` installs it. The build shares the end-to-end test's target directory under
//! `CARGO_TARGET_TMPDIR` (stable between runs), so Gungraun and its dependencies are
//! compiled once for both tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{irgate, text};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adopt")
}

/// The build directory shared with tests/e2e.rs.
fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("irgate-fixture-bench")
}

fn irgate_bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_irgate"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Copies the fixture (sources, manifest, lock file) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A shell command run at `dir` with this build's `irgate` first on PATH.
fn shell(dir: &Path, line: &str) -> Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![irgate_bin_dir()];
    dirs.extend(std::env::split_paths(&path));
    Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", shared_target())
        .output()
        .unwrap()
}

/// The command printed as step `n` of "Next".
fn step(init_output: &str, n: usize) -> String {
    let prefix = format!("  {n}. ");
    init_output
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no step {n} in:\n{init_output}"))
        .to_owned()
}

const WRITTEN: [&str; 4] = [
    "irgate.toml",
    ".github/workflows/irgate.yml",
    ".github/workflows/irgate-report.yml",
    ".github/workflows/irgate-accept.yml",
];

/// True when valgrind can run; without it the Callgrind part cannot, which is an
/// error in CI (where ci/setup installs it) and a skip elsewhere.
fn valgrind_present() -> bool {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "valgrind is missing on CI: the adoption test must run there (ci/setup installs it)"
        );
        eprintln!(
            "SKIPPED init_then_printed_commands_gate_the_workspace: valgrind is not on PATH \
             (apt-get install valgrind, or ci/setup)"
        );
    }
    ok
}

#[test]
fn init_then_printed_commands_gate_the_workspace() {
    if !valgrind_present() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let ws = work.path().join("adopt");
    copy_tree(&fixture_dir(), &ws);

    let out = irgate(&ws, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        printed.contains("adopt-demo/ir  (gungraun 0.20.0, runner gungraun-runner 0.20.0)"),
        "{printed}"
    );
    // The criterion bench is not a Callgrind suite.
    assert!(!printed.contains("adopt-demo/wall"), "{printed}");
    for f in WRITTEN {
        assert!(printed.contains(&format!("wrote     {f}")), "{printed}");
        assert!(ws.join(f).is_file(), "{f}");
    }
    let gate = std::fs::read_to_string(ws.join(".github/workflows/irgate.yml")).unwrap();
    assert!(
        gate.contains("bench-args: '--locked --package adopt-demo --bench ir'"),
        "{gate}"
    );
    assert!(gate.contains("runner-version: '0.20.0'"), "{gate}");

    // Steps 1 and 2 exactly as printed: the runner (irgate setup, a no-op when it is
    // installed already, as ci/setup leaves it) and the pinned run, then the first
    // baselines.
    let bench = step(&printed, 1);
    assert!(
        bench.starts_with("irgate setup --locked && irgate bench "),
        "{bench}"
    );
    let out = shell(&ws, &bench);
    assert!(out.status.success(), "{bench}\n{}", text(&out));
    assert!(
        text(&out).contains("[3/3] adopt-demo/ir/"),
        "{}",
        text(&out)
    );
    let accept = step(&printed, 2);
    assert!(accept.starts_with("irgate accept "), "{accept}");
    let out = shell(&ws, &accept);
    assert!(out.status.success(), "{accept}\n{}", text(&out));
    assert!(ws.join("baselines/adopt-demo/ir.toml").is_file());
    // Step 3 adds exactly the files init wrote, and the baselines.
    let git = step(&printed, 3);
    for f in WRITTEN.iter().chain(&["baselines"]) {
        assert!(git.contains(&format!(" {f} ")), "{git}");
    }

    // The gate on the next change: the policy init wrote is read and the run passes.
    let out = shell(&ws, "irgate compare target/irgate/run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("irgate passed: 0 regressed, 0 improved, 3 unchanged"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_second_init_changes_nothing_and_force_rewrites() {
    let work = tempfile::tempdir().unwrap();
    let ws = work.path().join("adopt");
    copy_tree(&fixture_dir(), &ws);
    let out = irgate(&ws, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let read = |f: &str| std::fs::read_to_string(ws.join(f)).unwrap();
    let first: Vec<String> = WRITTEN.iter().map(|f| read(f)).collect();

    // The user edits the policy; init again leaves it and says so.
    let edited = format!("{}threshold_pct = 1.0\n", first[0]);
    std::fs::write(ws.join("irgate.toml"), &edited).unwrap();
    let out = irgate(&ws, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("skipped   irgate.toml (exists with other contents; --force overwrites it)"),
        "{said}"
    );
    for f in &WRITTEN[1..] {
        assert!(said.contains(&format!("unchanged {f}")), "{said}");
    }
    assert!(said.contains("nothing written"), "{said}");
    assert_eq!(read("irgate.toml"), edited);
    for (f, before) in WRITTEN.iter().zip(&first).skip(1) {
        assert_eq!(&read(f), before, "{f}");
    }

    // --force writes what init writes again.
    let out = irgate(&ws, &["init", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("rewrote   irgate.toml (--force)"), "{said}");
    assert!(!said.contains("nothing written"), "{said}");
    assert_eq!(read("irgate.toml"), first[0]);
}

#[test]
fn a_workspace_without_a_callgrind_bench_is_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let ws = work.path().join("plain");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/lib.rs"), "//! Nothing to measure.\n").unwrap();
    let out = irgate(&ws, &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("irgate init: error: no bench target of the workspace at")
            && err.contains("uses gungraun or iai-callgrind")
            && err.contains("gungraun::main!"),
        "{err}"
    );
    assert!(!ws.join("irgate.toml").exists());
    assert!(!ws.join(".github").exists());
}
