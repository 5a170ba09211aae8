//! The comparator: reads benchmark results, compares them with baselines under a policy, renders verdicts.
