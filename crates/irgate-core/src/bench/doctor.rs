//! `irgate doctor`: how sensitive each benchmark is to the known false-alarm sources.
//!
//! It runs the suite once as `irgate bench` would, then once per chosen variation,
//! and reports for each benchmark and variation the Ir change against the first run:
//!
//! - `rerun`: the same run again (anything that moves here is not deterministic);
//! - `relocate`: the tree copied to a path 64 characters longer, built and run there;
//! - `env`: 256 extra environment variables, one of them 64 KiB, in the harness's
//!   environment (the runner should clear them before the measured process starts);
//! - `no-preload`: without the entropy preload (shows which benchmarks need it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::{BenchError, BenchOptions};
use crate::model::{BenchId, Run};
use crate::policy::Policy;

/// A known source of false alarms that `doctor` can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// An immediate rerun.
    Rerun,
    /// The checkout at a path 64 characters longer.
    Relocate,
    /// A much larger environment.
    Env,
    /// No entropy preload.
    NoPreload,
}

impl Source {
    /// Every source, in report order.
    pub const ALL: [Source; 4] = [
        Source::Rerun,
        Source::Relocate,
        Source::Env,
        Source::NoPreload,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Source::Rerun => "rerun",
            Source::Relocate => "relocate",
            Source::Env => "env",
            Source::NoPreload => "no-preload",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Source> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How far the checkout moves for [`Source::Relocate`] by default, in characters.
pub const RELOCATE_BY: usize = 64;

/// One benchmark's largest change per source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// The benchmark.
    pub id: BenchId,
    /// Its Ir in the reference run.
    pub ir: u64,
    /// The threshold that applies to it, percent.
    pub threshold_pct: f64,
    /// The floor that applies to it.
    pub floor: u64,
    /// `current - reference` per source (absent when the benchmark did not run there).
    pub delta: BTreeMap<Source, i64>,
}

impl Sensitivity {
    /// The largest |change| in percent over all sources.
    pub fn worst_pct(&self) -> f64 {
        self.delta
            .values()
            .map(|d| d.unsigned_abs() as f64 * 100.0 / self.ir.max(1) as f64)
            .fold(0.0, f64::max)
    }

    /// True when a change seen under `source` could reach the threshold: at least the
    /// floor and at least half the relative threshold.
    pub fn at_risk(&self, source: Source) -> bool {
        self.delta.get(&source).is_some_and(|d| {
            let abs = d.unsigned_abs();
            abs >= self.floor && abs as f64 * 100.0 >= 0.5 * self.threshold_pct * self.ir as f64
        })
    }
}

/// The doctor's findings.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The sources varied, in order.
    pub sources: Vec<Source>,
    /// One entry per benchmark of the reference run, sorted by id.
    pub benchmarks: Vec<Sensitivity>,
}

impl DoctorReport {
    /// Benchmarks that moved at all under `source`.
    pub fn moved(&self, source: Source) -> impl Iterator<Item = &Sensitivity> {
        self.benchmarks
            .iter()
            .filter(move |b| b.delta.get(&source).is_some_and(|d| *d != 0))
    }

    /// A plain-text table: one row per benchmark that moved anywhere, then a summary
    /// line per source.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let width = self
            .benchmarks
            .iter()
            .map(|b| b.id.to_string().len())
            .max()
            .unwrap_or(9)
            .max(9);
        out.push_str(&format!("{:<width$} {:>12}", "BENCHMARK", "IR"));
        for s in &self.sources {
            out.push_str(&format!(" {:>18}", s.name()));
        }
        out.push('\n');
        let mut quiet = 0usize;
        for b in &self.benchmarks {
            if b.delta.values().all(|d| *d == 0) {
                quiet += 1;
                continue;
            }
            out.push_str(&format!("{:<width$} {:>12}", b.id.to_string(), b.ir));
            for s in &self.sources {
                let cell = match b.delta.get(s) {
                    None => "not run".to_owned(),
                    Some(0) => "0".to_owned(),
                    Some(d) => format!(
                        "{d:+} ({:+.3}%){}",
                        *d as f64 * 100.0 / b.ir.max(1) as f64,
                        if b.at_risk(*s) { "!" } else { "" }
                    ),
                };
                out.push_str(&format!(" {cell:>18}"));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "{quiet} of {} benchmarks identical under every variation\n",
            self.benchmarks.len()
        ));
        for s in &self.sources {
            let moved = self.moved(*s).count();
            let risk = self.benchmarks.iter().filter(|b| b.at_risk(*s)).count();
            let worst = self
                .moved(*s)
                .map(|b| {
                    let d = b.delta[s];
                    (
                        d.unsigned_abs() as f64 * 100.0 / b.ir.max(1) as f64,
                        d,
                        &b.id,
                    )
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            out.push_str(&format!(
                "{}: {moved} moved, {risk} could reach their threshold (marked !)",
                s.name()
            ));
            if let Some((pct, d, id)) = worst {
                out.push_str(&format!("; largest {d:+} Ir ({pct:.3}%) in {id}"));
            }
            out.push('\n');
        }
        out
    }
}

/// Compares `other` with `reference` benchmark by benchmark.
pub fn deltas(reference: &Run, other: &Run) -> BTreeMap<BenchId, i64> {
    reference
        .benchmarks
        .iter()
        .filter_map(|(id, r)| {
            let a = r.metrics.ir()?;
            let b = other.benchmarks.get(id)?.metrics.ir()?;
            Some((
                id.clone(),
                (i128::from(b) - i128::from(a)).clamp(i64::MIN.into(), i64::MAX.into()) as i64,
            ))
        })
        .collect()
}

/// Reads the Ir of a run directory written by `irgate bench`.
pub fn read_run(dir: &Path) -> Result<Run, BenchError> {
    crate::read_paths(
        &[dir.join("gungraun")],
        crate::Environment::default(),
        &crate::ReadOptions::default(),
    )
    .map_err(|e| BenchError::Run(format!("cannot read the run in {}: {e}", dir.display())))
}

/// Copies the workspace's files (tracked and untracked, not ignored: what `git
/// ls-files -co --exclude-standard` lists) to a path `by` characters longer than
/// `root`, under `work`. Returns the new root. The copy's `target` is a link to
/// `<work>/relocated-target`, shared by every relocation, so that only the
/// workspace's own crates are rebuilt there.
pub fn relocate(root: &Path, work: &Path, by: usize) -> Result<PathBuf, BenchError> {
    std::fs::create_dir_all(work).map_err(|e| io(work, e))?;
    let work = &work.canonicalize().map_err(|e| io(work, e))?;
    let root_len = root.as_os_str().len();
    let name = root
        .file_name()
        .map_or_else(|| "tree".into(), |n| n.to_string_lossy().into_owned());
    // Beside the checkout when its parent is writable (`/w/main` -> `/w/main_rrr`, any
    // length difference from 1 on), else under `work` (as long as that allows).
    let want = root_len + by;
    let beside = root.parent().and_then(|parent| {
        let candidate = parent.join(format!("{name}_{}", "r".repeat(by.saturating_sub(1))));
        let probe = parent.join(format!(".{name}_probe"));
        let writable =
            std::fs::create_dir_all(&probe).is_ok() && std::fs::remove_dir(&probe).is_ok();
        (writable && candidate.as_os_str().len() == want).then_some(candidate)
    });
    let new_root = match beside {
        Some(p) => p,
        None => {
            let base = work.join("relocated");
            let fixed = base.as_os_str().len() + 2 + name.len();
            let pad = want.saturating_sub(fixed).max(1);
            base.join("p".repeat(pad)).join(&name)
        }
    };
    let list = Command::new("git")
        .args(["ls-files", "-z", "-co", "--exclude-standard"])
        .current_dir(root)
        .output()
        .map_err(|e| BenchError::Tool {
            tool: "git".into(),
            message: format!("cannot list the files of {}: {e}", root.display()),
        })?;
    if !list.status.success() {
        return Err(BenchError::Tool {
            tool: "git".into(),
            message: format!(
                "{} is not a git work tree; relocation copies what git lists",
                root.display()
            ),
        });
    }
    // Keep the previous copy's target directory (registry dependencies stay built) and
    // replace everything else.
    if new_root.is_dir() {
        for entry in std::fs::read_dir(&new_root).map_err(|e| io(&new_root, e))? {
            let entry = entry.map_err(|e| io(&new_root, e))?;
            if entry.file_name() == "target" {
                continue;
            }
            let p = entry.path();
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.map_err(|e| io(&p, e))?;
        }
    }
    let target = new_root.join("target");
    if !target.exists() {
        let shared = work.join("relocated-target");
        std::fs::create_dir_all(&shared).map_err(|e| io(&shared, e))?;
        std::fs::create_dir_all(&new_root).map_err(|e| io(&new_root, e))?;
        std::os::unix::fs::symlink(&shared, &target).map_err(|e| io(&target, e))?;
    }
    for rel in list.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rel =
            Path::new(std::str::from_utf8(rel).map_err(|_| {
                BenchError::Run("a file name in the work tree is not UTF-8".into())
            })?);
        let from = root.join(rel);
        if !from.is_file() {
            continue; // listed but deleted in the work tree
        }
        let to = new_root.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::copy(&from, &to).map_err(|e| io(&to, e))?;
    }
    Ok(new_root)
}

fn io(path: &Path, e: std::io::Error) -> BenchError {
    BenchError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// The 256 variables of [`Source::Env`], one of them 64 KiB.
pub fn big_environment() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = (0..255)
        .map(|i| (format!("IRGATE_DOCTOR_VAR_{i:03}"), format!("value-{i}")))
        .collect();
    env.push(("IRGATE_DOCTOR_BIG".into(), "x".repeat(64 * 1024)));
    env
}

/// Runs the reference and every variation, and reports per benchmark.
pub fn run(
    base: &BenchOptions,
    sources: &[Source],
    work: &Path,
    relocate_by: usize,
    policy: &Policy,
) -> Result<DoctorReport, BenchError> {
    let say = |m: &str| {
        if base.progress {
            eprintln!("irgate doctor: {m}");
        }
    };
    std::fs::create_dir_all(work).map_err(|e| io(work, e))?;
    // Absolute, so that path lengths and the relocated copy's links are right.
    let work = &work.canonicalize().map_err(|e| io(work, e))?;
    let mut opts = base.clone();
    opts.out = work.join("reference");
    say("reference run");
    super::run(&opts)?;
    let reference = read_run(&opts.out)?;
    let mut per_source: BTreeMap<Source, BTreeMap<BenchId, i64>> = BTreeMap::new();
    for &s in sources {
        let mut relocated: Option<PathBuf> = None;
        let mut o = base.clone();
        o.out = work.join(s.name());
        match s {
            Source::Rerun => {}
            Source::Relocate => {
                let root = super::cargo::discover(&base.workspace, base.locked)?.root;
                let moved = relocate(&root, work, relocate_by)?;
                say(&format!(
                    "relocated copy at {} ({} characters longer than {})",
                    moved.display(),
                    moved.as_os_str().len() - root.as_os_str().len(),
                    root.display()
                ));
                let rel = base
                    .workspace
                    .canonicalize()
                    .ok()
                    .and_then(|w| w.strip_prefix(&root).ok().map(Path::to_path_buf))
                    .unwrap_or_default();
                o.workspace = moved.join(rel);
                relocated = Some(moved);
            }
            Source::Env => o.driver_env.extend(big_environment()),
            Source::NoPreload => o.no_preload = true,
        }
        say(&format!("variation: {}", s.name()));
        let result = super::run(&o);
        // The copy's sources go; its build stays in `<work>/relocated-target`.
        if let Some(copy) = relocated.take() {
            if let Err(e) = std::fs::remove_dir_all(&copy) {
                say(&format!("warning: cannot remove {}: {e}", copy.display()));
            }
        }
        result?;
        per_source.insert(s, deltas(&reference, &read_run(&o.out)?));
    }
    let benchmarks = reference
        .benchmarks
        .iter()
        .filter_map(|(id, r)| {
            let ir = r.metrics.ir()?;
            let rule = policy.rule_for(id);
            Some(Sensitivity {
                id: id.clone(),
                ir,
                threshold_pct: rule.threshold_pct,
                floor: rule.floor,
                delta: per_source
                    .iter()
                    .filter_map(|(s, d)| d.get(id).map(|v| (*s, *v)))
                    .collect(),
            })
        })
        .collect();
    Ok(DoctorReport {
        sources: sources.to_vec(),
        benchmarks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BenchResult, Metrics};

    fn run_of(pairs: &[(&str, u64)]) -> Run {
        let mut r = Run::default();
        for (id, ir) in pairs {
            let mut m = Metrics::default();
            m.insert("Ir", *ir);
            r.benchmarks.insert(
                id.parse().unwrap(),
                BenchResult {
                    metrics: m,
                    source_file: None,
                },
            );
        }
        r
    }

    #[test]
    fn deltas_and_risk() {
        let a = run_of(&[("p/b/g/f", 10_000), ("p/b/g/h", 1000)]);
        let b = run_of(&[("p/b/g/f", 10_030), ("p/b/g/h", 1000)]);
        let d = deltas(&a, &b);
        assert_eq!(d[&"p/b/g/f".parse::<BenchId>().unwrap()], 30);
        let s = Sensitivity {
            id: "p/b/g/f".parse().unwrap(),
            ir: 10_000,
            threshold_pct: 0.5,
            floor: 10,
            delta: [(Source::Relocate, 30i64)].into_iter().collect(),
        };
        // 0.3% is more than half of 0.5%: could reach the threshold.
        assert!(s.at_risk(Source::Relocate));
        assert!(!s.at_risk(Source::Rerun));
        let report = DoctorReport {
            sources: vec![Source::Rerun, Source::Relocate],
            benchmarks: vec![s],
        };
        let t = report.to_text();
        assert!(t.contains("relocate: 1 moved, 1 could reach"), "{t}");
        assert!(t.contains("rerun: 0 moved"), "{t}");
    }

    #[test]
    fn source_names_round_trip() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.name()), Some(s));
        }
        assert_eq!(Source::parse("bogus"), None);
    }

    #[test]
    fn big_environment_is_big() {
        let e = big_environment();
        assert_eq!(e.len(), 256);
        assert!(e.iter().any(|(_, v)| v.len() == 64 * 1024));
    }
}
