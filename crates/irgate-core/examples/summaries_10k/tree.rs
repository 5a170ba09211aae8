//! The 10,000-summary fixture: the real `compute/scaled` v7 summary, renamed and
//! rescaled into 10 bench targets of 1,000 benchmarks each. Shared by the `compare`
//! bench and the `summaries_10k` example, so both measure the same input.

use std::path::Path;

/// Bench targets in the fixture.
pub const SUITES: usize = 10;
/// Benchmarks in the fixture.
pub const N: usize = 10_000;

/// The instruction count of benchmark `i` of a suite.
pub fn ir(i: usize) -> u64 {
    10_000 + (i as u64 * 7919) % 1_000_000
}

/// The real summary every fixture summary is made from.
pub fn template() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v7/irgate-fixture-bench/fixture/compute/scaled/summary.json"
    ))
    .expect("the v7 fixture summary");
    serde_json::from_str(&text).expect("the v7 fixture summary is JSON")
}

/// The `N` summaries as `(directory below the results root, JSON text)`, in a fixed
/// order: `pkg/suite_<s>/group_<i % 17>/function_<i>.case`.
pub fn summaries() -> impl Iterator<Item = (String, String)> {
    let template = template();
    (0..SUITES).flat_map(move |s| {
        let template = template.clone();
        (0..N / SUITES).map(move |i| {
            let (g, f) = (format!("group_{}", i % 17), format!("function_{i}"));
            let mut v = template.clone();
            v["module_path"] = format!("suite_{s}::{g}::{f}").into();
            v["function_name"] = f.clone().into();
            v["group"] = g.clone().into();
            v["id"] = "case".into();
            v["output_dir"] =
                format!("/home/runner/work/x/target/gungraun/pkg/suite_{s}/{g}/{f}.case").into();
            v["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]["new"] = ir(i).into();
            let text = serde_json::to_string(&v).expect("a JSON value serializes");
            (format!("pkg/suite_{s}/{g}/{f}.case"), text)
        })
    })
}

/// Writes the summaries as a tree of `summary.json` files below `dir`, and returns them
/// as one `--output-format=json` stream (one object per line).
pub fn write_tree(dir: &Path) -> std::io::Result<String> {
    let mut stream = String::new();
    for (sub, text) in summaries() {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("summary.json"), &text)?;
        stream.push_str(&text);
        stream.push('\n');
    }
    Ok(stream)
}
