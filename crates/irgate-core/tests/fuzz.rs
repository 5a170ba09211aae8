//! Fuzzing the parsers of untrusted input: summaries v3 to v7 and the stream,
//! baselines (schema 1 and 2), the policy and the comparison document. Each target
//! starts from real files and mutates them (see `fuzzing/mod.rs`), and also feeds
//! arbitrary bytes and token sequences.
//!
//! Properties: no input panics or takes longer than the limit; an error names the
//! file, and a line within it where it gives one; what is accepted is consistent
//! (every benchmark read has an `Ir`; a baseline written back with `to_toml` and a
//! comparison written back with `to_json` parse to the same value).
//!
//! `IRGATE_FUZZ_CASES` sets the inputs per target (default 256). The figures of the
//! long runs and their commands are in `docs/FUZZING.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzzing;

use std::path::{Path, PathBuf};

use fuzzing::{files_named, run, Corpus, Outcome, JSON_TOKENS, TOML_TOKENS};
use irgate_core::baseline::{Baseline, BaselineError};
use irgate_core::read::{parse_bytes, ReadOptions};
use irgate_core::render::{markdown, MarkdownOptions};
use irgate_core::{BenchId, Comparison, Policy, PolicyError, ReadError};
use proptest::prelude::*;

/// A refused input: the message starts with the file's name, and a line it
/// names is one of the input's lines.
fn refused(
    path: &str,
    message: &str,
    line: Option<usize>,
    input: &[u8],
) -> Result<Outcome, TestCaseError> {
    prop_assert!(message.starts_with(path), "{message}");
    if let Some(line) = line {
        let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
        prop_assert!(
            line >= 1 && line <= lines,
            "line {line} of {lines}: {message}"
        );
    }
    Ok(Outcome::Rejected)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `summary.json` files of these fixture directories.
fn summaries(dirs: &[&str]) -> Vec<(String, Vec<u8>)> {
    let files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| files_named(&fixtures().join(d), "summary.json"))
        .collect();
    Corpus::read(&files)
}

/// The name summaries are parsed under, as the reader would meet one.
const SUMMARY_PATH: &str = "target/gungraun/pkg/bench/group/function/summary.json";

/// Summary reader property: no panic; an error names the file and a line within
/// the input; every benchmark read has an `Ir` and an id below its package.
fn summary_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    match parse_bytes(Path::new(SUMMARY_PATH), bytes, &ReadOptions::default()) {
        Ok(results) => {
            prop_assert!(!results.is_empty());
            for (id, result) in &results {
                prop_assert!(result.metrics.ir().is_some(), "{id} has no Ir");
                let text = id.to_string();
                prop_assert!(
                    text.parse::<BenchId>().is_ok(),
                    "id {text:?} does not parse"
                );
            }
            Ok(Outcome::Accepted)
        }
        Err(e) => {
            let line = match &e {
                ReadError::Json { line, .. } => Some(*line),
                _ => None,
            };
            refused(SUMMARY_PATH, &e.to_string(), line, bytes)
        }
    }
}

fn summary_target(target: &'static str, dirs: &[&str]) {
    run(
        target,
        Corpus::new(summaries(dirs), JSON_TOKENS),
        summary_property,
    );
}

#[test]
fn fuzz_summary_v3() {
    summary_target("summary_v3", &["harness/iai-callgrind-0.14.2"]);
}

#[test]
fn fuzz_summary_v4() {
    summary_target("summary_v4", &["harness/iai-callgrind-0.15.1"]);
}

#[test]
fn fuzz_summary_v5() {
    summary_target("summary_v5", &["harness/iai-callgrind-0.15.2"]);
}

#[test]
fn fuzz_summary_v6() {
    summary_target(
        "summary_v6",
        &[
            "harness/iai-callgrind-0.16.1",
            "harness/gungraun-0.17.2",
            "v6",
        ],
    );
}

#[test]
fn fuzz_summary_v7() {
    summary_target("summary_v7", &["harness/gungraun-0.20.0", "v7"]);
}

/// The `--output-format=json` stream: the real v7 stream, and a stream of one
/// summary of each version (v3 to v7) one per line.
#[test]
fn fuzz_summary_stream() {
    let mut seeds = Corpus::read(&[fixtures().join("stream-v7.jsonl")]);
    let mut mixed = Vec::new();
    for dir in [
        "harness/iai-callgrind-0.14.2",
        "harness/iai-callgrind-0.15.1",
        "harness/iai-callgrind-0.15.2",
        "harness/iai-callgrind-0.16.1",
        "harness/gungraun-0.20.0",
    ] {
        let (_, text) = summaries(&[dir]).swap_remove(0);
        mixed.extend(text.iter().filter(|&&b| b != b'\n'));
        mixed.push(b'\n');
    }
    seeds.push(("one summary of each version, one per line".into(), mixed));
    run(
        "summary_stream",
        Corpus::new(seeds, JSON_TOKENS),
        summary_property,
    );
}

/// The name baselines are parsed under.
const BASELINE_PATH: &str = "baselines/pkg/ir.toml";

/// A schema 1 baseline as irgate wrote it before schema 2 (one provenance per file).
const BASELINE_V1: &str = r#"schema_version = 1
package = "pkg"
bench = "ir"
source_file = "benches/ir.rs"

[provenance]
commit = "1111111111111111111111111111111111111111"
accepted_at = "2026-11-01T10:00:00Z"
accepted_by = "alice"
reason = "first baselines"

[environment]
valgrind = "valgrind-3.19.0"
runner = "gungraun-runner 0.20.0"
rustc = "rustc 1.95.0 (59807616e 2026-04-14)"
glibc_tunables = "glibc.cpu.hwcaps=-ERMS"

[environment.extra]
callgrind_args = "--cache-sim=no"

[environment.canary]
alloc = 243083
memcpy = 200118

[benchmarks."g/a"]
Dr = 5
Ir = 100

[benchmarks."g/b/case_1"]
Ir = 200
EstimatedCycles = 18446744073709
"#;

/// The repository's real schema 2 baseline, cut after its first `n` benchmarks (the
/// whole file is 60 KB; its header, environment and a few entries hold every shape).
fn real_baseline(n: usize) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../baselines/scarab-plugins/ir.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let cut = text
        .match_indices("\n[benchmarks.")
        .nth(n)
        .map_or(text.len(), |(i, _)| i + 1);
    text.as_bytes()[..cut].to_vec()
}

/// Baseline property: no panic; an error names the file and a line within it; an
/// accepted baseline is written by `to_toml` and reads back equal.
fn baseline_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    let path = Path::new(BASELINE_PATH);
    match Baseline::parse(path, &text) {
        Ok(b) => {
            let written = b.to_toml().map_err(|e| {
                TestCaseError::fail(format!("an accepted baseline cannot be written: {e}"))
            })?;
            let back = Baseline::parse(path, &written).map_err(|e| {
                TestCaseError::fail(format!(
                    "the written baseline does not read back: {e}\n{written}"
                ))
            })?;
            prop_assert_eq!(&back, &b, "written:\n{}", written);
            Ok(Outcome::Accepted)
        }
        Err(e) => {
            let line = match &e {
                BaselineError::Parse { line, .. } => Some(*line),
                _ => None,
            };
            refused(BASELINE_PATH, &e.to_string(), line, text.as_bytes())
        }
    }
}

#[test]
fn fuzz_baseline_v1() {
    let seeds = vec![(
        "schema 1 baseline".to_owned(),
        BASELINE_V1.as_bytes().to_vec(),
    )];
    run(
        "baseline_v1",
        Corpus::new(seeds, TOML_TOKENS),
        baseline_property,
    );
}

#[test]
fn fuzz_baseline_v2() {
    let seeds = vec![
        (
            "baselines/scarab-plugins/ir.toml, first 3 benchmarks".to_owned(),
            real_baseline(3),
        ),
        (
            "baselines/scarab-plugins/ir.toml, no benchmark".to_owned(),
            real_baseline(0),
        ),
    ];
    run(
        "baseline_v2",
        Corpus::new(seeds, TOML_TOKENS),
        baseline_property,
    );
}

/// The name policies are parsed under.
const POLICY_PATH: &str = "irgate.toml";

/// A policy with every key, overrides included.
const POLICY_FULL: &str = r#"metric = "EstimatedCycles"
threshold_pct = 1.25
floor = 100
on_new = "fail"
on_missing = "warn"
on_drift = "ignore"
drift_evidence = false
drift_ignore = ["cpu_model", "extra.exec_dir", "canary.memcpy"]

[[override]]
match = "scarab-plugins/ir/peers/lua/**"
threshold_pct = 3.0

[[override]]
match = "pkg/*/g/{a,b}?"
floor = 0
on_regression = "warn"
"#;

/// Policy property: no panic; an error names the file and a line within it; an
/// accepted policy gives a rule for any benchmark.
fn policy_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    match Policy::parse(Path::new(POLICY_PATH), &text) {
        Ok(p) => {
            for id in [
                "scarab-plugins/ir/peers/lua/mixed_100",
                "pkg/x/g/a1",
                "a/b/c/d/e",
            ] {
                let rule = p.rule_for(&id.parse::<BenchId>().unwrap());
                prop_assert!(rule.threshold_pct.is_finite() && rule.threshold_pct >= 0.0);
            }
            Ok(Outcome::Accepted)
        }
        Err(e) => {
            let line = match &e {
                PolicyError::Invalid { line, .. } => Some(*line),
                _ => None,
            };
            refused(POLICY_PATH, &e.to_string(), line, text.as_bytes())
        }
    }
}

#[test]
fn fuzz_policy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../irgate.toml");
    let mut seeds = Corpus::read(&[root]);
    seeds.push(("every policy key".into(), POLICY_FULL.as_bytes().to_vec()));
    let mut tokens = TOML_TOKENS.to_vec();
    tokens.extend([
        "*",
        "**",
        "**/",
        "?",
        "[!a]",
        "[a-z]",
        "{a,b}",
        "{",
        ",",
        "\\*",
        "[\u{0}-\u{10ffff}]",
    ]);
    run("policy", Corpus::new(seeds, &tokens), policy_property);
}

/// Comparison property: no panic; an accepted document renders as markdown and
/// reads back equal from its `to_json`.
fn comparison_property(bytes: &[u8]) -> Result<Outcome, TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    match Comparison::from_json(&text) {
        Ok(c) => {
            let back = Comparison::from_json(&c.to_json()).map_err(|e| {
                TestCaseError::fail(format!("an accepted comparison does not read back: {e}"))
            })?;
            prop_assert_eq!(&back, &c);
            let md = markdown(&c, &MarkdownOptions::default());
            prop_assert!(!md.is_empty());
            Ok(Outcome::Accepted)
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            Ok(Outcome::Rejected)
        }
    }
}

#[test]
fn fuzz_comparison_json() {
    let seeds = Corpus::read(&[
        fixtures().join("comparison-sample.json"),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../irgate-github/tests/fixtures/comparison-sample.json"),
    ]);
    run(
        "comparison_json",
        Corpus::new(seeds, JSON_TOKENS),
        comparison_property,
    );
}

/// The seeds are accepted as they are: a mutation starts from a valid input, so the
/// targets reach past the first check.
#[test]
fn every_seed_is_accepted_unmutated() {
    let check = |name: &str, outcome: Result<Outcome, TestCaseError>| {
        assert_eq!(outcome.unwrap(), Outcome::Accepted, "{name}");
    };
    for dir in ["harness", "v6", "v7"] {
        for (name, bytes) in summaries(&[dir]) {
            check(&name, summary_property(&bytes));
        }
    }
    check(
        "stream",
        summary_property(&std::fs::read(fixtures().join("stream-v7.jsonl")).unwrap()),
    );
    check("baseline v1", baseline_property(BASELINE_V1.as_bytes()));
    check("baseline v2", baseline_property(&real_baseline(3)));
    check(
        "baseline v2, all",
        baseline_property(&real_baseline(usize::MAX)),
    );
    check("policy", policy_property(POLICY_FULL.as_bytes()));
    check(
        "comparison",
        comparison_property(&std::fs::read(fixtures().join("comparison-sample.json")).unwrap()),
    );
}

// Regressions: inputs the fuzzer found, each as it was minimised.

/// `fuzz_baseline_v1` found a schema 1 baseline whose `package` is `"\u0000"`: it was
/// read, but `to_toml` puts the package into the header comment, where a control
/// character is not allowed (a newline there would even start a TOML line), so the
/// written file did not read back. The names are now refused when read.
#[test]
fn regression_baseline_package_with_a_control_character_is_refused() {
    let input = BASELINE_V1
        .replacen("package = \"pkg\"", "package = \"\\u0000\"", 1)
        .replacen("commit = \"1111", "commit = \"a = [1111", 1);
    assert_eq!(input.len(), 617, "the input as the fuzzer minimised it");
    let e = Baseline::parse(Path::new(BASELINE_PATH), &input).unwrap_err();
    assert_eq!(
        e.to_string(),
        "baselines/pkg/ir.toml: `package` \"\\0\" contains the control character '\\0'"
    );
    let newline = BASELINE_V1.replacen("bench = \"ir\"", "bench = \"ir\\nschema_version = 1\"", 1);
    let e = Baseline::parse(Path::new(BASELINE_PATH), &newline).unwrap_err();
    assert!(e.to_string().contains("`bench`"), "{e}");
    baseline_property(input.as_bytes()).unwrap();
}

/// `fuzz_policy` found a policy whose `match` is 131,072 bytes 0x80 (read as as many
/// U+FFFD): the glob library panicked ("regex compilation shouldn't fail") on the
/// regex that large a glob makes. Patterns longer than `MAX_PATTERN_CHARS` are now
/// refused at their position; the longest allowed patterns of the costliest kinds
/// compile.
#[test]
fn regression_policy_huge_glob_is_refused_not_a_panic() {
    let mut input = POLICY_FULL.as_bytes().to_vec();
    let at = POLICY_FULL.find("match = \"").unwrap() + "match = \"".len();
    input.splice(at..at, std::iter::repeat_n(0x80, 1 << 17));
    assert_eq!(input.len(), 131_422, "the input as the fuzzer minimised it");
    let text = String::from_utf8_lossy(&input);
    let e = Policy::parse(Path::new(POLICY_PATH), &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "irgate.toml:11:9: `match` is 131102 characters long; a pattern may have at most 1024"
    );
    policy_property(&input).unwrap();
    let limit = irgate_core::policy::MAX_PATTERN_CHARS;
    for unit in [
        "\u{fffd}",
        "[!a]",
        "{a,b}",
        "*",
        "**/",
        "[\u{0}-\u{10ffff}]",
        "?",
    ] {
        let n = limit / unit.chars().count();
        let pattern = unit.repeat(n);
        let policy = format!("[[override]]\nmatch = {}\n", toml_string(&pattern));
        match Policy::parse(Path::new(POLICY_PATH), &policy) {
            Ok(_) => {}
            Err(e) => assert!(e.to_string().starts_with("irgate.toml:2:"), "{unit}: {e}"),
        }
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
