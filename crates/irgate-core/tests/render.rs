//! Snapshot tests of the renderers on real fixture runs and hand-built edge cases, and
//! the escaping and size promises of the markdown renderer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use irgate_core::baseline::{Baseline, BaselineEntry, BaselineSet, Provenance};
use irgate_core::render::{escape_markdown, markdown, terminal, MarkdownOptions, TerminalOptions};
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
        package: "pkg".into(),
        bench: bench.into(),
        source_file: None,
        environment: env(),
        benchmarks: Default::default(),
    };
    for (name, old, new) in rows {
        let id: irgate_core::BenchId = name.parse().unwrap();
        let mut m = Metrics::default();
        m.insert("Ir", old);
        b.benchmarks.insert(
            id.key_in_suite(),
            BaselineEntry {
                metrics: m.clone(),
                provenance: Provenance::default(),
            },
        );
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

/// Bidi controls and zero-width characters would let a name read differently
/// from what it is; they are shown as `<U+XXXX>`. `$` is written as an entity
/// so that GitHub's math rendering cannot take a name as a formula.
#[test]
fn invisible_characters_and_dollars_in_names_are_shown_escaped() {
    assert_eq!(
        escape_markdown("a\u{202e}b\u{2066}c\u{200b}d\u{200d}e\u{2060}f\u{feff}g"),
        "a&lt;U+202E&gt;b&lt;U+2066&gt;c&lt;U+200B&gt;d&lt;U+200D&gt;e&lt;U+2060&gt;f&lt;U+FEFF&gt;g"
    );
    assert_eq!(
        escape_markdown("$x^2$ and $$y$$"),
        "&#36;x^2&#36; and &#36;&#36;y&#36;&#36;"
    );
    let invisible: Vec<char> = ('\u{202a}'..='\u{202e}')
        .chain('\u{2066}'..='\u{2069}')
        .chain(['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'])
        .collect();
    for ch in &invisible {
        let escaped = escape_markdown(&format!("x{ch}y"));
        assert!(!escaped.contains(*ch), "{:04X} survived", u32::from(*ch));
        assert_eq!(escaped, format!("x&lt;U+{:04X}&gt;y", u32::from(*ch)));
    }
    let name = "pkg/iai/group/evil\u{202e}txt.exe_$x$";
    let md = markdown(
        &ir_comparison("iai", [(name, 1000, 2000)]),
        &MarkdownOptions::default(),
    );
    assert!(
        md.contains("evil&lt;U+202E&gt;txt.exe\\_&#36;x&#36;"),
        "{md}"
    );
    assert!(!md.contains('$'), "{md}");
    // The escaper's own word joiner after `@`/`#` is the only invisible left.
    for ch in invisible.iter().filter(|c| **c != '\u{2060}') {
        assert!(!md.contains(*ch), "{:04X} in {md}", u32::from(*ch));
    }
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
