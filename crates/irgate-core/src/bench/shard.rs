//! `irgate bench --shard K/N`: a deterministic 1/N of the benchmarks.
//!
//! A benchmark belongs to shard `hash(id) mod N`, with a stable hash of its id
//! ([`super::pinning::fnv1a`]). Each benchmark's shard depends on its own id alone, so
//! adding or renaming a benchmark moves no other one, and every machine splits a suite
//! the same way. The shards of one suite are disjoint and together hold every
//! benchmark; `irgate compare` merges their run directories.

use std::fmt;
use std::str::FromStr;

/// One of `count` shards, `index` counted from 1 (`--shard 2/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1 to `count`.
    pub index: u32,
    /// How many shards the suite is split into.
    pub count: u32,
}

impl Shard {
    /// Whether the benchmark with id `id` (`package/bench/group/function[/id]`) is in
    /// this shard.
    pub fn holds(&self, id: &str) -> bool {
        super::pinning::fnv1a(&[id]) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?}: expected K/N with 1 <= K <= N (e.g. 2/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// The benchmark id of a `--list` line's name (`bench::group::function::id`) in
/// package `package`: `package/bench/group/function/id`.
pub fn list_name_to_id(package: &str, name: &str) -> String {
    format!("{package}/{}", name.replace("::", "/"))
}

/// The runner's filter that matches exactly the `--list` name `name`. The filter is a
/// wildcard pattern; a name holding a wildcard character (`*`, `?`, `[`, `]`, `\`)
/// has it replaced by `?`, which matches it too.
pub fn exact_filter(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "1/0", "x/2", "2", "", "1/2/3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_are_disjoint_and_complete_and_stable() {
        let ids: Vec<String> = (0..1000).map(|i| format!("p/b/g/f/case_{i}")).collect();
        let n = 4;
        let mut sizes = vec![0usize; n];
        for id in &ids {
            let owners: Vec<u32> = (1..=n as u32)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: n as u32,
                    }
                    .holds(id)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{id}");
            sizes[(owners[0] - 1) as usize] += 1;
        }
        // Roughly even: each shard holds 25% +- 5 points of 1000.
        assert!(sizes.iter().all(|s| (200..=300).contains(s)), "{sizes:?}");
        // One shard holds everything.
        assert!(ids.iter().all(|id| Shard { index: 1, count: 1 }.holds(id)));
        // Adding benchmarks moves none of the others.
        let before: Vec<bool> = ids
            .iter()
            .map(|id| Shard { index: 3, count: 4 }.holds(id))
            .collect();
        let mut more = ids.clone();
        more.push("p/b/g/f/new".into());
        let after: Vec<bool> = more[..1000]
            .iter()
            .map(|id| Shard { index: 3, count: 4 }.holds(id))
            .collect();
        assert_eq!(before, after);
    }

    #[test]
    fn names_become_ids_and_exact_filters() {
        assert_eq!(list_name_to_id("pkg", "ir::g::f::x"), "pkg/ir/g/f/x");
        assert_eq!(exact_filter("ir::g::f::x"), "ir::g::f::x");
        assert_eq!(exact_filter("ir::g::f::a[1]*"), "ir::g::f::a?1??");
    }
}
