#!/usr/bin/env bash
# Measures how long the fuzzer takes to find deep_bug's planted bug: 5 runs (libFuzzer
# seeds 1..5), each from an empty corpus, and their median; then the seed sweep
# (cargo run --release --example deep_bug: Random over seeds 0..100000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fuzz build --sanitizer none deep_bug
times=()
for s in 1 2 3 4 5; do
  dir=$(mktemp -d)
  start=$(date +%s.%N)
  cargo fuzz run deep_bug "$dir" --sanitizer none -- -seed="$s" -max_total_time=600 \
    -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1 || true
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  execs=$(grep -o 'number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo '?')
  found=$(ls "$dir"/crash-* >/dev/null 2>&1 && echo found || echo NOT-found)
  printf 'libFuzzer -seed=%s: %s in %.2f s, %s executions\n' "$s" "$found" "$t" "$execs"
  times+=("$t")
  rm -rf "$dir"
done
printf 'median: %s s\n' "$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)"
cargo run --quiet --release --example deep_bug 2>/dev/null | head -n 3
