#!/usr/bin/env bash
# Builds the same small program (an app plus a path dependency that calls buggify()) from
# two checkouts at different absolute paths and compares their trace digests (issue 13,
# defect 1). Slow (two cargo builds), so it is an #[ignore]d test run from here.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --test buggify -- --ignored --exact same_program_from_two_checkouts_gives_the_same_traces "$@"
