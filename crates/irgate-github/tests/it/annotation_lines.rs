//! Annotation lines against the real instruction-count suite of this
//! repository (`crates/scarab-plugins/benches/ir.rs`), whose benchmarks are
//! Gungraun `#[library_benchmark]` functions with `#[bench::<id>]` cases, many
//! of them sharing case names (`none`, `lazy`, `lines_10`, ...).
use irgate_core::source::definition_line;

fn ir_rs() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scarab-plugins/benches/ir.rs"
    );
    std::fs::read_to_string(path).unwrap()
}

/// Every `(function, case)` of the file, found by a plain top-to-bottom scan:
/// the `#[bench::<case>` lines seen since the last `fn` belong to the next one.
fn cases(src: &str) -> Vec<(String, String)> {
    let mut pending = Vec::new();
    let mut out = Vec::new();
    for line in src.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("#[bench::") {
            let case: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            pending.push(case);
        } else if let Some(rest) = t.strip_prefix("fn ") {
            let function: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            for case in pending.drain(..) {
                out.push((function.clone(), case));
            }
        }
    }
    out
}

#[test]
fn every_case_of_the_real_suite_points_at_its_own_attribute() {
    let src = ir_rs();
    let lines: Vec<&str> = src.lines().collect();
    let all = cases(&src);
    assert!(
        all.len() > 40,
        "expected the full suite, found {}",
        all.len()
    );
    let mut shared = 0;
    for (function, case) in &all {
        if all.iter().filter(|(_, c)| c == case).count() > 1 {
            shared += 1;
        }
        let line = definition_line(&src, function, Some(case)) as usize;
        let text = lines[line - 1].trim_start();
        assert!(
            text.starts_with(&format!("#[bench::{case}(")),
            "{function}/{case}: line {line} is `{text}`"
        );
        // The next function definition after that line is the benchmark's own.
        let next_fn = lines[line..]
            .iter()
            .map(|l| l.trim_start())
            .find(|l| l.starts_with("fn "))
            .unwrap();
        assert!(
            next_fn.starts_with(&format!("fn {function}(")),
            "{function}/{case}: line {line} belongs to `{next_fn}`"
        );
    }
    assert!(shared > 10, "the suite shares case names between functions");
}

#[test]
fn a_benchmark_id_of_the_real_suite_without_case_points_at_its_fn() {
    let src = ir_rs();
    let lines: Vec<&str> = src.lines().collect();
    for function in ["output", "input", "resize", "dir", "dir_first_line"] {
        let line = definition_line(&src, function, None) as usize;
        assert!(
            lines[line - 1].starts_with(&format!("fn {function}(")),
            "{function}: line {line} is `{}`",
            lines[line - 1]
        );
    }
}
