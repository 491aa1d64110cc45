#!/usr/bin/env bash
# `make demo` N times in a row, each on a fresh local cluster (what `make cluster-down`,
# `make cluster-up` and `make demo` run, with the binaries built once before: `make
# demo-loop`), as a new user would run it. Counts the runs that passed; keeps each run's log
# in build/demo-loop/ and stops everything at the end.
#
#   scripts/demo-loop.sh [N]    N runs (default 20); exit 0 only when all passed
#
# The result line goes to stdout and to build/demo-loop/result.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-20}"
case "$N" in '' | *[!0-9]* | 0) echo "usage: $0 [N>0]" >&2; exit 2 ;; esac
OUT="$REPO/build/demo-loop"
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$REPO"

down() {
  bash scripts/demo.sh stop >>"$OUT/down.log" 2>&1
  bash scripts/cluster.sh down >>"$OUT/down.log" 2>&1
}

passed=0
failed_runs=()
for i in $(seq 1 "$N"); do
  down
  start=$(date +%s)
  if bash scripts/cluster.sh up >"$OUT/run-$i.log" 2>&1 && bash scripts/demo.sh >>"$OUT/run-$i.log" 2>&1; then
    passed=$((passed + 1))
    verdict="passed"
  else
    failed_runs+=("$i")
    verdict="FAILED: $(grep -m1 'demo: ERROR' "$OUT/run-$i.log" || tail -1 "$OUT/run-$i.log")"
  fi
  echo "run $i/$N: $verdict ($(($(date +%s) - start)) s)"
done
down

result="$(date -u +%Y-%m-%d) make demo on a fresh cluster: $passed/$N passed"
[ ${#failed_runs[@]} -gt 0 ] && result+=" (failed: ${failed_runs[*]}; logs in build/demo-loop/)"
echo "$result" | tee "$OUT/result"
[ "$passed" -eq "$N" ]
