//! The table of `irgate baseline show`: what the committed baselines hold.

use crate::baseline::{BaselineSet, Provenance};

/// One block per suite: its environment, each distinct provenance once (numbered,
/// since benchmarks accepted together share one), then one line per benchmark with its
/// stored metrics and the number of its provenance. Control characters in names and
/// texts (which a hand-edited baseline may hold) are shown as `?`, so the table cannot
/// drive the terminal.
pub fn baseline_table(set: &BaselineSet) -> String {
    let mut out = String::new();
    for b in set.suites.values() {
        out.push_str(&format!(
            "{}/{}  ({} benchmarks)\n  environment: {}\n",
            b.package,
            b.bench,
            b.benchmarks.len(),
            b.environment.one_line()
        ));
        let mut seen: Vec<&Provenance> = Vec::new();
        for e in b.benchmarks.values() {
            if !seen.contains(&&e.provenance) {
                let p = &e.provenance;
                out.push_str(&format!(
                    "  [{}] accepted in {} by {} at {}: {}\n",
                    seen.len() + 1,
                    p.commit,
                    p.accepted_by,
                    p.accepted_at,
                    p.reason
                ));
                seen.push(p);
            }
        }
        for (k, e) in &b.benchmarks {
            let vals: Vec<String> = e
                .metrics
                .0
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let n = seen
                .iter()
                .position(|p| **p == e.provenance)
                .map_or(0, |i| i + 1);
            out.push_str(&format!("  {k:<50} {}  [{n}]\n", vals.join(" ")));
        }
    }
    out.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::baseline::{Baseline, BaselineEntry, BaselineSet, Provenance};
    use crate::model::{Environment, Metrics};

    #[test]
    fn lists_suites_and_values_and_defuses_control_characters() {
        let entry = |ir: u64, reason: &str| {
            let mut m = Metrics::default();
            m.insert("Ir", ir);
            BaselineEntry {
                metrics: m,
                provenance: Provenance {
                    reason: reason.into(),
                    ..Provenance::default()
                },
            }
        };
        let b = Baseline {
            package: "pkg".into(),
            bench: "ir".into(),
            source_file: None,
            environment: Environment::default(),
            benchmarks: [
                (
                    "compute/scaled".to_owned(),
                    entry(70021, "bell\u{7} and escape\u{1b}[2J"),
                ),
                ("compute/plain".to_owned(), entry(5, "older")),
                ("compute/other".to_owned(), entry(6, "older")),
            ]
            .into_iter()
            .collect(),
        };
        let mut set = BaselineSet::default();
        set.suites.insert(b.suite(), b);
        let t = super::baseline_table(&set);
        assert!(t.starts_with("pkg/ir  (3 benchmarks)"), "{t}");
        // Benchmarks sorted: other, plain (sharing "older" as [1]), scaled ([2]).
        assert!(t.contains("[1] accepted in  by  at : older\n"), "{t}");
        assert!(
            t.contains("[2] accepted in  by  at : bell? and escape?[2J\n"),
            "{t}"
        );
        assert_eq!(t.matches("older").count(), 1, "{t}");
        let line = t.lines().find(|l| l.contains("compute/scaled")).unwrap();
        assert!(line.contains("Ir=70021") && line.ends_with("[2]"), "{t}");
        let line = t.lines().find(|l| l.contains("compute/plain")).unwrap();
        assert!(line.contains("Ir=5") && line.ends_with("[1]"), "{t}");
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t}");
    }
}
