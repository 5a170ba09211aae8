//! Reading Callgrind profiles: the per-function costs of one benchmark, so that a
//! comparison can say which functions moved.
//!
//! The format is Valgrind's "Callgrind Format Specification" (cl-format). What this
//! reader takes from it:
//!
//! - the header: `events:` names the cost columns (the `Ir` column is found by name;
//!   a file without one is refused), `positions:` says how many position columns
//!   precede the costs (`line`, `instr line`, ...), `totals:` and `summary:` give the
//!   file's total (`totals:` wins, as in Gungraun's own reader);
//! - name compression: `fn=(id) name` defines an id, `fn=(id)` refers back to it; the
//!   ids of `ob=`/`cob=`, of `fl=`/`fi=`/`fe=`/`cfi=`/`cfl=`, and of `fn=`/`cfn=` are
//!   three separate tables;
//! - cost lines: positions (absolute, hex, or subposition-compressed `+N`, `-N`, `*`;
//!   checked, not needed) followed by costs; missing trailing costs are zero;
//! - `calls=<count> <target>`: the next cost line is the inclusive cost of that call,
//!   charged to the caller's inclusive cost and not to its self cost; `cob=`, `cfi=`,
//!   `cfn=` name the callee;
//! - several parts (`part:`) in one file, and several files for one benchmark (one per
//!   thread or process, as Gungraun writes with `--separate-threads=yes`): costs add up.
//!
//! Functions are keyed by their name, normalized by [`normalize_name`]: the same name
//! in two objects or files is one function here (inlined copies of a generic, for
//! one). A function's *inclusive* cost is its self cost plus the inclusive cost of the
//! calls it makes to *other* functions; like `callgrind_annotate --inclusive=yes`, it
//! overstates mutually recursive code (a direct self-call is not counted twice).
//!
//! A file whose self costs do not add up to its `totals:` line, or that has no total,
//! is refused as truncated or corrupt: the reader never explains a change with half a
//! profile. Every error names the file and, where there is one, the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest Callgrind output file read, in bytes.
pub const MAX_PROFILE_BYTES: u64 = 512 * 1024 * 1024;

/// Why a Callgrind output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CallgrindError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file breaks the format at a line.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file as a whole is inconsistent (no `events:`, no total, costs that do not
    /// add up to the total, too large).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The cost of one function in a profile, in `Ir`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionCost {
    /// Instructions executed in the function's own code (inlined code included).
    pub self_ir: u64,
    /// Self cost plus the inclusive cost of the calls it makes to other functions.
    pub inclusive_ir: u64,
}

/// The `Ir` profile of one benchmark: its total and every function's cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The total `Ir` (the sum of every file's `totals:`).
    pub total_ir: u64,
    /// Costs by normalized function name.
    pub functions: BTreeMap<String, FunctionCost>,
}

impl Profile {
    /// A profile of `(function, self Ir, inclusive Ir)`, totalling the self costs
    /// (the unit tests' shorthand).
    #[cfg(test)]
    pub(crate) fn of(costs: &[(&str, u64, u64)]) -> Profile {
        Profile {
            total_ir: costs.iter().map(|c| c.1).sum(),
            functions: costs
                .iter()
                .map(|(n, s, i)| {
                    (
                        (*n).to_owned(),
                        FunctionCost {
                            self_ir: *s,
                            inclusive_ir: *i,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Reads and adds up the Callgrind outputs `paths` (the threads and processes of
    /// one benchmark).
    pub fn read_files(paths: &[PathBuf]) -> Result<Profile, CallgrindError> {
        let mut profile = Profile::default();
        for p in paths {
            let one = read_file(p)?;
            profile.add(&one);
        }
        Ok(profile)
    }

    /// Adds `other`'s costs to this profile.
    pub fn add(&mut self, other: &Profile) {
        self.total_ir = self.total_ir.saturating_add(other.total_ir);
        for (name, c) in &other.functions {
            let e = self.functions.entry(name.clone()).or_default();
            e.self_ir = e.self_ir.saturating_add(c.self_ir);
            e.inclusive_ir = e.inclusive_ir.saturating_add(c.inclusive_ir);
        }
    }
}

/// The Callgrind outputs of one benchmark in `dir` (the directory of its
/// `summary.json`): every `callgrind.*.out` file, sorted. Gungraun's earlier runs
/// (`*.out.old`, `*.out.base@<name>`) and its flamegraphs do not end in `.out` and are
/// left out.
pub fn outputs_in(dir: &Path) -> Result<Vec<PathBuf>, CallgrindError> {
    let io = |source| CallgrindError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("callgrind.") && name.ends_with(".out") && entry.path().is_file() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one Callgrind output file.
pub fn read_file(path: &Path) -> Result<Profile, CallgrindError> {
    let io = |source| CallgrindError::Io {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_PROFILE_BYTES {
        return Err(CallgrindError::Invalid {
            path: path.to_owned(),
            message: format!(
                "{size} bytes is larger than the {MAX_PROFILE_BYTES} bytes allowed for a Callgrind output"
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8_lossy(&bytes);
    parse(path, &text)
}

/// The name tables of name compression: `(id) name` defines, `(id)` refers back.
#[derive(Default)]
struct Names {
    table: BTreeMap<u64, String>,
}

impl Names {
    /// Resolves the value of a `key=` line: `(id) name`, `(id)` or a plain `name`. A
    /// value in parentheses that is not a number is a plain name: uncompressed files
    /// write `fn=(below main)`.
    fn resolve(&mut self, value: &str) -> Result<String, String> {
        let value = value.trim();
        let id = value.strip_prefix('(').and_then(|rest| {
            let close = rest.find(')')?;
            let id = rest[..close].trim().parse::<u64>().ok()?;
            Some((id, rest[close + 1..].trim()))
        });
        match id {
            None => Ok(value.to_owned()),
            Some((id, "")) => self
                .table
                .get(&id)
                .cloned()
                .ok_or_else(|| format!("name id ({id}) is used before it is defined")),
            Some((id, name)) => {
                self.table.insert(id, name.to_owned());
                Ok(name.to_owned())
            }
        }
    }
}

/// Whether `token` is a position: a number, a hex address, `*`, or `+N`/`-N`.
fn is_position(token: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if token == "*" {
        return true;
    }
    if let Some(h) = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        return !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(rest) = token.strip_prefix('+').or_else(|| token.strip_prefix('-')) {
        return digits(rest)
            || rest
                .strip_prefix("0x")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    digits(token)
}

/// Parses the text of one Callgrind output; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Profile, CallgrindError> {
    let syntax = |line: usize, message: String| CallgrindError::Syntax {
        path: path.to_owned(),
        line,
        message,
    };
    let mut files = Names::default();
    let mut functions = Names::default();
    let mut objects = Names::default();
    // The current object, function, and the callee of a pending `calls=` line.
    let mut object = String::new();
    let mut function: Option<String> = None;
    let mut callee_object: Option<String> = None;
    let mut callee: Option<String> = None;
    let mut call_pending: Option<usize> = None;
    let mut positions = 1usize;
    let mut ir_column: Option<usize> = None;
    let mut events_line = 0usize;
    let mut totals: Option<u64> = None;
    let mut summary: Option<u64> = None;
    let mut self_sum: u64 = 0;
    // Normalized name → costs.
    let mut costs: BTreeMap<String, FunctionCost> = BTreeMap::new();

    let ir_of = |n: usize, rest: &str, column: Option<usize>| -> Result<u64, CallgrindError> {
        let column =
            column.ok_or_else(|| syntax(n, "a cost line before the `events:` line".into()))?;
        match rest.split_ascii_whitespace().nth(column) {
            None => Ok(0),
            Some(t) => t
                .parse::<u64>()
                .map_err(|_| syntax(n, format!("cost {t:?} is not a non-negative integer"))),
        }
    };

    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.as_bytes()[0];
        if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*') {
            // A cost line: positions, then costs.
            let mut tokens = line.split_ascii_whitespace();
            for _ in 0..positions {
                match tokens.next() {
                    Some(t) if is_position(t) => {}
                    Some(t) => return Err(syntax(n, format!("{t:?} is not a position"))),
                    None => {
                        return Err(syntax(
                            n,
                            format!("a cost line needs {positions} position column(s)"),
                        ))
                    }
                }
            }
            let rest: Vec<&str> = tokens.collect();
            let ir = ir_of(n, &rest.join(" "), ir_column)?;
            let caller = function
                .clone()
                .ok_or_else(|| syntax(n, "a cost line before any `fn=` line".into()))?;
            if call_pending.take().is_some() {
                let target = callee
                    .take()
                    .ok_or_else(|| syntax(n, "`calls=` without a `cfn=` before it".into()))?;
                callee_object = None;
                if target != caller {
                    let e = costs.entry(caller).or_default();
                    e.inclusive_ir = e.inclusive_ir.saturating_add(ir);
                }
            } else {
                let e = costs.entry(caller).or_default();
                e.self_ir = e.self_ir.saturating_add(ir);
                e.inclusive_ir = e.inclusive_ir.saturating_add(ir);
                self_sum = self_sum.saturating_add(ir);
            }
            continue;
        }
        if call_pending.is_some() {
            return Err(syntax(
                n,
                "a `calls=` line must be followed by its cost line".into(),
            ));
        }
        let (key, value) = match line.find(['=', ':']) {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => return Err(syntax(n, format!("unrecognized line {line:?}"))),
        };
        let separator = line.as_bytes()[key.len()];
        let at = |r: Result<String, String>| r.map_err(|m| syntax(n, m));
        match (key, separator) {
            ("ob", b'=') => object = at(objects.resolve(value))?,
            ("cob", b'=') => callee_object = Some(at(objects.resolve(value))?),
            ("fl" | "fi" | "fe" | "cfi" | "cfl", b'=') => {
                at(files.resolve(value))?;
            }
            ("fn", b'=') => {
                let name = at(functions.resolve(value))?;
                function = Some(normalize_name(&name, &object));
                callee = None;
                callee_object = None;
            }
            ("cfn", b'=') => {
                let name = at(functions.resolve(value))?;
                let in_object = callee_object.as_deref().unwrap_or(&object);
                callee = Some(normalize_name(&name, in_object));
            }
            ("calls", b'=') => {
                let mut parts = value.split_ascii_whitespace();
                match parts.next().map(str::parse::<u64>) {
                    Some(Ok(_)) => {}
                    _ => return Err(syntax(n, format!("`calls={value}` has no call count"))),
                }
                call_pending = Some(n);
            }
            ("jump" | "jcnd", b'=') => {}
            ("events", b':') => {
                let names: Vec<&str> = value.split_ascii_whitespace().collect();
                ir_column = names.iter().position(|e| *e == "Ir");
                events_line = n;
                if ir_column.is_none() {
                    return Err(syntax(
                        n,
                        format!("the events ({}) have no `Ir` column", names.join(" ")),
                    ));
                }
            }
            ("positions", b':') => {
                let names: Vec<&str> = value.split_ascii_whitespace().collect();
                if names.is_empty()
                    || !names
                        .iter()
                        .all(|p| matches!(*p, "line" | "instr" | "addr"))
                {
                    return Err(syntax(n, format!("unknown positions {:?}", value.trim())));
                }
                positions = names.len();
            }
            ("totals", b':') | ("summary", b':') => {
                let v = ir_of(n, value, ir_column)?;
                let slot = if key == "totals" {
                    &mut totals
                } else {
                    &mut summary
                };
                // Several parts in one file each end with their own line.
                *slot = Some(slot.unwrap_or(0).saturating_add(v));
            }
            (
                "version" | "creator" | "pid" | "cmd" | "part" | "desc" | "thread" | "event"
                | "target",
                _,
            ) => {}
            _ => return Err(syntax(n, format!("unrecognized line {line:?}"))),
        }
    }
    if let Some(at) = call_pending {
        return Err(syntax(
            at,
            "the file ends after a `calls=` line (truncated?)".into(),
        ));
    }
    if events_line == 0 {
        return Err(CallgrindError::Invalid {
            path: path.to_owned(),
            message: "no `events:` line: not a Callgrind output".into(),
        });
    }
    let total = totals.or(summary).ok_or_else(|| CallgrindError::Invalid {
        path: path.to_owned(),
        message: "no `totals:` or `summary:` line (truncated?)".into(),
    })?;
    if totals.is_some() && self_sum != total {
        return Err(CallgrindError::Invalid {
            path: path.to_owned(),
            message: format!(
                "the self costs add up to {self_sum} Ir but `totals:` says {total} (truncated or corrupt)"
            ),
        });
    }
    Ok(Profile {
        total_ir: total,
        functions: costs,
    })
}

/// A function name as profiles store it: stable across builds and checkouts.
///
/// - a legacy Rust hash suffix (`::h0123456789abcdef`) is removed (Valgrind's
///   demangler already leaves out v0 crate disambiguators);
/// - code without a symbol, which Callgrind names by its address (`0x00000000000164e0`,
///   an address that moves with every build), becomes `<unnamed code in OBJECT>`,
///   where OBJECT is the file name of its object without the directory;
/// - Callgrind's recursion levels (`fib'2`, with the default `--separate-recs=2`) are
///   one function: the suffix `'N` is removed;
/// - whitespace runs become one space.
///
/// Callgrind demangles names itself (Valgrind's `--demangle=yes` is the default), so a
/// name is not demangled again here.
pub fn normalize_name(name: &str, object: &str) -> String {
    let name = name.trim();
    if let Some(hex) = name.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let base = object.rsplit('/').next().unwrap_or(object);
            let base = if base.is_empty() {
                "an unknown object"
            } else {
                base
            };
            return format!("<unnamed code in {base}>");
        }
    }
    // `name'2`: a recursion level of `name`.
    let name = match name.rsplit_once('\'') {
        Some((base, level))
            if !base.is_empty()
                && !level.is_empty()
                && level.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    };
    let mut out = String::with_capacity(name.len());
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // `::h` + 16 hex digits at the end of a path segment.
        if name[i..].starts_with("::h") {
            let hex = &name[i + 3..];
            let len = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
            let end = i + 3 + len;
            let boundary = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            if len == 16 && boundary {
                i = end;
                continue;
            }
        }
        let c = name[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn p(text: &str) -> Result<Profile, CallgrindError> {
        parse(Path::new("callgrind.t.out"), text)
    }

    const HEADER: &str = "# callgrind format\nversion: 1\npositions: line\nevents: Ir Dr\n";

    #[test]
    fn self_and_inclusive_costs_follow_calls_lines() {
        let text = format!(
            "{HEADER}\nob=(1) /abs/bin\nfl=(1) src/main.rs\nfn=(1) main\n10 5 1\n+1 2\n\
             cfn=(2) work::h0123456789abcdef\ncalls=1 20\n* 100 7\n-1 3\n\
             fn=(2)\n20 60 1\ncfl=(2) /lib/alloc.rs\ncfn=(3) malloc\ncalls=2 1\n+2 40\n\
             fn=(3)\n1 40\n\
             fn=(2)\ncfn=(4) work'2\ncalls=1 20\n*  999\ntotals: 110 2\n"
        );
        let prof = p(&text).unwrap();
        assert_eq!(prof.total_ir, 110);
        let f = &prof.functions;
        assert_eq!(
            f["main"],
            FunctionCost {
                self_ir: 10,
                inclusive_ir: 110
            }
        );
        // The hash suffix is gone; the self-recursive call is not counted again.
        assert_eq!(
            f["work"],
            FunctionCost {
                self_ir: 60,
                inclusive_ir: 100
            }
        );
        assert_eq!(
            f["malloc"],
            FunctionCost {
                self_ir: 40,
                inclusive_ir: 40
            }
        );
    }

    #[test]
    fn the_ir_column_is_found_by_name() {
        let text =
            "positions: instr line\nevents: Dr Ir\nfn=f\n0x10 3 7 9\n+4 * 1 1\ntotals: 8 10\n";
        let prof = p(text).unwrap();
        assert_eq!(prof.total_ir, 10);
        assert_eq!(prof.functions["f"].self_ir, 10);
        let e = p("events: Dr Dw\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "callgrind.t.out:1: the events (Dr Dw) have no `Ir` column"
        );
    }

    #[test]
    fn parts_in_one_file_add_up() {
        let text =
            "events: Ir\npart: 1\nfn=(1) a\n1 5\ntotals: 5\npart: 2\nfn=(1)\n1 6\ntotals: 6\n";
        let prof = p(text).unwrap();
        assert_eq!(prof.total_ir, 11);
        assert_eq!(prof.functions["a"].self_ir, 11);
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let cases = [
            ("events: Ir\nfn=a\n1 x\n", "callgrind.t.out:3: cost \"x\" is not a non-negative integer"),
            ("events: Ir\n1 5\n", "callgrind.t.out:2: a cost line before any `fn=` line"),
            ("events: Ir\nfn=(4)\n", "callgrind.t.out:2: name id (4) is used before it is defined"),
            ("events: Ir\nfn=a\ncfn=b\ncalls=1 3\n", "callgrind.t.out:4: the file ends after a `calls=` line (truncated?)"),
            ("events: Ir\nfn=a\ncfn=b\ncalls=1 3\nfn=c\n", "callgrind.t.out:5: a `calls=` line must be followed by its cost line"),
            ("events: Ir\nfn=a\n1 5\n", "callgrind.t.out: no `totals:` or `summary:` line (truncated?)"),
            ("events: Ir\nfn=a\n1 5\ntotals: 6\n", "callgrind.t.out: the self costs add up to 5 Ir but `totals:` says 6 (truncated or corrupt)"),
            ("events: Ir\nfn=a\nx1 5\n", "callgrind.t.out:3: unrecognized line \"x1 5\""),
            ("events: Ir\nfn=a\n+x 5\n", "callgrind.t.out:3: \"+x\" is not a position"),
            ("fn=a\n", "callgrind.t.out: no `events:` line: not a Callgrind output"),
        ];
        for (text, want) in cases {
            assert_eq!(p(text).unwrap_err().to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn a_name_in_parentheses_is_a_name_unless_it_is_an_id() {
        let text = "events: Ir\nfn=(below main)\n1 2\nfn=(7) (x)\n1 3\nfn=(7)\n1 1\ntotals: 6\n";
        let prof = p(text).unwrap();
        assert_eq!(prof.functions["(below main)"].self_ir, 2);
        assert_eq!(prof.functions["(x)"].self_ir, 4);
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_name("a::b::h0123456789abcdef", "x"), "a::b");
        assert_eq!(
            normalize_name("0x00000000000164e0", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            "<unnamed code in libc.so.6>"
        );
        // Not a hash: too short, or followed by more of the identifier.
        assert_eq!(normalize_name("a::habc", ""), "a::habc");
        assert_eq!(
            normalize_name("a::h0123456789abcdefg", ""),
            "a::h0123456789abcdefg"
        );
        assert_eq!(normalize_name("x[0]  y", ""), "x[0] y");
        assert_eq!(normalize_name("v[abc ]", ""), "v[abc ]");
        assert_eq!(normalize_name("tiny::fib'2", ""), "tiny::fib");
        assert_eq!(normalize_name("'2", ""), "'2");
    }

    /// A real Callgrind output (valgrind 3.19, `--compress-strings=yes`,
    /// `--compress-pos=yes`, `--separate-threads=yes`; the second thread of a small
    /// program), committed as a fixture: its `totals:` must equal the self costs.
    #[test]
    fn a_real_callgrind_output_adds_up() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/callgrind/thread2.out");
        let prof = read_file(&path).unwrap();
        let sum: u64 = prof.functions.values().map(|c| c.self_ir).sum();
        assert_eq!(sum, prof.total_ir);
        assert!(prof.total_ir > 0);
        let fib = prof
            .functions
            .iter()
            .find(|(n, _)| n.ends_with("::fib"))
            .unwrap()
            .1;
        // fib is all self cost (it calls only itself).
        assert_eq!(fib.self_ir, fib.inclusive_ir);
        assert!(prof
            .functions
            .keys()
            .all(|n| !n.starts_with("0x") && !n.contains("/build/")));
    }

    /// `tiny::fib` (19,301) plus `tiny::fib'2` (56), as `callgrind_annotate` lists
    /// them for the uncompressed fixture.
    const CALLGRIND_ANNOTATE_FIB_SELF: u64 = 19_357;

    /// `clone` with `callgrind_annotate --inclusive=yes` on the uncompressed fixture:
    /// 5 more than the file's `totals:` (25,952), as the call's cost line records it.
    const CALLGRIND_ANNOTATE_CLONE_INCLUSIVE: u64 = 25_957;

    /// The same program profiled as Gungraun does (`--compress-strings=no`,
    /// `--compress-pos=no`) with `--dump-instr=yes --cache-sim=yes`: two position
    /// columns, nine events, Ir first. The figures were read with
    /// `callgrind_annotate` from the same file.
    #[test]
    fn an_uncompressed_output_with_instr_positions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/callgrind/uncompressed-thread2.out");
        let prof = read_file(&path).unwrap();
        let sum: u64 = prof.functions.values().map(|c| c.self_ir).sum();
        assert_eq!(sum, prof.total_ir);
        assert_eq!(
            prof.functions["clone"].inclusive_ir,
            CALLGRIND_ANNOTATE_CLONE_INCLUSIVE
        );
        assert_eq!(
            prof.functions["tiny::fib"].self_ir,
            CALLGRIND_ANNOTATE_FIB_SELF
        );
    }
}
