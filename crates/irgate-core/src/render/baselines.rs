//! The table of `irgate baseline show`: what the committed baselines hold.

use crate::baseline::BaselineSet;

/// One block per suite: its provenance and environment, then one line per benchmark
/// with its stored metrics. Control characters in names and texts (which a hand-edited
/// baseline may hold) are shown as `?`, so the table cannot drive the terminal.
pub fn baseline_table(set: &BaselineSet) -> String {
    let mut out = String::new();
    for b in set.suites.values() {
        out.push_str(&format!(
            "{}/{}  ({} benchmarks; accepted {} by {} at {}: {})\n  environment: {}\n",
            b.package,
            b.bench,
            b.benchmarks.len(),
            b.provenance.commit,
            b.provenance.accepted_by,
            b.provenance.accepted_at,
            b.provenance.reason,
            b.environment.one_line()
        ));
        for (k, m) in &b.benchmarks {
            let vals: Vec<String> = m.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
            out.push_str(&format!("  {k:<50} {}\n", vals.join(" ")));
        }
    }
    out.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::baseline::{Baseline, BaselineSet, Provenance};
    use crate::model::{Environment, Metrics};

    #[test]
    fn lists_suites_and_values_and_defuses_control_characters() {
        let mut m = Metrics::default();
        m.insert("Ir", 70021);
        let b = Baseline {
            schema_version: 1,
            package: "pkg".into(),
            bench: "ir".into(),
            source_file: None,
            provenance: Provenance {
                reason: "bell\u{7} and escape\u{1b}[2J".into(),
                ..Provenance::default()
            },
            environment: Environment::default(),
            benchmarks: [("compute/scaled".to_owned(), m)].into_iter().collect(),
        };
        let mut set = BaselineSet::default();
        set.suites.insert(b.suite(), b);
        let t = super::baseline_table(&set);
        assert!(t.starts_with("pkg/ir  (1 benchmarks;"), "{t}");
        assert!(
            t.contains("compute/scaled") && t.contains("Ir=70021"),
            "{t}"
        );
        assert!(t.contains("bell? and escape?[2J"), "{t}");
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t}");
    }
}
