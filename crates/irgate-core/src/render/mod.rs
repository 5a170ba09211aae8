//! Renderers of a [`Comparison`]: terminal, markdown and JSON.
//!
//! All renderers take the same comparison and derive their headline from the same
//! counts, so a summary line never contradicts the rows below it.

mod baselines;
mod history;
mod markdown;
mod terminal;
mod why;

pub use baselines::baseline_table;
pub use history::{history_json, history_markdown, history_svg, history_terminal, ChartError};
pub use markdown::{escape_markdown, markdown, MarkdownOptions, DEFAULT_MAX_CHARS};
pub use terminal::{sanitize as sanitize_terminal, terminal, TerminalOptions};
pub use why::{plain_text, why_markdown, why_plain_lines, SHOWN_MOVERS};

use crate::comparison::{BenchComparison, Comparison, Gate};

/// The output formats of `irgate compare` and `irgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human table for a terminal (colour when asked).
    Terminal,
    /// GitHub-flavoured markdown for PR comments and step summaries.
    Markdown,
    /// The versioned JSON document (`docs/COMPARISON_JSON.md`).
    Json,
}

impl Format {
    /// The names accepted by [`Format::from_str`](std::str::FromStr), in order.
    pub const NAMES: [&'static str; 3] = ["terminal", "markdown", "json"];
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "terminal" => Ok(Self::Terminal),
            "markdown" => Ok(Self::Markdown),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "unknown format {other:?}; choose from {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// `c` in `format`: the terminal table with `terminal`'s options, the markdown
/// with the default options, or the JSON document.
pub fn render(c: &Comparison, format: Format, terminal_options: &TerminalOptions) -> String {
    match format {
        Format::Terminal => terminal(c, terminal_options),
        Format::Markdown => markdown(c, &MarkdownOptions::default()),
        Format::Json => c.to_json(),
    }
}

/// A count with thousands separators, `1234567` → `1,234,567`: how every rendering of
/// irgate, and reports built on its results, print instruction counts.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `+1.23% (+456)` style change text.
pub(crate) fn change_text(b: &BenchComparison) -> String {
    let delta = match b.delta {
        Some(d) if d >= 0 => format!("+{}", thousands(d.unsigned_abs())),
        Some(d) => format!("-{}", thousands(d.unsigned_abs())),
        None => return String::new(),
    };
    match b.change_pct {
        // A change too small for two decimals still shows that it is not zero.
        Some(p) if p != 0.0 && p.abs() < 0.005 => {
            format!("{}<0.01% ({delta})", if p > 0.0 { '+' } else { '-' })
        }
        Some(p) => format!("{p:+.2}% ({delta})"),
        None => format!("n/a ({delta})"),
    }
}

/// `1,234` or `—`.
pub(crate) fn value_text(v: Option<u64>) -> String {
    v.map_or_else(|| "—".to_owned(), thousands)
}

/// What the policy reports without failing the gate, one sentence each.
pub(crate) fn warning_lines(c: &Comparison) -> Vec<String> {
    use crate::comparison::Verdict;
    use crate::policy::Action;
    let mut out = Vec::new();
    let warned = |v: Verdict| c.warnings().filter(|b| b.verdict == v).count();
    let n = warned(Verdict::New);
    if n > 0 {
        out.push(format!(
            "{} without a baseline (accept {} to start gating {})",
            count(n, "benchmark"),
            if n == 1 { "it" } else { "them" },
            if n == 1 { "it" } else { "them" }
        ));
    }
    let n = warned(Verdict::Missing);
    if n > 0 {
        out.push(format!(
            "{} without a benchmark in the run",
            count(n, "baseline")
        ));
    }
    let n = warned(Verdict::Regressed);
    if n > 0 {
        out.push(format!(
            "{} under a warn-only override",
            count(n, "regression")
        ));
    }
    if let Some(e) = &c.environment {
        if !e.changes.is_empty() && e.action == Action::Warn {
            out.push(e.difference_sentence());
        }
    }
    out
}

/// The one-line headline: outcome and counts.
pub(crate) fn headline(c: &Comparison) -> String {
    let n = &c.counts;
    let outcome = match c.gate {
        Gate::Passed => "passed",
        Gate::Failed => "failed",
        Gate::CouldNotJudge => "could not judge",
    };
    if c.gate == Gate::CouldNotJudge {
        return format!("irgate {outcome}");
    }
    format!(
        "irgate {outcome}: {} regressed, {} improved, {} unchanged, {} new, {} missing ({}, gated on {})",
        n.regressed,
        n.improved,
        n.unchanged,
        n.new,
        n.missing,
        count(n.total(), "benchmark"),
        c.metric
    )
}

/// `1 benchmark`, `2 benchmarks`: a count with its noun, singular for one.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(super::count(0, "benchmark"), "0 benchmarks");
        assert_eq!(super::count(1, "benchmark"), "1 benchmark");
        assert_eq!(super::count(2, "benchmark"), "2 benchmarks");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
