//! Finding a workspace's Callgrind bench targets (`cargo metadata`) and building them
//! (`cargo bench --no-run`).
//!
//! A bench target counts as a Callgrind suite when its package depends on `gungraun`
//! or `iai-callgrind` and its source calls that library's `main!` macro. The types
//! below mirror only the parts of cargo's JSON that are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::BenchError;

/// The benchmark harness library a suite links against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Harness {
    /// `gungraun` (the continuation of iai-callgrind, 0.17 on).
    Gungraun,
    /// `iai-callgrind` (up to 0.16).
    IaiCallgrind,
}

impl Harness {
    /// The library's crate name on crates.io.
    pub fn library(self) -> &'static str {
        match self {
            Harness::Gungraun => "gungraun",
            Harness::IaiCallgrind => "iai-callgrind",
        }
    }

    /// The runner executable that must match the library's version.
    pub fn runner(self) -> &'static str {
        match self {
            Harness::Gungraun => "gungraun-runner",
            Harness::IaiCallgrind => "iai-callgrind-runner",
        }
    }

    /// The name the library has in Rust source (`gungraun::main!`).
    fn rust_name(self) -> &'static str {
        match self {
            Harness::Gungraun => "gungraun",
            Harness::IaiCallgrind => "iai_callgrind",
        }
    }
}

/// One Callgrind bench target of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The cargo package.
    pub package: String,
    /// The package's own version (`-p name@version` tells it from a dependency of
    /// the same name).
    pub package_version: String,
    /// The bench target name (`benches/<name>.rs`).
    pub bench: String,
    /// The package directory (where cargo runs the bench binary).
    pub package_dir: PathBuf,
    /// The harness library.
    pub harness: Harness,
    /// The harness library's version as resolved in `Cargo.lock`.
    pub version: String,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    workspace_root: PathBuf,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
}

/// What `cargo metadata` says about the workspace at `dir`.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Every Callgrind suite, sorted by package and bench name.
    pub suites: Vec<Suite>,
}

/// Runs `cargo metadata` in `dir` and lists the Callgrind suites.
pub fn discover(dir: &Path, locked: bool) -> Result<Workspace, BenchError> {
    parse_metadata(&metadata(dir, &[], locked)?)
}

/// `cargo metadata --format-version 1 --no-deps` of the workspace at `root` (given as
/// a path, not resolved), as cargo printed it: what runners before Gungraun 0.19.1 ask
/// for.
pub fn metadata_no_deps(root: &Path, locked: bool) -> Result<Vec<u8>, BenchError> {
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    metadata(root, &["--no-deps", "--manifest-path", &manifest], locked)
}

/// `cargo metadata --format-version 1 <extra>` run in `dir`: its stdout, or an error
/// with cargo's own message.
fn metadata(dir: &Path, extra: &[&str], locked: bool) -> Result<Vec<u8>, BenchError> {
    let mut cmd = Command::new(cargo());
    cmd.args(["metadata", "--format-version", "1"])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null());
    if locked {
        cmd.arg("--locked");
    }
    let out = cmd.output().map_err(|e| BenchError::Tool {
        tool: "cargo".into(),
        message: format!("cannot run `cargo metadata`: {e}"),
    })?;
    if !out.status.success() {
        return Err(BenchError::Tool {
            tool: "cargo".into(),
            message: format!(
                "`cargo metadata` failed in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}

/// Parses `cargo metadata --format-version 1` output into the workspace's suites.
pub fn parse_metadata(json: &[u8]) -> Result<Workspace, BenchError> {
    let meta: Metadata = serde_json::from_slice(json).map_err(|e| BenchError::Tool {
        tool: "cargo".into(),
        message: format!("cannot read `cargo metadata` output: {e}"),
    })?;
    let by_id: BTreeMap<&str, &Package> =
        meta.packages.iter().map(|p| (p.id.as_str(), p)).collect();
    let deps_of = |id: &str| -> Vec<&Package> {
        meta.resolve
            .as_ref()
            .and_then(|r| r.nodes.iter().find(|n| n.id == id))
            .map(|n| {
                n.deps
                    .iter()
                    .filter_map(|d| by_id.get(d.pkg.as_str()).copied())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut suites = Vec::new();
    for id in &meta.workspace_members {
        let Some(pkg) = by_id.get(id.as_str()) else {
            continue;
        };
        let deps = deps_of(id);
        let harness_dep = [Harness::Gungraun, Harness::IaiCallgrind]
            .into_iter()
            .find_map(|h| {
                deps.iter()
                    .find(|d| d.name == h.library())
                    .map(|d| (h, d.version.clone()))
            });
        let Some((harness, version)) = harness_dep else {
            continue;
        };
        let package_dir = pkg
            .manifest_path
            .parent()
            .map_or_else(|| meta.workspace_root.clone(), Path::to_path_buf);
        for t in &pkg.targets {
            if !t.kind.iter().any(|k| k == "bench") {
                continue;
            }
            let uses_harness = std::fs::read_to_string(&t.src_path)
                .map(|src| calls_main(&src, harness))
                .unwrap_or(false);
            if uses_harness {
                suites.push(Suite {
                    package: pkg.name.clone(),
                    package_version: pkg.version.clone(),
                    bench: t.name.clone(),
                    package_dir: package_dir.clone(),
                    harness,
                    version: version.clone(),
                });
            }
        }
    }
    suites.sort_by(|a, b| (&a.package, &a.bench).cmp(&(&b.package, &b.bench)));
    Ok(Workspace {
        root: meta.workspace_root,
        suites,
    })
}

/// True when `src` invokes the harness's `main!` macro (`gungraun::main!` or, after a
/// `use`, `main!` with `library_benchmark_groups`/`binary_benchmark_groups`).
fn calls_main(src: &str, harness: Harness) -> bool {
    let qualified = format!("{}::main!", harness.rust_name());
    src.contains(&qualified)
        || (src.contains(harness.rust_name())
            && src.contains("main!")
            && (src.contains("library_benchmark_groups")
                || src.contains("binary_benchmark_groups")))
}

/// The `cargo` to run: `$CARGO` (set when called from a cargo subcommand), else `cargo`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    target: Option<MessageTarget>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct MessageTarget {
    name: String,
    kind: Vec<String>,
}

/// Builds the suites' bench binaries (`cargo bench --no-run`) of the workspace at
/// `root` (given as a path, not resolved: cargo takes the manifest path as written, so
/// `CARGO_MANIFEST_DIR` and the default target directory follow it) and returns each
/// suite's executable, in `suites` order. Cargo's progress goes to stderr as usual.
pub fn build(
    root: &Path,
    suites: &[Suite],
    locked: bool,
    cargo_args: &[String],
) -> Result<Vec<PathBuf>, BenchError> {
    let mut cmd = Command::new(cargo());
    cmd.args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--manifest-path")
    .arg(root.join("Cargo.toml"))
    .current_dir(root)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if locked {
        cmd.arg("--locked");
    }
    for s in suites {
        cmd.arg("-p")
            .arg(format!("{}@{}", s.package, s.package_version))
            .args(["--bench", &s.bench]);
    }
    cmd.args(cargo_args);
    let out = cmd.output().map_err(|e| BenchError::Tool {
        tool: "cargo".into(),
        message: format!("cannot run `cargo bench --no-run`: {e}"),
    })?;
    if !out.status.success() {
        return Err(BenchError::Build(format!(
            "`cargo bench --no-run` failed ({}); see cargo's messages above",
            out.status
        )));
    }
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for line in out.stdout.split(|b| *b == b'\n') {
        let Ok(m) = serde_json::from_slice::<Message>(line) else {
            continue;
        };
        if m.reason != "compiler-artifact" {
            continue;
        }
        let (Some(t), Some(exe)) = (m.target, m.executable) else {
            continue;
        };
        if t.kind.iter().any(|k| k == "bench") {
            // Package ids name the package (`path+file:///...#name@1.0.0` or
            // `name 1.0.0 (...)`); the key pairs it with the target name.
            found.insert(format!("{}\u{0}{}", t.name, m.package_id), exe);
        }
    }
    suites
        .iter()
        .map(|s| {
            found
                .iter()
                .find(|(k, _)| {
                    let (name, id) = k.split_once('\u{0}').unwrap_or((k.as_str(), ""));
                    name == s.bench && package_id_names(id, &s.package)
                })
                .map(|(_, exe)| exe.clone())
                .ok_or_else(|| {
                    BenchError::Build(format!(
                        "cargo built no executable for {}/{}",
                        s.package, s.bench
                    ))
                })
        })
        .collect()
}

/// Whether a cargo package id belongs to package `name`, in both id formats:
/// `path+file:///dir/name#0.1.0` / `...#name@0.1.0` and `name 0.1.0 (source)`.
fn package_id_names(id: &str, name: &str) -> bool {
    match id.rsplit_once('#') {
        Some((url, fragment)) => match fragment.split_once('@') {
            Some((n, _)) => n == name,
            None => url.rsplit('/').next() == Some(name),
        },
        None => id.split(' ').next() == Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_of_both_formats() {
        assert!(package_id_names(
            "path+file:///w/crates/scarab-plugins#0.1.0",
            "scarab-plugins"
        ));
        assert!(package_id_names(
            "path+file:///w/x#scarab-plugins@0.1.0",
            "scarab-plugins"
        ));
        assert!(!package_id_names(
            "path+file:///w/x#other@0.1.0",
            "scarab-plugins"
        ));
        assert!(package_id_names(
            "scarab-plugins 0.1.0 (path+file:///w)",
            "scarab-plugins"
        ));
    }

    #[test]
    fn main_macro_is_recognised() {
        assert!(calls_main(
            "gungraun::main!(library_benchmark_groups = g);",
            Harness::Gungraun
        ));
        assert!(calls_main(
            "use gungraun::{main, library_benchmark};\nmain!(library_benchmark_groups = g);",
            Harness::Gungraun
        ));
        assert!(!calls_main("criterion_main!(benches);", Harness::Gungraun));
        assert!(calls_main(
            "iai_callgrind::main!(library_benchmark_groups = g);",
            Harness::IaiCallgrind
        ));
    }

    #[test]
    fn metadata_finds_suites_with_their_library_version() {
        let json = br#"{
          "packages": [
            {"id": "a 0.1.0 (path+file:///w/a)", "name": "a", "version": "0.1.0",
             "manifest_path": "/nonexistent/a/Cargo.toml",
             "targets": [{"name": "ir", "kind": ["bench"], "src_path": "/nonexistent/a/benches/ir.rs"}]},
            {"id": "gungraun 0.20.0 (registry)", "name": "gungraun", "version": "0.20.0",
             "manifest_path": "/r/gungraun/Cargo.toml", "targets": []}
          ],
          "workspace_members": ["a 0.1.0 (path+file:///w/a)"],
          "workspace_root": "/w",
          "resolve": {"nodes": [{"id": "a 0.1.0 (path+file:///w/a)", "deps": [{"pkg": "gungraun 0.20.0 (registry)"}]}]}
        }"#;
        // The bench source does not exist, so it is not recognised as a suite.
        let w = parse_metadata(json).unwrap();
        assert_eq!(w.root, PathBuf::from("/w"));
        assert!(w.suites.is_empty());
        let bad = parse_metadata(b"{").unwrap_err();
        assert!(bad.to_string().contains("cargo metadata"), "{bad}");
    }
}
