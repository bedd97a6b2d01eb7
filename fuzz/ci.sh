#!/usr/bin/env bash
# Bounded fuzzing, as CI runs it (.ci/run calls `bash fuzz/ci.sh 20`).
#
#   bash fuzz/ci.sh [SECONDS]      # default 20 s per invariant target
#
# - trace_parse and loop_ops check invariants: each runs SECONDS seconds from the generated
#   corpus (fuzz/corpus/<target>, git-ignored, cache it between CI runs) plus the committed
#   seeds (fuzz/seeds/<target>); any crash fails the script, showing the log's tail.
# - deep_bug has a planted bug, so there a crash is success: the fuzzer must find it within
#   60 s (libFuzzer seed fixed), and the crash input must replay WITHOUT the fuzzer
#   (SIMLOOP_FUZZ_INPUT=<crash> cargo run --example deep_bug) and fail the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

echo "-- building the fuzz targets (release, sanitizer none: works on stable)"
cargo fuzz build --sanitizer none

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for t in trace_parse loop_ops; do
  echo "-- $t: ${secs} s"
  mkdir -p "fuzz/corpus/$t"
  if ! cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" --sanitizer none -- \
      -max_total_time="$secs" -artifact_prefix="$work/" >"$work/$t.log" 2>&1; then
    tail -n 120 "$work/$t.log"
    echo "FUZZ FAILURE: target $t crashed; the input is in $work (copy it before this script exits)" >&2
    ls "$work" >&2
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$work/$t.log" || true
done

echo "-- deep_bug: the fuzzer must find the planted bug within 60 s"
mkdir -p "$work/deep_bug_corpus"
start=$(date +%s)
if cargo fuzz run deep_bug "$work/deep_bug_corpus" fuzz/seeds/deep_bug --sanitizer none -- \
    -max_total_time=60 -seed=1 -artifact_prefix="$work/" >"$work/deep_bug.log" 2>&1; then
  tail -n 40 "$work/deep_bug.log"
  echo "FUZZ FAILURE: deep_bug ran 60 s without finding the planted bug" >&2
  exit 1
fi
crash=$(ls "$work"/crash-* 2>/dev/null | head -n 1 || true)
if [ -z "$crash" ] || ! grep -q "a fused commit skipped the lock" "$work/deep_bug.log"; then
  tail -n 60 "$work/deep_bug.log"
  echo "FUZZ FAILURE: deep_bug stopped without the expected crash" >&2
  exit 1
fi
echo "found the planted bug in $(( $(date +%s) - start )) s: $(grep -E '^ +under:' "$work/deep_bug.log" | head -n 1)"

echo "-- replaying the crash without the fuzzer: SIMLOOP_FUZZ_INPUT=<crash> cargo run --example deep_bug"
if SIMLOOP_FUZZ_INPUT="$crash" cargo run --quiet --example deep_bug >"$work/replay.log" 2>&1; then
  cat "$work/replay.log"
  echo "FUZZ FAILURE: the crash input did not fail when replayed" >&2
  exit 1
fi
if ! grep -q "a fused commit skipped the lock" "$work/replay.log"; then
  cat "$work/replay.log"
  echo "FUZZ FAILURE: the replay failed differently" >&2
  exit 1
fi
grep -E '^ +(under|failure):' "$work/replay.log"
echo "fuzz: ok"
