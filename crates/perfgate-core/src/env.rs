//! Capturing the [`Environment`] fingerprint of this machine.
//!
//! Each field is best effort: a tool that is absent leaves its field `None`, which then
//! shows as a difference against a baseline that knows it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::model::Environment;

/// CPU flags that glibc's ifunc resolvers for string and memory functions consult on
/// x86-64 (they decide between SSE2, AVX2, EVEX/AVX-512 and ERMS/FSRM variants).
pub const IFUNC_FLAGS: [&str; 21] = [
    "avx", "avx2", "avx512bw", "avx512dq", "avx512f", "avx512vl", "bmi1", "bmi2", "erms", "fsrm",
    "lzcnt", "movbe", "popcnt", "rtm", "sse2", "sse3", "sse4_1", "sse4_2", "ssse3", "xsave",
    "xsavec",
];

/// Where to find the tools whose versions are recorded.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The `valgrind` executable.
    pub valgrind: PathBuf,
    /// The benchmark runner (`gungraun-runner`); when `None`, `$GUNGRAUN_RUNNER`,
    /// then `gungraun-runner` on `PATH`, then `~/.cargo/bin/gungraun-runner`.
    pub runner: Option<PathBuf>,
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

fn runner_version(explicit: Option<&Path>) -> Option<String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p.to_owned());
    }
    if let Some(p) = std::env::var_os("GUNGRAUN_RUNNER") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(PathBuf::from("gungraun-runner"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/gungraun-runner"));
    }
    candidates
        .iter()
        .find_map(|c| run(c, &["--version"]))
        .map(first_line)
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
        runner: runner_version(options.runner.as_deref()),
        rustc,
        target: options.target.clone().or(host),
        glibc: run(Path::new("getconf"), &["GNU_LIBC_VERSION"]).map(first_line),
        glibc_tunables: Some(glibc_tunables),
        cpu_model,
        cpu_flags,
        cache: options.cache.clone().or_else(host_caches),
        extra: Default::default(),
    }
}

/// Keys of a `ci/bench` `environment.toml` that describe the environment rather than
/// the run, other than the [`Environment`] fields of the same name. They are kept in
/// [`Environment::extra`]. Keys such as `suite`, `benchmarks`, `filter` and
/// `wall_seconds` describe the run and are not read.
pub const TOML_EXTRA_KEYS: [&str; 3] = ["callgrind_args", "preload", "rustc_commit"];

/// Reads an environment fingerprint: JSON written by `perfgate env --output FILE`, or,
/// for a `.toml` file, the `environment.toml` that `ci/bench` writes (its
/// `cache_geometry` becomes `cache`; see [`TOML_EXTRA_KEYS`]).
pub fn load(path: &Path) -> Result<Environment, EnvError> {
    let text = std::fs::read_to_string(path).map_err(|source| EnvError::Io {
        path: path.to_owned(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "toml") {
        return parse_toml(path, &text);
    }
    serde_json::from_str(&text).map_err(|e| EnvError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Parses a `ci/bench` `environment.toml`; `path` names it in errors.
pub fn parse_toml(path: &Path, text: &str) -> Result<Environment, EnvError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |s| crate::policy::line_col(text, s.start));
        EnvError::Json {
            path: path.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })?;
    let get = |k: &str| -> Result<Option<String>, EnvError> {
        match table.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EnvError::Json {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: format!("`{k}` must be a string, found {}", other.type_str()),
            }),
        }
    };
    let mut env = Environment {
        valgrind: get("valgrind")?,
        runner: get("runner")?,
        rustc: get("rustc")?,
        target: get("target")?,
        glibc: get("glibc")?,
        glibc_tunables: get("glibc_tunables")?,
        cpu_model: get("cpu_model")?,
        cpu_flags: get("cpu_flags")?,
        cache: get("cache")?.or(get("cache_geometry")?),
        ..Environment::default()
    };
    for k in TOML_EXTRA_KEYS {
        if let Some(v) = get(k)? {
            env.extra.insert(k.to_owned(), v);
        }
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
    /// Not an environment fingerprint (JSON or `environment.toml`).
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
    fn ci_bench_environment_toml_is_read() {
        let t = "# comment\nsuite = \"scarab-plugins/ir\"\nvalgrind = \"valgrind-3.19.0\"\n\
                 glibc_tunables = \"glibc.cpu.hwcaps=-ERMS\"\ncache_geometry = \"none\"\n\
                 callgrind_args = \"--cache-sim=no\"\nbenchmarks = 12\nwall_seconds = 30\n";
        let e = parse_toml(Path::new("environment.toml"), t).unwrap();
        assert_eq!(e.valgrind.as_deref(), Some("valgrind-3.19.0"));
        assert_eq!(e.cache.as_deref(), Some("none"));
        assert_eq!(
            e.extra.get("callgrind_args").map(String::as_str),
            Some("--cache-sim=no")
        );
        assert_eq!(e.extra.len(), 1, "run facts are not environment");
        let bad = parse_toml(Path::new("environment.toml"), "valgrind = 3\n").unwrap_err();
        assert!(bad.to_string().contains("must be a string"), "{bad}");
        let bad = parse_toml(Path::new("environment.toml"), "a = \n").unwrap_err();
        assert!(bad.to_string().starts_with("environment.toml:1:"), "{bad}");
    }

    #[test]
    fn rustc_vv_gives_version_and_host() {
        let t = "rustc 1.95.0 (abc 2026-01-01)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\n";
        let (v, h) = parse_rustc_vv(t);
        assert_eq!(v.as_deref(), Some("rustc 1.95.0 (abc 2026-01-01)"));
        assert_eq!(h.as_deref(), Some("x86_64-unknown-linux-gnu"));
    }
}
