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
        glibc_tunables: Some(std::env::var("GLIBC_TUNABLES").unwrap_or_default()),
        cpu_model,
        cpu_flags,
        cache: options.cache.clone().or_else(host_caches),
    }
}

/// Reads an environment written by `perfgate env --output FILE` (JSON).
pub fn load(path: &Path) -> Result<Environment, EnvError> {
    let text = std::fs::read_to_string(path).map_err(|source| EnvError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| EnvError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
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
    /// Not an environment JSON document.
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
    fn rustc_vv_gives_version_and_host() {
        let t = "rustc 1.95.0 (abc 2026-01-01)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\n";
        let (v, h) = parse_rustc_vv(t);
        assert_eq!(v.as_deref(), Some("rustc 1.95.0 (abc 2026-01-01)"));
        assert_eq!(h.as_deref(), Some("x86_64-unknown-linux-gnu"));
    }
}
