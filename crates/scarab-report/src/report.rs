//! Rendering: the terminal table of a run, and `docs/PERFORMANCE_REPORT.md`.
//!
//! Every statement the report makes is computed from the run it is given: a claim
//! such as "linear" or "N× faster" appears only when the numbers support it. Which
//! benchmarks each section speaks of comes from [`Layout`] (`report.toml`), and a
//! benchmark it names that is missing from the run stops the report with its name
//! ([`Layout::check`]); wall-clock numbers of a run without the wall-clock suite
//! are shown as "no wall-clock run".
//!
//! (Over 600 lines: each section of the report is computed here from the run, with the
//! checks that make its claims true; the names and prose are data in `report.toml`.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use irgate_core::render::thousands;
use irgate_core::BenchId;

use crate::annotate::{FunctionCost, Profile};
use crate::fit::{linear_fit, LinearFit};
use crate::layout::{bench_id, in_function, Group, Layout, LayoutError};
use crate::run::{Run, WallResult};

/// R² from which the report calls a fit linear.
const LINEAR_R2: f64 = 0.999;

/// A duration in nanoseconds with a readable unit.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// A rounded count that may be negative (a fitted intercept).
fn fmt_signed(x: f64) -> String {
    let r = x.round();
    if r < 0.0 {
        format!("−{}", thousands((-r) as u64))
    } else {
        thousands(r as u64)
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

fn fmt_pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Look-ups into a run by `group/function/id` in the layout's suite.
struct View<'a> {
    run: &'a Run,
    layout: &'a Layout,
}

impl View<'_> {
    fn id(&self, n: &str) -> Option<BenchId> {
        let suite = self.layout.suite_id().ok()?;
        bench_id(&suite, n).ok()
    }

    fn ir(&self, n: &str) -> Option<u64> {
        self.id(n).and_then(|id| self.run.ir.get(&id)).map(|r| r.ir)
    }

    fn wall(&self, n: &str) -> Option<f64> {
        self.id(n)
            .and_then(|id| self.run.wall.get(&id))
            .map(|w| w.median_ns)
    }

    /// What a wall-clock cell says when there is no number: the suite did not run,
    /// or this benchmark is not in it.
    fn no_wall(&self) -> &'static str {
        if self.run.wall.is_empty() {
            "no wall-clock run"
        } else {
            "not measured"
        }
    }

    fn ir_cell(&self, n: &str) -> String {
        self.ir(n)
            .map_or_else(|| "not measured".to_owned(), thousands)
    }

    fn wall_cell(&self, n: &str) -> String {
        self.wall(n)
            .map_or_else(|| self.no_wall().to_owned(), fmt_ns)
    }
}

/// The run as a plain-text table: one line per benchmark with Ir (and wall time
/// where measured): what `scarab-report table` prints.
pub fn render_table(run: &Run) -> String {
    let mut names: Vec<&BenchId> = run.ir.keys().chain(run.wall.keys()).collect();
    names.sort();
    names.dedup();
    let width = names
        .iter()
        .map(|n| n.key_in_suite().len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>15}  {:>12}",
        "benchmark", "Ir", "wall (median)"
    );
    let _ = writeln!(out, "{}", "-".repeat(width + 31));
    for n in names {
        let ir = run
            .ir
            .get(n)
            .map_or_else(|| "-".to_owned(), |r| thousands(r.ir));
        let wall = run
            .wall
            .get(n)
            .map_or_else(|| "-".to_owned(), |w| fmt_ns(w.median_ns));
        let _ = writeln!(out, "{:<width$}  {ir:>15}  {wall:>12}", n.key_in_suite());
    }
    let _ = writeln!(
        out,
        "{} benchmarks with Ir, {} with wall time",
        run.ir.len(),
        run.wall.len()
    );
    out
}

/// What the report needs besides the run.
pub struct ReportMeta<'a> {
    /// The command that produced the report (named in the document).
    pub command: &'a str,
    /// Commit the run was made on, if known.
    pub commit: Option<&'a str>,
    /// When the run was made (free text, e.g. UTC date).
    pub date: Option<&'a str>,
    /// Extra machine facts (`key`, `value`), shown after the environment file.
    pub machine: Vec<(String, String)>,
}

/// Render `docs/PERFORMANCE_REPORT.md` from `run`, saying of each benchmark what
/// `layout` says. Fails, naming them, when benchmarks the layout names are missing
/// from the run ([`Layout::check`]).
pub fn render_report(
    run: &Run,
    layout: &Layout,
    profiles: &BTreeMap<BenchId, Result<Profile, String>>,
    meta: &ReportMeta<'_>,
) -> Result<String, LayoutError> {
    layout.check(run)?;
    let v = View { run, layout };
    let mut o = String::new();
    let _ = writeln!(o, "# Performance report: scarab-plugins\n");
    let _ = writeln!(
        o,
        "Generated by `{}` from a real run of the benchmark suite; do not edit by hand, \
         run the command again.{}{}\n",
        meta.command,
        meta.commit
            .map(|c| format!(" Commit `{c}`."))
            .unwrap_or_default(),
        meta.date
            .map(|d| format!(" Run on {d}."))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        o,
        "Two measurements per benchmark, under the same name `group/function/id`:\n\n\
         - **Ir**: instructions executed in the measured region, counted by Callgrind \
         (Gungraun, `ci/bench`). Exact: a rerun on the same toolchain and pinned \
         environment gives the same number, so these are the numbers to compare.\n\
         - **Wall**: median time per operation from criterion (`ci/bench --wall`), on a \
         shared 2-core machine. Indicative only: they move from run to run.\n\n\
         A one-shot Ir benchmark measures one operation on a warmed-up state; the \
         wall-clock suite repeats operations that can repeat, so its times include the \
         host's VM replacement every few hundred calls (see `docs/BENCHMARK_GUIDE.md`).\n"
    );

    targets_section(&mut o, &v);
    machine_section(&mut o, run, meta);
    groups_section(&mut o, &v);
    chaining_section(&mut o, &v);
    loading_section(&mut o, &v);
    peers_section(&mut o, &v);
    optimisations_section(&mut o, &v);
    bottleneck_section(&mut o, &v, profiles);
    suite_section(&mut o, run);
    Ok(o)
}

fn targets_section(o: &mut String, v: &View<'_>) {
    let _ = writeln!(o, "## The seed's targets\n");
    let _ = writeln!(
        o,
        "Each target is checked against the wall-clock median of the benchmark that \
         measures it (the slowest case where there are several).\n"
    );
    let _ = writeln!(
        o,
        "| Target | Limit | Benchmark | Ir | Wall (median) | Result |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---:|---|");
    // The slowest case of `group/function`: by wall time, or by Ir without a
    // wall-clock run.
    let slowest = |function: &str| -> Option<String> {
        let suite = v.layout.suite_id().ok()?;
        let in_it = |id: &BenchId| id.suite() == suite && in_function(id, function);
        v.run
            .wall
            .iter()
            .filter(|(n, _)| in_it(n))
            .max_by(|a, b| a.1.median_ns.total_cmp(&b.1.median_ns))
            .map(|(n, _)| n.key_in_suite())
            .or_else(|| {
                v.run
                    .ir
                    .iter()
                    .filter(|(n, _)| in_it(n))
                    .max_by_key(|(_, r)| r.ir)
                    .map(|(n, _)| n.key_in_suite())
            })
    };
    let rows = v.layout.targets.iter().map(|t| {
        let bench = match (&t.benchmark, &t.slowest_of) {
            (Some(b), _) => Some(b.clone()),
            (None, Some(f)) => slowest(f),
            (None, None) => None,
        };
        (t.label.as_str(), t.limit_ns, bench)
    });
    for (label, limit, bench) in rows {
        let Some(bench) = bench else {
            let _ = writeln!(
                o,
                "| {label} | < {} | — | — | — | not measured |",
                fmt_ns(limit)
            );
            continue;
        };
        let result = match v.wall(&bench) {
            Some(w) if w < limit => format!("pass ({} of the limit)", fmt_pct(w / limit)),
            Some(_) => "**fail**".to_owned(),
            None => "not measured (no wall-clock run)".to_owned(),
        };
        let _ = writeln!(
            o,
            "| {label} | < {} | `{bench}` | {} | {} | {result} |",
            fmt_ns(limit),
            v.ir_cell(&bench),
            v.wall_cell(&bench)
        );
    }
    let _ = writeln!(o);
}

fn machine_section(o: &mut String, run: &Run, meta: &ReportMeta<'_>) {
    let _ = writeln!(o, "## Machine and toolchain\n");
    let _ = writeln!(o, "| | |");
    let _ = writeln!(o, "|---|---|");
    for (k, val) in &run.environment {
        let _ = writeln!(o, "| {k} | `{}` |", val.replace('|', "\\|"));
    }
    for (k, val) in &meta.machine {
        let _ = writeln!(o, "| {k} | `{}` |", val.replace('|', "\\|"));
    }
    let _ = writeln!(o);
}

/// How many elements one run of `n` handles, for groups with per-element columns:
/// the `<N>` of an id `<prefix>..._<N>`.
fn per_element(group: &Group, n: &BenchId) -> Option<u64> {
    let prefix = group.per_element_ids.as_deref()?;
    let id = n.case()?;
    let (_, count) = id.rsplit_once('_')?;
    if id.starts_with(prefix) {
        count.parse().ok()
    } else {
        None
    }
}

fn groups_section(o: &mut String, v: &View<'_>) {
    let _ = writeln!(o, "## Results by group\n");
    let suite = v.layout.suite_id().ok();
    let mut names: Vec<&BenchId> = v
        .run
        .ir
        .keys()
        .chain(v.run.wall.keys())
        .filter(|n| suite.as_ref() == Some(&n.suite()))
        .collect();
    names.sort();
    names.dedup();
    // In the order the suite ran them (the order of the bench file), where known.
    names.sort_by_key(|n| v.run.ir.get(*n).and_then(|r| r.started_at.clone()));
    for group in &v.layout.groups {
        let in_group: Vec<&&BenchId> = names.iter().filter(|n| n.group() == group.name).collect();
        if in_group.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {}\n\n{}\n", group.name, group.description);
        let with_elems = in_group.iter().any(|n| per_element(group, n).is_some());
        if with_elems {
            let _ = writeln!(
                o,
                "| Benchmark | Ir | Wall (median) | Ir per element | Wall per element |"
            );
            let _ = writeln!(o, "|---|---:|---:|---:|---:|");
        } else {
            let _ = writeln!(o, "| Benchmark | Ir | Wall (median) |");
            let _ = writeln!(o, "|---|---:|---:|");
        }
        for n in in_group {
            let key = n.key_in_suite();
            let _ = write!(
                o,
                "| `{key}` | {} | {} |",
                v.ir_cell(&key),
                v.wall_cell(&key)
            );
            if with_elems {
                match per_element(group, n) {
                    Some(k) if k > 0 => {
                        let ir = v
                            .ir(&key)
                            .map_or_else(|| "—".to_owned(), |ir| thousands(ir / k));
                        let wall = v
                            .wall(&key)
                            .map_or_else(|| "—".to_owned(), |w| fmt_ns(w / k as f64));
                        let _ = write!(o, " {ir} | {wall} |");
                    }
                    _ => {
                        let _ = write!(o, " | |");
                    }
                }
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }
}

fn chain_fit(v: &View<'_>, kind: &str, wall: bool) -> Option<LinearFit> {
    let c = &v.layout.chaining;
    let pts: Vec<(f64, f64)> = c
        .sizes
        .iter()
        .filter_map(|n| {
            let key = c.name(kind, *n);
            let y = if wall {
                v.wall(&key)
            } else {
                v.ir(&key).map(|x| x as f64)
            };
            y.map(|y| (f64::from(*n), y))
        })
        .collect();
    if pts.len() < c.sizes.len() {
        return None;
    }
    linear_fit(&pts)
}

fn linear_words(f: &LinearFit) -> String {
    if f.r_squared >= LINEAR_R2 {
        format!("linear (R² = {:.5})", f.r_squared)
    } else {
        format!("not linear (R² = {:.5})", f.r_squared)
    }
}

fn chaining_section(o: &mut String, v: &View<'_>) {
    let _ = writeln!(o, "## Chaining: cost per plugin\n");
    let c = &v.layout.chaining;
    let sizes: Vec<String> = c.sizes.iter().map(u32::to_string).collect();
    let _ = writeln!(
        o,
        "Least-squares line `cost = fixed + per_plugin × N` through N = {}.\n",
        sizes.join(", ")
    );
    let _ = writeln!(
        o,
        "| Chain | Ir per plugin | Ir fixed | R² (Ir) | Wall per plugin | R² (wall) |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    let mut sentences = Vec::new();
    for kind in &c.kinds {
        let ir = chain_fit(v, kind, false);
        let wall = chain_fit(v, kind, true);
        let cell = |f: Option<LinearFit>, fmt: &dyn Fn(f64) -> String, missing: &str| {
            f.map_or_else(
                || (missing.to_owned(), "—".to_owned(), "—".to_owned()),
                |f| {
                    (
                        fmt(f.slope),
                        fmt(f.intercept),
                        format!("{:.5}", f.r_squared),
                    )
                },
            )
        };
        let (ir_slope, ir_fixed, ir_r2) = cell(ir, &fmt_signed, "not measured");
        let (w_slope, _, w_r2) = cell(wall, &fmt_ns, v.no_wall());
        let _ = writeln!(
            o,
            "| {kind} | {ir_slope} | {ir_fixed} | {ir_r2} | {w_slope} | {w_r2} |"
        );
        if let Some(f) = ir {
            sentences.push(format!(
                "- {kind} chain: instruction count is {} in the number of plugins, \
                 {} Ir per plugin.",
                linear_words(&f),
                thousands(f.slope.round().max(0.0) as u64)
            ));
        }
        if let Some(f) = wall {
            sentences.push(format!(
                "- {kind} chain: wall time is {}, {} per plugin.",
                linear_words(&f),
                fmt_ns(f.slope)
            ));
        }
    }
    let _ = writeln!(o);
    for s in sentences {
        let _ = writeln!(o, "{s}");
    }
    // Compare the per-plugin slope with one plugin's dispatch cost.
    if let (Some(f), Some(one), Some(none)) = (
        chain_fit(v, &c.noop_kind, false),
        v.ir(&c.one_plugin),
        v.ir(&c.no_plugin),
    ) {
        let call = one.saturating_sub(none) as f64;
        if call > 0.0 {
            let _ = writeln!(
                o,
                "- One no-op plugin adds {} Ir to an empty dispatch; the fitted cost per \
                 no-op plugin is {} Ir ({} of it).",
                thousands(call as u64),
                thousands(f.slope.round().max(0.0) as u64),
                fmt_pct(f.slope / call)
            );
        }
    }
    let _ = writeln!(o);
}

fn loading_section(o: &mut String, v: &View<'_>) {
    let _ = writeln!(o, "## Loading: bytecode against script\n");
    let _ = writeln!(
        o,
        "A full load (bytes to a running plugin) of `.fsx` source without a script \
         cache, against the same script as `.fzb` bytecode.\n"
    );
    let _ = writeln!(
        o,
        "| Script | `.fsx` Ir | `.fzb` Ir | Ir ratio | `.fsx` wall | `.fzb` wall | Wall ratio |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    let l = &v.layout.loading;
    for script in &l.scripts {
        let fsx = format!("{}/{script}", l.source);
        let fzb = format!("{}/{script}", l.bytecode);
        let ir_ratio = match (v.ir(&fsx), v.ir(&fzb)) {
            (Some(a), Some(b)) if b > 0 => {
                let r = a as f64 / b as f64;
                ratios.push((script, r));
                fmt_ratio(r)
            }
            _ => "—".to_owned(),
        };
        let wall_ratio = match (v.wall(&fsx), v.wall(&fzb)) {
            (Some(a), Some(b)) if b > 0.0 => fmt_ratio(a / b),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            o,
            "| {script} | {} | {} | {ir_ratio} | {} | {} | {wall_ratio} |",
            v.ir_cell(&fsx),
            v.ir_cell(&fzb),
            v.wall_cell(&fsx),
            v.wall_cell(&fzb)
        );
    }
    let _ = writeln!(o);
    if !ratios.is_empty() {
        let parts: Vec<String> = ratios
            .iter()
            .map(|(s, r)| format!("{} for the {s} script", fmt_ratio(*r)))
            .collect();
        let _ = writeln!(
            o,
            "Loading bytecode takes fewer instructions than loading source by {}.\n",
            parts.join(" and ")
        );
    }
    let _ = writeln!(
        o,
        "Load steps on the complex script, each measured alone:\n"
    );
    let _ = writeln!(o, "| Step | Ir | Wall (median) |");
    let _ = writeln!(o, "|---|---:|---:|");
    for s in &l.steps {
        let _ = writeln!(o, "| `{s}` | {} | {} |", v.ir_cell(s), v.wall_cell(s));
    }
    let _ = writeln!(o);
}

fn peers_section(o: &mut String, v: &View<'_>) {
    let p = &v.layout.peers;
    let _ = writeln!(o, "## Peers: the same plugin in four languages\n");
    let _ = writeln!(
        o,
        "The tagger (tag lines containing \"error\" or \"warning\", pass the rest), called \
         from Rust once per line. `{}`: one line that gets tagged; `{}`: one line \
         that passes; `{}`: {} build-log lines (20% tagged), per line. Ratios are \
         against native Rust on `{}`. Fusabi goes through the host's plugin adapter, \
         as the host runs it.\n",
        p.tagged, p.plain, p.mixed, p.lines, p.mixed
    );
    let _ = writeln!(
        o,
        "| Implementation | {t} Ir | {pl} Ir | per line Ir (mixed) | vs native (Ir) | {t} wall | {pl} wall | per line wall (mixed) | vs native (wall) |",
        t = p.tagged,
        pl = p.plain
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let native_ir = v.ir(&p.name(&p.reference, &p.mixed));
    let native_wall = v.wall(&p.name(&p.reference, &p.mixed));
    let lines = u64::from(p.lines);
    for lang in &p.languages {
        let mixed = p.name(lang, &p.mixed);
        let per_ir = v.ir(&mixed).map(|x| x / lines.max(1));
        let per_wall = v.wall(&mixed).map(|x| x / f64::from(p.lines.max(1)));
        let ir_vs = match (v.ir(&mixed), native_ir) {
            (Some(a), Some(b)) if b > 0 => fmt_ratio(a as f64 / b as f64),
            _ => "—".to_owned(),
        };
        let wall_vs = match (v.wall(&mixed), native_wall) {
            (Some(a), Some(b)) if b > 0.0 => fmt_ratio(a / b),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            o,
            "| {lang} | {} | {} | {} | {ir_vs} | {} | {} | {} | {wall_vs} |",
            v.ir_cell(&p.name(lang, &p.tagged)),
            v.ir_cell(&p.name(lang, &p.plain)),
            per_ir.map_or_else(|| "—".to_owned(), thousands),
            v.wall_cell(&p.name(lang, &p.tagged)),
            v.wall_cell(&p.name(lang, &p.plain)),
            per_wall.map_or_else(|| "—".to_owned(), fmt_ns),
        );
    }
    let _ = writeln!(o);
    // Rank by Ir per line, say it plainly.
    let mut ranked: Vec<(&str, u64)> = p
        .languages
        .iter()
        .filter_map(|l| v.ir(&p.name(l, &p.mixed)).map(|x| (l.as_str(), x)))
        .collect();
    ranked.sort_by_key(|(_, x)| *x);
    if ranked.len() == p.languages.len() {
        let order: Vec<String> = ranked.iter().map(|(l, _)| (*l).to_owned()).collect();
        let _ = writeln!(
            o,
            "By instructions per line, fewest first: {}.",
            order.join(", ")
        );
        let ir_of = |lang: &str| ranked.iter().find(|(l, _)| *l == lang).map(|(_, x)| *x);
        if let Some(subject) = ir_of(&p.subject) {
            for c in &p.compared {
                if let Some(other) = ir_of(&c.language) {
                    let _ = writeln!(
                        o,
                        "Fusabi executes {} the instructions of {} per line.",
                        fmt_ratio(subject as f64 / other.max(1) as f64),
                        c.shown
                    );
                }
            }
        }
        let _ = writeln!(o);
    }
}

fn optimisations_section(o: &mut String, v: &View<'_>) {
    let _ = writeln!(o, "## Optimisations: with against without\n");
    let _ = writeln!(
        o,
        "Each row runs the same work with and without one of the host's optimisations. \
         The ratio is without ÷ with (above 1: the optimisation saves).\n"
    );
    let _ = writeln!(
        o,
        "| Optimisation | Without | With | Ir without | Ir with | Ir ratio | Wall without | Wall with | Wall ratio |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---:|---:|---:|---:|---:|");
    for opt in &v.layout.optimisations {
        let (label, without, with) = (&opt.label, &opt.without, &opt.with);
        let ir_ratio = match (v.ir(without), v.ir(with)) {
            (Some(a), Some(b)) if b > 0 => fmt_ratio(a as f64 / b as f64),
            _ => "—".to_owned(),
        };
        let wall_ratio = match (v.wall(without), v.wall(with)) {
            (Some(a), Some(b)) if b > 0.0 => fmt_ratio(a / b),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            o,
            "| {label} | `{without}` | `{with}` | {} | {} | {ir_ratio} | {} | {} | {wall_ratio} |",
            v.ir_cell(without),
            v.ir_cell(with),
            v.wall_cell(without),
            v.wall_cell(with)
        );
    }
    let _ = writeln!(o);
    // The disabled collector, in plain words.
    let m = &v.layout.metrics;
    if let (Some(off), Some(on), Some(dispatch)) = (
        v.ir(&m.timing_off),
        v.ir(&m.timing_on),
        v.ir(&m.dispatch_off),
    ) {
        let _ = writeln!(
            o,
            "A disabled metrics collector costs {} instructions per timing (an enabled one \
             {}), {} of one processing output dispatch ({} Ir).",
            thousands(off),
            thousands(on),
            fmt_pct(off as f64 / dispatch.max(1) as f64),
            thousands(dispatch)
        );
    }
    let z = &v.layout.lazy;
    if let (Some(lazy), Some(eager), Some(start_lazy), Some(start_eager)) = (
        v.ir(&z.first_line_lazy),
        v.ir(&z.first_line_eager),
        v.ir(&z.startup_lazy),
        v.ir(&z.startup_eager),
    ) {
        let first = if lazy > eager {
            "but start-up plus the first line costs more lazily than eagerly"
        } else {
            "and start-up plus the first line costs no more lazily than eagerly"
        };
        let _ = writeln!(
            o,
            "Lazy loading makes start-up cheaper ({} against {} Ir for the example \
             directory), {first} ({} against {} Ir): the compile work moves to the first \
             hook call.",
            thousands(start_lazy),
            thousands(start_eager),
            thousands(lazy),
            thousands(eager)
        );
    }
    let _ = writeln!(o);
}

/// Recommendations that follow from the profiles; each cites the numbers behind it
/// and appears only when they cross its threshold.
pub fn recommendations(
    run: &Run,
    layout: &Layout,
    profiles: &BTreeMap<BenchId, Result<Profile, String>>,
) -> Vec<String> {
    let v = View { run, layout };
    let b = &layout.bottlenecks;
    let get = |n: &str| {
        v.id(n)
            .and_then(|id| profiles.get(&id))
            .and_then(|p| p.as_ref().ok())
    };
    let mut out = Vec::new();
    if let Some(p) = get(&b.source_load) {
        if let Some((share, _)) = p.share_of(&["compile_program_from_source"]) {
            if share >= 0.5 {
                let cached = match (v.ir(&b.source_load), v.ir(&b.cached_load)) {
                    (Some(a), Some(b)) if b > 0 => {
                        format!(
                            " (a cache hit loads it in {} fewer instructions)",
                            fmt_ratio(a as f64 / b as f64)
                        )
                    }
                    _ => String::new(),
                };
                out.push(format!(
                    "Compiling is {} of loading the complex script from source: keep the \
                     script cache on and ship `.fzb` where start-up matters{cached}.",
                    fmt_pct(share)
                ));
            }
        }
        if let Some((share, _)) = p.share_of(&["drop_in_place<fusabi_frontend::ast::Program>"]) {
            if share >= 0.05 {
                out.push(format!(
                    "Freeing the syntax tree after compiling is {} of a source load \
                     (`drop_in_place<fusabi_frontend::ast::Program>`); it is inside \
                     fusabi-frontend, so the host avoids it only by not compiling (script \
                     cache, `.fzb`).",
                    fmt_pct(share)
                ));
            }
        }
    }
    if let Some(p) = get(&b.bytecode_load) {
        if let Some((share, _)) = p.share_of(&["Chunk as core::clone::Clone>::clone"]) {
            if share >= 0.05 {
                out.push(format!(
                    "Cloning the chunk is {} of a bytecode load: `FusabiPlugin::load` \
                     copies the `Chunk` out of its `Arc` to hand it to `Vm::execute`. When \
                     the `Arc` is not shared (no cache), `Arc::unwrap_or_clone` would skip \
                     the copy.",
                    fmt_pct(share)
                ));
            }
        }
        if let Some((share, _)) = p.share_of(&["deserialize_chunk"]) {
            if share >= 0.2 {
                out.push(format!(
                    "Decoding (bincode) is {} of a bytecode load; it allocates every \
                     constant and instruction vector separately.",
                    fmt_pct(share)
                ));
            }
        }
    }
    for bench in [&b.noop_dispatch, &b.processing_dispatch] {
        if let Some(p) = get(bench) {
            let clone = p.share_of(&["fusabi_vm::value::Value as core::clone::Clone>::clone"]);
            let drop = p.share_of(&["drop_in_place<fusabi_vm::value::Value>"]);
            if let (Some((c, _)), Some((d, _))) = (clone, drop) {
                if c + d >= 0.2 {
                    out.push(format!(
                        "In `{bench}`, cloning VM values takes {} and dropping them {}: \
                         the host copies the line into a `Value::Str` per call, and \
                         Fusabi 0.35's `LoadConst`/`LoadLocal`/`LoadGlobal` clone the value \
                         they load (`LoadGlobal` also clones the global's name), with \
                         strings held as owned `String`s. Shared strings in the VM (e.g. \
                         `Rc<str>`) would cut this; the host cannot pass a borrowed line \
                         through `call_value`.",
                        fmt_pct(c),
                        fmt_pct(d)
                    ));
                }
            }
        }
    }
    if let Some(p) = get(&b.processing_dispatch) {
        if let Some((share, _)) = p.share_of(&["HostRegistry::get"]) {
            if share >= 0.03 {
                out.push(format!(
                    "Looking up native functions by name (`HostRegistry::get`, a hashed \
                     `String` key per call of `String.toLower`/`String.contains`) is {} of a \
                     processing dispatch; resolving them once, by index, would need a \
                     Fusabi API change.",
                    fmt_pct(share)
                ));
            }
        }
        let malloc = p.share_of(&["malloc"]).map_or(0.0, |x| x.0);
        let free = p.share_of(&["free"]).map_or(0.0, |x| x.0);
        if malloc + free >= 0.15 {
            out.push(format!(
                "Allocation (`malloc` {} + `free` {}) is a large part of a processing \
                 dispatch; fewer temporary values per call would pay directly.",
                fmt_pct(malloc),
                fmt_pct(free)
            ));
        }
    }
    if let Some(p) = get(&b.cold_vm) {
        if let Some((share, _)) = p.share_of(&["register_stdlib"]) {
            if share >= 0.3 {
                let ratio = match (v.ir(&b.cold_vm), v.ir(&b.template_vm)) {
                    (Some(a), Some(b)) if b > 0 => format!(
                        "; a VM from the template costs {} fewer instructions",
                        fmt_ratio(a as f64 / b as f64)
                    ),
                    _ => String::new(),
                };
                out.push(format!(
                    "Stdlib registration is {} of making a cold VM{ratio}. Keep every VM \
                     coming from the template.",
                    fmt_pct(share)
                ));
            }
        }
    }
    if let Some(p) = get(&b.long_chain) {
        if let Some((share, _)) = p.share_of(&["Vm::call_value"]) {
            out.push(format!(
                "In a chain of 20 processing plugins, {} of the instructions run inside \
                 the VM call (`Vm::call_value`); the manager's own loop is the rest. The \
                 chain's cost is the plugins' cost: fewer or cheaper plugins, or batching \
                 (`on_output_batch`), are what reduce it.",
                fmt_pct(share)
            ));
        }
    }
    out
}

/// A `| Function | <cost> | Share |` table of `rows`, each share of `total_ir`.
fn function_table<'a>(
    o: &mut String,
    cost: &str,
    rows: impl Iterator<Item = &'a FunctionCost>,
    total_ir: u64,
) {
    let _ = writeln!(o, "| Function | {cost} | Share |");
    let _ = writeln!(o, "|---|---:|---:|");
    for f in rows {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} |",
            f.function.replace('|', "\\|"),
            thousands(f.inclusive_ir),
            fmt_pct(f.inclusive_ir as f64 / total_ir.max(1) as f64)
        );
    }
}

fn bottleneck_section(
    o: &mut String,
    v: &View<'_>,
    profiles: &BTreeMap<BenchId, Result<Profile, String>>,
) {
    let _ = writeln!(o, "## Bottlenecks\n");
    let _ = writeln!(
        o,
        "Top functions by inclusive Ir (the function and everything it calls), read with \
         `callgrind_annotate --inclusive=yes` from the Callgrind profiles of this run; the \
         benchmark harness's own frames are left out. Shares overlap: a function's share \
         includes its callees'. The second table of each benchmark lists self costs \
         (`callgrind_annotate --inclusive=no`), which do not overlap.\n"
    );
    for (n, p) in profiles {
        let _ = writeln!(o, "### `{}`\n", n.key_in_suite());
        match p {
            Ok(p) => {
                let _ = writeln!(o, "Total: {} Ir.\n", thousands(p.total_ir));
                function_table(o, "Inclusive Ir", p.functions.iter().take(10), p.total_ir);
                if !p.self_costs.is_empty() {
                    let _ = writeln!(
                        o,
                        "\nWhere the instructions themselves are (self Ir, callees excluded):\n"
                    );
                    function_table(o, "Self Ir", p.self_costs.iter().take(8), p.total_ir);
                }
            }
            Err(e) => {
                let _ = writeln!(o, "No profile: {e}");
            }
        }
        let _ = writeln!(o);
    }
    let recs = recommendations(v.run, v.layout, profiles);
    let _ = writeln!(o, "### Recommendations\n");
    if recs.is_empty() {
        let _ = writeln!(o, "None: no profile crossed a threshold.\n");
    } else {
        for r in recs {
            let _ = writeln!(o, "- {r}");
        }
        let _ = writeln!(o);
    }
}

fn suite_section(o: &mut String, run: &Run) {
    let _ = writeln!(o, "## The suite itself\n");
    let total_ns: u64 = run.ir.values().filter_map(|r| r.duration_ns).sum();
    let _ = writeln!(
        o,
        "{} benchmarks under Callgrind, {} under criterion. Callgrind time, summed over \
         the benchmarks (Valgrind start-up and setup included): {}.{}\n",
        run.ir.len(),
        run.wall.len(),
        fmt_ns(total_ns as f64),
        run.environment
            .get("wall_seconds")
            .map(|s| format!(" The whole `ci/bench` run, build check included, took {s} s."))
            .unwrap_or_default()
    );
    let mut slow: Vec<(&BenchId, u64)> = run
        .ir
        .iter()
        .filter_map(|(n, r)| r.duration_ns.map(|d| (n, d)))
        .collect();
    slow.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !slow.is_empty() {
        let _ = writeln!(o, "Slowest under Callgrind:\n");
        let _ = writeln!(o, "| Benchmark | Time under Callgrind |");
        let _ = writeln!(o, "|---|---:|");
        for (n, d) in slow.iter().take(5) {
            let _ = writeln!(o, "| `{}` | {} |", n.key_in_suite(), fmt_ns(*d as f64));
        }
        let _ = writeln!(o);
    }
    let only_ir: Vec<String> = run
        .ir
        .keys()
        .filter(|n| !run.wall.contains_key(*n))
        .map(BenchId::key_in_suite)
        .collect();
    let only_wall: Vec<String> = run
        .wall
        .keys()
        .filter(|n| !run.ir.contains_key(*n))
        .map(BenchId::key_in_suite)
        .collect();
    if !run.wall.is_empty() && !run.ir.is_empty() {
        if only_ir.is_empty() && only_wall.is_empty() {
            let _ = writeln!(o, "Both suites hold the same {} names.\n", run.ir.len());
        } else {
            let _ = writeln!(
                o,
                "Names in one suite only: Ir only: {}; wall only: {}.\n",
                if only_ir.is_empty() {
                    "none".to_owned()
                } else {
                    only_ir.join(", ")
                },
                if only_wall.is_empty() {
                    "none".to_owned()
                } else {
                    only_wall.join(", ")
                },
            );
        }
    }
}

/// Wall result helper for tests and callers that build runs by hand.
pub fn wall(median_ns: f64) -> WallResult {
    WallResult {
        mean_ns: median_ns,
        median_ns,
        mean_lower_ns: median_ns,
        mean_upper_ns: median_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::IrResult;

    fn ir(n: u64) -> IrResult {
        IrResult {
            ir: n,
            duration_ns: Some(1_000_000),
            callgrind_out: None,
            started_at: None,
        }
    }

    fn layout() -> Layout {
        Layout::builtin().unwrap()
    }

    fn name(s: &str) -> BenchId {
        layout().id(s).unwrap()
    }

    /// Every benchmark the layout names, and one of each group it names none of,
    /// with the same Ir and wall time; the tests then set the numbers they speak of.
    fn complete_run() -> Run {
        let l = layout();
        let mut run = Run::default();
        let mut names = l.benchmarks();
        names.push("realistic/session/metrics_off".to_owned());
        for n in names {
            run.ir.insert(name(&n), ir(1_000));
            run.wall.insert(name(&n), wall(1_000.0));
        }
        run
    }

    fn sample_run() -> Run {
        let mut run = complete_run();
        for n in layout().chaining.sizes {
            let k = format!("chaining/noop/plugins_{n}");
            run.ir.insert(name(&k), ir(100 + 2000 * u64::from(n)));
            run.wall
                .insert(name(&k), wall(50.0 + 1000.0 * f64::from(n)));
        }
        run.ir.insert(name("loading/fsx/complex"), ir(700_000));
        run.ir.insert(name("loading/fzb/complex"), ir(200_000));
        run.wall
            .insert(name("loading/fzb/complex"), wall(900_000.0));
        run.ir
            .insert(name("dispatch/metrics_collector/disabled"), ir(30));
        run.ir
            .insert(name("dispatch/metrics_collector/enabled"), ir(285));
        run.ir
            .insert(name("dispatch/metrics_output/disabled"), ir(15_000));
        run
    }

    fn meta() -> ReportMeta<'static> {
        ReportMeta {
            command: "x",
            commit: None,
            date: None,
            machine: vec![],
        }
    }

    #[test]
    fn counts_and_times_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(fmt_ns(12.0), "12.0 ns");
        assert_eq!(fmt_ns(1500.0), "1.50 µs");
        assert_eq!(fmt_ns(2.5e6), "2.50 ms");
    }

    #[test]
    fn report_states_linearity_and_ratios_from_the_numbers() {
        let run = sample_run();
        let meta = ReportMeta {
            command: "ci/report",
            commit: Some("abc123"),
            date: None,
            machine: vec![],
        };
        let md = render_report(&run, &layout(), &BTreeMap::new(), &meta).unwrap();
        assert!(md.contains("Generated by `ci/report`"), "{md}");
        assert!(md.contains("linear (R² = 1.00000)"), "{md}");
        assert!(md.contains("| noop | 2,000 | 100 |"), "{md}");
        // The minimal script's loads are the filler's (1,000 Ir each).
        assert!(
            md.contains("by 1.00× for the minimal script and 3.50× for the complex script"),
            "{md}"
        );
        // 900 µs is over the 500 µs bytecode target.
        assert!(
            md.contains("`loading/fzb/complex` | 200,000 | 900.00 µs | **fail**"),
            "{md}"
        );
        assert!(
            md.contains("A disabled metrics collector costs 30 instructions"),
            "{md}"
        );
    }

    #[test]
    fn a_missing_benchmark_stops_the_report_naming_it() {
        // Not measured is said, not invented: the report refuses to go on without it.
        let mut run = sample_run();
        run.ir.remove(&name("dispatch/output/processing"));
        let err = render_report(&run, &layout(), &BTreeMap::new(), &meta()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no benchmark `dispatch/output/processing` in the run"
        );
        let mut run = sample_run();
        run.wall.remove(&name("vm/call/direct"));
        let err = render_report(&run, &layout(), &BTreeMap::new(), &meta()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no benchmark `vm/call/direct` in the wall-clock run"
        );
    }

    #[test]
    fn a_group_without_a_description_stops_the_report() {
        let mut run = sample_run();
        run.ir.insert(name("newgroup/f/x"), ir(1));
        let err = render_report(&run, &layout(), &BTreeMap::new(), &meta()).unwrap_err();
        assert!(err.to_string().contains("group `newgroup`"), "{err}");
    }

    #[test]
    fn without_a_wall_clock_run_the_wall_cells_say_so() {
        let mut run = sample_run();
        run.wall.clear();
        let md = render_report(&run, &layout(), &BTreeMap::new(), &meta()).unwrap();
        assert!(md.contains("| Output hook | < 50.00 µs | `dispatch/output/processing` | 1,000 | no wall-clock run | not measured (no wall-clock run) |"), "{md}");
        assert!(!md.contains("| not measured |"), "{md}");
    }

    #[test]
    fn non_linear_chains_are_called_so() {
        let mut run = complete_run();
        for n in layout().chaining.sizes {
            run.ir.insert(
                name(&format!("chaining/noop/plugins_{n}")),
                ir(u64::from(n).pow(3)),
            );
        }
        let md = render_report(&run, &layout(), &BTreeMap::new(), &meta()).unwrap();
        assert!(md.contains("is not linear (R²"), "{md}");
    }

    #[test]
    fn table_lists_every_benchmark_once() {
        let run = sample_run();
        let t = render_table(&run);
        assert_eq!(t.matches("chaining/noop/plugins_5").count(), 1);
        assert!(t.contains("10,100"), "{t}");
        assert!(t.contains("with wall time"));
    }
}
