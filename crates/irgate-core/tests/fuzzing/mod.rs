//! The fuzzing engine shared by the `fuzz` test binaries of irgate-core and
//! irgate-github: proptest with structure-aware mutation of real inputs.
//!
//! Each target gets a [`Corpus`]: real files (summaries, baselines, webhook
//! deliveries, ...) as seeds, and a dictionary of tokens of the format plus the short
//! strings found in the seeds. An input is one of:
//!
//! - a seed with 1 to 8 [`Mutation`]s applied: bit flips, byte changes, truncation,
//!   deletion, token insertion, a quoted string or a number replaced, splicing in part
//!   of another seed, duplicated ranges, deep nesting, very long runs and invalid UTF-8;
//! - arbitrary bytes;
//! - a sequence of dictionary tokens.
//!
//! The property gets the bytes and returns whether the parser accepted them (it fails
//! the case with `prop_assert!` when an invariant breaks; a panic fails it too). Every
//! input must finish within [`SLOW_LIMIT`]; a watchdog aborts the process with the
//! input saved to a file when one runs past [`HANG_LIMIT`] (a hang that the per-input
//! check would never see end).
//!
//! `IRGATE_FUZZ_CASES` sets the number of inputs per target (default
//! [`DEFAULT_CASES`], so that `cargo test` stays fast); `docs/FUZZING.md` has the
//! commands and the figures measured.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// Inputs per target when `IRGATE_FUZZ_CASES` is not set.
pub const DEFAULT_CASES: u32 = 256;

/// Longest time one input may take before the case fails as too slow.
pub const SLOW_LIMIT: Duration = Duration::from_secs(5);

/// Time after which the watchdog takes an input for a hang and aborts.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Largest input the mutations build, in bytes.
pub const MAX_INPUT: usize = 1 << 20;

/// Inputs per target: `IRGATE_FUZZ_CASES`, else [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    match std::env::var("IRGATE_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("IRGATE_FUZZ_CASES={v:?} is not a number of cases")),
        Err(_) => DEFAULT_CASES,
    }
}

/// JSON tokens: structure, literals, escapes and numbers at the edges of what
/// `u64`, `i64` and `f64` hold.
pub const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "null",
    "true",
    "false",
    "{}",
    "[]",
    "\"\"",
    "\"a\":",
    "{\"\":null}",
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\ud83d\\ude00",
    "\\\"",
    "\\n",
    " ",
    "\n",
    "\t",
    "\r\n",
];

/// TOML tokens: tables, arrays of tables, inline tables, strings of each kind,
/// dates and special floats.
pub const TOML_TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "#",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\\",
    "\\u0000",
    "\\U0010FFFF",
    "\\uD800",
    "true",
    "false",
    "inf",
    "-inf",
    "nan",
    "+nan",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "0x7f",
    "0o17",
    "0b11",
    "1_000",
    "[benchmarks.\"g/f\"]",
    "[environment]",
    "[[override]]",
    "a.b.c = 1",
    "x = {}",
    "x = []",
    "schema_version = 2",
    "schema_version = 1",
    "Ir = 1",
];

/// Markdown and comment tokens (the accept command and the embedded results).
pub const TEXT_TOKENS: &[&str] = &[
    "/irgate accept",
    "/irgate accept ",
    "/irgate accepted",
    "\n",
    "\r\n",
    "\r",
    " ",
    "    ",
    "\t",
    ">",
    "> ",
    "```",
    "~~~",
    "```json\n",
    "\n```",
    "<!--",
    "-->",
    "<!-->",
    "<!--->",
    "<!-- irgate:comparison -->",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "\u{0}",
];

/// Numbers at the edges: zero, signs, `u64`/`i64` limits and one past them, huge
/// integers, exponents out of range, and forms some formats refuse.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "01",
    "+1",
    "1.5",
    "-0.0",
    "1e2",
    "1E+2",
    "1e309",
    "-1e309",
    "1e-400",
    "2.5e-324",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "1.8e19",
    "18000000000000000000.0",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
    "0.000000000000000000000000000000000000000000000000001",
    "4294967296",
    "65536",
    "NaN",
    "Infinity",
    "1_000",
    "0x10",
];

/// Byte sequences that are not UTF-8: a lone continuation byte, overlong forms, a
/// surrogate, bytes above U+10FFFF and truncated sequences.
pub const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xbf",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xe0\x80\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xff",
    b"\xfe",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xc3",
];

/// What a nesting mutation opens (and closes when asked).
const NEST: &[(&str, &str)] = &[
    ("[", "]"),
    ("{\"a\":", "}"),
    ("{\"metrics\":", "}"),
    ("[{\"x\":", "}]"),
    ("a = [", "]"),
    ("[", ""),
    ("{", ""),
    ("x={a=", "}"),
    ("> ", ""),
    ("<!--", "-->"),
];

/// Seeds and dictionary of one target.
#[derive(Debug)]
pub struct Corpus {
    /// Starting points: name and bytes.
    pub seeds: Vec<(String, Vec<u8>)>,
    /// Tokens inserted by [`Mutation::InsertToken`] and [`Mutation::ReplaceQuoted`].
    pub dict: Vec<Vec<u8>>,
}

impl Corpus {
    /// A corpus of these seeds with the format's `tokens`, [`NUMBERS`] and the short
    /// quoted strings and bare words found in the seeds.
    pub fn new(seeds: Vec<(String, Vec<u8>)>, tokens: &[&str]) -> Self {
        assert!(!seeds.is_empty(), "a corpus needs at least one seed");
        let mut dict: Vec<Vec<u8>> = tokens
            .iter()
            .chain(NUMBERS)
            .map(|t| t.as_bytes().to_vec())
            .collect();
        let mut found = std::collections::BTreeSet::new();
        for (_, s) in &seeds {
            for q in quoted(s).into_iter().take(400) {
                let inner = &s[q.0..q.1];
                if !inner.is_empty() && inner.len() <= 40 {
                    found.insert(inner.to_vec());
                }
            }
            for w in s.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')) {
                if w.len() >= 2 && w.len() <= 32 && w[0].is_ascii_alphabetic() {
                    found.insert(w.to_vec());
                }
            }
        }
        dict.extend(found.into_iter().take(600));
        Self { seeds, dict }
    }

    /// Seeds from files: `(name, path)`.
    pub fn read(files: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
        files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p)
                    .unwrap_or_else(|e| panic!("cannot read seed {}: {e}", p.display()));
                (p.display().to_string(), bytes)
            })
            .collect()
    }
}

/// The files named `name` below `dir`, sorted.
pub fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no {name} below {}", dir.display());
    out
}

/// The byte ranges of the contents of double-quoted strings (escapes skipped).
fn quoted(s: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < s.len() && s[j] != b'"' && s[j] != b'\n' {
                j += if s[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(s.len());
            out.push((start, end));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The byte ranges of runs of digits (with a sign, fraction or exponent).
fn numbers(s: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i].is_ascii_digit() {
            let start = if i > 0 && s[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < s.len() && (s[j].is_ascii_digit() || b".eE+-".contains(&s[j])) {
                j += 1;
            }
            out.push((start, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// One change to an input. Positions are [`Index`]es, so that they fit any length and
/// shrink towards the start.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips one bit.
    FlipBit(Index, u8),
    /// Sets one byte.
    SetByte(Index, u8),
    /// Cuts the input at a position.
    Truncate(Index),
    /// Deletes up to `len` bytes.
    Delete(Index, u16),
    /// Inserts a dictionary token.
    InsertToken(Index, Index),
    /// Replaces the contents of a quoted string with a dictionary token.
    ReplaceQuoted(Index, Index),
    /// Replaces a number with one of [`NUMBERS`].
    ReplaceNumber(Index, Index),
    /// Inserts up to `len` bytes taken from a seed.
    Splice(Index, Index, Index, u16),
    /// Repeats a range of up to `len` bytes `times` times.
    Duplicate(Index, u16, u8),
    /// Opens `depth` levels of nesting (closed too when the flag is set).
    Nest(Index, u32, Index, bool),
    /// Inserts a run of `2^k` copies of one byte.
    LongRun(Index, u8, u8),
    /// Inserts a sequence that is not UTF-8.
    InvalidUtf8(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<Index>;
    prop_oneof![
        3 => (i(), 0u8..8).prop_map(|(a, b)| Mutation::FlipBit(a, b)),
        2 => (i(), any::<u8>()).prop_map(|(a, b)| Mutation::SetByte(a, b)),
        1 => i().prop_map(Mutation::Truncate),
        2 => (i(), 1u16..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        3 => (i(), i()).prop_map(|(a, t)| Mutation::InsertToken(a, t)),
        3 => (i(), i()).prop_map(|(a, t)| Mutation::ReplaceQuoted(a, t)),
        3 => (i(), i()).prop_map(|(a, n)| Mutation::ReplaceNumber(a, n)),
        2 => (i(), i(), i(), 1u16..2048).prop_map(|(a, s, f, n)| Mutation::Splice(a, s, f, n)),
        1 => (i(), 1u16..512, 1u8..16).prop_map(|(a, n, t)| Mutation::Duplicate(a, n, t)),
        1 => (i(), prop_oneof![1u32..64, 64u32..4096, 4096u32..200_000], i(), any::<bool>())
            .prop_map(|(a, d, k, c)| Mutation::Nest(a, d, k, c)),
        1 => (i(), 0u8..18, any::<u8>()).prop_map(|(a, k, b)| Mutation::LongRun(a, k, b)),
        2 => (i(), i()).prop_map(|(a, k)| Mutation::InvalidUtf8(a, k)),
    ]
}

impl Mutation {
    /// Applies this mutation to `buf`; `corpus` gives tokens and splice donors.
    fn apply(&self, buf: &mut Vec<u8>, corpus: &Corpus) {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match self {
            Mutation::FlipBit(i, bit) => {
                if !buf.is_empty() {
                    let p = i.index(buf.len());
                    buf[p] ^= 1 << bit;
                }
            }
            Mutation::SetByte(i, b) => {
                if !buf.is_empty() {
                    let p = i.index(buf.len());
                    buf[p] = *b;
                }
            }
            Mutation::Truncate(i) => {
                let p = at(i, buf.len());
                buf.truncate(p);
            }
            Mutation::Delete(i, n) => {
                let p = at(i, buf.len());
                let end = (p + usize::from(*n)).min(buf.len());
                buf.drain(p..end);
            }
            Mutation::InsertToken(i, t) => {
                let p = at(i, buf.len());
                let tok = &corpus.dict[t.index(corpus.dict.len())];
                buf.splice(p..p, tok.iter().copied());
            }
            Mutation::ReplaceQuoted(i, t) => {
                let q = quoted(buf);
                if !q.is_empty() {
                    let (s, e) = q[i.index(q.len())];
                    let tok = corpus.dict[t.index(corpus.dict.len())].clone();
                    buf.splice(s..e, tok);
                }
            }
            Mutation::ReplaceNumber(i, n) => {
                let ns = numbers(buf);
                if !ns.is_empty() {
                    let (s, e) = ns[i.index(ns.len())];
                    let num = NUMBERS[n.index(NUMBERS.len())].as_bytes();
                    buf.splice(s..e, num.iter().copied());
                }
            }
            Mutation::Splice(i, s, f, n) => {
                let donor = &corpus.seeds[s.index(corpus.seeds.len())].1;
                if !donor.is_empty() {
                    let from = f.index(donor.len());
                    let end = (from + usize::from(*n)).min(donor.len());
                    let p = at(i, buf.len());
                    buf.splice(p..p, donor[from..end].iter().copied());
                }
            }
            Mutation::Duplicate(i, n, times) => {
                if !buf.is_empty() {
                    let p = i.index(buf.len());
                    let end = (p + usize::from(*n)).min(buf.len());
                    let chunk = buf[p..end].to_vec();
                    for _ in 0..*times {
                        buf.splice(end..end, chunk.iter().copied());
                    }
                }
            }
            Mutation::Nest(i, depth, k, close) => {
                let (open, shut) = NEST[k.index(NEST.len())];
                let p = at(i, buf.len());
                let d = (*depth as usize).min(MAX_INPUT / open.len().max(1));
                let mut ins = open.repeat(d).into_bytes();
                if *close {
                    ins.extend(shut.repeat(d).into_bytes());
                }
                buf.splice(p..p, ins);
            }
            Mutation::LongRun(i, k, b) => {
                let p = at(i, buf.len());
                let n = 1usize << k;
                buf.splice(p..p, std::iter::repeat_n(*b, n));
            }
            Mutation::InvalidUtf8(i, k) => {
                let p = at(i, buf.len());
                let seq = INVALID_UTF8[k.index(INVALID_UTF8.len())];
                buf.splice(p..p, seq.iter().copied());
            }
        }
        buf.truncate(MAX_INPUT);
    }
}

/// How an input was made.
#[derive(Debug, Clone)]
pub enum Recipe {
    /// A seed with mutations.
    Mutated(Index, Vec<Mutation>),
    /// Arbitrary bytes.
    Raw,
    /// A sequence of dictionary tokens.
    Tokens(Vec<Index>),
}

/// Bytes shown as an escaped byte string, so that a failure prints the exact input.
#[derive(Clone)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes: b\"", self.0.len())?;
        for &b in &self.0 {
            write!(f, "{}", std::ascii::escape_default(b))?;
        }
        f.write_str("\"")
    }
}

/// One generated input: how it was made and its bytes.
#[derive(Debug, Clone)]
pub struct Case {
    /// Seed name (for mutated inputs) or the kind of input.
    pub origin: String,
    /// How it was made (what proptest shrinks).
    pub recipe: Recipe,
    /// The input.
    pub bytes: Bytes,
}

/// Inputs for `corpus`: mostly mutated seeds, some arbitrary bytes and token
/// sequences.
pub fn inputs(corpus: Arc<Corpus>) -> impl Strategy<Value = Case> {
    let mutated = (any::<Index>(), prop::collection::vec(mutation(), 1..=8))
        .prop_map(|(s, m)| Recipe::Mutated(s, m));
    let raw = prop::collection::vec(any::<u8>(), 0..2048).prop_map(|b| (Recipe::Raw, b));
    let tokens = prop::collection::vec(any::<Index>(), 0..200).prop_map(Recipe::Tokens);
    let c2 = corpus.clone();
    let built = prop_oneof![8 => mutated, 1 => tokens].prop_map(move |r| {
        let (origin, bytes) = build(&r, &c2);
        Case {
            origin,
            recipe: r,
            bytes: Bytes(bytes),
        }
    });
    prop_oneof![
        9 => built,
        1 => raw.prop_map(|(recipe, b)| Case {
            origin: "arbitrary bytes".into(),
            recipe,
            bytes: Bytes(b),
        }),
    ]
}

fn build(r: &Recipe, corpus: &Corpus) -> (String, Vec<u8>) {
    match r {
        Recipe::Mutated(s, ms) => {
            let (name, seed) = &corpus.seeds[s.index(corpus.seeds.len())];
            let mut buf = seed.clone();
            for m in ms {
                m.apply(&mut buf, corpus);
            }
            (name.clone(), buf)
        }
        Recipe::Tokens(ts) => {
            let mut buf = Vec::new();
            for t in ts {
                buf.extend_from_slice(&corpus.dict[t.index(corpus.dict.len())]);
            }
            ("dictionary tokens".into(), buf)
        }
        Recipe::Raw => ("arbitrary bytes".into(), Vec::new()),
    }
}

/// What the parser made of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (read, decoded or found).
    Accepted,
    /// Refused with an error (or nothing found).
    Rejected,
}

/// The input being run by one target, for the watchdog.
struct Watch {
    /// Nanoseconds since `base` when the current input started; 0 when idle.
    started: AtomicU64,
    base: Instant,
    input: Mutex<Vec<u8>>,
    done: AtomicBool,
}

/// Runs `property` on [`cases`] inputs made from `corpus` and prints the figures
/// (inputs, accepted, refused, wall time). Fails (panics) with proptest's minimal
/// failing input, printed as exact bytes, when the property fails, panics or takes
/// longer than [`SLOW_LIMIT`].
pub fn run<F>(target: &'static str, corpus: Corpus, property: F)
where
    F: Fn(&[u8]) -> Result<Outcome, TestCaseError>,
{
    let cases = cases();
    let corpus = Arc::new(corpus);
    let watch = Arc::new(Watch {
        started: AtomicU64::new(0),
        base: Instant::now(),
        input: Mutex::new(Vec::new()),
        done: AtomicBool::new(false),
    });
    let dog = {
        let watch = watch.clone();
        std::thread::spawn(move || watchdog(target, &watch))
    };
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz.proptest-regressions"
        )))),
        max_shrink_time: 120_000,
        max_shrink_iters: 20_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let accepted = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    let bytes_total = AtomicU64::new(0);
    let start = Instant::now();
    let result = runner.run(&inputs(corpus), |case| {
        let bytes = &case.bytes.0;
        {
            let mut slot = watch.input.lock().unwrap();
            slot.clear();
            slot.extend_from_slice(bytes);
        }
        let t0 = Instant::now();
        watch
            .started
            .store((t0 - watch.base).as_nanos().max(1) as u64, Ordering::SeqCst);
        let outcome = property(bytes);
        let took = t0.elapsed();
        watch.started.store(0, Ordering::SeqCst);
        let outcome = outcome?;
        prop_assert!(
            took < SLOW_LIMIT,
            "{target}: one input took {took:?} (limit {SLOW_LIMIT:?})"
        );
        bytes_total.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        match outcome {
            Outcome::Accepted => accepted.fetch_add(1, Ordering::Relaxed),
            Outcome::Rejected => refused.fetch_add(1, Ordering::Relaxed),
        };
        Ok(())
    });
    let wall = start.elapsed();
    watch.done.store(true, Ordering::SeqCst);
    dog.join().unwrap();
    let (a, r) = (
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    eprintln!(
        "fuzz {target}: {} inputs ({a} accepted, {r} refused, {:.1} MB) in {:.1} s: {}",
        a + r,
        bytes_total.load(Ordering::Relaxed) as f64 / 1e6,
        wall.as_secs_f64(),
        if result.is_ok() { "ok" } else { "FAILED" }
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => {
            panic!("{target}: {why}\nminimal failing input: {case:#?}")
        }
        Err(TestError::Abort(why)) => panic!("{target}: aborted: {why}"),
    }
}

/// Polls the running input; past [`HANG_LIMIT`] it saves the input and aborts.
fn watchdog(target: &str, watch: &Watch) {
    while !watch.done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let started = watch.started.load(Ordering::SeqCst);
        if started == 0 {
            continue;
        }
        let running = (watch.base.elapsed()).saturating_sub(Duration::from_nanos(started));
        if running > HANG_LIMIT {
            let input = watch.input.lock().map(|g| g.clone()).unwrap_or_default();
            let file = std::env::temp_dir().join(format!("irgate-fuzz-hang-{target}.bin"));
            let saved = std::fs::write(&file, &input).is_ok();
            eprintln!(
                "fuzz {target}: an input has run for {running:?} (more than {HANG_LIMIT:?}); \
                 its {} bytes are {}",
                input.len(),
                if saved {
                    format!("in {}", file.display())
                } else {
                    format!("{:?}", Bytes(input.clone()))
                }
            );
            std::process::abort();
        }
    }
}
