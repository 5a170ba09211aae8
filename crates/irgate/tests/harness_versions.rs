//! The command line on the real summaries of every older harness version (schemas v3
//! to v6): `irgate accept` takes them, and `irgate compare` of the same summaries
//! against those baselines passes with every benchmark unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

mod common;

use common::{irgate, text};

/// The fixture directories of `crates/irgate-core/tests/fixtures/harness/` that
/// hold schemas v3 to v6 (v7 is covered by the other CLI tests).
const OLDER: [&str; 5] = [
    "iai-callgrind-0.14.2",
    "iai-callgrind-0.15.1",
    "iai-callgrind-0.15.2",
    "iai-callgrind-0.16.1",
    "gungraun-0.17.2",
];

fn summaries(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../irgate-core/tests/fixtures/harness")
        .join(name)
        .join("summaries")
}

/// How many `summary.json` files are below `dir`.
fn count_summaries(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                count_summaries(&p)
            } else {
                usize::from(p.file_name().is_some_and(|n| n == "summary.json"))
            }
        })
        .sum()
}

#[test]
fn older_schemas_are_accepted_and_compare_unchanged() {
    for name in OLDER {
        let results = summaries(name);
        let n = count_summaries(&results);
        assert!(n >= 3, "{name}: {n} summaries");
        let results = results.to_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.json"), "{}").unwrap();
        let accept = irgate(
            dir.path(),
            &[
                "accept",
                "--baselines",
                "baselines",
                "--reason",
                "older harness",
                "--commit",
                "abcabcabcabcabcabcabcabcabcabcabcabcabca",
                "--env",
                "env.json",
                results,
            ],
        );
        assert!(accept.status.success(), "{name}: {}", text(&accept));
        let compare = irgate(
            dir.path(),
            &[
                "compare",
                "--baselines",
                "baselines",
                "--env",
                "env.json",
                "--format",
                "json",
                results,
            ],
        );
        assert_eq!(compare.status.code(), Some(0), "{name}: {}", text(&compare));
        let doc: serde_json::Value = serde_json::from_slice(&compare.stdout).unwrap();
        assert_eq!(doc["gate"], "passed", "{name}: {doc}");
        let benchmarks = doc["benchmarks"].as_array().unwrap();
        assert_eq!(benchmarks.len(), n, "{name}: {doc}");
        for b in benchmarks {
            assert_eq!(b["verdict"], "unchanged", "{name}: {b}");
            assert!(
                b["current"].as_u64().is_some_and(|ir| ir > 0),
                "{name}: {b}"
            );
        }
        assert_eq!(doc["counts"]["unchanged"], n, "{name}: {doc}");
    }
}
