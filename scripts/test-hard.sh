#!/usr/bin/env bash
# The long hardening runs (load, soak, long fuzzing): every test/hard/*.hard.ts, one after the other,
# each printing its figures. Not part of `npm test`; record the figures in test/hard/RESULTS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh || { echo "installing test dependencies failed"; exit 1; }
status=0
for f in test/hard/*.hard.ts; do
  [ -e "$f" ] || continue
  echo "== $f"
  ./node_modules/.bin/bun test --timeout 0 "./$f" || status=1
done
exit $status
