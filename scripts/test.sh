#!/usr/bin/env bash
# The whole test suite: installs what the tests drive, type-checks, checks generated files, runs
# every test, and ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh || { echo "installing test dependencies failed"; exit 1; }
./node_modules/.bin/tsc --noEmit -p . || { echo "0 passed, 1 failed: type check"; exit 1; }
./node_modules/.bin/bun scripts/gen-types.ts --check || { echo "0 passed, 1 failed: generated types or validators are stale"; exit 1; }
./node_modules/.bin/bun scripts/gen-docs.ts --check || { echo "0 passed, 1 failed: the generated configuration reference is stale"; exit 1; }
log=$(mktemp)
# Servers and CLI runs the tests start keep their output here for the leak check below.
rm -rf test-results/logs
./node_modules/.bin/bun test --timeout 120000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc 0-9)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc 0-9)
rm -f "$log"
# No test secret (test/support/secrets.ts) may appear in any log or CLI output: one more failure if one does.
if ! ./node_modules/.bin/bun scripts/leak-check.ts; then
  fail=$(( ${fail:-0} + 1 ))
  status=1
fi
echo "${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -ne 0 ] || [ "${pass:-0}" -eq 0 ]; then exit 1; fi
