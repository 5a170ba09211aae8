//! The parts of a summary that irgate reads, one set of small types per schema version:
//! Gungraun v7 and iai-callgrind v6. The types borrow their strings from the input and
//! name only the fields used, so the rest of a summary is skipped without being built.
//!
//! Adding a schema version means adding its types here (as fields of [`Summary`] and
//! [`Profile`]), and the function that takes its metrics, beside [`metrics_v7`] and
//! [`metrics_v6`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::Metrics;

/// The fields of a v6 or v7 summary that irgate uses; everything else is skipped
/// without being built.
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
    #[serde(borrow)]
    profiles: Option<Vec<Profile<'a>>>,
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
    /// v6.
    summaries: Option<SummariesV6>,
}

#[derive(Deserialize)]
struct DataV7<'a> {
    #[serde(borrow)]
    total: Option<TotalV7<'a>>,
}

#[derive(Deserialize)]
struct TotalV7<'a> {
    #[serde(borrow, default, deserialize_with = "metric_pairs")]
    metrics: Option<MetricPairs<'a>>,
}

/// Metric names with their values, in file order.
type MetricPairs<'a> = Vec<(Cow<'a, str>, MetricV7)>;

/// Reads a JSON object of metrics as `(name, value)` pairs in file order: cheaper than
/// building a map that is only iterated once.
fn metric_pairs<'de, D>(d: D) -> Result<Option<MetricPairs<'de>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Option<MetricPairs<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of metrics")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(32));
            while let Some(k) = map.next_key::<BorrowedName<'de>>()? {
                out.push((k.0, map.next_value()?));
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(Pairs)
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

#[derive(Deserialize)]
struct SummariesV6 {
    total: Option<TotalV6>,
}

#[derive(Deserialize)]
struct TotalV6 {
    summary: Option<BTreeMap<String, BTreeMap<String, MetricV6>>>,
}

#[derive(Deserialize)]
struct MetricV6 {
    metrics: Option<Value>,
}

/// Names of Callgrind metrics that are ratios, not counts; they are skipped.
fn is_rate(name: &str) -> bool {
    name.ends_with("Rate")
}

/// Converts a count value to `u64`, refusing negative, fractional and non-numbers.
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
                match n.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(Some(f as u64)),
                    _ => Err(format!("metric {name} has a non-integer count {n}")),
                }
            }
        }
        // A v6 metric is `{"Int": n}` or `{"Float": x}`.
        Value::Object(m) if m.len() == 1 => match (m.get("Int"), m.get("Float")) {
            (Some(inner), _) => count(name, inner),
            (_, Some(inner)) => count(name, inner),
            _ => Err(format!("metric {name} has an unknown value shape {value}")),
        },
        other => Err(format!("metric {name} is not a number: {other}")),
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
    for (name, entry) in total {
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

/// v6: `profiles[tool=Callgrind].summaries.total.summary.Callgrind.<name>.metrics`
/// with `{"Left": new}` or `{"Both": [new, old]}`.
pub(super) fn metrics_v6(s: &Summary<'_>) -> Result<Metrics, String> {
    let p = callgrind_profile(s)?;
    let total = p
        .summaries
        .as_ref()
        .and_then(|x| x.total.as_ref())
        .and_then(|t| t.summary.as_ref())
        .and_then(|s| s.get("Callgrind"))
        .ok_or("missing `summaries.total.summary.Callgrind` in the Callgrind profile")?;
    let mut m = Metrics::default();
    for (name, entry) in total {
        let metrics = entry
            .metrics
            .as_ref()
            .ok_or_else(|| format!("metric {name} has no `metrics`"))?;
        let new = if let Some(l) = metrics.get("Left") {
            l
        } else if let Some(b) = metrics.get("Both").and_then(Value::as_array) {
            b.first()
                .ok_or_else(|| format!("metric {name}: empty `Both`"))?
        } else if metrics.get("Right").is_some() {
            return Err(format!(
                "metric {name} has only an old value (`Right`): the benchmark did not run"
            ));
        } else {
            return Err(format!("metric {name}: unknown `metrics` shape {metrics}"));
        };
        if let Some(c) = count(name, new)? {
            m.insert(name.clone(), c);
        }
    }
    Ok(m)
}
