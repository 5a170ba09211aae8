//! Capturing the [`Environment`] fingerprint of this machine.
//!
//! Each field is best effort: a tool that is absent leaves its field `None`, which then
//! shows as a difference against a baseline that knows it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::model::Environment;

/// CPU flags (as `/proc/cpuinfo` names them) that glibc's x86-64 ifunc selectors may
/// test: every flag [`crate::glibc::cpuinfo_flag`] maps a tested feature to (`abm` is
/// how Linux reports LZCNT), plus a few neighbours kept for the record.
pub const IFUNC_FLAGS: [&str; 25] = [
    "abm", "avx", "avx2", "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl", "bmi1",
    "bmi2", "erms", "fma", "fma4", "fsrm", "lzcnt", "movbe", "popcnt", "rtm", "sse2", "sse3",
    "sse4_1", "sse4_2", "ssse3", "xsave", "xsavec",
];

/// Where to find the tools whose versions are recorded.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The `valgrind` executable.
    pub valgrind: PathBuf,
    /// The benchmark runner (`gungraun-runner`); when `None`, the one `workspace`'s
    /// `Cargo.lock` names (the library's version, which the runner must match).
    pub runner: Option<PathBuf>,
    /// The cargo workspace whose `Cargo.lock` names the runner (default `.`).
    pub workspace: PathBuf,
    /// The `rustc` executable (`$RUSTC` or `rustc`).
    pub rustc: PathBuf,
    /// The target triple, when cross-compiling; default: rustc's host.
    pub target: Option<String>,
    /// The cache geometry passed to Callgrind (e.g. `--I1=32768,8,64 --D1=32768,8,64
    /// --LL=8388608,16,64`); when `None`, the host's caches are described.
    pub cache: Option<String>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            valgrind: PathBuf::from("valgrind"),
            runner: None,
            workspace: PathBuf::from("."),
            rustc: std::env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from),
            target: None,
            cache: None,
        }
    }
}

fn run(cmd: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn first_line(s: String) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// The runner line of the fingerprint: `explicit`'s `--version` when given (`None`
/// when it fails: check it first with [`crate::bench::runner::version_line`] to
/// report that), else the runner the workspace's `Cargo.lock` names. Never a runner
/// that merely happens to be on `PATH`: the library starts the runner of its own
/// version, so the lock file tells which one ran.
fn runner_version(explicit: Option<&Path>, workspace: &Path) -> Option<String> {
    match explicit {
        Some(p) => crate::bench::runner::version_line(p),
        None => crate::bench::runner::from_lock(workspace).ok().flatten(),
    }
}

/// Parses `rustc -vV`: (`rustc 1.95.0 (...)`, host triple).
pub fn parse_rustc_vv(text: &str) -> (Option<String>, Option<String>) {
    let version = text
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| l.starts_with("rustc "));
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned());
    (version, host)
}

/// Parses `/proc/cpuinfo`: (model name, sorted ifunc-relevant flags).
pub fn parse_cpuinfo(text: &str) -> (Option<String>, Option<String>) {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_owned())
        })
    };
    let model = field("model name");
    let flags = field("flags").map(|f| {
        let mut present: Vec<&str> = f
            .split_whitespace()
            .filter(|x| IFUNC_FLAGS.contains(x))
            .collect();
        present.sort_unstable();
        present.dedup();
        present.join(" ")
    });
    (model, flags)
}

/// Describes the host's caches from sysfs: `L1d 48K 12-way 64B; L1i ...`.
fn host_caches() -> Option<String> {
    let base = Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(base)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("index"))
        })
        .collect();
    entries.sort();
    let read = |p: &Path, f: &str| {
        std::fs::read_to_string(p.join(f))
            .ok()
            .map(|s| s.trim().to_owned())
    };
    let parts: Vec<String> = entries
        .iter()
        .filter_map(|p| {
            let level = read(p, "level")?;
            let kind = match read(p, "type")?.as_str() {
                "Data" => "d",
                "Instruction" => "i",
                _ => "",
            };
            let size = read(p, "size")?;
            let ways = read(p, "ways_of_associativity").unwrap_or_else(|| "?".into());
            let line = read(p, "coherency_line_size").unwrap_or_else(|| "?".into());
            Some(format!("L{level}{kind} {size} {ways}-way {line}B"))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Captures the fingerprint of this machine. `GLIBC_TUNABLES` is read from this
/// process's environment (`""` when unset): run it with the same value the benchmarks
/// get.
pub fn capture(options: &CaptureOptions) -> Environment {
    capture_with_tunables(options, std::env::var("GLIBC_TUNABLES").unwrap_or_default())
}

/// What a comparison records when the run left no fingerprint: this machine's facts,
/// but no `GLIBC_TUNABLES`. Only the benchmark process saw that value; the comparing
/// process's own environment says nothing about it, so it is recorded as unknown.
pub fn capture_at_compare(options: &CaptureOptions) -> Environment {
    let mut env = capture_with_tunables(options, String::new());
    env.glibc_tunables = None;
    env
}

/// [`capture`] with an explicit `GLIBC_TUNABLES` value (the one the benchmarks get).
pub fn capture_with_tunables(options: &CaptureOptions, glibc_tunables: String) -> Environment {
    let (rustc, host) = run(&options.rustc, &["-vV"])
        .map(|t| parse_rustc_vv(&t))
        .unwrap_or((None, None));
    let (cpu_model, cpu_flags) = std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| parse_cpuinfo(&t))
        .unwrap_or((None, None));
    Environment {
        valgrind: run(&options.valgrind, &["--version"]).map(first_line),
        runner: runner_version(options.runner.as_deref(), &options.workspace),
        rustc,
        target: options.target.clone().or(host),
        glibc: run(Path::new("getconf"), &["GNU_LIBC_VERSION"]).map(first_line),
        glibc_tunables: Some(glibc_tunables),
        cpu_model,
        cpu_flags,
        cache: options.cache.clone().or_else(host_caches),
        extra: Default::default(),
        canary: Default::default(),
    }
}

/// Longest accepted name of an [`Environment::extra`] entry.
pub const MAX_EXTRA_KEY: usize = 64;
/// Longest accepted value of an [`Environment::extra`] entry, in bytes.
pub const MAX_EXTRA_VALUE: usize = 1024;

/// Why an [`Environment::extra`] entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraError {
    /// Not of the form `KEY=VALUE`.
    #[error("{0:?}: expected KEY=VALUE (e.g. callgrind_args=--cache-sim=no)")]
    NoEquals(String),
    /// The key is empty, too long, or uses characters other than `a-z`, `0-9`, `_`.
    #[error("extra key {0:?}: use 1 to {MAX_EXTRA_KEY} characters of a-z, 0-9 and _, starting with a letter")]
    BadKey(String),
    /// The key names a field that has its own option.
    #[error("extra key {0:?} is a fingerprint field of its own; set it with its own option (e.g. --cache, --glibc-tunables, --target)")]
    ReservedKey(String),
    /// The same key was given twice.
    #[error("extra key {0:?} is given twice")]
    Duplicate(String),
    /// The value holds a control character or is too long.
    #[error("extra value of {0:?}: at most {MAX_EXTRA_VALUE} bytes and no control characters (newlines, tabs, ...)")]
    BadValue(String),
}

/// Checks one [`Environment::extra`] entry: key `[a-z][a-z0-9_]*` up to
/// [`MAX_EXTRA_KEY`] characters and not one of [`Environment::known_names`]; value up
/// to [`MAX_EXTRA_VALUE`] bytes without control characters, so a fingerprint stays one
/// line in every rendering.
pub fn check_extra(key: &str, value: &str) -> Result<(), ExtraError> {
    let mut chars = key.chars();
    let key_ok = key.len() <= MAX_EXTRA_KEY
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(ExtraError::BadKey(key.to_owned()));
    }
    if Environment::known_names().any(|n| n == key) {
        return Err(ExtraError::ReservedKey(key.to_owned()));
    }
    if value.len() > MAX_EXTRA_VALUE || value.chars().any(char::is_control) {
        return Err(ExtraError::BadValue(key.to_owned()));
    }
    Ok(())
}

/// Parses `KEY=VALUE` arguments (the value may contain `=`) into checked
/// [`Environment::extra`] entries; a key given twice is an error.
pub fn parse_extras<S: AsRef<str>>(
    args: &[S],
) -> Result<std::collections::BTreeMap<String, String>, ExtraError> {
    let mut out = std::collections::BTreeMap::new();
    for arg in args {
        let arg = arg.as_ref();
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| ExtraError::NoEquals(arg.to_owned()))?;
        check_extra(key, value)?;
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(ExtraError::Duplicate(key.to_owned()));
        }
    }
    Ok(out)
}

/// Reads an environment fingerprint written by `irgate env --output FILE` (JSON).
/// Bad [`Environment::extra`] entries are errors (see [`check_extra`]).
pub fn load(path: &Path) -> Result<Environment, EnvError> {
    let text = std::fs::read_to_string(path).map_err(|source| EnvError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_json(path, &text)
}

/// Parses fingerprint JSON; `path` names it in errors.
pub fn parse_json(path: &Path, text: &str) -> Result<Environment, EnvError> {
    let env: Environment = serde_json::from_str(text).map_err(|e| EnvError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    for (k, v) in &env.extra {
        check_extra(k, v).map_err(|e| EnvError::Json {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: e.to_string(),
        })?;
    }
    Ok(env)
}

/// Why an environment file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The file could not be read.
    #[error("cannot read environment file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not an environment fingerprint (the JSON of `irgate env`).
    #[error("{path}:{line}:{column}: not an environment fingerprint: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_keeps_only_ifunc_flags_sorted() {
        let t = "processor\t: 0\nmodel name\t: Example CPU @ 3GHz\nflags\t\t: fpu sse2 avx2 erms vmx avx ssse3\n";
        let (m, f) = parse_cpuinfo(t);
        assert_eq!(m.as_deref(), Some("Example CPU @ 3GHz"));
        assert_eq!(f.as_deref(), Some("avx avx2 erms sse2 ssse3"));
    }

    #[test]
    fn extras_are_checked() {
        let m = parse_extras(&["callgrind_args=--cache-sim=no", "preload=fixed (a, b)"]).unwrap();
        assert_eq!(m["callgrind_args"], "--cache-sim=no");
        assert_eq!(m["preload"], "fixed (a, b)");
        assert_eq!(
            parse_extras(&["nokey"]).unwrap_err(),
            ExtraError::NoEquals("nokey".into())
        );
        for bad in ["=x", "Upper=x", "1st=x", "a-b=x", "a b=x"] {
            assert!(
                matches!(parse_extras(&[bad]), Err(ExtraError::BadKey(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_extras(&["cache=x"]).unwrap_err(),
            ExtraError::ReservedKey("cache".into())
        );
        assert_eq!(
            parse_extras(&["a=1", "a=2"]).unwrap_err(),
            ExtraError::Duplicate("a".into())
        );
        assert_eq!(
            parse_extras(&["a=line\nbreak"]).unwrap_err(),
            ExtraError::BadValue("a".into())
        );
        let long = format!("a={}", "x".repeat(MAX_EXTRA_VALUE + 1));
        assert_eq!(
            parse_extras(&[long]).unwrap_err(),
            ExtraError::BadValue("a".into())
        );
    }

    #[test]
    fn fingerprint_json_is_checked() {
        let ok = parse_json(Path::new("e.json"), r#"{"extra": {"preload": "x"}}"#).unwrap();
        assert_eq!(ok.extra["preload"], "x");
        let e = parse_json(Path::new("e.json"), r#"{"extra": {"Bad Key": "x"}}"#).unwrap_err();
        assert!(e.to_string().starts_with("e.json:1:1:"), "{e}");
        let e = parse_json(Path::new("e.json"), "{\n\"valgrind\": 3}").unwrap_err();
        assert!(e.to_string().starts_with("e.json:2:"), "{e}");
    }

    #[test]
    fn rustc_vv_gives_version_and_host() {
        let t = "rustc 1.95.0 (abc 2026-01-01)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\n";
        let (v, h) = parse_rustc_vv(t);
        assert_eq!(v.as_deref(), Some("rustc 1.95.0 (abc 2026-01-01)"));
        assert_eq!(h.as_deref(), Some("x86_64-unknown-linux-gnu"));
    }
}
