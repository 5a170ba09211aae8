//! What makes a benchmark process start the same way on every machine and at every
//! checkout path: the fixed execution directory, the entropy preload, the tunables and
//! the Callgrind arguments.
//!
//! The measured process sees its own path (`argv[0]`, which the harness copies onto the
//! heap before the benchmark runs, and the executable path on its stack), its
//! environment and its arguments. `irgate bench` therefore runs a copy of each bench
//! binary from one fixed directory, [`EXEC_DIR`], with the preload beside it, and passes
//! a fixed environment; the harness's runner clears everything else. The directory is
//! the same string on every machine, so the bytes before `main` are too.
//!
//! The binary itself must not depend on the checkout either. It embeds
//! `CARGO_MANIFEST_DIR` (the harness's `main!` passes it to its runner) and build
//! scripts' `OUT_DIR`; a longer string shifts every later constant and function
//! address (and Lua seeds its string hash from such an address). So the build goes
//! through a fixed symbolic link to the workspace, `<EXEC_DIR>/src`: cargo keeps the
//! manifest path as given, and both strings come out the same wherever the tree is.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The fixed directory benchmark binaries run from. Its length and bytes are part of
/// every count: never make it depend on the user, the checkout or a temporary name.
pub const EXEC_DIR: &str = "/tmp/irgate";

/// The preload library's source, embedded so that every copy of irgate pins the same
/// way (see the comment at its top).
pub const PRELOAD_SOURCE: &str = include_str!("../../assets/fixed_entropy.c");

/// How the preload is described in the fingerprint (`extra.preload`).
pub const PRELOAD_NAME: &str = "fixed_entropy (getrandom, time, clock_gettime)";

/// The fixed directory, held exclusively while a run uses it (other runs wait).
#[derive(Debug)]
pub struct ExecDir {
    path: PathBuf,
    _lock: File,
}

impl ExecDir {
    /// Creates (if needed) and locks `dir`. Blocks while another run holds it.
    pub fn lock(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir.join("run"))
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        Ok(Self {
            path: dir.to_owned(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fixed path the workspace is built through.
    pub fn source(&self) -> PathBuf {
        self.path.join("src")
    }

    /// Points [`ExecDir::source`] at `root` (replacing the link atomically) and returns
    /// the link's path.
    pub fn link_source(&self, root: &Path) -> Result<PathBuf, String> {
        let link = self.source();
        let tmp = self.path.join(".src.tmp");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(root, &tmp)
            .map_err(|e| format!("cannot link {} to {}: {e}", tmp.display(), root.display()))?;
        std::fs::rename(&tmp, &link)
            .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), link.display()))?;
        Ok(link)
    }

    /// Makes `<dir>/cwd` a fixed-path stand-in for `package_dir`: one symbolic link per
    /// entry of the package directory, so that relative paths a benchmark opens
    /// (`plugins/x.fsx`) still reach the package's files while the process's working
    /// directory has the same name everywhere. (Valgrind reads the working directory
    /// at start; its length moved counts.) Files a benchmark creates with a relative
    /// path land in this directory, not in the package.
    pub fn working_dir(&self, package_dir: &Path) -> Result<PathBuf, String> {
        let cwd = self.path.join("cwd");
        if cwd.exists() {
            std::fs::remove_dir_all(&cwd)
                .map_err(|e| format!("cannot clear {}: {e}", cwd.display()))?;
        }
        std::fs::create_dir_all(&cwd)
            .map_err(|e| format!("cannot create {}: {e}", cwd.display()))?;
        let entries = std::fs::read_dir(package_dir)
            .map_err(|e| format!("cannot list {}: {e}", package_dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", package_dir.display()))?;
            let link = cwd.join(entry.file_name());
            std::os::unix::fs::symlink(entry.path(), &link)
                .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
        }
        Ok(cwd)
    }

    /// Where the bench binary of target `bench` runs from.
    pub fn bench(&self, bench: &str) -> PathBuf {
        self.path.join("run").join(bench)
    }

    /// Where the preload library lives while the run uses it.
    pub fn preload(&self) -> PathBuf {
        self.path.join("libfixed_entropy.so")
    }

    /// Where the canary runs from.
    pub fn canary(&self) -> PathBuf {
        self.path.join("canary")
    }

    /// The directory of the wrappers that pin runners without `--envs`.
    pub fn wrapper_dir(&self) -> PathBuf {
        self.path.join("bin")
    }

    /// Writes the wrappers a runner without `--envs` needs, into
    /// [`ExecDir::wrapper_dir`] (which goes first on the runner's `PATH`):
    ///
    /// - `valgrind`: the runner starts valgrind by name with an environment it cleared;
    ///   the wrapper adds the pinned variables (`client_env`) and execs the real
    ///   valgrind. It is a `/bin/sh` script that runs `env -u PWD`, because the shell
    ///   exports `PWD` on its own and the measured process must not see it.
    /// - `cargo` and `metadata.json` (when `metadata` is given): runners before
    ///   Gungraun 0.19.1 ask `cargo metadata` for the workspace from their working
    ///   directory, which here is the fixed stand-in, not a cargo package. The
    ///   wrapper answers with the workspace's metadata, taken through the fixed source
    ///   link, so the paths in it are the same on every machine.
    ///
    /// Returns the wrapper `cargo`'s path, when written.
    pub fn write_wrappers(
        &self,
        real_valgrind: &Path,
        env_tool: &Path,
        client_env: &[(String, String)],
        metadata: Option<&[u8]>,
    ) -> Result<Option<PathBuf>, String> {
        let dir = self.wrapper_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut script = String::from(
            "#!/bin/sh\n# Written by `irgate bench`: runs valgrind with the pinned environment.\nexec ",
        );
        script.push_str(&sh_quote(&env_tool.display().to_string()));
        script.push_str(" -u PWD");
        for (k, v) in client_env {
            script.push(' ');
            script.push_str(&sh_quote(&format!("{k}={v}")));
        }
        script.push(' ');
        script.push_str(&sh_quote(&real_valgrind.display().to_string()));
        script.push_str(" \"$@\"\n");
        write_executable(&dir.join("valgrind"), script.as_bytes())?;
        let Some(json) = metadata else {
            let _ = std::fs::remove_file(dir.join("cargo"));
            return Ok(None);
        };
        let meta = dir.join("metadata.json");
        crate::baseline::write_atomic(&meta, json)
            .map_err(|e| format!("cannot write {}: {e}", meta.display()))?;
        let cat = super::which("cat").unwrap_or_else(|| PathBuf::from("/bin/cat"));
        let cargo = format!(
            "#!/bin/sh\n# Written by `irgate bench`: the workspace's `cargo metadata`, for runners that ask for it.\nexec {} {}\n",
            sh_quote(&cat.display().to_string()),
            sh_quote(&meta.display().to_string())
        );
        let cargo_path = dir.join("cargo");
        write_executable(&cargo_path, cargo.as_bytes())?;
        Ok(Some(cargo_path))
    }

    /// Copies `from` to `to` (inside this directory) through a temporary file and a
    /// rename, keeping it executable.
    pub fn install(&self, from: &Path, to: &Path) -> Result<(), String> {
        let dir = to.parent().unwrap_or(&self.path);
        let tmp = dir.join(format!(
            ".{}.tmp",
            to.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        std::fs::copy(from, &tmp)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), tmp.display()))?;
        std::fs::rename(&tmp, to)
            .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), to.display()))
    }
}

/// The pinned environment of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinning {
    /// The `GLIBC_TUNABLES` value every benchmark process gets.
    pub glibc_tunables: String,
    /// The preload library inside the fixed directory, when it could be built.
    pub preload: Option<PathBuf>,
    /// Why there is no preload (recorded in the fingerprint).
    pub preload_missing: Option<String>,
    /// The Callgrind arguments (`--cache-sim=no` unless cache metrics are asked for).
    pub callgrind_args: String,
}

impl Pinning {
    /// The environment of the measured process, besides what valgrind adds.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let mut env = vec![("GLIBC_TUNABLES".to_owned(), self.glibc_tunables.clone())];
        if let Some(p) = &self.preload {
            env.push(("LD_PRELOAD".to_owned(), p.display().to_string()));
        }
        env
    }

    /// The fingerprint's `extra.preload` value.
    pub fn preload_fact(&self) -> String {
        match (&self.preload, &self.preload_missing) {
            (Some(_), _) => PRELOAD_NAME.to_owned(),
            (None, Some(why)) => format!("none ({why})"),
            (None, None) => "none".to_owned(),
        }
    }
}

/// `s` as one single-quoted `sh` word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Writes an executable file through a temporary file and a rename.
fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    crate::baseline::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make {} executable: {e}", path.display()))
}

/// 64-bit FNV-1a of `parts` (with separators): a stable cache key that does not depend
/// on the Rust version that built irgate.
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Builds `name` once per `key_parts` into `cache`: writes `key_parts[0]` (the source)
/// to a file with extension `src_ext`, calls `compile(source, output)`, and keeps the
/// output as `<name>-<hash><suffix>`. A build that exists is reused.
pub fn cached_build(
    cache: &Path,
    name: &str,
    suffix: &str,
    key_parts: &[&str],
    compile: impl FnOnce(&Path, &Path) -> Result<(), String>,
    src_ext: &str,
) -> Result<PathBuf, String> {
    let hash = format!("{:016x}", fnv1a(key_parts));
    let out = cache.join(format!("{name}-{hash}{suffix}"));
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let work = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(cache)
        .map_err(|e| {
            format!(
                "cannot create a build directory in {}: {e}",
                cache.display()
            )
        })?;
    let src = work.path().join(format!("{name}.{src_ext}"));
    let mut f = File::create(&src).map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    f.write_all(key_parts.first().copied().unwrap_or("").as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    drop(f);
    let built = work.path().join(format!("{name}{suffix}"));
    compile(&src, &built)?;
    std::fs::rename(&built, &out)
        .map_err(|e| format!("cannot move {} to {}: {e}", built.display(), out.display()))?;
    Ok(out)
}

/// Builds the preload library with `cc` into `cache` (once per source hash).
pub fn build_preload(cache: &Path) -> Result<PathBuf, String> {
    let cc = std::env::var_os("CC").map_or_else(|| PathBuf::from("cc"), PathBuf::from);
    cached_build(
        cache,
        "fixed_entropy",
        ".so",
        &[PRELOAD_SOURCE],
        |src, out| {
            let o = std::process::Command::new(&cc)
                .args(["-O2", "-shared", "-fPIC", "-o"])
                .arg(out)
                .arg(src)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", cc.display()))?;
            if o.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{} failed: {}",
                    cc.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
        },
        "c",
    )
}

/// The cache directory: `$IRGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/irgate`, else
/// `~/.cache/irgate`, else `<workspace>/target/irgate-cache`.
pub fn default_cache_dir(workspace: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("IRGATE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Path::new(&d).join("irgate");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return Path::new(&h).join(".cache").join("irgate");
    }
    workspace.join("target").join("irgate-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn the_valgrind_wrapper_adds_the_pinned_environment_only() {
        let dir = tempfile::tempdir().unwrap();
        let exec = ExecDir::lock(dir.path()).unwrap();
        let env = crate::bench::which("env").unwrap();
        // A stand-in for valgrind that prints its environment.
        let cargo = exec
            .write_wrappers(
                &env,
                &env,
                &[
                    ("GLIBC_TUNABLES".into(), "glibc.x=1".into()),
                    ("IRGATE_T".into(), "a b 'c'".into()),
                ],
                Some(b"{\"packages\": []}"),
            )
            .unwrap()
            .unwrap();
        let out = std::process::Command::new(exec.wrapper_dir().join("valgrind"))
            .env_clear()
            .env("A", "1")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut seen: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            ["A=1", "GLIBC_TUNABLES=glibc.x=1", "IRGATE_T=a b 'c'"]
        );
        let meta = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .output()
            .unwrap();
        assert_eq!(meta.stdout, b"{\"packages\": []}");
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(&["a", "b"]), fnv1a(&["ab"]));
        assert_eq!(fnv1a(&["x"]), fnv1a(&["x"]));
    }

    #[test]
    fn cached_build_builds_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut calls = 0;
        for _ in 0..2 {
            let p = cached_build(
                dir.path(),
                "t",
                ".bin",
                &["src"],
                |src, out| {
                    calls += 1;
                    std::fs::copy(src, out)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
                "txt",
            );
            assert!(p.unwrap().is_file());
        }
        assert_eq!(calls, 1);
        let e = cached_build(
            dir.path(),
            "u",
            "",
            &["src"],
            |_, _| Err("no compiler".into()),
            "c",
        );
        assert_eq!(e.unwrap_err(), "no compiler");
    }
}
