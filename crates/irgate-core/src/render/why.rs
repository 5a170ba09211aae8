//! The "why" of a regressed or improved benchmark, as every renderer shows it: at
//! most [`SHOWN_MOVERS`] functions by self Ir change, each with its share of the
//! benchmark's change, then one line for all other functions, so that the lines add
//! up to the change.

use crate::comparison::BenchComparison;
use crate::render::markdown::{escape_markdown, is_invisible};
use crate::why::{Mover, MoverKind, Why, WhyStatus};

/// How many functions a rendering shows per benchmark.
pub const SHOWN_MOVERS: usize = 5;

/// Longest function name shown before it is shortened with `…`.
const MAX_FUNCTION_CHARS: usize = 140;

/// One row of a why block.
struct Row {
    /// The function (raw; each renderer escapes it), or `None` for the rest.
    function: Option<String>,
    kind: Option<MoverKind>,
    self_delta: i64,
    /// The delta is a lower bound (`entered`).
    at_least: bool,
    share: Option<f64>,
    inclusive_delta: Option<i64>,
}

/// The rows of an explained why: the first [`SHOWN_MOVERS`] self movers, then the
/// rest of the benchmark's change (`delta` minus the shown deltas), when not zero.
fn rows(why: &Why, delta: i64) -> Vec<Row> {
    let shown: Vec<&Mover> = why.self_movers.iter().take(SHOWN_MOVERS).collect();
    let mut out: Vec<Row> = shown
        .iter()
        .map(|m| Row {
            function: Some(m.function.clone()),
            kind: Some(m.kind),
            self_delta: m.self_delta,
            at_least: m.kind == MoverKind::Entered,
            share: m.self_share_pct,
            inclusive_delta: Some(m.inclusive_delta),
        })
        .collect();
    let sum: i64 = shown.iter().map(|m| m.self_delta).sum();
    let rest = delta.saturating_sub(sum);
    if rest != 0 {
        out.push(Row {
            function: None,
            kind: None,
            self_delta: rest,
            at_least: false,
            share: (delta != 0).then(|| rest as f64 * 100.0 / delta as f64),
            inclusive_delta: None,
        });
    }
    out
}

fn signed(d: i64) -> String {
    let sign = if d < 0 { "-" } else { "+" };
    format!("{sign}{}", super::thousands(d.unsigned_abs()))
}

fn delta_text(r: &Row) -> String {
    if r.at_least {
        format!("≥ {}", signed(r.self_delta))
    } else {
        signed(r.self_delta)
    }
}

fn share_text(share: Option<f64>) -> String {
    share.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%"))
}

fn kind_text(k: MoverKind) -> &'static str {
    match k {
        MoverKind::Changed => "changed",
        MoverKind::New => "new",
        MoverKind::Vanished => "vanished",
        MoverKind::Entered => "entered the stored top (earlier cost unknown, below the cutoff)",
    }
}

/// Shortens `s` to [`MAX_FUNCTION_CHARS`] characters.
fn shorten(s: &str) -> String {
    if s.chars().count() > MAX_FUNCTION_CHARS {
        let mut t: String = s.chars().take(MAX_FUNCTION_CHARS - 1).collect();
        t.push('…');
        t
    } else {
        s.to_owned()
    }
}

/// Untrusted text for a terminal or a plain-text annotation: control characters
/// become `?` and invisible ones (bidirectional controls, zero-width characters)
/// `<U+XXXX>`, so a name can neither move the cursor nor reorder what is shown.
pub fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push('?');
        } else if is_invisible(c) {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The why of `b` as plain lines (terminal, check-run annotation); empty when it
/// has none. Names go through [`plain_text`].
pub fn why_plain_lines(b: &BenchComparison) -> Vec<String> {
    let Some(why) = &b.why else {
        return Vec::new();
    };
    if why.status != WhyStatus::Explained {
        return vec![format!("why: not explained: {}", plain_text(&why.message))];
    }
    let delta = b.delta.unwrap_or(0);
    let mut out = vec![format!(
        "why ({} Ir; self Ir change by function, share of the change):",
        signed(delta)
    )];
    for r in rows(why, delta) {
        let name = match &r.function {
            Some(f) => plain_text(&shorten(f)),
            None => "all other functions".to_owned(),
        };
        let mut line = format!("  {} {name} ({})", delta_text(&r), share_text(r.share));
        if let Some(k) = r.kind.filter(|k| *k != MoverKind::Changed) {
            line.push_str(&format!(" [{}]", kind_text(k)));
        }
        out.push(line);
    }
    out
}

/// The why of a regression as a collapsed markdown `<details>` block; `None` when
/// the benchmark has none. Every name goes through [`escape_markdown`].
pub fn why_markdown(b: &BenchComparison, title: &str) -> Option<String> {
    let why = b.why.as_ref()?;
    let delta = b.delta.unwrap_or(0);
    let mut s = format!(
        "<details><summary>Why: {title} ({} Ir)</summary>\n\n",
        signed(delta)
    );
    if why.status != WhyStatus::Explained {
        s.push_str(&format!(
            "Not explained: {}\n\n</details>\n\n",
            escape_markdown(&why.message)
        ));
        return Some(s);
    }
    s.push_str("| Function | Self Δ | Share | Inclusive Δ | |\n|---|---:|---:|---:|---|\n");
    for r in rows(why, delta) {
        let name = match &r.function {
            Some(f) => escape_markdown(&shorten(f)),
            None => "*all other functions*".to_owned(),
        };
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} |\n",
            escape_markdown(&delta_text(&r)),
            share_text(r.share),
            r.inclusive_delta.map_or_else(String::new, |d| {
                if r.at_least {
                    format!("≥ {}", signed(d))
                } else {
                    signed(d)
                }
            }),
            r.kind
                .filter(|k| *k != MoverKind::Changed)
                .map_or("", kind_text)
        ));
    }
    if !why.stored_complete {
        s.push_str("\nThe stored profile keeps the top functions only; `≥` marks a lower bound.\n");
    }
    s.push_str("\n</details>\n\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::comparison::{Comparison, EnvironmentCheck, RunVerdict, Verdict};
    use crate::model::{Environment, Metrics};
    use crate::policy::Action;

    const HOSTILE: &str = "evil `@octocat` <img src=x onerror=alert(1)> | [x](http://e) \u{202e}gnp.exe **b** #1 $x$ \u{1b}[31m\nnext";

    fn mover(function: &str, kind: MoverKind, self_delta: i64, delta: i64) -> Mover {
        Mover {
            function: function.into(),
            kind,
            baseline_self: Some(1),
            current_self: 1,
            baseline_inclusive: Some(1),
            current_inclusive: 1,
            self_delta,
            inclusive_delta: self_delta * 2,
            self_share_pct: Some(self_delta as f64 * 100.0 / delta as f64),
        }
    }

    fn regressed(why: Option<Why>) -> BenchComparison {
        BenchComparison {
            id: "pkg/ir/g/f".parse().unwrap(),
            verdict: Verdict::Regressed,
            action: Action::Fail,
            metric: "Ir".into(),
            baseline: Some(1000),
            current: Some(2000),
            delta: Some(1000),
            change_pct: Some(100.0),
            threshold_pct: 0.5,
            floor: 10,
            source_file: None,
            current_metrics: Metrics::default(),
            why,
        }
    }

    fn explained(movers: Vec<Mover>) -> Why {
        Why {
            status: WhyStatus::Explained,
            message: "m".into(),
            self_movers: movers,
            inclusive_movers: Vec::new(),
            unlisted_self_delta: 0,
            stored_complete: false,
        }
    }

    fn comparison(b: BenchComparison) -> Comparison {
        Comparison::new(
            "Ir",
            vec![b],
            EnvironmentCheck {
                verdict: RunVerdict::Consistent,
                action: Action::Fail,
                changes: Vec::new(),
                current: Environment::default(),
                informational: Vec::new(),
                evidence_rule: true,
            },
        )
    }

    #[test]
    fn at_most_five_functions_then_the_rest_adding_up_to_the_change() {
        let movers: Vec<Mover> = (0..7)
            .map(|i| mover(&format!("f{i}"), MoverKind::Changed, 100 - i, 1000))
            .collect();
        let b = regressed(Some(explained(movers)));
        let md = why_markdown(&b, "pkg/ir/g/f").unwrap();
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        // Header, five functions, the rest.
        assert_eq!(rows.len(), 7, "{md}");
        assert!(rows[1].starts_with("| f0 | +100 | 10.0% | +200 |"), "{md}");
        // 100 + 99 + 98 + 97 + 96 = 490 shown; 510 is the rest.
        assert!(
            rows[6].starts_with("| *all other functions* | +510 | 51.0% |"),
            "{md}"
        );
        assert!(md.starts_with("<details><summary>Why: pkg/ir/g/f (+1,000 Ir)</summary>"));
        assert!(md.contains("`≥` marks a lower bound"), "{md}");

        let plain = why_plain_lines(&b);
        assert_eq!(plain.len(), 7, "{plain:?}");
        assert_eq!(plain[6], "  +510 all other functions (51.0%)");
    }

    #[test]
    fn the_why_round_trips_through_json_and_older_documents_still_read() {
        let movers = vec![mover("malloc", MoverKind::New, 600, 1000)];
        let c = comparison(regressed(Some(explained(movers))));
        let json = c.to_json();
        assert!(json.contains("\"why\": {"), "{json}");
        assert_eq!(Comparison::from_json(&json).unwrap(), c);
        // A document without the field (written before it existed) reads as before.
        let old = comparison(regressed(None));
        let text = old.to_json();
        assert!(!text.contains("\"why\""), "{text}");
        assert_eq!(Comparison::from_json(&text).unwrap(), old);
    }

    #[test]
    fn an_unexplained_why_says_so_and_lists_no_function() {
        let why = Why {
            status: WhyStatus::StaleProfile,
            message: "the stored profile is stale: <b>".into(),
            self_movers: Vec::new(),
            inclusive_movers: Vec::new(),
            unlisted_self_delta: 0,
            stored_complete: false,
        };
        let b = regressed(Some(why));
        let md = why_markdown(&b, "t").unwrap();
        assert!(
            md.contains("Not explained: the stored profile is stale: &lt;b&gt;"),
            "{md}"
        );
        assert!(!md.contains("| "), "{md}");
        assert_eq!(
            why_plain_lines(&b),
            ["why: not explained: the stored profile is stale: <b>"]
        );
        assert!(why_markdown(&regressed(None), "t").is_none());
    }

    #[test]
    fn a_hostile_function_name_renders_inert() {
        let movers = vec![
            mover(HOSTILE, MoverKind::Changed, 600, 1000),
            mover("ok", MoverKind::Entered, 400, 1000),
        ];
        let c = comparison(regressed(Some(explained(movers))));
        let md = crate::render::markdown(&c, &crate::render::MarkdownOptions::default());
        let block = &md[md.find("<details><summary>Why").unwrap()..];
        let row = block.lines().find(|l| l.starts_with("| evil")).unwrap();
        // One table row with exactly the five cells: no `|` of the name survived.
        assert_eq!(row.matches(" | ").count(), 4, "{row}");
        for bad in [
            "<img", "@octocat", "`", "[x](http", "\u{202e}", "\u{1b}", "**b**", "$x$", "\n next",
        ] {
            assert!(!row.contains(bad), "{bad:?} in {row}");
        }
        assert!(row.contains("&lt;img"), "{row}");
        assert!(row.contains("@\u{2060}octocat"), "{row}");
        assert!(row.contains("&lt;U+202E&gt;"), "{row}");
        assert!(
            block.contains("| ok | ≥ +400 | 40.0% | ≥ +800 | entered"),
            "{block}"
        );

        let term = crate::render::terminal(&c, &crate::render::TerminalOptions::default());
        assert!(
            !term.contains('\u{202e}') && !term.contains('\u{1b}'),
            "{term}"
        );
        assert!(term.contains("<U+202E>gnp.exe"), "{term}");
        let lines: Vec<&str> = term.lines().filter(|l| l.contains("evil")).collect();
        assert_eq!(
            lines.len(),
            1,
            "the newline in the name stays on one line: {term}"
        );
    }
}
