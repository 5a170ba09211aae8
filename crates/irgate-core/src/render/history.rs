//! Renderers of a [`History`]: a terminal listing, markdown tables, the JSON
//! document, and an SVG trend chart per benchmark (plotters' SVG backend: no
//! network, no browser, no fonts needed).

use plotters::prelude::*;

use super::markdown::is_invisible;
use super::{escape_markdown, thousands};
use crate::history::{History, Point};

/// Width of one benchmark's chart, in pixels.
const CHART_WIDTH: u32 = 800;
/// Height of one benchmark's chart, in pixels.
const CHART_HEIGHT: u32 = 260;

/// Text from a baseline file made inert for a terminal: control, bidirectional
/// and zero-width characters are shown as `<U+XXXX>`.
fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A date as its day (`2026-10-01T12:00:00Z` → `2026-10-01`).
fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The change column: `+55 (+0.45%)`, or `first` for the first point.
fn change_text(p: &Point) -> String {
    match (p.change, p.change_pct) {
        (None, _) => "first".into(),
        (Some(d), Some(pct)) => format!("{d:+} ({pct:+.2}%)"),
        (Some(d), None) => format!("{d:+}"),
    }
}

/// The history as text for a terminal: one block per benchmark, one line per
/// accepted value.
pub fn history_terminal(h: &History) -> String {
    let mut out = String::new();
    if h.benchmarks.is_empty() {
        out.push_str("no accepted values in the history of the baselines\n");
    }
    for b in &h.benchmarks {
        out.push_str(&format!("{} ({})\n", inert(&b.id), inert(&h.metric)));
        for p in &b.points {
            out.push_str(&format!(
                "  {}  {}  {:>15}  {:<18}  {}  {}\n",
                short(&p.commit),
                inert(day(&p.accepted_at)),
                thousands(p.value),
                change_text(p),
                inert(&p.accepted_by),
                inert(&p.reason)
            ));
        }
    }
    for w in &h.warnings {
        out.push_str(&format!("warning: {}\n", inert(w)));
    }
    out
}

/// The history as GitHub markdown: a table per benchmark, every value from
/// the files escaped.
pub fn history_markdown(h: &History) -> String {
    let mut out = String::from("## Baseline history\n\n");
    if h.benchmarks.is_empty() {
        out.push_str("No accepted values in the history of the baselines.\n");
    }
    for b in &h.benchmarks {
        out.push_str(&format!(
            "### `{}` ({})\n\n| commit | accepted | by | {} | change | reason |\n|---|---|---|---:|---:|---|\n",
            escape_markdown(&b.id),
            escape_markdown(&h.metric),
            escape_markdown(&h.metric)
        ));
        for p in &b.points {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                escape_markdown(short(&p.commit)),
                escape_markdown(day(&p.accepted_at)),
                escape_markdown(&p.accepted_by),
                thousands(p.value),
                escape_markdown(&change_text(p)),
                escape_markdown(&p.reason)
            ));
        }
        out.push('\n');
    }
    for w in &h.warnings {
        out.push_str(&format!("> warning: {}\n", escape_markdown(w)));
    }
    out
}

/// The history as its versioned JSON document (`docs/HISTORY_JSON.md`).
pub fn history_json(h: &History) -> String {
    let mut s =
        serde_json::to_string_pretty(h).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Text for the chart: printable ASCII only, so that nothing in a name can
/// become markup, whatever the SVG backend escapes.
fn label(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " /_-.:+()%,".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Why a chart cannot be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the history chart: {0}")]
pub struct ChartError(String);

/// The history as one SVG document: a trend chart per benchmark, stacked,
/// the accepted values in order (x: the n-th accepted value, labelled with
/// its commit), the metric on y.
pub fn history_svg(h: &History) -> Result<String, ChartError> {
    let panels = h.benchmarks.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT * panels))
            .into_drawing_area();
        let err = |e: &dyn std::fmt::Display| ChartError(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        if h.benchmarks.is_empty() {
            root.draw(&Text::new(
                "no accepted values in the history of the baselines",
                (20, 20),
                ("sans-serif", 16),
            ))
            .map_err(|e| err(&e))?;
        }
        let areas = root.split_evenly((h.benchmarks.len().max(1), 1));
        for (b, area) in h.benchmarks.iter().zip(areas) {
            let values: Vec<u64> = b.points.iter().map(|p| p.value).collect();
            let lo = values.iter().copied().min().unwrap_or(0);
            let hi = values.iter().copied().max().unwrap_or(1);
            // Some room above and below, and a range even for one value.
            let pad = ((hi - lo) / 10).max(hi / 100).max(1);
            let (y0, y1) = (lo.saturating_sub(pad), hi.saturating_add(pad));
            let n = b.points.len();
            let mut chart = ChartBuilder::on(&area)
                .caption(
                    format!("{} ({})", label(&b.id), label(&h.metric)),
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(28)
                .y_label_area_size(90)
                .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..y1)
                .map_err(|e| err(&e))?;
            let commits: Vec<String> = b
                .points
                .iter()
                .map(|p| short(&p.commit).to_string())
                .collect();
            chart
                .configure_mesh()
                .x_labels(n.min(12))
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        commits.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| thousands(*y))
                .draw()
                .map_err(|e| err(&e))?;
            let xy: Vec<(f64, u64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(xy.clone(), &BLUE))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(xy.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
