#!/usr/bin/env bash
# Runs every libFuzzer target from a FO_FUZZ build directory.
#   run.sh <fuzz-build-dir> short   ~FUZZ_SECONDS (default 20) per target (make fuzz)
#   run.sh <fuzz-build-dir> long    FUZZ_RUNS (default 1000000) executions per target
# The committed seeds (tests/fuzz/corpus/<target>) are copied into a working corpus under
# the build dir, which grows across runs; crashes land in <build>/fuzz-artifacts/.
# Prints one line per target: executions, seconds, corpus size, result; exits 1 on a finding.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "${1:?usage: run.sh <fuzz-build-dir> short|long}" && pwd)"
mode="${2:-short}"
# FUZZ_TARGETS (space-separated) runs a subset, e.g. FUZZ_TARGETS=kubeconfig_fuzz.
read -r -a targets <<<"${FUZZ_TARGETS:-watch_event_fuzz kubeconfig_fuzz status_http_fuzz failover_group_fuzz}"
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
summary="$build/fuzz-summary-$mode.txt"
: >"$summary"
status=0
for t in "${targets[@]}"; do
  bin="$build/bin/$t"
  [ -x "$bin" ] || { echo "fuzz: $bin missing (cmake --build $build --target fuzzers)" >&2; exit 2; }
  seeds="$here/corpus/${t%_fuzz}"
  work="$build/fuzz-corpus/${t%_fuzz}"
  mkdir -p "$work"
  cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  if [ "$mode" = long ]; then
    limit=(-runs="${FUZZ_RUNS:-1000000}")
  else
    limit=(-max_total_time="${FUZZ_SECONDS:-20}")
  fi
  log="$build/fuzz-$t-$mode.log"
  start=$(date +%s)
  # -rss_limit_mb: the default 2 GB is more than a CI runner can spare for four targets.
  "$bin" "${limit[@]}" -rss_limit_mb=1024 -timeout=10 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" "$work" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  files=$(ls "$work" | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else result="FINDING (exit $rc, see $log)"; status=1; fi
  line=$(printf '%-22s execs=%-9s seconds=%-5s corpus=%-5s %s' "$t" "${execs:-?}" "$secs" "$files" "$result")
  echo "$line" | tee -a "$summary"
  if [ $rc -ne 0 ]; then grep -m5 -E 'ERROR|violated|runtime error|SUMMARY' "$log" >&2; fi
done
exit $status
