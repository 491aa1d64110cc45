#!/usr/bin/env bash
# report.sh RESULTS.json WORKDIR: prints the results table and draws the latency plot
# (docs/bench-latency.png next to the results, or WORKDIR for another output path).
set -euo pipefail
R="$1"; WORK="$2"
j() { jq -r "$1 // \"n/a\"" "$R"; }
ratio() { jq -r "if ($1) != null and ($2) != null and ($2) > 0 then (($1) / ($2) * 100 | round / 100 | tostring) else \"n/a\" end" "$R"; }

echo
echo "== switch latency ($(j .latency.failovers) failovers, ms after the watcher saw Ready=False) =="
printf '%-34s %9s %9s %9s %9s\n' "" p50 p90 p99 max
for who in operator peer floor; do
  case $who in
    operator) label="failover-operator (traffic moved)" ;;
    peer) label="EndpointSlice ctrl (not ready)" ;;
    floor) label="floor (watch + patch)" ;;
  esac
  printf '%-34s %9s %9s %9s %9s\n' "$label" "$(j ".latency.$who.p50")" "$(j ".latency.$who.p90")" \
    "$(j ".latency.$who.p99")" "$(j ".latency.$who.max")"
done
echo "ours/peer p50 $(ratio .latency.operator.p50 .latency.peer.p50)  p99 $(ratio .latency.operator.p99 .latency.peer.p99)  ours p99 / peer p50 $(ratio .latency.operator.p99 .latency.peer.p50)"
echo "ours/floor p50 $(ratio .latency.operator.p50 .latency.floor.p50)  p99 $(ratio .latency.operator.p99 .latency.floor.p99)"
echo
echo "== storm ($(j .storm.groups) groups fail at once; each party in a run of its own, operator alone: $(j .storm.operator_alone)) =="
printf '%-34s %14s %12s %12s\n' "" "all switched" "p50/group" "p99/group"
for who in operator peer floor; do
  case $who in
    operator) label="failover-operator" ;;
    peer) label="controller-manager endpoint ctrls" ;;
    floor) label="floor (watch + patch)" ;;
  esac
  printf '%-34s %14s %12s %12s\n' "$label" "$(j ".storm.all_switched_ms.$who") ms" "$(j ".storm.$who.p50")" "$(j ".storm.$who.p99")"
done
printf '%-34s %14s %12s %12s\n' "blaster ($(j .storm.blaster.concurrency) at once, the limit)" "$(j .storm.blaster.wall_ms) ms" \
  "$(j .storm.blaster.per_patch.p50)" "$(j .storm.blaster.per_patch.p99)"
echo "operator/blaster $(j .storm.operator_vs_blaster) (target <= $(j .storm.target_operator_vs_blaster)); operator flags: $(jq -r 'if .storm.operator_flags == "" then "(defaults)" else .storm.operator_flags // "n/a" end' "$R"), $(j .storm.workers) workers"
echo "the storm's own spread (last Ready=False seen after the first): operator run $(j .storm.unready_spread_ms.operator) ms, peer $(j .storm.unready_spread_ms.peer), floor $(j .storm.unready_spread_ms.floor)"
echo "blaster: $(j .storm.blaster.patches) patches, $(j .storm.blaster.patches_per_second)/s, $(j .storm.blaster.retries) retries ($(j .storm.blaster.throttled) throttled), $(j .storm.blaster.errors) errors (p50/p99 per patch, ms)"
echo "operator API requests $(j '.storm.audit["fo-bench-operator"].requests'), writes $(j '.storm.audit["fo-bench-operator"].writes'), writes per failover $(j .storm.operator_writes_per_failover)"
echo "operator CPU over the storm $(j .storm.operator_cpu_seconds) s: $(j .storm.operator_cpu_seconds_per_1000_pod_events) s per 1,000 pod events"
echo
echo "== scale ($(j .scale.groups) groups, $(j .scale.pods) pods) =="
echo "populate $(j .scale.populate.seconds) s ($(j .scale.populate.writes_per_second) writes/s); initial sync $(j .scale.initial_sync.seconds) s ($(j .scale.initial_sync.healthy) Healthy)"
echo "operator RSS $(j .scale.operator.rss_mib) MiB, CPU to sync $(j .scale.operator.cpu_seconds_to_sync) s, idle CPU $(j .scale.operator.idle_cpu_seconds) s / $(j .scale.idle_seconds) s"
echo "peer (kube-controller-manager, endpointslice only) RSS $(j .scale.peer.rss_mib) MiB, idle CPU $(j .scale.peer.idle_cpu_seconds) s; ours/peer RSS $(j .scale.rss_ratio)"
echo "idle API requests: operator $(j '.scale.idle_audit["fo-bench-operator"].requests') (writes $(j '.scale.idle_audit["fo-bench-operator"].writes')), peer $(j '.scale.idle_audit["fo-bench-kcm"].requests') (writes $(j '.scale.idle_audit["fo-bench-kcm"].writes'))"
echo "restart: ready (caches synced, every group decided) in $(j .scale.restart.ready_seconds) s, operator writes meanwhile $(j .scale.restart.operator_writes) (target 15 s, 0 writes)"
echo "takeover: leader killed, a primary failed $(j .scale.takeover.fail_after_ms) ms later: traffic moved $(j .scale.takeover.traffic_moved_ms) ms after the kill (target lease 15 s + 5 s = 20000 ms)"
echo
echo "== churn ($(j .churn.rounds_run) rounds of $(j .churn.groups_per_round) groups: create, fail over, delete) =="
echo "operator RSS MiB: idle $(j .churn.idle.rss_mib), after round 1 $(j .churn.first.rss_mib), after the last $(j .churn.last.rss_mib) (last/first $(j .churn.rss_ratio))"
echo "/metrics series: idle $(j .churn.idle.series), after round 1 $(j .churn.first.series), after the last $(j .churn.last.series) (last/first $(j .churn.series_ratio)); failover_group_* idle $(j .churn.idle.failover_group_series), last $(j .churn.last.failover_group_series)"
echo "complete rounds (every group active, failed over, forgotten, series back to idle): $(j .churn.complete)/$(j .churn.rounds_run)"
echo
echo "== scope ($(j .scope.groups) groups, $(j .scope.group_pods) pods, beside $(j .scope.other_pods) pods of a namespace without groups) =="
echo "unscoped: RSS $(j .scope.unscoped.rss_mib) MiB, pods cached $(j .scope.unscoped.cached_pods), synced in $(j .scope.unscoped.seconds_to_sync) s (CPU $(j .scope.unscoped.cpu_seconds_to_sync) s)"
echo "$(j .scope.scoped.flags): RSS $(j .scope.scoped.rss_mib) MiB, pods cached $(j .scope.scoped.cached_pods), synced in $(j .scope.scoped.seconds_to_sync) s (CPU $(j .scope.scoped.cpu_seconds_to_sync) s); scoped/unscoped RSS $(j .scope.rss_ratio)"

# The plot: latency distribution (CDF) of the three on the same events.
if command -v gnuplot >/dev/null && jq -e '.latency.samples | length > 0' "$R" >/dev/null 2>&1; then
  for who in operator peer floor; do
    n="$(jq ".latency.samples | map(.$who | select(. != null)) | length" "$R")"
    jq -r ".latency.samples | map(.$who | select(. != null)) | sort | .[]" "$R" \
      | awk -v n="$n" '{print $1, NR / n}' \
      >"$WORK/cdf-$who.dat"
  done
  png="$(dirname "$R")/bench-latency.png"
  gnuplot <<GP
set terminal pngcairo size 900,520 font "sans,11"
set output "$png"
set title "Switch latency after a pod's Ready=False ($(j .latency.failovers) failovers, same events)"
set xlabel "milliseconds after the watcher saw Ready=False (log scale)"
set ylabel "fraction of failovers"
set logscale x
set key bottom right
set grid
plot "$WORK/cdf-operator.dat" using 1:2 with steps lw 2 title "failover-operator: traffic moved", \
     "$WORK/cdf-peer.dat" using 1:2 with steps lw 2 title "kube-controller-manager EndpointSlice: endpoint not ready", \
     "$WORK/cdf-floor.dat" using 1:2 with steps lw 2 title "floor: watch + one patch"
GP
  echo; echo "plot: $png"
fi
