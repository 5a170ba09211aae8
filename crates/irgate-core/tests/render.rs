//! Snapshot tests of the renderers on real fixture runs and hand-built edge cases, and
//! the escaping and size promises of the markdown renderer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use irgate_core::baseline::{Baseline, BaselineSet, Provenance};
use irgate_core::render::{markdown, terminal, MarkdownOptions, TerminalOptions};
use irgate_core::{compare, BenchResult, Comparison, Environment, Metrics, Policy, Run};

fn env() -> Environment {
    Environment {
        valgrind: Some("valgrind-3.19.0".into()),
        runner: Some("gungraun-runner 0.20.0".into()),
        rustc: Some("rustc 1.95.0".into()),
        target: Some("x86_64-unknown-linux-gnu".into()),
        glibc: Some("glibc 2.36".into()),
        glibc_tunables: Some("glibc.cpu.hwcaps=-ERMS".into()),
        cpu_model: Some("Example CPU".into()),
        cpu_flags: Some("avx2 erms".into()),
        cache: None,
        extra: Default::default(),
        canary: Default::default(),
    }
}

fn real_run() -> Run {
    common::fixture_run(env())
}

/// The real run against itself with `compute/scaled` 1% more expensive.
fn real_comparison() -> Comparison {
    let base = real_run();
    let set = common::accept_into_set(&base);
    let mut run = base.clone();
    for (id, r) in &mut run.benchmarks {
        if id.function() == "scaled" {
            let ir = r.metrics.ir().unwrap();
            r.metrics.insert("Ir", ir + ir / 100);
        }
        if id.function() == "clone_64k" {
            let ir = r.metrics.ir().unwrap();
            r.metrics.insert("Ir", ir / 10);
        }
    }
    compare(&run, &set, &Policy::default()).unwrap()
}

#[test]
fn markdown_of_real_run() {
    insta::assert_snapshot!(markdown(&real_comparison(), &MarkdownOptions::default()));
}

#[test]
fn terminal_of_real_run_without_colour() {
    let out = terminal(
        &real_comparison(),
        &TerminalOptions {
            color: false,
            show_unchanged: true,
        },
    );
    assert!(!out.contains('\u{1b}'));
    insta::assert_snapshot!(out);
}

#[test]
fn terminal_colour_only_when_asked() {
    let out = terminal(
        &real_comparison(),
        &TerminalOptions {
            color: true,
            show_unchanged: false,
        },
    );
    assert!(out.contains("\u{1b}["));
}

#[test]
fn json_of_real_run_round_trips() {
    let c = real_comparison();
    let back = Comparison::from_json(&c.to_json()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn markdown_of_sample_fixture() {
    let c = Comparison::from_json(include_str!("fixtures/comparison-sample.json")).unwrap();
    insta::assert_snapshot!(markdown(&c, &MarkdownOptions::default()));
}

#[test]
fn markdown_when_could_not_judge() {
    let c = Comparison::could_not_judge(
        "baseline directory baselines does not exist (accept a run first: `irgate accept`)",
        None,
    );
    insta::assert_snapshot!(markdown(&c, &MarkdownOptions::default()));
}

/// Compares a run of one suite `pkg/<bench>` against its baseline; each row is a
/// benchmark name with its baseline and its new Ir.
fn ir_comparison<'a>(
    bench: &str,
    rows: impl IntoIterator<Item = (&'a str, u64, u64)>,
) -> Comparison {
    let mut set = BaselineSet::default();
    let mut run = Run {
        environment: env(),
        ..Run::default()
    };
    let mut b = Baseline {
        schema_version: 1,
        package: "pkg".into(),
        bench: bench.into(),
        source_file: None,
        provenance: Provenance::default(),
        environment: env(),
        benchmarks: Default::default(),
    };
    for (name, old, new) in rows {
        let id: irgate_core::BenchId = name.parse().unwrap();
        let mut m = Metrics::default();
        m.insert("Ir", old);
        b.benchmarks.insert(id.key_in_suite(), m.clone());
        m.insert("Ir", new);
        run.benchmarks.insert(
            id,
            BenchResult {
                metrics: m,
                source_file: None,
            },
        );
    }
    set.suites.insert(b.suite(), b);
    compare(&run, &set, &Policy::default()).unwrap()
}

/// A run whose benchmark names carry hostile text.
fn hostile() -> Comparison {
    let names = [
        "pkg/iai/group/a|b|c".to_owned(),
        "pkg/iai/group/<script>alert(1)</script>".to_owned(),
        "pkg/iai/group/@user".to_owned(),
        "pkg/iai/group/`rm -rf`".to_owned(),
        "pkg/iai/group/line\nbreak\r\n# heading".to_owned(),
        format!("pkg/iai/group/{}", "x".repeat(10 * 1024)),
        "pkg/iai/group/[link](javascript:alert(1)) **bold** _em_ ~~s~~ <!-- c -->".to_owned(),
    ];
    ir_comparison("iai", names.iter().map(|n| (n.as_str(), 1000, 2000)))
}

#[test]
fn hostile_names_are_escaped() {
    let md = markdown(&hostile(), &MarkdownOptions::default());
    assert!(!md.contains("<script"), "{md}");
    assert!(!md.contains("<!--"), "{md}");
    assert!(!md.contains("@user"), "mention survived");
    assert!(!md.contains('`'), "backtick survived");
    assert!(!md.contains("[link]("), "link survived");
    assert!(md.contains("\\[link\\]"));
    // Every table row has exactly the 6 pipes of its 5 cells: nothing broke a table.
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        assert_eq!(line.matches('|').count(), 6, "{line}");
    }
    // No name produced a line of its own (newlines were neutralised).
    assert!(!md
        .lines()
        .any(|l| l.starts_with("break") || l.starts_with("# heading")));
    // The 10 KB name is shortened.
    assert!(!md.contains(&"x".repeat(200)));
    insta::assert_snapshot!(md);
}

#[test]
fn hostile_names_cannot_drive_the_terminal() {
    let out = terminal(
        &hostile(),
        &TerminalOptions {
            color: false,
            show_unchanged: true,
        },
    );
    assert!(!out.contains('\r'));
    assert!(!out.contains("line\nbreak"));
    // The 10 KB name is shortened, so no line is anywhere near its length.
    assert!(out.lines().all(|l| l.chars().count() < 400), "{out}");
}

#[test]
fn markdown_is_capped_with_a_note_and_never_contradicts_itself() {
    let names: Vec<String> = (0..5000u64)
        .map(|i| format!("pkg/big/group/function_with_a_long_name_{i:05}"))
        .collect();
    let c = ir_comparison(
        "big",
        names.iter().enumerate().map(|(i, n)| {
            let new = if i % 3 == 0 { 150_000 } else { 100_000 };
            (n.as_str(), 100_000, new)
        }),
    );
    let md = markdown(&c, &MarkdownOptions::default());
    assert!(md.len() < 65_000, "{}", md.len());
    assert!(md.contains("**Truncated:**"));
    assert!(md.contains("1667 regressed"), "{}", &md[..300]);
    assert!(
        md.trim_end().ends_with("</sub>"),
        "environment line comes last"
    );
    let small = markdown(
        &c,
        &MarkdownOptions {
            max_chars: 2_000,
            ..MarkdownOptions::default()
        },
    );
    assert!(small.len() <= 2_000);
    assert!(small.contains("**Truncated:**"));
    assert!(small.starts_with("### ❌ irgate failed"));
}

#[test]
fn markdown_rows_go_largest_change_first_so_truncation_keeps_the_worst() {
    // 3,000 regressions of +50%, and one of +900% whose id sorts last.
    let names: Vec<String> = (0..3000u64)
        .map(|i| format!("pkg/big/group/function_with_a_long_name_{i:05}"))
        .collect();
    let mut rows: Vec<(&str, u64, u64)> = names
        .iter()
        .map(|n| (n.as_str(), 100_000, 150_000))
        .collect();
    rows.push(("pkg/big/group/zz_worst", 100_000, 1_000_000));
    rows.push(("pkg/big/group/zz_better", 100_000, 10_000));
    rows.push(("pkg/big/group/zz_slightly_better", 100_000, 90_000));
    let c = ir_comparison("big", rows);
    let md = markdown(
        &c,
        &MarkdownOptions {
            max_chars: 4_000,
            ..MarkdownOptions::default()
        },
    );
    assert!(md.contains("**Truncated:**"), "{md}");
    let table = md.split("#### Regressions").nth(1).unwrap();
    let first_row = table.lines().find(|l| l.starts_with("| pkg/")).unwrap();
    assert!(first_row.contains("zz\\_worst"), "{first_row}");
    // Improvements are ordered the same way.
    let c = ir_comparison(
        "small",
        [
            ("pkg/small/group/a_slightly_better", 100_000, 90_000),
            ("pkg/small/group/zz_better", 100_000, 10_000),
        ],
    );
    let md = markdown(&c, &MarkdownOptions::default());
    let improved = md.split("#### Improvements").nth(1).unwrap();
    let better = improved.find("zz\\_better").unwrap();
    let slightly = improved.find("a\\_slightly\\_better").unwrap();
    assert!(better < slightly, "{improved}");
}

#[test]
fn tiny_changes_are_not_shown_as_zero_and_wide_numbers_keep_their_columns() {
    let c = ir_comparison(
        "wide",
        [
            ("pkg/wide/g/tiny", 1_000_000_000, 1_000_000_050),
            ("pkg/wide/g/tiny_down", 1_000_000_000, 999_999_950),
            ("pkg/wide/g/huge", 10, 18_000_000_000_000_000_000),
        ],
    );
    let out = terminal(
        &c,
        &TerminalOptions {
            color: false,
            show_unchanged: true,
        },
    );
    assert!(out.contains("+<0.01% (+50)"), "{out}");
    assert!(out.contains("-<0.01% (-50)"), "{out}");
    assert!(!out.contains("+0.00% (+50)"), "{out}");
    // Every row's CHANGE cell ends at the same column as the header's.
    let lines: Vec<&str> = out
        .lines()
        .take_while(|l| !l.starts_with("environment"))
        .collect();
    let end = lines[0].chars().count();
    for l in &lines {
        assert_eq!(l.chars().count(), end, "{out}");
    }
    let md = markdown(&c, &MarkdownOptions::default());
    assert!(md.contains("+&lt;0.01% (+50)"), "{md}");
    assert!(md.contains("(3 benchmarks"), "{md}");
    let one = ir_comparison("one", [("pkg/one/g/f", 10, 10)]);
    assert!(
        markdown(&one, &MarkdownOptions::default()).contains("(1 benchmark, gated on Ir)"),
        "{}",
        markdown(&one, &MarkdownOptions::default())
    );
}
