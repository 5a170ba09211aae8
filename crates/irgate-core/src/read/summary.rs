//! The parts of a summary that irgate reads, one set of small types per schema version.
//! The types borrow their strings from the input and name only the fields used, so the
//! rest of a summary is skipped without being built.
//!
//! | schema | written by                                   | where the Callgrind metrics are |
//! |--------|----------------------------------------------|---------------------------------|
//! | v3     | iai-callgrind 0.14                           | `callgrind_summary.callgrind_run.total.summary.<name>.metrics`, plain integers |
//! | v4     | iai-callgrind 0.15.0, 0.15.1                 | `profiles[tool=Callgrind].summaries.total.summary.Callgrind.<name>.metrics`, plain integers |
//! | v5     | iai-callgrind 0.15.2                         | as v4, values `{"Int": n}` / `{"Float": x}` |
//! | v6     | iai-callgrind 0.16, Gungraun 0.17–0.19       | as v5 |
//! | v7     | Gungraun 0.20                                | `profiles[tool=Callgrind].data.total.metrics.<name>.values.new` |
//!
//! In v3–v6 a metric's `metrics` is `{"Left": new}`, `{"Both": [new, old]}` or
//! `{"Right": old}` (a metric that only the old run had, which is an error here).
//!
//! # Why not the `gungraun-summary` crate
//!
//! Gungraun publishes a typed model of its summaries (`gungraun-summary` 7.0.0, a
//! dev-dependency here for its JSON schemas). irgate keeps these hand-written types,
//! measured on the 10,000 v7 summaries of the `summaries_10k` example:
//!
//! - Parsing, one thread, same bytes in memory, fastest of 10 rounds
//!   (`cargo run --release -p irgate-core --example summary_models --
//!   target/compare-10k/summaries`, two runs): this reader 158 and 161 ms (about
//!   16 µs a summary, including the benchmark id and the metrics); the crate's
//!   `util::parse_slice` 947 and 791 ms (79 to 95 µs a summary, deserialisation
//!   alone). The model builds every field and map of a summary; these types skip
//!   what is not used without building it.
//! - The whole `irgate compare` on those 10,000 summaries (`hyperfine --warmup 3
//!   --min-runs 30`, the commands of `benches/compare-10k.sh`, two runs on a
//!   2-core machine shared with other builds): 391 ± 49 and 400 ± 59 ms with this
//!   reader against 420 ± 51 and 419 ± 57 ms for the reader before v3 to v5 were
//!   added, so the extra versions cost the v7 case nothing measurable.
//! - Dependencies: the crate's tree (`cargo tree -p irgate-core -e normal,dev
//!   --no-dedupe`, the part below `gungraun-summary`) has 21 crates, 8 of them not in
//!   irgate-core's own (`cargo tree -p irgate-core -e normal`): `gungraun-summary`,
//!   `gungraun-runner` (0.20.0 with its `summary` feature; the crate asks for
//!   `>=0.19.3`), `either-or-both`, `indexmap`, `hashbrown`, `equivalent`, `foldhash`,
//!   `allocator-api2`.
//! - Coverage: it models v6 and v7 only, so v3 to v5 would need types of their own
//!   anyway.
//!
//! Adding a schema version means adding its types here (as fields of [`Summary`] and
//! [`Profile`]), the function that takes its metrics beside [`metrics_v7`], and a line
//! in [`SUPPORTED`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::model::Metrics;

/// The fields of a summary (any supported version) that irgate uses; everything else
/// is skipped without being built. A field that one version lacks is `None`.
#[derive(Deserialize)]
pub(super) struct Summary<'a> {
    pub(super) version: Option<Value>,
    #[serde(borrow)]
    pub(super) module_path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) function_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) group: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) output_dir: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) package_dir: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) benchmark_file: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) project_root: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) summary_output: Option<SummaryOutput<'a>>,
    /// v4–v7: one entry per Valgrind tool that ran.
    #[serde(borrow)]
    profiles: Option<Vec<Profile<'a>>>,
    /// v3: the Callgrind results (v3 has no `profiles`).
    #[serde(borrow)]
    callgrind_summary: Option<CallgrindSummaryV3<'a>>,
    /// v7: how long the benchmark ran. Kept as any JSON value, so that a value of
    /// another shape is ignored, not an error.
    pub(super) duration_ns: Option<Value>,
    /// v7: when the benchmark started (RFC 3339); like `duration_ns`, any shape.
    pub(super) started_at: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct SummaryOutput<'a> {
    #[serde(borrow)]
    pub(super) path: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Profile<'a> {
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    /// v7.
    #[serde(borrow)]
    data: Option<DataV7<'a>>,
    /// v4–v6.
    #[serde(borrow)]
    summaries: Option<SummariesV4<'a>>,
}

#[derive(Deserialize)]
struct DataV7<'a> {
    #[serde(borrow)]
    total: Option<TotalV7<'a>>,
}

#[derive(Deserialize)]
struct TotalV7<'a> {
    #[serde(borrow)]
    metrics: Option<Pairs<'a, MetricV7>>,
}

/// A JSON object of metrics read as `(name, value)` pairs in file order: cheaper than
/// building a map that is only iterated once.
struct Pairs<'a, T>(Vec<(Cow<'a, str>, T)>);

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Pairs<'a, T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a, T>(std::marker::PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<'a, T> {
            type Value = Pairs<'a, T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of metrics")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(k) = map.next_key::<BorrowedName<'de>>()? {
                    out.push((k.0, map.next_value()?));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// A metric name, borrowed from the input when it holds no escapes.
#[derive(Deserialize)]
struct BorrowedName<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct MetricV7 {
    values: Option<ValuesV7>,
}

#[derive(Deserialize)]
struct ValuesV7 {
    new: Option<Value>,
}

/// v3: `callgrind_summary`, the Callgrind part of the summary.
#[derive(Deserialize)]
pub(super) struct CallgrindSummaryV3<'a> {
    #[serde(borrow)]
    callgrind_run: Option<RunV3<'a>>,
}

#[derive(Deserialize)]
struct RunV3<'a> {
    #[serde(borrow)]
    total: Option<TotalV3<'a>>,
}

#[derive(Deserialize)]
struct TotalV3<'a> {
    /// Event name → its values.
    #[serde(borrow)]
    summary: Option<Pairs<'a, DiffV3>>,
}

/// v4–v6: `profiles[].summaries`.
#[derive(Deserialize)]
struct SummariesV4<'a> {
    #[serde(borrow)]
    total: Option<TotalV4<'a>>,
}

#[derive(Deserialize)]
struct TotalV4<'a> {
    #[serde(borrow)]
    summary: Option<ToolSummaryV4<'a>>,
}

/// v4–v6: a tool's metrics, `{"Callgrind": {..}}`, `{"Dhat": {..}}`, … or `"None"`
/// (tools without metrics). Only Callgrind's are kept; the others are skipped.
struct ToolSummaryV4<'a> {
    callgrind: Option<Pairs<'a, DiffV3>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ToolSummaryV4<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = ToolSummaryV4<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a tool's metrics (an object with one key) or \"None\"")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ToolSummaryV4 { callgrind: None })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut callgrind = None;
                while let Some(k) = map.next_key::<BorrowedName<'de>>()? {
                    if k.0 == "Callgrind" {
                        callgrind = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(ToolSummaryV4 { callgrind })
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// v3–v6: one metric's entry (`MetricsDiff`); its `diffs` are not used.
#[derive(Deserialize)]
struct DiffV3 {
    metrics: Option<EitherOrBoth>,
}

/// v3–v6: the new value on the left, the old one on the right, or both
/// (`{"Left": x}`, `{"Right": x}`, `{"Both": [new, old]}`). The old value is not used.
#[derive(Deserialize)]
enum EitherOrBoth {
    Left(Count),
    Right(serde::de::IgnoredAny),
    Both(Count, serde::de::IgnoredAny),
}

/// v3–v6: a metric value. v3 and v4 write a plain integer; v5 and v6 write
/// `{"Int": n}` or `{"Float": x}` (a float that was not finite is written as null).
enum Count {
    Plain(u64),
    Int(u64),
    Float(Option<f64>),
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a count: an unsigned integer, {\"Int\": n} or {\"Float\": x}")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count::Plain(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Count, A::Error> {
                use serde::de::Error;
                let key = map
                    .next_key::<BorrowedName<'de>>()?
                    .ok_or_else(|| A::Error::custom("an empty object is not a metric value"))?;
                let value = match key.0.as_ref() {
                    "Int" => Count::Int(map.next_value()?),
                    "Float" => Count::Float(map.next_value()?),
                    other => {
                        return Err(A::Error::unknown_variant(other, &["Int", "Float"]));
                    }
                };
                if map.next_key::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom("a metric value has one key, Int or Float"));
                }
                Ok(value)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// The schema versions read, with the harness versions that write them: named in the
/// error for any other version.
pub(super) const SUPPORTED: &str = "v3 (iai-callgrind 0.14), v4 (iai-callgrind 0.15.0 and \
     0.15.1), v5 (iai-callgrind 0.15.2), v6 (iai-callgrind 0.16, Gungraun 0.17 to 0.19) and \
     v7 (Gungraun 0.20)";

/// Names of Callgrind metrics that are ratios, not counts; they are skipped.
fn is_rate(name: &str) -> bool {
    name.ends_with("Rate")
}

/// Converts a v7 count value to `u64`, refusing negative, fractional and non-numbers.
fn count(name: &str, value: &Value) -> Result<Option<u64>, String> {
    if is_rate(name) {
        return Ok(None);
    }
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if n.as_i64().is_some() {
                Err(format!("metric {name} has a negative count {n}"))
            } else {
                float_count(name, n.as_f64()).map(Some)
            }
        }
        other => Err(format!("metric {name} is not a number: {other}")),
    }
}

/// A count written as a float: accepted when it is a whole, non-negative number.
fn float_count(name: &str, f: Option<f64>) -> Result<u64, String> {
    match f {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(f as u64),
        Some(f) => Err(format!("metric {name} has a non-integer count {f}")),
        None => Err(format!("metric {name} has a non-finite count")),
    }
}

/// The Callgrind profile of a summary (the element of `profiles` with tool Callgrind).
fn callgrind_profile<'s, 'a>(s: &'s Summary<'a>) -> Result<&'s Profile<'a>, String> {
    s.profiles
        .as_ref()
        .ok_or("missing `profiles` array")?
        .iter()
        .find(|p| p.tool.as_deref() == Some("Callgrind"))
        .ok_or_else(|| "no Callgrind profile (did the benchmark fail?)".to_owned())
}

/// v7: `profiles[tool=Callgrind].data.total.metrics.<name>.values.new`.
pub(super) fn metrics_v7(s: &Summary<'_>) -> Result<Metrics, String> {
    let p = callgrind_profile(s)?;
    let total = p
        .data
        .as_ref()
        .and_then(|d| d.total.as_ref())
        .and_then(|t| t.metrics.as_ref())
        .ok_or("missing `data.total.metrics` in the Callgrind profile")?;
    let mut m = Metrics::default();
    for (name, entry) in &total.0 {
        let new = entry
            .values
            .as_ref()
            .and_then(|v| v.new.as_ref())
            .ok_or_else(|| format!("metric {name} has no `values.new`"))?;
        if let Some(c) = count(name, new)? {
            m.insert(name.as_ref(), c);
        }
    }
    Ok(m)
}

/// v3: `callgrind_summary.callgrind_run.total.summary.<name>.metrics`.
pub(super) fn metrics_v3(s: &Summary<'_>) -> Result<Metrics, String> {
    let total = s
        .callgrind_summary
        .as_ref()
        .and_then(|c| c.callgrind_run.as_ref())
        .and_then(|r| r.total.as_ref())
        .and_then(|t| t.summary.as_ref())
        .ok_or(
            "missing `callgrind_summary.callgrind_run.total.summary` (did the benchmark fail?)",
        )?;
    metrics_of(total, Schema::V3)
}

/// v4, v5, v6: `profiles[tool=Callgrind].summaries.total.summary.Callgrind.<name>.metrics`;
/// `version` is the summary's ("4", "5" or "6").
pub(super) fn metrics_v4_to_v6(s: &Summary<'_>, version: &str) -> Result<Metrics, String> {
    let schema = match version {
        "4" => Schema::V4,
        "5" => Schema::V5,
        _ => Schema::V6,
    };
    let p = callgrind_profile(s)?;
    let total = p
        .summaries
        .as_ref()
        .and_then(|x| x.total.as_ref())
        .and_then(|t| t.summary.as_ref())
        .and_then(|s| s.callgrind.as_ref())
        .ok_or("missing `summaries.total.summary.Callgrind` in the Callgrind profile")?;
    metrics_of(total, schema)
}

/// The schema versions that share the `EitherOrBoth` metric layout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Schema {
    V3,
    V4,
    V5,
    V6,
}

impl Schema {
    /// Whether this version writes counts as plain integers (v3, v4) rather than as
    /// `{"Int": n}` / `{"Float": x}` (v5, v6).
    fn plain(self) -> bool {
        matches!(self, Schema::V3 | Schema::V4)
    }

    fn name(self) -> &'static str {
        match self {
            Schema::V3 => "v3",
            Schema::V4 => "v4",
            Schema::V5 => "v5",
            Schema::V6 => "v6",
        }
    }
}

/// The new value of every count metric in `total` (rates are skipped).
fn metrics_of(total: &Pairs<'_, DiffV3>, schema: Schema) -> Result<Metrics, String> {
    let mut m = Metrics::default();
    for (name, entry) in &total.0 {
        if is_rate(name) {
            continue;
        }
        let new = match entry.metrics.as_ref() {
            Some(EitherOrBoth::Left(c) | EitherOrBoth::Both(c, _)) => c,
            Some(EitherOrBoth::Right(_)) => {
                return Err(format!(
                    "metric {name} has only an old value (`Right`): the benchmark did not run"
                ))
            }
            None => return Err(format!("metric {name} has no `metrics`")),
        };
        let value = match *new {
            Count::Plain(n) if schema.plain() => n,
            Count::Int(n) if !schema.plain() => n,
            Count::Float(f) if !schema.plain() => float_count(name, f)?,
            _ => {
                let form = if schema.plain() {
                    "plain integers"
                } else {
                    "{\"Int\": n} or {\"Float\": x}"
                };
                return Err(format!(
                    "metric {name} is not written as a {} summary writes it ({form})",
                    schema.name()
                ));
            }
        };
        m.insert(name.as_ref(), value);
    }
    Ok(m)
}
