//! The harness's runner: which version a suite needs, what that version can be told,
//! where it is on this machine, and installing it (`irgate setup`).
//!
//! The library (`gungraun` or `iai-callgrind`) starts a runner of exactly its own
//! version, so the version resolved in the workspace's `Cargo.lock` names the runner a
//! benchmark really used. irgate never guesses from whatever runner is on `PATH`.
//!
//! Runners differ in what they accept. Gungraun 0.18 added `--envs` and `--parallel`,
//! 0.19.1 added the workspace root (`GUNGRAUN_WORKSPACE_ROOT`); older versions, and
//! every iai-callgrind, ask `cargo metadata` for the workspace and pass the measured
//! process no environment of ours. [`Capabilities`] records that per version, and
//! `irgate bench` pins the older ones through a valgrind wrapper on the runner's
//! `PATH` instead (see [`super::pinning::ExecDir::write_wrappers`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cargo::Harness;
use super::BenchError;

/// The harness versions `irgate bench` pins, for messages.
pub const SUPPORTED_TEXT: &str = "gungraun 0.17 to 0.20 and iai-callgrind 0.14 to 0.16";

/// What one runner version accepts on its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `--envs=K=V`: environment variables for the measured process (Gungraun 0.18 on).
    pub envs: bool,
    /// `--parallel=N` (Gungraun 0.18 on).
    pub parallel: bool,
    /// `GUNGRAUN_WORKSPACE_ROOT` instead of `cargo metadata` (Gungraun 0.19.1 on).
    pub workspace_root: bool,
}

/// `major.minor.patch` of a version string (pre-release and build suffixes ignored).
fn triple(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    let t = (it.next()??, it.next()??, it.next().unwrap_or(Some(0))?);
    Some(t)
}

/// What the runner of `harness` at `version` accepts, or `None` when `irgate bench`
/// does not know how to pin that version.
pub fn capabilities(harness: Harness, version: &str) -> Option<Capabilities> {
    let (major, minor, patch) = triple(version)?;
    if major != 0 {
        return None;
    }
    match harness {
        Harness::IaiCallgrind if (14..=16).contains(&minor) => Some(Capabilities {
            envs: false,
            parallel: false,
            workspace_root: false,
        }),
        Harness::Gungraun if (17..=20).contains(&minor) => Some(Capabilities {
            envs: minor >= 18,
            parallel: minor >= 18,
            workspace_root: minor >= 20 || (minor == 19 && patch >= 1),
        }),
        _ => None,
    }
}

/// Where `irgate setup` keeps the runner of `harness` at `version` under `cache`:
/// `<cache>/runners/<runner>-<version>/bin/<runner>`.
pub fn cached_path(cache: &Path, harness: Harness, version: &str) -> PathBuf {
    cache
        .join("runners")
        .join(format!("{}-{version}", harness.runner()))
        .join("bin")
        .join(harness.runner())
}

/// The runner's version line, `<runner> <version>` (`gungraun-runner 0.20.0`), from
/// `<runner> --version`. Gungraun's runner prints that line; iai-callgrind's runners
/// have no `--version` and name themselves in the error they print instead
/// (`... iai-callgrind-runner (0.16.1) is ...`), from which the same line is made.
pub fn version_line(runner: &Path) -> Option<String> {
    let out = Command::new(runner)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let name = runner.file_name()?.to_str()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("").trim();
    if out.status.success() && !first.is_empty() {
        return Some(first.to_owned());
    }
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let after = all.split(&format!("{name} (")).nth(1)?;
    let version = after.split(')').next()?;
    triple(version)?;
    Some(format!("{name} {version}"))
}

/// Whether a `--version` line names `version`.
fn line_has_version(line: &str, version: &str) -> bool {
    line.split_whitespace().nth(1) == Some(version)
}

/// The places a runner is looked for when none is given: the cache, each `PATH`
/// entry, then `~/.cargo/bin`.
fn candidates(cache: &Path, harness: Harness, version: &str) -> Vec<PathBuf> {
    let mut c = vec![cached_path(cache, harness, version)];
    let path = std::env::var_os("PATH").unwrap_or_default();
    c.extend(std::env::split_paths(&path).map(|d| d.join(harness.runner())));
    if let Some(h) = std::env::var_os("HOME") {
        c.push(Path::new(&h).join(".cargo/bin").join(harness.runner()));
    }
    c
}

/// How to get the right runner, for error messages.
fn install_hint(harness: Harness, version: &str) -> String {
    format!(
        "run `irgate setup` (it installs {} {version} into irgate's cache), or `cargo install {} --version {version} --locked`",
        harness.runner(),
        harness.runner()
    )
}

/// Finds the runner for `harness` at `version`: `explicit` (which must exist, carry
/// the runner's name and report that exact version; anything else is an error, never
/// a silent fallback), else the first of the cache, `PATH` and `~/.cargo/bin` that
/// reports the version. Returns its path and `--version` line.
pub fn find(
    explicit: Option<&Path>,
    cache: &Path,
    harness: Harness,
    version: &str,
) -> Result<(PathBuf, String), BenchError> {
    let hint = install_hint(harness, version);
    if let Some(p) = explicit {
        if !p.is_file() {
            return Err(BenchError::Runner(format!(
                "--runner {}: no such file; {hint}",
                p.display()
            )));
        }
        if p.file_name().and_then(|n| n.to_str()) != Some(harness.runner()) {
            return Err(BenchError::Runner(format!(
                "--runner {}: the {} library starts the runner by its name, so the file must be called `{}`",
                p.display(),
                harness.library(),
                harness.runner()
            )));
        }
        let line = version_line(p).ok_or_else(|| {
            BenchError::Runner(format!(
                "--runner {}: `--version` failed or printed nothing; {hint}",
                p.display()
            ))
        })?;
        if !line_has_version(&line, version) {
            return Err(BenchError::Runner(format!(
                "--runner {} is {line}, but the benches use {} {version} (Cargo.lock) and the two must match exactly; {hint}",
                p.display(),
                harness.library()
            )));
        }
        return Ok((p.to_owned(), line));
    }
    let mut seen = Vec::new();
    for c in candidates(cache, harness, version) {
        if !c.is_file() {
            continue;
        }
        match version_line(&c) {
            Some(line) if line_has_version(&line, version) => return Ok((c, line)),
            Some(line) => seen.push(format!("{} is {line}", c.display())),
            None => seen.push(format!("{} does not answer --version", c.display())),
        }
    }
    let found = if seen.is_empty() {
        format!(
            "{} not found in irgate's cache, on PATH or in ~/.cargo/bin",
            harness.runner()
        )
    } else {
        seen.join("; ")
    };
    Err(BenchError::Runner(format!(
        "the benches use {} {version} (Cargo.lock), whose runner must be {} {version}: {found}; {hint}",
        harness.library(),
        harness.runner()
    )))
}

/// What `irgate setup` did for one runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The runner executable.
    pub path: PathBuf,
    /// Its `--version` line.
    pub version_line: String,
    /// Whether it was installed now (false: the right version was already there).
    pub installed: bool,
}

/// Makes the runner of `harness` at `version` available: returns the one [`find`]
/// sees, else installs it with `cargo install --locked` into
/// [`cached_path`]'s prefix (cargo's build directory is `<cache>/runner-build`, so
/// later installs reuse what they share). Cargo's progress goes to stderr.
pub fn setup(cache: &Path, harness: Harness, version: &str) -> Result<Setup, BenchError> {
    if let Ok((path, version_line)) = find(None, cache, harness, version) {
        return Ok(Setup {
            path,
            version_line,
            installed: false,
        });
    }
    let target = cached_path(cache, harness, version);
    let root = target
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| cache.to_owned(), Path::to_path_buf);
    let status = Command::new(super::cargo::cargo())
        .args(["install", "--locked", "--force", "--root"])
        .arg(&root)
        .arg(harness.runner())
        .arg("--version")
        .arg(format!("={version}"))
        .env("CARGO_TARGET_DIR", cache.join("runner-build"))
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| BenchError::Tool {
            tool: "cargo".into(),
            message: format!("cannot run `cargo install`: {e}"),
        })?;
    if !status.success() {
        return Err(BenchError::Tool {
            tool: "cargo".into(),
            message: format!(
                "`cargo install --locked {} --version ={version} --root {}` failed ({status}); see cargo's messages above",
                harness.runner(),
                root.display()
            ),
        });
    }
    let version_line = version_line(&target)
        .filter(|l| line_has_version(l, version))
        .ok_or_else(|| {
            BenchError::Runner(format!(
                "{} was installed but does not report version {version}",
                target.display()
            ))
        })?;
    Ok(Setup {
        path: target,
        version_line,
        installed: true,
    })
}

/// The runner a workspace's benches need, read from its `Cargo.lock` (found in `dir`
/// or above): `gungraun-runner 0.20.0`, as the runner prints its own version. `None`
/// when there is no lock file or it locks neither library; an error when it locks
/// several versions, or cannot be read.
pub fn from_lock(dir: &Path) -> Result<Option<String>, String> {
    let Some(lock) = dir
        .ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|p| p.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    from_lock_text(&text).map_err(|e| format!("{}: {e}", lock.display()))
}

/// [`from_lock`] on the text of a `Cargo.lock`.
pub fn from_lock_text(text: &str) -> Result<Option<String>, String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Locked>,
    }
    #[derive(serde::Deserialize)]
    struct Locked {
        name: String,
        version: String,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut found: Vec<String> = Vec::new();
    for h in [Harness::Gungraun, Harness::IaiCallgrind] {
        for p in lock.package.iter().filter(|p| p.name == h.library()) {
            found.push(format!("{} {}", h.runner(), p.version));
        }
    }
    found.sort();
    found.dedup();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(format!(
            "locks several benchmark harness versions ({}): record the fingerprint with `irgate bench`, which runs one at a time",
            found.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_the_versions() {
        let g = |v| capabilities(Harness::Gungraun, v);
        let i = |v| capabilities(Harness::IaiCallgrind, v);
        assert_eq!(
            g("0.20.0"),
            Some(Capabilities {
                envs: true,
                parallel: true,
                workspace_root: true
            })
        );
        assert!(g("0.19.1").unwrap().workspace_root);
        assert!(!g("0.19.0").unwrap().workspace_root);
        assert!(g("0.18.2").unwrap().envs);
        assert!(!g("0.17.2").unwrap().envs);
        assert!(!g("0.17.2").unwrap().parallel);
        assert!(i("0.14.2").is_some());
        assert!(i("0.16.1").is_some());
        assert_eq!(i("0.13.4"), None);
        assert_eq!(g("0.21.0"), None);
        assert_eq!(g("1.0.0"), None);
        assert_eq!(g("junk"), None);
        assert_eq!(i("0.17.0"), None);
    }

    #[test]
    fn the_lock_names_the_runner() {
        let lock = "version = 4\n[[package]]\nname = \"gungraun\"\nversion = \"0.17.2\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n";
        assert_eq!(
            from_lock_text(lock).unwrap().as_deref(),
            Some("gungraun-runner 0.17.2")
        );
        let iai = "[[package]]\nname = \"iai-callgrind\"\nversion = \"0.15.2\"\n";
        assert_eq!(
            from_lock_text(iai).unwrap().as_deref(),
            Some("iai-callgrind-runner 0.15.2")
        );
        assert_eq!(from_lock_text("version = 4\n").unwrap(), None);
        let two = format!("{lock}\n[[package]]\nname = \"gungraun\"\nversion = \"0.20.0\"\n");
        assert!(from_lock_text(&two).unwrap_err().contains("several"));
        assert!(from_lock_text("[[package]\n").is_err());
    }

    #[test]
    fn a_bad_explicit_runner_is_an_error_not_a_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gungraun-runner");
        let e = find(Some(&missing), dir.path(), Harness::Gungraun, "0.20.0").unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
        let wrong_name = dir.path().join("runner");
        std::fs::write(&wrong_name, "").unwrap();
        let e = find(Some(&wrong_name), dir.path(), Harness::Gungraun, "0.20.0").unwrap_err();
        assert!(e.to_string().contains("must be called"), "{e}");
        // Exists, right name, but does not run.
        std::fs::write(&missing, "not a program").unwrap();
        let e = find(Some(&missing), dir.path(), Harness::Gungraun, "0.20.0").unwrap_err();
        assert!(e.to_string().contains("--version"), "{e}");
    }

    #[test]
    fn iai_callgrind_runners_are_read_from_their_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("iai-callgrind-runner");
        std::fs::write(
            &r,
            "#!/bin/sh\necho \"iai_callgrind_runner: Error: No version information found for iai-callgrind but iai-callgrind-runner (0.16.1) is >= '0.3.0'.\" >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&r, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            version_line(&r).as_deref(),
            Some("iai-callgrind-runner 0.16.1")
        );
        std::fs::write(&r, "#!/bin/sh\necho nonsense >&2\nexit 1\n").unwrap();
        assert_eq!(version_line(&r), None);
    }

    #[test]
    fn the_cache_layout_is_stable() {
        assert_eq!(
            cached_path(Path::new("/c"), Harness::IaiCallgrind, "0.16.1"),
            Path::new("/c/runners/iai-callgrind-runner-0.16.1/bin/iai-callgrind-runner")
        );
    }
}
