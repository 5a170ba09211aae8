//! Summaries of every harness version the reader supports (schemas v3 to v7): each
//! committed fixture is valid under the JSON schema its harness publishes, the reader
//! takes every one with the ids and Ir values the files hold, and each form a v3–v6
//! metric can take (`Left`, `Right`, `Both`; plain, `Int`, `Float`) is read or refused
//! as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use irgate_core::read::{parse_text, read_results, ReadError, ReadOptions};
use serde_json::Value;

/// The real fixtures of `tests/fixtures/harness/` (made by `ci/make-summary-fixtures`)
/// with the schema version each harness writes.
const HARNESS: [(&str, &str); 6] = [
    ("iai-callgrind-0.14.2", "3"),
    ("iai-callgrind-0.15.1", "4"),
    ("iai-callgrind-0.15.2", "5"),
    ("iai-callgrind-0.16.1", "6"),
    ("gungraun-0.17.2", "6"),
    ("gungraun-0.20.0", "7"),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn harness(name: &str) -> PathBuf {
    fixtures().join("harness").join(name).join("summaries")
}

/// Every `summary.json` below `dir`, sorted.
fn summary_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "summary.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The directory of the `gungraun-summary` package (a dev-dependency), found through
/// `cargo metadata`: its `schemas/` holds the published summary schemas.
fn schema_dir() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gungraun-summary" && p["version"] == "7.0.0")
        .expect("gungraun-summary 7.0.0 is a dev-dependency");
    let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
    manifest.parent().unwrap().join("schemas")
}

/// Every committed summary, with what it is: the harness fixtures, the hand-built
/// v6 one, the v7 ones and each line of the v7 stream.
fn all_fixtures() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, _) in HARNESS {
        for f in summary_files(&harness(name)) {
            out.push((f.display().to_string(), json(&f)));
        }
    }
    for dir in ["v6", "v7"] {
        for f in summary_files(&fixtures().join(dir)) {
            out.push((f.display().to_string(), json(&f)));
        }
    }
    let stream = fixtures().join("stream-v7.jsonl");
    for (i, line) in std::fs::read_to_string(&stream)
        .unwrap()
        .lines()
        .enumerate()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        // The stream may carry other records; summaries are the ones with a version.
        if v.get("version").is_some() {
            out.push((format!("{}:{}", stream.display(), i + 1), v));
        }
    }
    out
}

#[test]
fn every_fixture_is_valid_under_its_published_schema() {
    let dir = schema_dir();
    let mut validators = BTreeMap::new();
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 6 * 3, "{} fixtures", fixtures.len());
    let mut seen = BTreeMap::<String, usize>::new();
    for (name, summary) in &fixtures {
        let version = summary["version"].as_str().unwrap().to_owned();
        let validator = validators.entry(version.clone()).or_insert_with(|| {
            let schema = json(&dir.join(format!("summary.v{version}.schema.json")));
            jsonschema::validator_for(&schema).unwrap()
        });
        let errors: Vec<String> = validator
            .iter_errors(summary)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name} (v{version}): {errors:#?}");
        *seen.entry(version).or_default() += 1;
    }
    // Every version read is covered by at least one fixture.
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>(),
        ["3", "4", "5", "6", "7"]
    );
}

#[test]
fn each_harness_fixture_has_the_schema_version_its_harness_writes() {
    for (name, version) in HARNESS {
        let files = summary_files(&harness(name));
        assert!(files.len() >= 3, "{name}: {files:?}");
        for f in files {
            assert_eq!(json(&f)["version"], version, "{}", f.display());
        }
    }
}

/// The Callgrind profile of a v4–v7 summary.
fn callgrind(summary: &Value) -> &Value {
    summary["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tool"] == "Callgrind")
        .unwrap()
}

/// The new Ir of `summary`, taken from the JSON along the path of its version.
fn ir_in(summary: &Value) -> u64 {
    let v = match summary["version"].as_str().unwrap() {
        "3" => {
            &summary["callgrind_summary"]["callgrind_run"]["total"]["summary"]["Ir"]["metrics"]
                ["Left"]
        }
        "4" => &callgrind(summary)["summaries"]["total"]["summary"]["Callgrind"]["Ir"]["metrics"]
            ["Left"],
        "5" | "6" => &callgrind(summary)["summaries"]["total"]["summary"]["Callgrind"]["Ir"]
            ["metrics"]["Left"]["Int"],
        "7" => &callgrind(summary)["data"]["total"]["metrics"]["Ir"]["values"]["new"],
        other => panic!("version {other}"),
    };
    v.as_u64()
        .unwrap_or_else(|| panic!("no new Ir in {summary}"))
}

/// The benchmark id a summary's place in the layout names:
/// `<package>/<bench>/<group>/<function>[.<id>]/summary.json`.
fn id_from_layout(root: &Path, file: &Path) -> String {
    let rel = file.parent().unwrap().strip_prefix(root).unwrap();
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts.len(), 4, "{}", file.display());
    let last = match parts[3].split_once('.') {
        Some((function, id)) => format!("{function}/{id}"),
        None => parts[3].clone(),
    };
    format!("{}/{}/{}/{last}", parts[0], parts[1], parts[2])
}

#[test]
fn the_reader_reads_every_harness_fixture_with_its_ids_and_ir() {
    for (name, _) in HARNESS {
        let root = harness(name);
        let mut want: Vec<(String, u64)> = summary_files(&root)
            .iter()
            .map(|f| (id_from_layout(&root, f), ir_in(&json(f))))
            .collect();
        want.sort();
        let got: Vec<(String, u64)> =
            read_results(std::slice::from_ref(&root), &ReadOptions::default())
                .unwrap()
                .into_iter()
                .map(|r| (r.id.to_string(), r.result.metrics.ir().unwrap()))
                .collect();
        assert_eq!(got, want, "{name}");
        // The benchmarks of the fixture crate's bench source, one of them with ids.
        let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "irgate-summary-fixture/harness/compute/fibonacci/large",
                "irgate-summary-fixture/harness/compute/fibonacci/small",
                "irgate-summary-fixture/harness/compute/sum_squares",
            ],
            "{name}"
        );
    }
}

#[test]
fn the_bench_source_of_every_harness_fixture_maps_to_this_repository() {
    // The summaries name the machine that made them (made portable as
    // /home/runner/work/irgate/irgate); with this checkout as the root, the bench file
    // is found below it.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let options = ReadOptions {
        repo_root: Some(repo.canonicalize().unwrap()),
    };
    for (name, _) in HARNESS {
        for r in read_results(&[harness(name)], &options).unwrap() {
            assert_eq!(
                r.result.source_file.as_deref(),
                Some(
                    format!("crates/irgate-core/tests/fixtures/harness/{name}/benches/harness.rs")
                        .as_str()
                ),
                "{name}: {}",
                r.id
            );
        }
    }
}

/// The real `fibonacci/small` summary of `name`, as text.
fn small(name: &str) -> String {
    std::fs::read_to_string(
        harness(name).join("irgate-summary-fixture/harness/compute/fibonacci.small/summary.json"),
    )
    .unwrap()
}

/// The total Ir entry's `metrics` of a v3–v6 summary.
fn ir_metrics(summary: &mut Value) -> &mut Value {
    if summary["version"] == "3" {
        return &mut summary["callgrind_summary"]["callgrind_run"]["total"]["summary"]["Ir"]
            ["metrics"];
    }
    let profile = summary["profiles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["tool"] == "Callgrind")
        .unwrap();
    &mut profile["summaries"]["total"]["summary"]["Callgrind"]["Ir"]["metrics"]
}

/// `text` with the total Ir entry's `metrics`, which must be `from` (`N` standing for
/// the fixture's Ir, so that a changed fixture fails here rather than testing
/// nothing), replaced by `metrics`.
fn with_ir_metrics(text: &str, from: &str, metrics: &str) -> String {
    let mut v: Value = serde_json::from_str(text).unwrap();
    let from: Value = serde_json::from_str(&from.replace('N', &ir_in(&v).to_string())).unwrap();
    let entry = ir_metrics(&mut v);
    assert_eq!(*entry, from, "the fixture's form");
    *entry = serde_json::from_str(metrics).unwrap();
    v.to_string()
}

fn read_one(text: &str) -> Result<u64, ReadError> {
    let r = parse_text(Path::new("s.json"), text, &ReadOptions::default())?;
    assert_eq!(r.len(), 1);
    Ok(r[0].1.metrics.ir().unwrap())
}

#[test]
fn every_v5_and_v6_metric_form_is_read_or_refused() {
    for name in [
        "iai-callgrind-0.15.2",
        "iai-callgrind-0.16.1",
        "gungraun-0.17.2",
    ] {
        let text = small(name);
        let from = r#"{"Left":{"Int":N}}"#;
        let ir = ir_in(&serde_json::from_str(&text).unwrap());
        assert_eq!(read_one(&text).unwrap(), ir, "{name}: Left Int");
        for (metrics, want) in [
            (r#"{"Both":[{"Int":41},{"Int":40}]}"#, Ok(41)),
            (r#"{"Both":[{"Float":41.0},{"Int":40}]}"#, Ok(41)),
            (r#"{"Left":{"Float":42.0}}"#, Ok(42)),
            (r#"{"Left":{"Float":42.5}}"#, Err("non-integer count")),
            (r#"{"Left":{"Float":null}}"#, Err("non-finite count")),
            (r#"{"Right":{"Int":40}}"#, Err("only an old value")),
            (r#"{"Right":{"Float":40.0}}"#, Err("only an old value")),
            (r#"{"Left":43}"#, Err("not written as a v")),
            (r#"{"Left":{"Int":-1}}"#, Err("invalid value")),
            (r#"{"Left":{"Count":1}}"#, Err("unknown variant")),
            (r#"{"Neither":{"Int":1}}"#, Err("unknown variant")),
        ] {
            let t = with_ir_metrics(&text, from, metrics);
            match (read_one(&t), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}: {metrics}"),
                (Err(e), Err(want)) => {
                    assert!(e.to_string().contains(want), "{name}: {metrics}: {e}");
                    assert!(e.to_string().starts_with("s.json"), "{e}");
                }
                (got, want) => panic!("{name}: {metrics}: got {got:?}, want {want:?}"),
            }
        }
    }
}

#[test]
fn every_v3_and_v4_metric_form_is_read_or_refused() {
    for name in ["iai-callgrind-0.14.2", "iai-callgrind-0.15.1"] {
        let text = small(name);
        let from = r#"{"Left":N}"#;
        for (metrics, want) in [
            (r#"{"Both":[41,40]}"#, Ok(41)),
            (r#"{"Left":42}"#, Ok(42)),
            (r#"{"Right":40}"#, Err("only an old value")),
            (r#"{"Left":{"Int":42}}"#, Err("plain integers")),
            (r#"{"Left":-1}"#, Err("invalid type")),
            (r#"{"Left":1.5}"#, Err("invalid type")),
        ] {
            let t = with_ir_metrics(&text, from, metrics);
            match (read_one(&t), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}: {metrics}"),
                (Err(e), Err(want)) => {
                    assert!(e.to_string().contains(want), "{name}: {metrics}: {e}")
                }
                (got, want) => panic!("{name}: {metrics}: got {got:?}, want {want:?}"),
            }
        }
    }
}

#[test]
fn a_profile_of_a_tool_without_metrics_is_skipped() {
    // v4–v6 write `"summary": "None"` for tools without metrics (Massif, BBV) and
    // other tools' metrics under their own key: neither stops the Callgrind read.
    for name in [
        "iai-callgrind-0.15.1",
        "iai-callgrind-0.16.1",
        "gungraun-0.17.2",
    ] {
        let text = small(name);
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let ir = ir_in(&v);
        let mut massif = callgrind(&v).clone();
        massif["tool"] = "Massif".into();
        massif["summaries"]["total"]["summary"] = "None".into();
        let mut dhat = callgrind(&v).clone();
        dhat["tool"] = "DHAT".into();
        let calls = dhat["summaries"]["total"]["summary"]["Callgrind"].take();
        dhat["summaries"]["total"]["summary"] = serde_json::json!({ "Dhat": calls });
        let profiles = v["profiles"].as_array_mut().unwrap();
        profiles.insert(0, massif);
        profiles.insert(0, dhat);
        assert_eq!(read_one(&v.to_string()).unwrap(), ir, "{name}");
    }
}

#[test]
fn an_unsupported_version_names_the_file_the_version_and_what_is_read() {
    let text = small("gungraun-0.17.2").replacen(r#""version":"6""#, r#""version":"2""#, 1);
    let e = parse_text(Path::new("dir/s.json"), &text, &ReadOptions::default()).unwrap_err();
    assert!(matches!(&e, ReadError::UnsupportedVersion { version, .. } if version == "2"));
    let m = e.to_string();
    for part in [
        "dir/s.json",
        "\"2\"",
        "v3 (iai-callgrind 0.14)",
        "v4 (iai-callgrind 0.15.0 and 0.15.1)",
        "v5 (iai-callgrind 0.15.2)",
        "v6 (iai-callgrind 0.16, Gungraun 0.17 to 0.19)",
        "v7 (Gungraun 0.20)",
    ] {
        assert!(m.contains(part), "{part:?} in {m}");
    }
}
