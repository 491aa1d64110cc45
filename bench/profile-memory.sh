#!/usr/bin/env bash
# Where the operator's heap goes at scale (issue 16 item 5): the operator under heaptrack
# over PROFILE_GROUPS groups with 3 pods and a Service each, until every group is decided
# and it has idled past its memory trim; then it is killed with SIGKILL, so that every
# allocation still live counts as "leaked": the steady-state heap by allocation site.
#
#   bench/profile-memory.sh      its own cluster (.local/profile-cluster), stopped after
#
# PROFILE_GROUPS (2000), PROFILE_IDLE_SECONDS (70, past the operator's 60 s trim),
# PROFILE_OUT (build/profile-memory): heaptrack's data file, heaptrack_print's report of
# the live allocations (leaks.txt), the operator's RSS and the object counts (summary.json).
# Needs heaptrack (Debian's package) and the built tools (make build tools).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FO_BIN_DIR:-$REPO/build/bin}"
GROUPS_N="${PROFILE_GROUPS:-2000}"
IDLE_S="${PROFILE_IDLE_SECONDS:-70}"
OUT="${PROFILE_OUT:-$REPO/build/profile-memory}"
CLUSTER_DIR="${FO_PROFILE_CLUSTER_DIR:-$REPO/.local/profile-cluster}"
log() { echo "profile-memory: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null \
  || die "heaptrack is not installed (apt-get install heaptrack)"
for b in "$BIN/failover-operator" "$BIN/fo-bench"; do [ -x "$b" ] || die "$b is not built (make build)"; done
rm -rf "$OUT"; mkdir -p "$OUT"

FO_CLUSTER_DIR="$CLUSTER_DIR" FO_KUBECONFIG="$CLUSTER_DIR/kubeconfig" FO_NO_HARNESS=1 \
  FO_KCM_CONTROLLERS=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller \
  bash "$REPO/scripts/cluster.sh" up
KC="$CLUSTER_DIR/kubeconfig"
KUBECTL="$(sed -n 's/^FO_KUBECTL=//p' "$CLUSTER_DIR/cluster.env")"
HT_PID=""
cleanup() {
  local rc=$?
  [ -z "$HT_PID" ] || kill "$HT_PID" 2>/dev/null || true
  pkill -KILL -f "$BIN/failover-operator --kubeconfig=$KC" 2>/dev/null || true
  FO_CLUSTER_DIR="$CLUSTER_DIR" FO_KUBECONFIG="$KC" bash "$REPO/scripts/cluster.sh" down >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT

"$KUBECTL" --kubeconfig "$KC" apply -f "$REPO/crds/failovergroups.failover.io.yaml" >/dev/null
bash "$REPO/scripts/crd-established.sh" "$KUBECTL" "$KC" failovergroups.failover.io >/dev/null
NS=fo-profile
log "populating $GROUPS_N groups, $((GROUPS_N * 3)) pods"
"$BIN/fo-bench" populate --kubeconfig "$KC" --namespace "$NS" --groups "$GROUPS_N" --pods-per-group 3 \
  --node fo-profile-node --threads 16 >"$OUT/populate.json"

heaptrack -o "$OUT/operator" "$BIN/failover-operator" --kubeconfig="$KC" --namespace="$NS" \
  --metrics-bind-address=0 --health-probe-bind-address=0 --log-level=warn --workers=16 \
  --cache-sync-timeout=20m >"$OUT/heaptrack.log" 2>&1 &
HT_PID=$!
"$BIN/fo-bench" wait-synced --kubeconfig "$KC" --namespace "$NS" --groups "$GROUPS_N" >"$OUT/sync.json" \
  || die "not every group became Healthy: $(cat "$OUT/sync.json")"
log "synced: $(cat "$OUT/sync.json"); idle for ${IDLE_S}s"
sleep "$IDLE_S"
OP_PID="$(pgrep -f "^$BIN/failover-operator --kubeconfig=$KC" | head -1)"
[ -n "$OP_PID" ] || die "the operator is not running"
RSS_KIB="$(awk '/^VmRSS:/{print $2}' "/proc/$OP_PID/status")"
kill -KILL "$OP_PID"
wait "$HT_PID" 2>/dev/null || true
HT_PID=""
DATA="$(ls "$OUT"/operator*.zst "$OUT"/operator*.gz 2>/dev/null | head -1 || true)"
[ -n "$DATA" ] || die "heaptrack wrote no data (see $OUT/heaptrack.log)"
heaptrack_print --print-leaks=1 --print-peaks=0 --print-allocators=0 --print-temporary=0 \
  --print-flamegraph "$OUT/live.folded" --flamegraph-cost-type leaked \
  -f "$DATA" >"$OUT/leaks.txt" 2>/dev/null || true
[ -s "$OUT/live.folded" ] || die "heaptrack_print wrote no stacks (see $OUT/leaks.txt)"
# The live bytes by owner, by rules over the whole allocation stack (the first rule that
# matches decides), not by the innermost frame naming a part: a pooled connection's TLS
# state is allocated under RestClient::Call, and is no decoded object. An object moved
# after its allocation is charged to where it was allocated. Stacks naming no part are
# "other" (libraries' own, startup).
python3 - "$OUT/live.folded" "$GROUPS_N" "$RSS_KIB" >"$OUT/summary.json" <<'PY'
import json, re, sys
folded, groups, rss_kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rules = [  # (owner, keys): a key is a substring of the stack, or a tuple of them all present
    ("informer store: indexes", ["Store::IndexLocked"]),
    ("informer store: packed objects", [";Pack;", "to_msgpack"]),
    ("informer store: key map", ["runtime::Store::"]),
    ("group index", ["GroupIndex::"]),
    ("prometheus series: per group", [("FailoverMetrics::", "prometheus::")]),
    ("prometheus series: process", ["prometheus::"]),
    ("events", ["EventAggregator", "EventRecorder"]),
    ("failover metrics bookkeeping", ["FailoverMetrics::"]),
    ("node-lease tracking", ["NodeLeases::"]),
    ("work queue", ["WorkQueue"]),
    ("recent writes", ["RecentWrites"]),
    ("kube client: watch connections (TLS)", [("RestClient::Watch", k) for k in ("httplib::", "SSL", "tls::")]),
    ("kube client: request connections (TLS)", [("kube::", k) for k in ("httplib::", "SSL", "tls::")]),
    ("kube client: other", ["kube::"]),
    ("reconciler, engine, hooks, probes", ["failover::"]),
    ("runtime: other", ["runtime::"]),
]
total, by = 0, {}
for line in open(folded):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    if not n.isdigit():
        continue
    n = int(n)
    total += n
    names = ";" + ";".join(re.sub(r"\(.*", "", f).strip() for f in stack.split(";")) + ";"
    hit = lambda k: all(x in names for x in k) if isinstance(k, tuple) else k in names
    owner = next((o for o, keys in rules if any(hit(k) for k in keys)), "other")
    by[owner] = by.get(owner, 0) + n
rows = sorted(by.items(), key=lambda kv: -kv[1])
print(json.dumps({"groups": groups, "pods": groups * 3, "services": groups, "rss_kib": rss_kib,
                  "heap_live_bytes": total, "heap_live_bytes_per_group": round(total / groups),
                  "by_owner": [{"owner": o, "bytes": b, "bytes_per_group": round(b / groups),
                                "share": round(b / total, 3)} for o, b in rows]}, indent=1))
PY
log "$(jq -c '{rss_kib, heap_live_bytes, heap_live_bytes_per_group}' "$OUT/summary.json")"
jq -r '.by_owner[] | "  \(.owner): \(.bytes) B, \(.bytes_per_group) B per group, \(.share * 100 | round)%"' "$OUT/summary.json" >&2
