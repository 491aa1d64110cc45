#!/usr/bin/env bash
# The benchmarks (docs/benchmarks.md): switch latency against the EndpointSlice controller
# and a floor program, a failover storm, and scale.
#
#   bench/run.sh              full run on its own cluster (.local/bench-cluster, with an
#                             audit log), writes docs/bench-results.json and docs/bench-latency.png
#   BENCH_SMOKE=1 bench/run.sh  tiny sizes on the cluster in $FO_CLUSTER_DIR, asserts the
#                             results are complete (the bench-smoke test), writes nothing in docs/
#
# Sizes: BENCH_LATENCY_GROUPS (50), BENCH_FAILOVERS (200), BENCH_STORM_GROUPS (1000),
# BENCH_SCALE_GROUPS (10000), BENCH_SCALE_PODS_PER_GROUP (3), BENCH_IDLE_SECONDS (300).
# BENCH_SCALE_NAMESPACE: reuse a namespace an interrupted scale run populated (on a kept
# cluster, BENCH_KEEP_CLUSTER=1); BENCH_WORK_DIR (default <bench cluster dir>-work).
# Operator flags: BENCH_OPERATOR_FLAGS (latency; default none), BENCH_STORM_OPERATOR_FLAGS
# (default none: the storm proves the defaults do not throttle it) and
# BENCH_SCALE_OPERATOR_FLAGS (default plus --cache-sync-timeout=20m); BENCH_OPERATOR_BIN
# (default $FO_BIN_DIR/failover-operator); BENCH_PHASES ("latency storm scale churn scope").
# The storm runs each party alone on the same groups: the operator, the blaster (as many
# Service patches at the operator's --workers concurrency, as fast as the apiserver takes
# them: the limit), the controller-manager's endpoint controllers, the floor.
# The bench cluster's controller-manager runs no endpoint controller; the benchmark starts
# one of its own (user fo-bench-kcm) only while it measures them. On a cluster whose
# controller-manager runs the EndpointSlice controller (the smoke test's), that one is the
# peer and the storm's operator run is not alone (reported as operator_alone: false).
# Churn: BENCH_CHURN_ROUNDS (10; smoke 2) rounds of BENCH_CHURN_GROUPS (100; smoke 5) groups,
# each round sampled BENCH_CHURN_SETTLE_SECONDS (65, past the operator's 60 s memory trim;
# smoke 1) after its deletions; BENCH_CHURN_OPERATOR_FLAGS (default as storm).
# Scope: BENCH_SCOPE_GROUPS (100; smoke 5) groups of 3 pods beside BENCH_SCOPE_OTHER_PODS
# (30000; smoke 30) pods of a namespace without groups, the operator without --namespace
# then with it, each sampled BENCH_SCOPE_SETTLE_SECONDS (65; smoke 1) after every group synced.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FO_BIN_DIR:-$REPO/build/bin}"
SMOKE="${BENCH_SMOKE:-}"
log() { echo "bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ -n "$SMOKE" ]; then
  : "${FO_CLUSTER_DIR:?BENCH_SMOKE needs FO_CLUSTER_DIR (a running cluster)}"
  CLUSTER_DIR="$FO_CLUSTER_DIR"
  LAT_GROUPS=${BENCH_LATENCY_GROUPS:-3}; FAILOVERS=${BENCH_FAILOVERS:-6}
  STORM_GROUPS=${BENCH_STORM_GROUPS:-20}; SCALE_GROUPS=${BENCH_SCALE_GROUPS:-20}
  IDLE_S=${BENCH_IDLE_SECONDS:-5}
  CHURN_ROUNDS=${BENCH_CHURN_ROUNDS:-2}; CHURN_GROUPS=${BENCH_CHURN_GROUPS:-5}; CHURN_SETTLE_S=${BENCH_CHURN_SETTLE_SECONDS:-1}
  SCOPE_GROUPS=${BENCH_SCOPE_GROUPS:-5}; SCOPE_OTHER_PODS=${BENCH_SCOPE_OTHER_PODS:-30}; SCOPE_SETTLE_S=${BENCH_SCOPE_SETTLE_SECONDS:-1}
  WORK="$(mktemp -d)"
  OUT="$WORK/bench-results.json"
else
  CLUSTER_DIR="${FO_BENCH_CLUSTER_DIR:-$REPO/.local/bench-cluster}"
  LAT_GROUPS=${BENCH_LATENCY_GROUPS:-50}; FAILOVERS=${BENCH_FAILOVERS:-200}
  STORM_GROUPS=${BENCH_STORM_GROUPS:-1000}; SCALE_GROUPS=${BENCH_SCALE_GROUPS:-10000}
  IDLE_S=${BENCH_IDLE_SECONDS:-300}
  CHURN_ROUNDS=${BENCH_CHURN_ROUNDS:-10}; CHURN_GROUPS=${BENCH_CHURN_GROUPS:-100}; CHURN_SETTLE_S=${BENCH_CHURN_SETTLE_SECONDS:-65}
  SCOPE_GROUPS=${BENCH_SCOPE_GROUPS:-100}; SCOPE_OTHER_PODS=${BENCH_SCOPE_OTHER_PODS:-30000}; SCOPE_SETTLE_S=${BENCH_SCOPE_SETTLE_SECONDS:-65}
  # One work dir per bench cluster: two runs on different clusters never share pid files.
  WORK="${BENCH_WORK_DIR:-${CLUSTER_DIR%/}-work}"
  OUT="${BENCH_OUT:-$REPO/docs/bench-results.json}"
  rm -rf "$WORK"; mkdir -p "$WORK"
fi
PODS_PER_GROUP=${BENCH_SCALE_PODS_PER_GROUP:-3}
OP_FLAGS=${BENCH_OPERATOR_FLAGS:-}
STORM_OP_FLAGS=${BENCH_STORM_OPERATOR_FLAGS:-}
SCALE_OP_FLAGS=${BENCH_SCALE_OPERATOR_FLAGS:---kube-api-qps=0 --workers=16 --cache-sync-timeout=20m}
CHURN_OP_FLAGS=${BENCH_CHURN_OPERATOR_FLAGS:---kube-api-qps=0 --workers=16}
PHASES="${BENCH_PHASES:-latency storm scale churn scope}"
RUN_ID="$(date +%s)-$$"
# The audit log outlives a run's work dir: a running bench cluster keeps writing to it.
AUDIT_DIR="${FO_BENCH_AUDIT_DIR:-$REPO/.local/bench-audit}"
AUDIT_LOG="$AUDIT_DIR/audit.log"
[ -z "$SMOKE" ] || AUDIT_LOG="$WORK/no-audit-log"

OPERATOR="${BENCH_OPERATOR_BIN:-$BIN/failover-operator}"
for b in "$BIN/fo-bench" "$BIN/fo-bench-floor" "$OPERATOR"; do
  [ -x "$b" ] || die "$b is not built (cmake --build <dir> --target bench-programs)"
done

# ---- processes this script starts: NAME -> pid in $WORK/NAME.pid, log in $WORK/NAME.log

start_bg() {
  local name="$1"; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
}
pid_of() { cat "$WORK/$1.pid" 2>/dev/null; }
stop_bg() {
  local pid; pid="$(pid_of "$1")" || return 0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$WORK/$1.pid"
}
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat"; }

NAMESPACES=()
cleanup() {
  local rc=$?
  stop_bg floor; stop_bg kcm-peer; stop_bg operator2
  for ns in "${NAMESPACES[@]}"; do
    "$KUBECTL" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  done
  # FailoverGroups carry the operator's finalizer: keep it running until they are gone.
  for ns in "${NAMESPACES[@]}"; do
    timeout 120 "$KUBECTL" wait --for=delete "namespace/$ns" --timeout=120s >/dev/null 2>&1 || true
  done
  stop_bg operator
  if [ -n "$SMOKE" ]; then
    "$KUBECTL" delete node "fo-bench-node-$RUN_ID" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  elif [ -z "${BENCH_KEEP_CLUSTER:-}" ]; then
    FO_CLUSTER_DIR="$CLUSTER_DIR" FO_KUBECONFIG="$CLUSTER_DIR/kubeconfig" bash "$REPO/scripts/cluster.sh" down >/dev/null 2>&1 || true
  fi
  exit "$rc"
}

# ---- the cluster

if [ -z "$SMOKE" ]; then
  mkdir -p "$AUDIT_DIR"
  cp "$REPO/bench/audit-policy.yaml" "$AUDIT_DIR/audit-policy.yaml"
  # The endpoint controllers are left out: they run in a controller-manager of the
  # benchmark's own while they are measured (start_peer), never beside the operator's storm.
  FO_CLUSTER_DIR="$CLUSTER_DIR" FO_KUBECONFIG="$CLUSTER_DIR/kubeconfig" FO_NO_HARNESS=1 \
    FO_KCM_CONTROLLERS=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller \
    FO_APISERVER_EXTRA_ARGS="--audit-policy-file=$AUDIT_DIR/audit-policy.yaml --audit-log-path=$AUDIT_LOG --audit-log-mode=batch --audit-log-batch-max-wait=1s --audit-log-maxsize=100000 --max-requests-inflight=800 --max-mutating-requests-inflight=400" \
    bash "$REPO/scripts/cluster.sh" up
fi
KUBECTL="$(sed -n 's/^FO_KUBECTL=//p' "$CLUSTER_DIR/cluster.env")"
K8S_BIN="$(sed -n 's/^FO_K8S_BIN=//p' "$CLUSTER_DIR/cluster.env")"
APISERVER_URL="$(sed -n 's/^FO_APISERVER_URL=//p' "$CLUSTER_DIR/cluster.env")"
export KUBECONFIG="$(sed -n 's/^KUBECONFIG=//p' "$CLUSTER_DIR/cluster.env")"
trap cleanup EXIT
NODE="fo-bench-node-$RUN_ID"

# user_kubeconfig NAME: a client certificate for user NAME (group system:masters), signed by
# the cluster's CA, so the audit log tells the benchmark's clients apart.
user_kubeconfig() {
  local name="$1" pki="$CLUSTER_DIR/pki" d="$WORK/users"
  mkdir -p "$d"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$name.key" \
    -out "$d/$name.csr" -subj "/O=system:masters/CN=$name" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -CAserial "$d/ca.srl" -days 2 -out "$d/$name.crt" -extfile "$d/$name.ext" 2>/dev/null
  cat >"$d/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "$APISERVER_URL", certificate-authority-data: "$(base64 -w0 <"$pki/ca.crt")"}
users:
- name: $name
  user: {client-certificate-data: "$(base64 -w0 <"$d/$name.crt")", client-key-data: "$(base64 -w0 <"$d/$name.key")"}
contexts:
- name: bench
  context: {cluster: bench, user: $name}
current-context: bench
KC
  echo "$d/$name.kubeconfig"
}
OP_KC="$(user_kubeconfig fo-bench-operator)"
FLOOR_KC="$(user_kubeconfig fo-bench-floor)"
KCM_KC="$(user_kubeconfig fo-bench-kcm)"
BLAST_KC="$(user_kubeconfig fo-bench-blaster)"

# Does the cluster's own controller-manager run the EndpointSlice controller (a cluster
# started by someone else, or a bench cluster left up by an older run.sh)? Then it is the
# peer, and the benchmark starts none of its own.
CLUSTER_PEER=false
if grep -q 'endpointslice-controller' "$CLUSTER_DIR/cmd/kube-controller-manager" 2>/dev/null; then
  CLUSTER_PEER=true
  log "the cluster's controller-manager runs the EndpointSlice controller: it is the peer, and the storm's operator run is not alone"
fi

"$KUBECTL" apply -f "$REPO/crds/failovergroups.failover.io.yaml" >/dev/null
bash "$REPO/scripts/crd-established.sh" "$KUBECTL" "$KUBECONFIG" failovergroups.failover.io >/dev/null

start_operator() {  # NAMESPACE FLAGS [METRICS_ADDRESS]
  # shellcheck disable=SC2086
  start_bg operator "$OPERATOR" --kubeconfig="$OP_KC" --namespace="$1" \
    --metrics-bind-address="${3:-0}" --metrics-secure=false --health-probe-bind-address=0 --log-level=warn $2
  sleep 0.5
  kill -0 "$(pid_of operator)" 2>/dev/null || { tail -20 "$WORK/operator.log" >&2; die "the operator exited at start"; }
}
start_floor() {  # NAMESPACE: the floor program, once it has listed the pods (it acts on transitions)
  start_bg floor "$BIN/fo-bench-floor" --kubeconfig "$FLOOR_KC" --namespace "$1"
  local i; for i in $(seq 1 600); do
    grep -q "fo-bench-floor: listed" "$WORK/floor.log" 2>/dev/null && return 0
    kill -0 "$(pid_of floor)" 2>/dev/null || { tail -20 "$WORK/floor.log" >&2; die "the floor exited at start"; }
    sleep 0.1
  done
  tail -20 "$WORK/floor.log" >&2; die "the floor did not list the pods within 60 s"
}
# start_peer CONTROLLERS: a kube-controller-manager of the benchmark's own (user fo-bench-kcm)
# running only CONTROLLERS, unless the cluster's runs them (CLUSTER_PEER). stop_peer ends it.
start_peer() {
  [ "$CLUSTER_PEER" = false ] || return 0
  start_bg kcm-peer "$K8S_BIN/kube-controller-manager" --kubeconfig="$KCM_KC" --controllers="$1" \
    --leader-elect=false --secure-port=0 --use-service-account-credentials=false --v=1
  sleep 0.5
  kill -0 "$(pid_of kcm-peer)" 2>/dev/null || { tail -20 "$WORK/kcm-peer.log" >&2; die "the peer controller-manager exited at start"; }
}
stop_peer() { stop_bg kcm-peer; }
# wait_cpu_quiet PID S MAX: until PID's CPU time grows by less than 1% of S in S seconds, at
# most MAX seconds (then it says so and goes on); fails if PID is gone.
wait_cpu_quiet() {
  local s="$2" prev=-1 cur="" i
  for i in $(seq 1 $(($3 / s))); do
    sleep "$s"
    kill -0 "$1" 2>/dev/null || return 1
    cur="$(cpu_s "$1")"
    if awk -v a="$prev" -v b="$cur" -v s="$s" 'BEGIN{exit !(b - a < s / 100)}'; then return 0; fi
    prev="$cur"
  done
  log "pid $1 still busy after $3 s (CPU $cur s); going on"
}
# operator_workers FLAGS: the operator's --workers in FLAGS, else its default (from --help).
operator_workers() {
  local w
  w="$(grep -oE -- '--workers[= ][0-9]+' <<<"$1" | tail -1 | grep -oE '[0-9]+$' || true)"
  [ -n "$w" ] || w="$("$OPERATOR" --help | sed -n 's/^ *--workers=N .*(default \([0-9][0-9]*\)).*/\1/p' | head -1)"
  [ -n "$w" ] || die "cannot tell the operator's --workers default from its --help"
  echo "$w"
}
delete_namespace() {
  "$KUBECTL" delete namespace "$1" --wait=false >/dev/null
  "$KUBECTL" wait --for=delete "namespace/$1" --timeout=600s >/dev/null 2>&1 || log "namespace $1 still terminating"
}
audit() {  # SINCE UNTIL -> counts by user, or null without an audit log
  if [ -f "$AUDIT_LOG" ]; then
    sleep 2  # batch mode flushes within a second
    "$BIN/fo-bench" audit --log "$AUDIT_LOG" --since "$1" --until "$2" --users fo-bench-operator,fo-bench-floor,fo-bench-kcm,fo-bench-blaster
  else
    echo null
  fi
}

RESULT='{}'
put() { RESULT="$(jq --argjson v "$2" "$1 = \$v" <<<"$RESULT")"; }
put '.machine' "$(jq -n --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  --arg cores "$(nproc)" --arg mem "$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
  --arg kernel "$(uname -r)" --arg k8s "$("$KUBECTL" version --client --short 2>/dev/null | head -1)" \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  '{cpu:$cpu, cores:($cores|tonumber), memory:$mem, kernel:$kernel, kubernetes:$k8s, date:$date, commit:$commit}')"
put '.smoke' "$( [ -n "$SMOKE" ] && echo true || echo false)"

# ---- 1. switch latency

if [[ " $PHASES " == *" latency "* ]]; then
  NS="fo-bench-latency-$RUN_ID"; NAMESPACES+=("$NS")
  log "latency: $LAT_GROUPS groups, $FAILOVERS failovers"
  "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$LAT_GROUPS" \
    --pods-per-group 2 --extra-services --node "$NODE" >"$WORK/latency-populate.json"
  start_operator "$NS" "$OP_FLAGS"
  start_floor "$NS"
  start_peer endpointslice-controller
  "$BIN/fo-bench" latency --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$LAT_GROUPS" \
    --failovers "$FAILOVERS" >"$WORK/latency.json"
  L="$(cat "$WORK/latency.json")"
  put '.latency' "$(jq --argjson a "$(audit "$(jq -r .since <<<"$L")" "$(jq -r .until <<<"$L")")" \
    --arg flags "$OP_FLAGS" '. + {audit:$a, operator_flags:$flags}' <<<"$L")"
  stop_bg floor
  stop_peer
  delete_namespace "$NS"
  stop_bg operator
fi

# ---- 2. storm: each party alone on the same groups, and the blaster, the limit

if [[ " $PHASES " == *" storm "* ]]; then
  NS="fo-bench-storm-$RUN_ID"; NAMESPACES+=("$NS")
  WORKERS="$(operator_workers "$STORM_OP_FLAGS")"
  log "storm: $STORM_GROUPS groups; operator flags: ${STORM_OP_FLAGS:-(defaults)}, $WORKERS workers"
  "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$STORM_GROUPS" \
    --first 0 --pods-per-group 2 --extra-services --node "$NODE" >"$WORK/storm-populate.json"
  storm_run() {  # NAME FO-BENCH-STORM-FLAGS...: one storm, its JSON plus its audit window in $WORK/storm-NAME.json
    local name="$1"; shift
    "$BIN/fo-bench" storm --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$STORM_GROUPS" "$@" >"$WORK/storm-$name.raw.json"
    local r; r="$(cat "$WORK/storm-$name.raw.json")"
    jq --argjson a "$(audit "$(jq -r .since <<<"$r")" "$(jq -r .until <<<"$r")")" '. + {audit:$a}' <<<"$r" >"$WORK/storm-$name.json"
    log "storm: $name: all switched in $(jq -r ".all_switched_ms.$name // \"n/a\"" "$WORK/storm-$name.json") ms"
  }
  storm_ready() {  # FO-BENCH-FLAGS...: the a pods ready, the party settled on them
    "$BIN/fo-bench" make-ready --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$STORM_GROUPS" "$@" >/dev/null \
      || die "storm: the groups did not settle on member a ($*)"
  }
  # 1. The operator alone (beside the cluster's own EndpointSlice controller on a smoke
  # cluster), once it has settled every group and gone quiet.
  start_operator "$NS" "$STORM_OP_FLAGS"
  storm_ready --no-peer --no-floor
  wait_cpu_quiet "$(pid_of operator)" 2 120 || die "storm: the operator exited"
  STORM_CPU0="$(cpu_s "$(pid_of operator)")"
  storm_run operator --no-peer --no-floor
  # CPU per 1,000 pod events (issue 16 item 5): the operator's CPU time over the storm (its
  # reactions to every event it caused too: its own label, Service and status writes come
  # back through its watches), per 1,000 pod readiness changes that started it.
  STORM_CPU="$(awk -v a="$STORM_CPU0" -v b="$(cpu_s "$(pid_of operator)")" 'BEGIN{printf "%.2f", b-a}')"
  stop_bg operator
  # 2. The blaster: one Service patch per group at the operator's concurrency, as fast as the
  # apiserver takes them (on the operator's Services, now that it has stopped).
  "$BIN/fo-bench" blast --kubeconfig "$BLAST_KC" --namespace "$NS" --groups "$STORM_GROUPS" \
    --concurrency "$WORKERS" >"$WORK/storm-blast.raw.json" || log "storm: the blaster had errors"
  B="$(cat "$WORK/storm-blast.raw.json")"
  jq --argjson a "$(audit "$(jq -r .since <<<"$B")" "$(jq -r .until <<<"$B")")" '. + {audit:$a}' <<<"$B" >"$WORK/storm-blast.json"
  log "storm: blaster: $STORM_GROUPS patches in $(jq -r .wall_ms "$WORK/storm-blast.json") ms ($WORKERS at once)"
  # 3. The controller-manager's endpoint controllers alone, once they have synced every
  # Service and gone quiet.
  start_peer endpointslice-controller,endpoints-controller,endpointslice-mirroring-controller
  storm_ready --no-operator --no-floor --make-ready
  if [ "$CLUSTER_PEER" = false ]; then
    wait_cpu_quiet "$(pid_of kcm-peer)" 2 120 || die "storm: the peer controller-manager exited"
  fi
  storm_run peer --no-operator --no-floor
  stop_peer
  # 4. The floor alone.
  storm_ready --no-operator --no-peer --no-floor --make-ready
  start_floor "$NS"
  storm_run floor --no-operator --no-peer
  stop_bg floor
  put '.storm' "$(jq -n --slurpfile op "$WORK/storm-operator.json" --slurpfile peer "$WORK/storm-peer.json" \
    --slurpfile fl "$WORK/storm-floor.json" --slurpfile bl "$WORK/storm-blast.json" \
    --arg flags "$STORM_OP_FLAGS" --argjson workers "$WORKERS" --argjson cpu "$STORM_CPU" --argjson alone "$([ "$CLUSTER_PEER" = false ] && echo true || echo false)" '
    def r2: if . == null then null else . * 100 | round / 100 end;
    def per(w): if w == null then null else w / $op[0].groups end;
    $op[0] as $o | $peer[0] as $p | $fl[0] as $f | $bl[0] as $b |
    {groups:$o.groups, operator_flags:$flags, workers:$workers, operator_alone:$alone,
     all_switched_ms:{operator:$o.all_switched_ms.operator, peer:$p.all_switched_ms.peer,
                      floor:$f.all_switched_ms.floor, blaster:$b.wall_ms},
     operator:$o.operator, peer:$p.peer, floor:$f.floor,
     blaster:($b | del(.audit)),
     operator_vs_blaster:(if $o.all_switched_ms.operator != null and $b.wall_ms > 0
                          then ($o.all_switched_ms.operator / $b.wall_ms | r2) else null end),
     target_operator_vs_blaster:1.5,
     operator_cpu_seconds:$cpu, operator_cpu_seconds_per_1000_pod_events:($cpu * 1000 / $o.groups | r2),
     unready_spread_ms:{operator:$o.unready_spread_ms, peer:$p.unready_spread_ms, floor:$f.unready_spread_ms},
     operator_writes_per_failover:(per($o.audit["fo-bench-operator"].writes?) | r2),
     floor_writes_per_failover:(per($f.audit["fo-bench-floor"].writes?) | r2),
     peer_writes_per_failover:(per($p.audit["fo-bench-kcm"].writes?) | r2),
     blaster_writes:($b.audit["fo-bench-blaster"].writes?),
     audit:$o.audit,
     runs:{operator:($o | del(.peer, .floor, .audit)), peer:($p | del(.operator, .operator_service, .operator_role, .floor, .audit)),
           floor:($f | del(.operator, .operator_service, .operator_role, .peer, .audit)),
           audits:{operator:$o.audit, blaster:$b.audit, peer:$p.audit, floor:$f.audit}}}')"
  # The groups carry the operator's finalizer: it runs again while they are deleted.
  start_operator "$NS" "$STORM_OP_FLAGS"
  delete_namespace "$NS"
  stop_bg operator
fi

# ---- 3. scale

if [[ " $PHASES " == *" scale "* ]]; then
  if [ -n "${BENCH_SCALE_NAMESPACE:-}" ]; then
    # Reuse a namespace an interrupted run populated (kept cluster); groups an earlier
    # operator already synced are counted, so the sync time is labelled as a resumed one.
    NS="$BENCH_SCALE_NAMESPACE"; NAMESPACES+=("$NS")
    "$KUBECTL" get failovergroups -n "$NS" -o json \
      | jq '{groups: (.items | length), already_synced: ([.items[] | select(.status.phase != null)] | length)}' >"$WORK/scale-groups.json"
    G="$(jq .groups "$WORK/scale-groups.json")"
    [ "$G" = "$SCALE_GROUPS" ] || die "scale: $NS has $G groups, expected $SCALE_GROUPS"
    P="$("$KUBECTL" get pods -n "$NS" -o name --chunk-size=0 | wc -l)"
    jq --argjson p "$P" '. + {pods:$p, reused:true}' "$WORK/scale-groups.json" >"$WORK/scale-populate.json"
  else
    NS="fo-bench-scale-$RUN_ID"; NAMESPACES+=("$NS")
    log "scale: $SCALE_GROUPS groups, $((SCALE_GROUPS * PODS_PER_GROUP)) pods"
    "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$SCALE_GROUPS" \
      --pods-per-group "$PODS_PER_GROUP" --node "$NODE" --threads 32 >"$WORK/scale-populate.json"
  fi
  log "scale: populated: $(cat "$WORK/scale-populate.json")"
  start_operator "$NS" "$SCALE_OP_FLAGS"
  OP_PID="$(pid_of operator)"
  "$BIN/fo-bench" wait-synced --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$SCALE_GROUPS" >"$WORK/scale-sync.json" \
    || log "scale: not every group became Healthy: $(cat "$WORK/scale-sync.json")"
  SYNC_CPU="$(cpu_s "$OP_PID")"
  sleep 5
  # The peer: a second kube-controller-manager with only the EndpointSlice controller.
  start_bg kcm-peer "$K8S_BIN/kube-controller-manager" --kubeconfig="$KCM_KC" --controllers=endpointslice-controller \
    --leader-elect=false --secure-port=0 --use-service-account-credentials=false --v=1
  KCM_PID="$(pid_of kcm-peer)"
  # Synced when its CPU time stops growing (less than 0.05 s in 5 s), at most 10 minutes.
  prev=-1; for i in $(seq 1 120); do
    sleep 5
    kill -0 "$KCM_PID" 2>/dev/null || { tail -20 "$WORK/kcm-peer.log" >&2; die "the peer controller-manager exited"; }
    cur="$(cpu_s "$KCM_PID")"
    if awk -v a="$prev" -v b="$cur" 'BEGIN{exit !(b - a < 0.05)}'; then break; fi
    prev="$cur"
  done
  log "scale: idle for ${IDLE_S}s"
  IDLE_SINCE="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  OP_CPU0="$(cpu_s "$OP_PID")"; KCM_CPU0="$(cpu_s "$KCM_PID")"
  sleep "$IDLE_S"
  IDLE_UNTIL="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  OP_CPU1="$(cpu_s "$OP_PID")"; KCM_CPU1="$(cpu_s "$KCM_PID")"
  OP_RSS="$(rss_kib "$OP_PID")"; KCM_RSS="$(rss_kib "$KCM_PID")"
  A="$(audit "$IDLE_SINCE" "$IDLE_UNTIL")"
  put '.scale' "$(jq -n --argjson pop "$(cat "$WORK/scale-populate.json")" --argjson sync "$(cat "$WORK/scale-sync.json")" \
    --argjson a "$A" --arg flags "$SCALE_OP_FLAGS" --argjson idle "$IDLE_S" \
    --argjson op_rss "$OP_RSS" --argjson kcm_rss "$KCM_RSS" --argjson sync_cpu "$SYNC_CPU" \
    --argjson op_cpu "$(awk -v a="$OP_CPU0" -v b="$OP_CPU1" 'BEGIN{print b-a}')" \
    --argjson kcm_cpu "$(awk -v a="$KCM_CPU0" -v b="$KCM_CPU1" 'BEGIN{print b-a}')" \
    '{groups:$pop.groups, pods:$pop.pods, populate:$pop, operator_flags:$flags, initial_sync:$sync,
      operator:{rss_mib:($op_rss/1024), cpu_seconds_to_sync:$sync_cpu, idle_cpu_seconds:$op_cpu},
      peer:{rss_mib:($kcm_rss/1024), idle_cpu_seconds:$kcm_cpu},
      rss_ratio:($op_rss/$kcm_rss), idle_seconds:$idle, idle_audit:$a}')"
  stop_bg kcm-peer
  # Restart (issue 16 item 4): the operator stopped and started again over the same objects,
  # nothing changed meanwhile. Ready = its caches synced and every group decided (the
  # failovergroup controller's reconciles at least the groups, its queue empty, no worker
  # busy), timed from the start of the new process; its writes until 5 s after (0 expected:
  # nothing is written at start-up that is already true).
  stop_bg operator
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  RS_SINCE="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  RS_T0="$(date +%s.%N)"
  start_operator "$NS" "$SCALE_OP_FLAGS" "127.0.0.1:$PORT"
  decided() {  # reconciles done, queue depth, busy workers of the failovergroup controller
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk '
      /^controller_runtime_reconcile_total\{/ && /controller="failovergroup"/ {n += $NF}
      /^workqueue_depth\{/ && /name="failovergroup"/ {d += $NF}
      /^controller_runtime_active_workers\{/ && /controller="failovergroup"/ {w += $NF}
      END {printf "%d %d %d\n", n, d, w}'
  }
  RS_READY=null
  for i in $(seq 1 3000); do
    read -r RS_N RS_D RS_W <<<"$(decided || echo "0 1 1")"
    if [ "${RS_N:-0}" -ge "$SCALE_GROUPS" ] && [ "${RS_D:-1}" -eq 0 ] && [ "${RS_W:-1}" -eq 0 ]; then
      RS_READY="$(awk -v a="$RS_T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b-a}')"
      break
    fi
    sleep 0.2
  done
  [ "$RS_READY" != null ] || log "scale: the restarted operator did not decide every group within 600 s"
  sleep 5
  RS_UNTIL="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
  put '.scale.restart' "$(jq -n --argjson ready "$RS_READY" --argjson a "$(audit "$RS_SINCE" "$RS_UNTIL")" \
    --argjson n "${RS_N:-0}" '{ready_seconds:$ready, reconciles:$n, audit:$a,
      operator_writes:(if $a == null then null else ($a["fo-bench-operator"].writes // 0) end)}')"
  log "scale: restarted operator ready in ${RS_READY} s, writes $(jq -c '.scale.restart.operator_writes' <<<"$RESULT")"
  stop_bg operator
  # Takeover (issue 16 item 4): two replicas with leader election (the defaults: lease 15 s,
  # renew deadline 10 s, retry 2 s); once the first leads and has decided every group and the
  # second has synced its caches (it watches while it waits), the leader is killed and, 1 s
  # later, a group's active member's pods turn unready (its pod 0 last). Time from the kill to traffic moved.
  TK_FLAGS="$SCALE_OP_FLAGS --leader-elect --leader-election-namespace=$NS --leader-election-id=fo-bench-takeover"
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  start_operator "$NS" "$TK_FLAGS" "127.0.0.1:$PORT"
  TK_LEADER="$(pid_of operator)"
  TK_READY=false
  for i in $(seq 1 3000); do
    read -r RS_N RS_D RS_W <<<"$(decided || echo "0 1 1")"
    if [ "${RS_N:-0}" -ge "$SCALE_GROUPS" ] && [ "${RS_D:-1}" -eq 0 ] && [ "${RS_W:-1}" -eq 0 ]; then TK_READY=true; break; fi
    sleep 0.2
  done
  # shellcheck disable=SC2086
  start_bg operator2 "$OPERATOR" --kubeconfig="$OP_KC" --namespace="$NS" --metrics-bind-address=0 \
    --health-probe-bind-address=0 --log-level=warn $TK_FLAGS
  TK_STANDBY="$(pid_of operator2)"
  wait_cpu_quiet "$TK_STANDBY" 5 600 || log "scale: the standby replica exited: $(tail -5 "$WORK/operator2.log")"
  TK_GROUP=$((SCALE_GROUPS / 2))
  if [ "$TK_READY" = true ] && "$BIN/fo-bench" takeover --kubeconfig "$KUBECONFIG" --namespace "$NS" \
      --group "$TK_GROUP" --kill-pid "$TK_LEADER" --fail-after-ms 1000 >"$WORK/scale-takeover.json"; then
    put '.scale.takeover' "$(jq -c '. + {lease_duration_s: 15, target_ms: 20000}' "$WORK/scale-takeover.json")"
    log "scale: takeover: $(cat "$WORK/scale-takeover.json")"
  else
    log "scale: takeover not measured (first replica decided every group: $TK_READY): $(cat "$WORK/scale-takeover.json" 2>/dev/null)"
    log "scale: the standby's log ends: $(tail -5 "$WORK/operator2.log" 2>/dev/null)"
    put '.scale.takeover' "$(jq -n --argjson r "$TK_READY" '{traffic_moved_ms: null, leader_ready: $r}')"
  fi
  wait "$TK_LEADER" 2>/dev/null || true
  rm -f "$WORK/operator.pid"
  # The standby is the leader now; it runs the finalizers while the namespace goes.
  mv "$WORK/operator2.pid" "$WORK/operator.pid"
  delete_namespace "$NS"
  stop_bg operator
fi

# ---- 4. churn: nothing grows with churn (issue 15 item 12)

if [[ " $PHASES " == *" churn "* ]]; then
  NS="fo-bench-churn-$RUN_ID"; NAMESPACES+=("$NS")
  log "churn: $CHURN_ROUNDS rounds of $CHURN_GROUPS groups"
  # The namespace and the node, with no group yet (populate creates them).
  "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups 0 --node "$NODE" >/dev/null
  # A free loopback port for the operator's /metrics.
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  start_operator "$NS" "$CHURN_OP_FLAGS" "127.0.0.1:$PORT"
  OP_PID="$(pid_of operator)"
  # series ALL FAILOVER_GROUP: sample lines on /metrics (comments aside), all and failover_group_*.
  series() {
    local m; m="$(curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics")" || { echo "null null"; return; }
    echo "$(grep -vc '^#' <<<"$m" || true) $(grep -c '^failover_group_' <<<"$m" || true)"
  }
  for i in $(seq 1 100); do [ "$(series)" != "null null" ] && break; sleep 0.2; done
  sleep "$CHURN_SETTLE_S"
  read -r IDLE_ALL IDLE_FG <<<"$(series)"
  IDLE_RSS="$(rss_kib "$OP_PID")"
  log "churn: idle: RSS $IDLE_RSS KiB, series $IDLE_ALL (failover_group_* $IDLE_FG)"
  ROUNDS='[]'
  for r in $(seq 0 $((CHURN_ROUNDS - 1))); do
    first=$((r * CHURN_GROUPS))
    "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$NS" --groups "$CHURN_GROUPS" --first "$first" \
      --pods-per-group 2 --node "$NODE" >"$WORK/churn-populate-$r.json" || log "churn: round $r: populate failed"
    "$BIN/fo-bench" churn-round --kubeconfig "$KUBECONFIG" --namespace "$NS" --first "$first" \
      --groups "$CHURN_GROUPS" >"$WORK/churn-round-$r.json" || log "churn: round $r incomplete"
    [ -s "$WORK/churn-round-$r.json" ] || echo '{}' >"$WORK/churn-round-$r.json"
    # The operator forgot the groups when their series are gone: back to the idle count.
    back=false
    for i in $(seq 1 150); do
      read -r ALL FG <<<"$(series)"
      [ "$FG" = "$IDLE_FG" ] && { back=true; break; }
      sleep 0.2
    done
    sleep "$CHURN_SETTLE_S"
    read -r ALL FG <<<"$(series)"
    RSS="$(rss_kib "$OP_PID")"
    ROUNDS="$(jq --argjson round "$(cat "$WORK/churn-round-$r.json")" --argjson rss "$RSS" --argjson all "$ALL" \
      --argjson fg "$FG" --argjson back "$back" \
      '. + [$round + {rss_mib:($rss/1024), series:$all, failover_group_series:$fg, failover_group_series_back_to_idle:$back}]' <<<"$ROUNDS")"
    log "churn: round $((r + 1))/$CHURN_ROUNDS: RSS $RSS KiB, series $ALL (failover_group_* $FG), $(cat "$WORK/churn-round-$r.json")"
  done
  put '.churn' "$(jq -n --argjson rounds "$ROUNDS" --argjson g "$CHURN_GROUPS" --argjson settle "$CHURN_SETTLE_S" \
    --arg flags "$CHURN_OP_FLAGS" --argjson idle_rss "$IDLE_RSS" --argjson idle_all "$IDLE_ALL" --argjson idle_fg "$IDLE_FG" \
    'def r2: . * 100 | round / 100;
     {rounds_run:($rounds|length), groups_per_round:$g, groups:(($rounds|length) * $g), settle_seconds:$settle,
      operator_flags:$flags,
      idle:{rss_mib:($idle_rss/1024), series:$idle_all, failover_group_series:$idle_fg},
      first:($rounds[0] | {rss_mib, series, failover_group_series}),
      last:($rounds[-1] | {rss_mib, series, failover_group_series}),
      rss_ratio:(($rounds[-1].rss_mib / $rounds[0].rss_mib) | r2),
      series_ratio:(($rounds[-1].series / $rounds[0].series) | r2),
      complete:([$rounds[] | select(.active == $g and .failed_over == $g and .forgotten == $g
                 and .objects_deleted == $g and .failover_group_series_back_to_idle)] | length),
      rounds:$rounds}')"
  delete_namespace "$NS"
  stop_bg operator
fi

# ---- 5. scope: the pods of namespaces without groups cost a scoped operator nothing
# (--namespace); the same groups beside SCOPE_OTHER_PODS pods of another namespace, the
# operator unscoped then scoped, each until every group is decided and idle past its memory
# trim (BENCH_SCOPE_SETTLE_SECONDS).

if [[ " $PHASES " == *" scope "* ]]; then
  APPS="fo-bench-scope-apps-$RUN_ID"; BULK="fo-bench-scope-bulk-$RUN_ID"; NAMESPACES+=("$APPS" "$BULK")
  log "scope: $SCOPE_GROUPS groups beside $SCOPE_OTHER_PODS pods of another namespace"
  "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$APPS" --groups "$SCOPE_GROUPS" \
    --pods-per-group 3 --node "$NODE" --threads 32 >"$WORK/scope-apps.json"
  "$BIN/fo-bench" populate --kubeconfig "$KUBECONFIG" --namespace "$BULK" --groups "$((SCOPE_OTHER_PODS / 3))" \
    --pods-per-group 3 --no-groups --node "$NODE" --threads 32 >"$WORK/scope-bulk.json"
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  SCOPE='{}'
  for mode in unscoped scoped; do
    ns_flag="$APPS"; [ "$mode" = unscoped ] && ns_flag=""
    t0="$(date +%s.%N)"
    start_operator "$ns_flag" "--cache-sync-timeout=20m" "127.0.0.1:$PORT"
    OP_PID="$(pid_of operator)"
    "$BIN/fo-bench" wait-synced --kubeconfig "$KUBECONFIG" --namespace "$APPS" --groups "$SCOPE_GROUPS" >"$WORK/scope-sync-$mode.json" \
      || log "scope: $mode: not every group became Healthy: $(cat "$WORK/scope-sync-$mode.json")"
    t1="$(date +%s.%N)"
    SYNC_CPU="$(cpu_s "$OP_PID")"
    sleep "$SCOPE_SETTLE_S"
    m="$(curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics" || true)"
    cached="$(sed -n 's/^failover_operator_informer_objects{resource="pods"} //p' <<<"$m")"
    RSS="$(rss_kib "$OP_PID")"
    SCOPE="$(jq --arg mode "$mode" --argjson rss "$RSS" --argjson cpu "$SYNC_CPU" --argjson cached "${cached:-null}" \
      --argjson secs "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" --arg flags "${ns_flag:+--namespace=$ns_flag}" \
      --argjson sync "$(cat "$WORK/scope-sync-$mode.json" 2>/dev/null || echo null)" \
      '.[$mode] = {flags:$flags, rss_mib:($rss/1024), cpu_seconds_to_sync:$cpu, seconds_to_sync:$secs,
                   cached_pods:$cached, initial_sync:$sync}' <<<"$SCOPE")"
    log "scope: $mode: RSS $RSS KiB, pods cached ${cached:-?}, synced in $(jq -r ".$mode.seconds_to_sync" <<<"$SCOPE") s"
    stop_bg operator
  done
  put '.scope' "$(jq --argjson apps "$(cat "$WORK/scope-apps.json")" --argjson bulk "$(cat "$WORK/scope-bulk.json")" \
    --argjson settle "$SCOPE_SETTLE_S" 'def r2: . * 100 | round / 100;
    . + {groups:$apps.groups, group_pods:$apps.pods, other_pods:$bulk.pods, settle_seconds:$settle,
         rss_ratio:((.scoped.rss_mib / .unscoped.rss_mib) | r2)}' <<<"$SCOPE")"
  # Finalizers: a scoped operator again while the namespaces go.
  start_operator "$APPS" ""
  delete_namespace "$APPS"; delete_namespace "$BULK"
  stop_bg operator
fi

jq . <<<"$RESULT" >"$OUT"
bash "$REPO/bench/report.sh" "$OUT" "$WORK"

if [ -n "$SMOKE" ]; then
  # Complete, not fast: every failover observed by all three, every group synced; every churn
  # group active, failed over and forgotten, its failover_group_* series gone after deletion.
  # Each phase that ran (all by default) is checked.
  jq -e --argjson f "$FAILOVERS" --argjson s "$STORM_GROUPS" --argjson g "$SCALE_GROUPS" --argjson cr "$CHURN_ROUNDS" \
    --argjson sg "$SCOPE_GROUPS" --arg phases " $PHASES " '
    def ran(p): $phases | contains(" " + p + " ");
    (if ran("latency") then (.latency.failovers == $f) and (.latency.unseen == 0)
      and (.latency.operator.n == $f) and (.latency.peer.n == $f) and (.latency.floor.n == $f)
      and (.latency.operator.p50 > 0) else true end)
    and (if ran("storm") then (.storm.groups == $s) and (.storm.operator.n == $s) and (.storm.peer.n == $s)
      and (.storm.floor.n == $s) and (.storm.all_switched_ms.operator != null)
      and (.storm.all_switched_ms.peer != null) and (.storm.all_switched_ms.floor != null)
      and (.storm.blaster.patches == $s) and (.storm.blaster.errors == 0) and (.storm.blaster.wall_ms > 0)
      and (.storm.operator_vs_blaster != null) and (.storm.workers > 0) else true end)
    and (if ran("scale") then (.scale.initial_sync.healthy == $g) and (.scale.operator.rss_mib > 0)
      and (.scale.peer.rss_mib > 0) and (.scale.restart.ready_seconds != null)
      and (.scale.takeover.traffic_moved_ms != null) else true end)
    and (if ran("churn") then (.churn.complete == $cr) and (.churn.rounds_run == $cr)
      and (.churn.last.rss_mib > 0) and (.churn.last.failover_group_series == .churn.idle.failover_group_series)
      else true end)
    and (if ran("scope") then (.scope.unscoped.initial_sync.healthy == $sg) and (.scope.scoped.initial_sync.healthy == $sg)
      and (.scope.scoped.cached_pods == .scope.group_pods)
      and (.scope.unscoped.cached_pods >= .scope.group_pods + .scope.other_pods)
      and (.scope.rss_ratio > 0) else true end)' \
    "$OUT" >/dev/null || { jq 'del(.latency.samples) | del(.churn.rounds) | del(.storm.runs)' "$OUT" >&2; die "smoke: incomplete results"; }
  log "smoke: ok"
else
  log "results in $OUT"
fi
