#!/usr/bin/env bash
# Runs simloop-tokio's tests (and the tokio examples') against the oldest supported tokio,
# in a copy of the repository so the real lockfile is untouched.
set -euo pipefail
OLDEST=1.48.0
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$work")
cd "$work"
export CARGO_TARGET_DIR="${OLDEST_TOKIO_TARGET:-$root/target/oldest-tokio}"
cargo update -q -p tokio --precise "$OLDEST"
log="$work/test.log"
if cargo test -p simloop-tokio -p tokio-unit >"$log" 2>&1; then
  grep -c "^test .* ok$" "$log" | xargs -I{} echo "simloop-tokio: {} tests pass against tokio $OLDEST"
else
  cat "$log"
  echo "simloop-tokio: tests FAIL against tokio $OLDEST" >&2
  exit 1
fi
