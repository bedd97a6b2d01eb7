#!/usr/bin/env bash
# Longer fuzzing than CI: every invariant target for SECONDS (default 600) each, growing
# fuzz/corpus/<target>, using all cores (-fork). Crashes land in fuzz/artifacts/<target>/.
#
#   bash fuzz/run-long.sh [SECONDS] [TARGET...]     # default targets: trace_parse loop_ops
#   bash fuzz/run-long.sh 3600 loop_ops
#
# deep_bug is not an invariant target (its crash is the point); measure it with
# `bash fuzz/measure-deep-bug.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(trace_parse loop_ops)
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
jobs=$(nproc 2>/dev/null || echo 1)
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t: $secs s on $jobs core(s)"
  cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" --sanitizer none -- \
    -max_total_time="$secs" -fork="$jobs" || status=1
done
exit $status
