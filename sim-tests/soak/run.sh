#!/usr/bin/env bash
# Soak check (issue 13): one program with many features (examples/soak.rs: tasks, timers
# with ties, cancellation, gather, wait_for, a task group, a channel, callbacks, buggify,
# choose and rng) over many seeds.
#   1. determinism: the combined trace digest of seeds 0..N is the same twice in one
#      process, in two processes, and in debug against release;
#   2. memory is flat over a long sweep (RSS after the first tenth vs at the end);
#   3. the step-limit failure path is bounded (time, RSS, trace file size).
# Usage: sim-tests/soak/run.sh [SIZE]   (SIZE = seeds; default 2000; CI: 200, < 60 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE="${1:-2000}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
for v in $(env | grep -o '^SIMLOOP_[A-Z_]*' || true); do unset "$v"; done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "== build (debug and release)"
cargo build --quiet --example soak
cargo build --quiet --release --example soak
DEBUG=target/debug/examples/soak
RELEASE=target/release/examples/soak

echo "== 1. determinism over $SIZE seeds"
a="$($RELEASE digests "$SIZE")"
b="$($RELEASE digests "$SIZE")"
d="$($DEBUG digests "$SIZE")"
echo "release process 1: $a"
echo "release process 2: $b"
echo "debug:             $d"
[ "$a" = "$b" ] || { echo "FAIL: two processes differ" >&2; exit 1; }
[ "$a" = "$d" ] || { echo "FAIL: debug and release differ" >&2; exit 1; }

echo "== 2. memory over a sweep of $((SIZE * 5)) seeds (release)"
m="$($RELEASE memory $((SIZE * 5)))"
echo "$m"
start="$(sed -E 's/.*rss_start_kb=([0-9]+).*/\1/' <<<"$m")"
end="$(sed -E 's/.*rss_end_kb=([0-9]+).*/\1/' <<<"$m")"
if [ "$end" -gt $((start + start / 2 + 10240)) ]; then
  echo "FAIL: RSS grew from ${start} kB to ${end} kB" >&2
  exit 1
fi

echo "== 3. the step-limit failure path (release, default 10,000,000 steps)"
"$RELEASE" steplimit "$TMP/traces" | tee "$TMP/out"
max_kb="$(sed -E 's/.*max_rss_kb=([0-9]+).*/\1/' "$TMP/out")"
bytes="$(sed -E 's/.*trace_file_bytes=([0-9]+).*/\1/' "$TMP/out")"
echo "max RSS ${max_kb} kB, trace file ${bytes} bytes"
[ "$bytes" -lt 1000000 ] || { echo "FAIL: trace file of $bytes bytes" >&2; exit 1; }
[ "$max_kb" -lt 1000000 ] || { echo "FAIL: max RSS ${max_kb} kB" >&2; exit 1; }
echo "== soak passed"
