#!/usr/bin/env bash
# Times the whole `irgate compare` command on 10,000 summaries (made from a real v7
# summary by the `summaries_10k` example), against baselines accepted from them with
# `irgate accept`. Run from the repository root:
#
#   crates/irgate-core/benches/compare-10k.sh [OUT_DIR] [-- HYPERFINE_ARGS...]
#
# OUT_DIR defaults to target/compare-10k. Needs hyperfine (`cargo install hyperfine
# --locked`). IRGATE_BIN names another irgate binary to time (e.g. one built from an
# older commit); by default the one built here is used.
set -euo pipefail

out=target/compare-10k
if [[ $# -gt 0 && $1 != -- ]]; then
    out=$1
    shift
fi
[[ ${1-} == -- ]] && shift

target=${CARGO_TARGET_DIR:-target}
cargo build --release -p irgate --no-default-features
cargo run --release -p irgate-core --example summaries_10k -- "$out"
bin=${IRGATE_BIN:-$target/release/irgate}

rm -rf "$out/baselines"
"$bin" accept --baselines "$out/baselines" --env "$out/env.json" \
    --reason "10,000-summary timing fixture" --commit 0000000000000000000000000000000000000000 --accepted-by bench \
    "$out/summaries" >/dev/null

cmd="$bin compare --baselines $out/baselines --env $out/env.json $out/summaries"
# The gate must pass (exit 0): a fixture that cannot be judged times the wrong thing.
$cmd >/dev/null
hyperfine --warmup 3 --min-runs 20 --output=null "$@" "$cmd"
