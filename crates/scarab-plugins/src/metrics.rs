//! Timing of loads and hooks: counts, totals and percentiles, checked against targets.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Making one plugin ready to run: compile its source (through the script cache)
    /// or take its decoded chunk, create its VM, run its top level and resolve its
    /// hooks. Reading the file is not included; decoding `.fzb` is [`Metric::BytecodeLoad`].
    PluginLoad,
    /// Decoding and verifying one `.fzb` file.
    BytecodeLoad,
    /// One plugin's `on_output` (or one line's share of `on_output_batch`).
    OutputHook,
    /// One plugin's `on_input`.
    InputHook,
    /// One plugin's `on_resize`.
    ResizeHook,
    /// One call into a Fusabi VM.
    VmExec,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 6] = [
        Metric::PluginLoad,
        Metric::BytecodeLoad,
        Metric::OutputHook,
        Metric::InputHook,
        Metric::ResizeHook,
        Metric::VmExec,
    ];

    /// Short name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::PluginLoad => "plugin_load",
            Metric::BytecodeLoad => "bytecode_load",
            Metric::OutputHook => "output_hook",
            Metric::InputHook => "input_hook",
            Metric::ResizeHook => "resize_hook",
            Metric::VmExec => "vm_exec",
        }
    }

    /// The target time for one measurement, where there is one: plugin load < 100 ms,
    /// bytecode load < 500 µs, output and input hooks < 50 µs, VM exec < 20 µs.
    pub fn target(self) -> Option<Duration> {
        match self {
            Metric::PluginLoad => Some(Duration::from_millis(100)),
            Metric::BytecodeLoad => Some(Duration::from_micros(500)),
            Metric::OutputHook | Metric::InputHook => Some(Duration::from_micros(50)),
            Metric::VmExec => Some(Duration::from_micros(20)),
            Metric::ResizeHook => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Summary of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSummary {
    /// Which metric.
    pub metric: Metric,
    /// Number of measurements.
    pub count: u64,
    /// Sum of all measurements.
    pub total: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest measurement.
    pub max: Duration,
}

/// Outcome of checking one metric against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetCheck {
    /// Which metric.
    pub metric: Metric,
    /// The target.
    pub target: Duration,
    /// The value compared with the target (the 99th percentile).
    pub p99: Duration,
    /// Whether `p99 < target`. `None` when there were no measurements.
    pub met: Option<bool>,
}

/// A snapshot of all metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsReport {
    /// One summary per metric, in [`Metric::ALL`] order.
    pub summaries: Vec<MetricSummary>,
}

impl MetricsReport {
    /// The summary of one metric.
    pub fn get(&self, metric: Metric) -> Option<&MetricSummary> {
        self.summaries.iter().find(|s| s.metric == metric)
    }

    /// Compare each metric's 99th percentile with its target.
    pub fn check_targets(&self) -> Vec<TargetCheck> {
        self.summaries
            .iter()
            .filter_map(|s| {
                let target = s.metric.target()?;
                Some(TargetCheck {
                    metric: s.metric,
                    target,
                    p99: s.p99,
                    met: (s.count > 0).then_some(s.p99 < target),
                })
            })
            .collect()
    }

    /// Emit one `tracing` event per metric (target `scarab_plugins::metrics`, level
    /// INFO) with its count, total and percentiles in nanoseconds, for subscribers
    /// that collect metrics from events.
    pub fn emit_tracing(&self) {
        let checks = self.check_targets();
        for s in &self.summaries {
            let met = checks
                .iter()
                .find(|c| c.metric == s.metric)
                .and_then(|c| c.met);
            tracing::info!(
                target: "scarab_plugins::metrics",
                metric = s.metric.name(),
                count = s.count,
                total_ns = u64::try_from(s.total.as_nanos()).unwrap_or(u64::MAX),
                p50_ns = u64::try_from(s.p50.as_nanos()).unwrap_or(u64::MAX),
                p90_ns = u64::try_from(s.p90.as_nanos()).unwrap_or(u64::MAX),
                p99_ns = u64::try_from(s.p99.as_nanos()).unwrap_or(u64::MAX),
                max_ns = u64::try_from(s.max.as_nanos()).unwrap_or(u64::MAX),
                target_met = ?met,
                "plugin host metric"
            );
        }
    }

    /// Whether every metric with measurements meets its target.
    pub fn targets_met(&self) -> bool {
        self.check_targets().iter().all(|c| c.met != Some(false))
    }
}

impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<14} {:>8} {:>12} {:>10} {:>10} {:>10} {:>10}  target",
            "metric", "count", "total", "p50", "p90", "p99", "max"
        )?;
        let checks = self.check_targets();
        for s in &self.summaries {
            let verdict = match checks.iter().find(|c| c.metric == s.metric) {
                Some(c) => match c.met {
                    Some(true) => format!("< {:?} ok", c.target),
                    Some(false) => format!("< {:?} MISSED", c.target),
                    None => format!("< {:?} (no data)", c.target),
                },
                None => "-".to_owned(),
            };
            writeln!(
                f,
                "{:<14} {:>8} {:>12?} {:>10?} {:>10?} {:>10?} {:>10?}  {}",
                s.metric.name(),
                s.count,
                s.total,
                s.p50,
                s.p90,
                s.p99,
                s.max,
                verdict
            )?;
        }
        Ok(())
    }
}

struct Series {
    hist: Histogram<u64>,
    total_ns: u128,
}

/// Collects timings into one HDR histogram (nanoseconds, 3 significant digits) per
/// [`Metric`]. A disabled collector does not read the clock: [`MetricsCollector::start`]
/// is one relaxed atomic load.
pub struct MetricsCollector {
    enabled: AtomicBool,
    series: Mutex<Vec<Series>>,
}

impl fmt::Debug for MetricsCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsCollector")
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl Default for MetricsCollector {
    fn default() -> Self {
        Self::new(true)
    }
}

/// Highest value the histograms track: one minute, in nanoseconds. Longer
/// measurements are clamped to it.
const MAX_TRACKED_NS: u64 = 60_000_000_000;

impl MetricsCollector {
    /// A collector, enabled or not.
    pub fn new(enabled: bool) -> Self {
        let series = Metric::ALL
            .iter()
            .map(|_| Series {
                // Constant, valid bounds: this cannot fail.
                hist: Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3)
                    .expect("constant histogram bounds are valid"),
                total_ns: 0,
            })
            .collect();
        Self {
            enabled: AtomicBool::new(enabled),
            series: Mutex::new(series),
        }
    }

    /// Start or stop recording. Stopping keeps what was recorded.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Whether the collector records.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Start timing: `Some(now)` when enabled, `None` (no clock read) when disabled.
    #[inline]
    pub fn start(&self) -> Option<Instant> {
        if self.is_enabled() {
            Some(Instant::now())
        } else {
            None
        }
    }

    /// Finish a timing begun with [`MetricsCollector::start`].
    #[inline]
    pub fn finish(&self, metric: Metric, started: Option<Instant>) {
        if let Some(t) = started {
            self.record(metric, t.elapsed());
        }
    }

    /// Record one measurement (ignored when disabled).
    pub fn record(&self, metric: Metric, elapsed: Duration) {
        if !self.is_enabled() {
            return;
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut series = self.lock();
        if let Some(s) = series.get_mut(metric.index()) {
            s.hist.saturating_record(ns.clamp(1, MAX_TRACKED_NS));
            s.total_ns += u128::from(ns);
        }
    }

    /// Record `count` measurements of the same value (ignored when disabled); used for
    /// a batch, where each item gets an equal share of the batch's time.
    pub fn record_n(&self, metric: Metric, each: Duration, count: u64) {
        if !self.is_enabled() || count == 0 {
            return;
        }
        let ns = u64::try_from(each.as_nanos()).unwrap_or(u64::MAX);
        let mut series = self.lock();
        if let Some(s) = series.get_mut(metric.index()) {
            s.hist
                .saturating_record_n(ns.clamp(1, MAX_TRACKED_NS), count);
            s.total_ns += u128::from(ns) * u128::from(count);
        }
    }

    /// Forget all measurements.
    pub fn reset(&self) {
        for s in self.lock().iter_mut() {
            s.hist.reset();
            s.total_ns = 0;
        }
    }

    /// Summaries of everything recorded so far.
    pub fn report(&self) -> MetricsReport {
        let series = self.lock();
        let summaries = Metric::ALL
            .iter()
            .zip(series.iter())
            .map(|(&metric, s)| {
                let q = |p: f64| Duration::from_nanos(s.hist.value_at_quantile(p));
                let empty = s.hist.is_empty();
                MetricSummary {
                    metric,
                    count: s.hist.len(),
                    total: Duration::from_nanos(u64::try_from(s.total_ns).unwrap_or(u64::MAX)),
                    p50: if empty { Duration::ZERO } else { q(0.50) },
                    p90: if empty { Duration::ZERO } else { q(0.90) },
                    p99: if empty { Duration::ZERO } else { q(0.99) },
                    max: if empty {
                        Duration::ZERO
                    } else {
                        Duration::from_nanos(s.hist.max())
                    },
                }
            })
            .collect();
        MetricsReport { summaries }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Series>> {
        self.series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
