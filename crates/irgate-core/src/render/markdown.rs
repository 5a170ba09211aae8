//! Markdown for the PR comment and `$GITHUB_STEP_SUMMARY`.
//!
//! Shape: one verdict line; the reasons; a table of regressions, then missing and new
//! benchmarks, then improvements, each sorted by the size of the change, largest first;
//! under the regressions, a collapsed `<details>` "why" block for each one that has a
//! [`crate::why::Why`]; unchanged results collapsed in `<details>`; one
//! environment line at the end. Every string that came from input is escaped so it
//! cannot break a table, inject HTML or `@mention` anyone. The output is capped below
//! [`DEFAULT_MAX_CHARS`] bytes with an explicit truncation note.

use crate::comparison::{BenchComparison, Comparison, Gate, Verdict};
use crate::render::{change_text, headline, thousands, value_text};

/// Default cap on the output length, in bytes (GitHub allows 65,536 characters).
pub const DEFAULT_MAX_CHARS: usize = 65_000;

/// Longest benchmark name shown before it is shortened with `…`.
const MAX_NAME_CHARS: usize = 160;

/// Options for [`markdown`].
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    /// Upper bound on the output length in bytes; clamped to [`DEFAULT_MAX_CHARS`].
    pub max_chars: usize,
    /// A hidden marker placed first (e.g. `<!-- irgate -->` for a sticky comment);
    /// emitted verbatim, so it must come from trusted code.
    pub marker: Option<String>,
    /// Where the full results are (e.g. an artifact URL), named in the truncation note.
    pub details_url: Option<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        Self {
            max_chars: DEFAULT_MAX_CHARS,
            marker: None,
            details_url: None,
        }
    }
}

/// Escapes untrusted text for use in markdown prose and table cells: no HTML, no
/// table breaks, no line breaks, no mentions or references, no emphasis or links,
/// no math (`$` becomes `&#36;`, so GitHub cannot render a name as a formula).
///
/// Characters that change how text reads without being seen are shown as
/// `<U+XXXX>` (written `&lt;U+XXXX&gt;`): the bidirectional controls
/// U+202A–U+202E, U+2066–U+2069 and the marks U+200E, U+200F, U+061C, and the
/// zero-width characters U+200B–U+200D, U+2060–U+2065 and U+FEFF. (The word joiner
/// U+2060 this function itself puts after `@` and `#` is the one exception.)
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            // A zero-width joiner after @ and # keeps GitHub from linking a user,
            // team or issue.
            '@' => out.push_str("@\u{2060}"),
            '#' => out.push_str("#\u{2060}"),
            '$' => out.push_str("&#36;"),
            c if is_invisible(c) => {
                out.push_str(&format!("&lt;U+{:04X}&gt;", u32::from(c)));
            }
            '\\' | '*' | '_' | '[' | ']' | '~' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Bidirectional controls and zero-width characters: [`escape_markdown`] and
/// the history's terminal listing show them as `U+XXXX`.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'..='\u{2065}'
            | '\u{feff}'
    )
}

fn name(b: &BenchComparison) -> String {
    let full = b.id.to_string();
    if full.chars().count() > MAX_NAME_CHARS {
        let short: String = full.chars().take(MAX_NAME_CHARS).collect();
        format!("{}…", escape_markdown(&short))
    } else {
        escape_markdown(&full)
    }
}

fn row(b: &BenchComparison) -> String {
    format!(
        "| {} | {} | {} | {} | {:.2}% |\n",
        name(b),
        value_text(b.baseline),
        value_text(b.current),
        escape_markdown(&change_text(b)),
        b.threshold_pct
    )
}

/// How large a change is, for ordering rows: the relative change (infinite from a
/// baseline of zero), then the absolute one. Missing and new benchmarks have neither
/// and keep their id order.
fn size_of_change(b: &BenchComparison) -> (f64, u64) {
    let abs = b.delta.map_or(0, i64::unsigned_abs);
    let rel = match b.change_pct {
        Some(p) if p.is_finite() => p.abs(),
        _ if abs > 0 => f64::INFINITY,
        _ => 0.0,
    };
    (rel, abs)
}

const TABLE_HEAD: &str =
    "| Benchmark | Baseline | Current | Change | Threshold |\n|---|---:|---:|---:|---:|\n";

/// Builds output within a byte budget, counting what did not fit.
struct Budget {
    out: String,
    limit: usize,
    dropped_rows: usize,
    /// Why blocks that did not fit.
    dropped_whys: usize,
}

impl Budget {
    fn push(&mut self, s: &str) -> bool {
        if self.out.len() + s.len() <= self.limit {
            self.out.push_str(s);
            true
        } else {
            false
        }
    }
}

/// Most benchmarks listed in the creep section; the rest are counted.
const MAX_CREEP_ROWS: usize = 20;

/// The "creep" section: benchmarks more than `max_pct` above the anchor.
fn creep_section(creep: &crate::creep::CreepReport) -> String {
    let short = creep.anchor_commit.get(..7).unwrap_or(&creep.anchor_commit);
    let mut s = format!(
        "#### Creep against {} ({}), at most +{}%{}\n\n",
        escape_markdown(&creep.anchor),
        escape_markdown(short),
        creep.max_pct,
        if creep.fails() {
            " (fails the gate)"
        } else {
            ""
        }
    );
    if creep.benchmarks.is_empty() {
        s.push_str(&format!(
            "None of the {} benchmark(s) measured against the anchor is above it by more than {}%.\n\n",
            creep.compared, creep.max_pct
        ));
        return s;
    }
    s.push_str("| Benchmark | At the anchor | Current | Rise |\n|---|---:|---:|---:|\n");
    for b in creep.benchmarks.iter().take(MAX_CREEP_ROWS) {
        s.push_str(&format!(
            "| {} | {} | {} | {:+.2}% |\n",
            escape_markdown(&b.id),
            thousands(b.anchor_value),
            thousands(b.current),
            b.change_pct
        ));
    }
    let rest = creep.benchmarks.len().saturating_sub(MAX_CREEP_ROWS);
    if rest > 0 {
        s.push_str(&format!("\n…and {rest} more above the limit.\n"));
    }
    s.push('\n');
    s
}

/// Most benchmarks listed in the drift-split section; the rest are counted.
const MAX_SPLIT_ROWS: usize = 20;

/// A share for a table cell: signed percent, or a dash when it has no value.
fn share(pct: Option<f64>) -> String {
    pct.map_or_else(|| "–".to_owned(), |p| format!("{p:+.2}%"))
}

/// The "drift split from code" section of `compare --rebase-on-drift`: the moved
/// benchmarks, the environment's share and the code's.
fn rebase_section(split: &crate::rebase::DriftSplit) -> String {
    let short = split.base_commit.get(..7).unwrap_or(&split.base_commit);
    // A revision given as a full commit id is named by its short form.
    let rev = if split.base_rev == split.base_commit {
        short
    } else {
        split.base_rev.as_str()
    };
    let against = if rev == short {
        escape_markdown(short)
    } else {
        format!("{} ({})", escape_markdown(rev), escape_markdown(short))
    };
    let mut s =
        format!("#### Drift split from code, against {against} run in this environment\n\n");
    let moved = split.moved();
    if moved.is_empty() {
        s.push_str(&format!(
            "None of the {} benchmark(s) moved, neither with the environment nor with the code.\n\n",
            split.benchmarks.len()
        ));
        return s;
    }
    s.push_str(&format!(
        "| Benchmark | Baseline | {} now | Head | Environment | Code (judged) |\n|---|---:|---:|---:|---:|---:|\n",
        escape_markdown(rev)
    ));
    let cell = |v: Option<u64>| v.map_or_else(|| "–".to_owned(), thousands);
    for b in moved.iter().take(MAX_SPLIT_ROWS) {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            escape_markdown(&b.id),
            cell(b.baseline),
            thousands(b.base_now),
            cell(b.head_now),
            share(b.environment_pct),
            share(b.code_pct)
        ));
    }
    let rest = moved.len().saturating_sub(MAX_SPLIT_ROWS);
    if rest > 0 {
        s.push_str(&format!("\n…and {rest} more that moved.\n"));
    }
    s.push_str(&format!(
        "\n{} of {} benchmark(s) moved; the others are the same in all three runs.\n\n",
        moved.len(),
        split.benchmarks.len()
    ));
    s
}

/// Renders `c` as GitHub-flavoured markdown, capped at `options.max_chars` bytes.
pub fn markdown(c: &Comparison, options: &MarkdownOptions) -> String {
    let cap = options.max_chars.min(DEFAULT_MAX_CHARS);
    let icon = match c.gate {
        Gate::Passed => "✅",
        Gate::Failed => "❌",
        Gate::CouldNotJudge => "⚠️",
    };
    let mut head = String::new();
    if let Some(m) = &options.marker {
        head.push_str(m);
        head.push('\n');
    }
    head.push_str(&format!("### {icon} {}\n\n", escape_markdown(&headline(c))));
    for r in &c.reasons {
        head.push_str(&format!("- {}\n", escape_markdown(r)));
    }
    let warnings = super::warning_lines(c);
    for w in &warnings {
        head.push_str(&format!("- warning: {}\n", escape_markdown(w)));
    }
    for n in &c.notes {
        head.push_str(&format!("- note: {}\n", escape_markdown(n)));
    }
    if !c.reasons.is_empty() || !warnings.is_empty() || !c.notes.is_empty() {
        head.push('\n');
    }
    if let Some(creep) = &c.creep {
        head.push_str(&creep_section(creep));
    }
    if let Some(split) = &c.rebase {
        head.push_str(&rebase_section(split));
    }

    // The end: truncation note (if needed) and environment line, always present.
    let env_line = match &c.environment {
        Some(e) => {
            let mut s = String::new();
            if !e.changes.is_empty() {
                let what: Vec<String> = e
                    .changes
                    .iter()
                    .map(|ch| {
                        format!(
                            "{}: {} → {}",
                            escape_markdown(&ch.field),
                            escape_markdown(&format!(
                                "{:?}",
                                ch.baseline.as_deref().unwrap_or("unknown")
                            )),
                            escape_markdown(&format!(
                                "{:?}",
                                ch.current.as_deref().unwrap_or("unknown")
                            ))
                        )
                    })
                    .collect();
                s.push_str(&format!(
                    "**Environment changed** ({}): {}  \n",
                    match e.action {
                        crate::policy::Action::Fail => "fails the gate",
                        crate::policy::Action::Warn => "warning",
                        crate::policy::Action::Ignore => "ignored",
                    },
                    what.join("; ")
                ));
            }
            s.push_str(&format!(
                "<sub>Environment: {}</sub>\n",
                escape_markdown(&e.current.one_line())
            ));
            s
        }
        None => String::new(),
    };
    // Room for both truncation notes (rows, why blocks) with a details URL.
    let note_reserve = 700;
    let mut b = Budget {
        out: String::new(),
        limit: cap.saturating_sub(env_line.len() + note_reserve),
        dropped_rows: 0,
        dropped_whys: 0,
    };
    // The headline is essential; if even it does not fit, cut it hard (never exceed cap).
    if !b.push(&head) {
        let mut h: String = head.chars().take(b.limit / 4).collect();
        h.push('\n');
        b.out.push_str(&h);
    }

    let sections: [(Verdict, &str, bool); 5] = [
        (Verdict::Regressed, "Regressions", false),
        (Verdict::Missing, "Missing benchmarks", false),
        (Verdict::New, "New benchmarks (no baseline)", false),
        (Verdict::Improved, "Improvements", false),
        (Verdict::Unchanged, "Unchanged", true),
    ];
    for (verdict, title, collapsed) in sections {
        let mut rows: Vec<&BenchComparison> = c.with_verdict(verdict).collect();
        // Largest change first, so that truncation never drops the worst one.
        rows.sort_by(|x, y| {
            let ((xr, xa), (yr, ya)) = (size_of_change(x), size_of_change(y));
            yr.total_cmp(&xr).then(ya.cmp(&xa))
        });
        if rows.is_empty() {
            continue;
        }
        let (open, close) = if collapsed {
            (
                format!(
                    "<details><summary>{title} ({})</summary>\n\n{TABLE_HEAD}",
                    rows.len()
                ),
                "\n</details>\n\n".to_owned(),
            )
        } else {
            (
                format!("#### {title} ({})\n\n{TABLE_HEAD}", rows.len()),
                "\n".to_owned(),
            )
        };
        // Room for the opening, the closing and at least one row.
        if b.out.len() + open.len() + close.len() > b.limit {
            b.dropped_rows += rows.len();
            continue;
        }
        b.out.push_str(&open);
        b.limit -= close.len();
        for r in &rows {
            if !b.push(&row(r)) {
                b.dropped_rows += 1;
            }
        }
        b.limit += close.len();
        b.out.push_str(&close);
        if verdict == Verdict::Regressed {
            // Under the table, one collapsed "why" per regression, in its order.
            for r in &rows {
                if let Some(block) = super::why_markdown(r, &name(r)) {
                    if !b.push(&block) {
                        b.dropped_whys += 1;
                    }
                }
            }
        }
    }

    let mut out = b.out;
    if b.dropped_whys > 0 {
        out.push_str(&format!(
            "> **Truncated:** {} \"why\" block(s) not shown to stay under {} characters; the JSON report has them.\n\n",
            b.dropped_whys, cap
        ));
    }
    if b.dropped_rows > 0 {
        let where_ = match &options.details_url {
            Some(u) => format!(" Full results: {}", escape_markdown(u)),
            None => " The JSON report has every result.".to_owned(),
        };
        out.push_str(&format!(
            "> **Truncated:** {} more row(s) not shown to stay under {} characters.{}\n\n",
            b.dropped_rows, cap, where_
        ));
    }
    out.push_str(&env_line);
    if out.len() > cap {
        // Cannot happen with the reserves above; keep the promise regardless.
        let mut end = cap;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}
