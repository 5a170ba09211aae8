//! The most expensive functions of a benchmark, by inclusive Ir, from its Callgrind
//! profile (through `callgrind_annotate --inclusive=yes`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// `callgrind_annotate` could not be started.
    #[error("cannot run callgrind_annotate on {path}: {source} (is valgrind installed?)")]
    Spawn {
        /// The profile.
        path: PathBuf,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// `callgrind_annotate` failed.
    #[error("callgrind_annotate failed on {path}: {stderr}")]
    Failed {
        /// The profile.
        path: PathBuf,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Its output had no totals line.
    #[error("{path}: callgrind_annotate printed no PROGRAM TOTALS line")]
    NoTotals {
        /// The profile.
        path: PathBuf,
    },
}

/// One function and its inclusive cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCost {
    /// Function name as Callgrind reports it (symbol, demangled).
    pub function: String,
    /// Instructions executed in it and everything it called.
    pub inclusive_ir: u64,
}

/// A profile's total and its most expensive functions, benchmark harness removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Total Ir of the profile (the measured region).
    pub total_ir: u64,
    /// Functions by inclusive Ir, highest first.
    pub functions: Vec<FunctionCost>,
    /// Functions by self Ir (their own instructions, callees excluded), highest
    /// first; empty when only the inclusive view was read.
    pub self_costs: Vec<FunctionCost>,
}

impl Profile {
    /// Share of the total spent in functions whose name contains any of `needles`
    /// (the largest such function; inclusive costs of nested functions overlap, so
    /// they are not added up).
    pub fn share_of(&self, needles: &[&str]) -> Option<(f64, &FunctionCost)> {
        let f = self
            .functions
            .iter()
            .filter(|f| needles.iter().any(|n| f.function.contains(n)))
            .max_by_key(|f| f.inclusive_ir)?;
        Some((f.inclusive_ir as f64 / self.total_ir.max(1) as f64, f))
    }
}

/// Frames of the process and of the benchmark harness, present in every profile at
/// 100%: they say nothing about the code under test.
fn is_harness(function: &str) -> bool {
    const HARNESS: &[&str] = &[
        "__libc_start_main",
        "(below main)",
        "std::rt::lang_start",
        "__rust_begin_short_backtrace",
        "__rustc::",
        "0x0",
    ];
    function == "main"
        || function.starts_with("ir::")
        || HARNESS.iter().any(|h| function.contains(h))
}

/// Callgrind names the inner calls of a recursion cycle `f'2`, `f'3`, ...; their
/// inclusive costs count the recursion several times (they can exceed the total),
/// so they are left out.
fn is_recursion_copy(function: &str) -> bool {
    match function.rsplit_once('\'') {
        Some((_, n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

fn parse_count(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(|c| *c != ',').collect();
    digits.parse().ok()
}

/// Parse `callgrind_annotate --inclusive=yes` output into a [`Profile`]. Entries of
/// the same function under several source files (inlined code) keep the largest.
pub fn parse_annotate(path: &Path, text: &str) -> Result<Profile, AnnotateError> {
    let mut total = None;
    let mut by_function: BTreeMap<String, u64> = BTreeMap::new();
    // The function table follows the "Ir  file:function" header and ends at the
    // first blank line after its rows; what follows (annotated source, call
    // lines such as "=> f (2x)") is not part of it.
    let mut in_table = false;
    let mut seen_row = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_suffix("PROGRAM TOTALS") {
            total = rest.split_whitespace().next().and_then(parse_count);
            continue;
        }
        if line.ends_with("file:function") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if line.is_empty() {
            if seen_row {
                break;
            }
            continue;
        }
        if line.starts_with("---") {
            continue;
        }
        seen_row = true;
        // "15,024 (99.00%)  path/to/file.rs:crate::func [/path/to/object]"
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(ir) = parse_count(count) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('(') else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(')') else {
            continue;
        };
        let location = rest.trim();
        let location = match location.rfind(" [") {
            Some(i) if location.ends_with(']') => &location[..i],
            _ => location,
        };
        // The function follows the first ':' that is not part of a '::' path.
        let function = split_file_function(location);
        if function.is_empty() || is_harness(function) || is_recursion_copy(function) {
            continue;
        }
        let e = by_function.entry(function.to_owned()).or_insert(0);
        *e = (*e).max(ir);
    }
    let total_ir = total.ok_or_else(|| AnnotateError::NoTotals {
        path: path.to_owned(),
    })?;
    let mut functions: Vec<FunctionCost> = by_function
        .into_iter()
        .map(|(function, inclusive_ir)| FunctionCost {
            function,
            inclusive_ir,
        })
        .collect();
    functions.sort_by(|a, b| {
        b.inclusive_ir
            .cmp(&a.inclusive_ir)
            .then(a.function.cmp(&b.function))
    });
    Ok(Profile {
        total_ir,
        functions,
        self_costs: Vec::new(),
    })
}

/// `file:function` → `function`, where the file may be `???` and the function
/// contains `::`.
fn split_file_function(location: &str) -> &str {
    let bytes = location.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let next_is_colon = bytes.get(i + 1) == Some(&b':');
            let prev_is_colon = i > 0 && bytes[i - 1] == b':';
            if !next_is_colon && !prev_is_colon {
                return &location[i + 1..];
            }
            if next_is_colon {
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    location
}

fn run_annotate(profile: &Path, inclusive: bool) -> Result<Profile, AnnotateError> {
    let out = Command::new("callgrind_annotate")
        .arg(format!(
            "--inclusive={}",
            if inclusive { "yes" } else { "no" }
        ))
        .arg("--threshold=100")
        .arg(profile)
        .output()
        .map_err(|source| AnnotateError::Spawn {
            path: profile.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(AnnotateError::Failed {
            path: profile.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    parse_annotate(profile, &String::from_utf8_lossy(&out.stdout))
}

/// Run `callgrind_annotate` on `profile` twice (inclusive and self costs) and
/// parse both.
pub fn annotate(profile: &Path) -> Result<Profile, AnnotateError> {
    let mut p = run_annotate(profile, true)?;
    p.self_costs = run_annotate(profile, false)?.functions;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../tests/fixtures/annotate_inclusive.txt");

    #[test]
    fn parses_totals_and_drops_harness_frames() {
        let p = parse_annotate(Path::new("x.out"), SAMPLE).unwrap();
        assert_eq!(p.total_ir, 15175);
        let names: Vec<&str> = p.functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(
            names[0],
            "scarab_plugins::manager::PluginManager::dispatch_output"
        );
        assert!(!names
            .iter()
            .any(|n| n.contains("lang_start") || n.starts_with("ir::")));
        assert!(!names.contains(&"main"));
    }

    #[test]
    fn keeps_the_largest_entry_of_an_inlined_function() {
        let p = parse_annotate(Path::new("x.out"), SAMPLE).unwrap();
        let run = p
            .functions
            .iter()
            .find(|f| f.function == "fusabi_vm::vm::Vm::run")
            .unwrap();
        assert_eq!(run.inclusive_ir, 12814);
    }

    #[test]
    fn share_of_picks_the_largest_match() {
        let p = parse_annotate(Path::new("x.out"), SAMPLE).unwrap();
        let (share, f) = p.share_of(&["Clone>::clone"]).unwrap();
        assert_eq!(f.inclusive_ir, 2687);
        assert!((share - 2687.0 / 15175.0).abs() < 1e-12);
        assert!(p.share_of(&["no_such_function"]).is_none());
    }

    #[test]
    fn stops_at_the_end_of_the_function_table() {
        let text = format!(
            "{SAMPLE}\n--------\n-- Auto-annotated source: x.rs\n\
             --------\n2,000 (99.0%)  => src/x.rs:late::function (2x)\n"
        );
        let p = parse_annotate(Path::new("x.out"), &text).unwrap();
        assert!(!p
            .functions
            .iter()
            .any(|f| f.function.contains("late::function")));
    }

    #[test]
    fn recursion_copies_are_left_out() {
        assert!(is_recursion_copy("a::b'2"));
        assert!(!is_recursion_copy("a::b"));
        assert!(!is_recursion_copy("<impl a for b>::c"));
        let text = SAMPLE.replace(
            "12,814 (84.44%)  fusabi-vm-0.35.0/src/vm.rs:fusabi_vm::vm::Vm::run",
            "99,999 (999.9%)  fusabi-vm-0.35.0/src/vm.rs:fusabi_vm::vm::Vm::run'2\n\
             12,814 (84.44%)  fusabi-vm-0.35.0/src/vm.rs:fusabi_vm::vm::Vm::run",
        );
        let p = parse_annotate(Path::new("x.out"), &text).unwrap();
        assert!(p.functions.iter().all(|f| !f.function.ends_with("'2")));
    }

    #[test]
    fn missing_totals_is_an_error() {
        let err = parse_annotate(Path::new("y.out"), "nothing here").unwrap_err();
        assert!(err.to_string().contains("y.out"));
    }

    #[test]
    fn splits_file_and_function() {
        assert_eq!(split_file_function("???:main"), "main");
        assert_eq!(split_file_function("src/a.rs:crate::m::f"), "crate::m::f");
        assert_eq!(
            split_file_function("./malloc/./malloc/malloc.c:free"),
            "free"
        );
    }
}
