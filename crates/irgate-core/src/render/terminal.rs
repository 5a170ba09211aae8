//! A plain table for terminals, coloured only when the caller says so (the CLI turns
//! colour off for `NO_COLOR`, `TERM=dumb` and output that is not a terminal).

use anstyle::{AnsiColor, Style};

use crate::comparison::{Comparison, Gate, Verdict};
use crate::render::{change_text, headline, value_text};

/// Options for [`terminal`].
#[derive(Debug, Clone, Default)]
pub struct TerminalOptions {
    /// Emit ANSI colour codes.
    pub color: bool,
    /// Also list unchanged benchmarks (otherwise only counted).
    pub show_unchanged: bool,
}

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Replaces control characters, bidi controls and invisible characters with `?`, so
/// a benchmark name cannot move the cursor, recolour the terminal or reorder and
/// hide what is shown.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || super::markdown::is_invisible(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Longest benchmark name shown in the table before it is shortened with `…`.
const MAX_NAME_CHARS: usize = 120;

/// [`sanitize`], shortened to [`MAX_NAME_CHARS`].
fn short_name(s: &str) -> String {
    let clean = sanitize(s);
    if clean.chars().count() > MAX_NAME_CHARS {
        let mut short: String = clean.chars().take(MAX_NAME_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        clean
    }
}

/// Renders `c` as a table for a terminal.
pub fn terminal(c: &Comparison, options: &TerminalOptions) -> String {
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    let dim = Style::new().dimmed();

    // Most important first: regressions, missing, new, improvements, unchanged.
    let rank = |v: Verdict| match v {
        Verdict::Regressed => 0,
        Verdict::Missing => 1,
        Verdict::New => 2,
        Verdict::Improved => 3,
        Verdict::Unchanged => 4,
    };
    let mut rows: Vec<_> = c
        .benchmarks
        .iter()
        .filter(|b| options.show_unchanged || b.verdict != Verdict::Unchanged)
        .collect();
    rows.sort_by_key(|b| rank(b.verdict));
    let names: Vec<String> = rows.iter().map(|b| short_name(&b.id.to_string())).collect();
    let w_name = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    // Each number column is as wide as its widest cell, at least as wide as before
    // (so that small runs keep their familiar layout) and never narrower than a value.
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|b| {
            [
                value_text(b.baseline),
                value_text(b.current),
                change_text(b),
            ]
        })
        .collect();
    let width = |i: usize, min: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
            .max(min)
    };
    let (w_base, w_cur, w_change) = (width(0, 15), width(1, 15), width(2, 22));
    let mut out = String::new();
    if !rows.is_empty() {
        out.push_str(&format!(
            "{:<10} {:<w_name$} {:>w_base$} {:>w_cur$} {:>w_change$}\n",
            "VERDICT", "BENCHMARK", "BASELINE", "CURRENT", "CHANGE"
        ));
    }
    for ((b, n), [base, cur, change]) in rows.iter().zip(&names).zip(&cells) {
        let style = match b.verdict {
            Verdict::Regressed => red,
            Verdict::Improved => green,
            Verdict::New | Verdict::Missing => yellow,
            Verdict::Unchanged => dim,
        };
        let verdict = paint(&format!("{:<10}", b.verdict.as_str()), style, options.color);
        out.push_str(&format!(
            "{verdict} {n:<w_name$} {base:>w_base$} {cur:>w_cur$} {change:>w_change$}\n"
        ));
        for line in super::why_plain_lines(b) {
            out.push_str(&paint(&format!("           {line}\n"), dim, options.color));
        }
    }
    if let Some(e) = &c.environment {
        for ch in &e.changes {
            out.push_str(&paint(
                &format!(
                    "environment changed: {}: {:?} -> {:?}\n",
                    ch.field,
                    sanitize(ch.baseline.as_deref().unwrap_or("unknown")),
                    sanitize(ch.current.as_deref().unwrap_or("unknown"))
                ),
                yellow,
                options.color,
            ));
        }
        out.push_str(&paint(
            &format!("environment: {}\n", sanitize(&e.current.one_line())),
            dim,
            options.color,
        ));
    }
    for r in &c.reasons {
        out.push_str(&format!("  - {}\n", sanitize(r)));
    }
    for w in super::warning_lines(c) {
        out.push_str(&paint(
            &format!("  - warning: {}\n", sanitize(&w)),
            yellow,
            options.color,
        ));
    }
    for n in &c.notes {
        out.push_str(&paint(
            &format!("  - note: {}\n", sanitize(n)),
            dim,
            options.color,
        ));
    }
    if let Some(creep) = &c.creep {
        out.push_str(&format!(
            "creep against {} ({}), at most +{}%: {} of {} benchmark(s) above\n",
            sanitize(&creep.anchor),
            sanitize(creep.anchor_commit.get(..7).unwrap_or(&creep.anchor_commit)),
            creep.max_pct,
            creep.benchmarks.len(),
            creep.compared
        ));
        for b in &creep.benchmarks {
            let line = format!(
                "  {}  {} -> {}  ({:+.2}%)\n",
                short_name(&b.id),
                super::thousands(b.anchor_value),
                super::thousands(b.current),
                b.change_pct
            );
            let paint_as = if creep.fails() { red } else { yellow };
            out.push_str(&paint(&line, paint_as, options.color));
        }
    }
    if let Some(split) = &c.rebase {
        let moved = split.moved();
        out.push_str(&format!(
            "drift split from code, against {} ({}) run in this environment: {} of {} benchmark(s) moved\n",
            sanitize(&split.base_rev),
            sanitize(split.base_commit.get(..7).unwrap_or(&split.base_commit)),
            moved.len(),
            split.benchmarks.len()
        ));
        let pct = |p: Option<f64>| p.map_or_else(|| "-".to_owned(), |p| format!("{p:+.2}%"));
        for b in moved {
            out.push_str(&format!(
                "  {}  environment {}, code {}\n",
                short_name(&b.id),
                pct(b.environment_pct),
                pct(b.code_pct)
            ));
        }
    }
    let style = match c.gate {
        Gate::Passed => green.bold(),
        Gate::Failed => red,
        Gate::CouldNotJudge => yellow.bold(),
    };
    out.push_str(&paint(&headline(c), style, options.color));
    out.push('\n');
    out
}
