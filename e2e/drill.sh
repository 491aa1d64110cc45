#!/usr/bin/env bash
# Failover drills with real traffic: the local control plane, the harness (node agent,
# service proxy), the operator running as its least-privilege ServiceAccount (manifests/rbac,
# a TokenRequest token), a load generator through the Service's NodePort, and the
# independent invariant checker watching throughout.
#
#   drill.sh [--set reduced|full] [--scenarios a,b,...] [--operator-kills N] [--out DIR]
#
# Sets (DRILL_SET in the environment works too): `reduced` (the default, what `make test`
# runs) = kill, ready-fail, switchover, mbb-switchover, failback-auto, all-down, flapping,
# leader-kill, operator-kill, proxy-cuts; `full` (`make drills`) adds mbb-failover,
# failback-manual, all-down-active-first, apiserver-restart, etcd-compaction, node-loss,
# node-cut, operator-partition, node-storm, zone-loss. apiserver-restart and etcd-compaction stop
# the cluster's kube-apiserver: run them only where nothing else uses the cluster.
#
# Uses the cluster in $FO_CLUSTER_DIR when one is up there (ctest's fixture), otherwise
# brings one up under DIR and takes it down at the end. Writes DIR/drills.json, the same as
# a Markdown table in DIR/drills.md, and prints a table. Exit 1 when a drill fails (no
# convergence, an invariant violation, a request answered by the demoted member, token or
# key material in a log, a wrong bind).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FO_BIN_DIR:-$REPO/build/bin}"
REDUCED="kill,ready-fail,switchover,mbb-switchover,failback-auto,all-down,flapping,leader-kill,operator-kill,proxy-cuts"
FULL="kill,ready-fail,mbb-failover,switchover,mbb-switchover,failback-auto,failback-manual,all-down,all-down-active-first,flapping,leader-kill,apiserver-restart,etcd-compaction,node-loss,node-cut,operator-partition,node-storm,zone-loss,operator-kill,proxy-cuts"
SCENARIOS=""
SET="${DRILL_SET:-reduced}"
OPERATOR_KILLS="${DRILL_OPERATOR_KILLS:-5}"
OUT="${DRILL_OUT:-$REPO/build/drills}"
while [ $# -gt 0 ]; do
  case "$1" in
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --set) SET="$2"; shift 2 ;;
    --operator-kills) OPERATOR_KILLS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: drill.sh [--set reduced|full] [--scenarios a,b] [--operator-kills N] [--out DIR]" >&2; exit 2 ;;
  esac
done
case "$SET" in
  reduced) [ -n "$SCENARIOS" ] || SCENARIOS="$REDUCED" ;;
  full) [ -n "$SCENARIOS" ] || SCENARIOS="$FULL" ;;
  *) echo "drill: --set reduced|full" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
for b in failover-operator failover-invariant-checker failover-loadgen failover-chaos-proxy failover-node-agent kubectl-failover; do
  [ -x "$BIN/$b" ] || { echo "drill: $BIN/$b is not built" >&2; exit 2; }
done

log() { echo "drill: $*" >&2; }
FAILED=0
fail() { log "FAIL: $*"; FAILED=1; }
now_ms() { date +%s%3N; }

OWN_CLUSTER=0
if [ -z "${FO_CLUSTER_DIR:-}" ] || [ ! -f "$FO_CLUSTER_DIR/cluster.env" ]; then
  export FO_CLUSTER_DIR="$OUT/cluster" FO_KUBECONFIG="$OUT/cluster/kubeconfig" FO_BIN_DIR="$BIN"
  bash "$REPO/scripts/cluster.sh" up || exit 1
  OWN_CLUSTER=1
fi
# shellcheck disable=SC1091
source "$FO_CLUSTER_DIR/cluster.env"
ADMIN_KUBECONFIG="$KUBECONFIG"
k() { "$FO_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
# A scenario's namespaces go once its operators stopped: their groups still carry the
# operator's finalizer, which nothing would remove, holding the namespace (and any later
# deletion of the CRD on a shared cluster) in Terminating: it is cleared first.
drop_namespaces() {  # ns...
  local ns g
  for ns in "$@"; do
    for g in $(k -n "$ns" get failovergroups -o name 2>/dev/null); do
      k -n "$ns" patch "$g" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    k delete namespace "$ns" --wait=false >/dev/null 2>&1
  done
}

PIDS=()
cleanup() {
  local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  # What a scenario that gave up early left (its operator is stopped by now).
  [ $OWN_CLUSTER = 1 ] || drop_namespaces $(k get namespaces -o name 2>/dev/null | sed -n 's#^namespace/\(drill-.*\)#\1#p')
  [ $OWN_CLUSTER = 1 ] && bash "$REPO/scripts/cluster.sh" down >/dev/null 2>&1
}
trap cleanup EXIT

# ---- the operator's identity: the shipped RBAC, a TokenRequest token ---------------------
k apply -f "$REPO/crds/failovergroups.failover.io.yaml" >/dev/null || exit 1
k create namespace failover-system >/dev/null 2>&1
k apply -k "$REPO/manifests/rbac" >/dev/null || exit 1
bash "$REPO/scripts/crd-established.sh" "$FO_KUBECTL" "$ADMIN_KUBECONFIG" failovergroups.failover.io >/dev/null || exit 1
TOKEN=""
for _ in $(seq 1 30); do
  TOKEN="$(echo '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
    k create --raw /api/v1/namespaces/failover-system/serviceaccounts/failover-operator/token -f - 2>/dev/null |
    jq -r .status.token)"
  [ -n "$TOKEN" ] && [ "$TOKEN" != null ] && break
  sleep 1
done
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { log "TokenRequest failed"; exit 1; }
TOKEN_FILE="$OUT/operator.token"
( umask 077; printf '%s' "$TOKEN" >"$TOKEN_FILE" )
OP_KUBECONFIG="$OUT/operator.kubeconfig"
( umask 077; cat >"$OP_KUBECONFIG" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$FO_APISERVER_URL", certificate-authority: "$FO_CA_CERT"}
users:
- name: failover-operator
  user: {tokenFile: "$TOKEN_FILE"}
contexts:
- name: operator
  context: {cluster: local, user: failover-operator}
current-context: operator
KCFG
)

# A loopback port nothing listens on (a race with other processes is possible but harmless
# here: the operator then fails to start and the drill says so).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))  # below the kernel's ephemeral range
    ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

OP_PID=""
OP_EXTRA=()  # more operator flags (leader election)
# Starts the operator; a port taken between choosing and binding means another try.
start_operator() {  # ns log
  for _ in 1 2 3; do
    start_operator_once "$1" "$2" && return 0
    grep -q "cannot bind" "$2" || break
  done
  fail "operator did not start (log $2)"
  return 1
}
start_operator_once() {  # ns log
  METRICS_PORT="$(free_port)"; HEALTH_PORT="$(free_port)"
  "$BIN/failover-operator" --kubeconfig "$OP_KUBECONFIG" --namespace "$1" \
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" --metrics-secure=false \
    --health-probe-bind-address "127.0.0.1:$HEALTH_PORT" --log-format text --log-level debug ${OP_EXTRA[@]+"${OP_EXTRA[@]}"} >>"$2" 2>&1 &
  OP_PID=$!
  PIDS+=("$OP_PID")
  local i; for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$HEALTH_PORT/readyz" >/dev/null && return 0
    kill -0 "$OP_PID" 2>/dev/null || { wait "$OP_PID" 2>/dev/null; return 1; }
    sleep 0.1
  done
  kill_operator
  return 1
}
kill_operator() { kill -9 "$OP_PID" 2>/dev/null; wait "$OP_PID" 2>/dev/null; }
stop_operator() { kill "$OP_PID" 2>/dev/null; wait "$OP_PID" 2>/dev/null; }

demo_pod() {  # ns name site [node]
  cat <<POD
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$2","namespace":"$1","labels":{"app":"db","site":"$3"}},
 "spec":{"nodeName":"${4:-$FO_NODE_NAME}","restartPolicy":"Never","terminationGracePeriodSeconds":2,
  "containers":[{"name":"app","image":"example.registry/failover-demo-app:drill",
   "ports":[{"name":"http","containerPort":8080}],
   "readinessProbe":{"httpGet":{"path":"/ready","port":"http"},"periodSeconds":1,"failureThreshold":1}}]}}
POD
}

# $FG_EXTRA: more spec fields (a JSON fragment starting with a comma); $DETECTION_EXTRA: the
# same inside spec.detection; $NODE_A, $NODE_B: the nodes site-a's and site-b's pods run on
# (default the cluster's); $NODE_C: a third member site-c, its pod on that node.
setup_namespace() {  # ns unhealthyFor failback [strategy] [maxFailovers] [fencing]
  local ns="$1"
  k create namespace "$ns" >/dev/null || return 1
  demo_pod "$ns" db-a-0 a "${NODE_A:-}" | k apply -f - >/dev/null
  demo_pod "$ns" db-b-0 b "${NODE_B:-}" | k apply -f - >/dev/null
  local member_c=""
  if [ -n "${NODE_C:-}" ]; then
    demo_pod "$ns" db-c-0 c "$NODE_C" | k apply -f - >/dev/null
    member_c=',{"name":"site-c","selector":{"matchLabels":{"app":"db","site":"c"}}}'
  fi
  k -n "$ns" apply -f - >/dev/null <<SVC
{"apiVersion":"v1","kind":"Service","metadata":{"name":"db"},
 "spec":{"type":"NodePort","selector":{"app":"db"},"ports":[{"name":"http","port":80,"targetPort":"http"}]}}
SVC
  k -n "$ns" apply -f - >/dev/null <<FG
{"apiVersion":"failover.io/v1alpha1","kind":"FailoverGroup","metadata":{"name":"db"},
 "spec":{"mode":"ActivePassive",
  "members":[{"name":"site-a","selector":{"matchLabels":{"app":"db","site":"a"}}},
             {"name":"site-b","selector":{"matchLabels":{"app":"db","site":"b"}}}$member_c],
  "services":[{"name":"db"}],"detection":{"unhealthyFor":"$2"${DETECTION_EXTRA:-}},
  "switchover":{"strategy":"${4:-BreakBeforeMake}"},"failback":{"policy":"$3","stabilizationWindow":"5s"},
  "antiFlap":{"maxFailovers":${5:-1000},"window":"1m"},"fencing":{"policy":"${6:-Label}"}${FG_EXTRA:-}}}
FG
}

active_member() { k -n "$1" get fg db -o jsonpath='{.status.activeMember}' 2>/dev/null; }
service_member() { k -n "$1" get svc db -o jsonpath='{.spec.selector.failover\.io/member}' 2>/dev/null; }
phase() { k -n "$1" get fg db -o jsonpath='{.status.phase}' 2>/dev/null; }
pod_ip() { k -n "$1" get pod "$2" -o jsonpath='{.status.podIP}'; }
pod_ready() { [ "$(k -n "$1" get pod "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }

# Waits until the group has `member` active, the Service on it and no switch in flight.
wait_converged() {  # ns member timeout_s
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(active_member "$1")" = "$2" ] && [ "$(service_member "$1")" = "$2" ] &&
       [ "$(k -n "$1" get fg db -o jsonpath='{.status.switch}' 2>/dev/null)" = "" ]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}
# What a failed setup leaves for whoever reads the log: the group's status, the Service's
# selector, the pods' labels and readiness, and the end of each operator log given.
dump_state() {  # ns operator-log...
  local ns="$1"; shift
  {
    echo "--- state of $ns"
    k -n "$ns" get fg db -o jsonpath='{.status}' 2>&1; echo
    k -n "$ns" get svc db -o jsonpath='{.spec.selector}' 2>&1; echo
    k -n "$ns" get pods \
      -o custom-columns='NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,LABELS:.metadata.labels' 2>&1
    local f; for f in "$@"; do [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 40 "$f"; }; done
  } >&2
}
wait_ready() {  # ns pod timeout_s
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do pod_ready "$1" "$2" && return 0; sleep 0.2; done
  return 1
}

demo_pid() {  # ns pod: the demo-app process of that pod (by its environment)
  local p
  for p in $(pgrep -f failover-demo-app); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "POD_NAME=$2" &&
       tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "POD_NAMESPACE=$1"; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# RTO, failed requests and demoted answers from a load generator log, as JSON fields.
# Failover (an unplanned fault at t_from): RTO = last success sent before the fault to the
# first success from the new member. Planned switch (a request at t_from; the old member
# serves until the switch): RTO = the gap the client sees, from the last success sent
# before the new member's first answer to that answer. Failed requests: sent from t_from
# on. Demoted answers: answers from the old member sent after the new member's first one.
analyze() {  # loadlog t_from_ms old_pod new_pod [planned]
  local first_new
  first_new="$(awk -v tf="$2" -v new="$4" '$3=="ok" && $1>=tf && $4==new {print $1; exit}' "$1")"
  awk -v tf="$2" -v fn="${first_new:-99999999999999}" -v planned="${5:-0}" -v old="$3" -v new="$4" '
    { total++ }
    $3 == "ok" && $1 < (planned ? fn : tf) && $1 + $2 > last_before { last_before = $1 + $2 }
    $3 == "ok" && $1 == fn && $4 == new && first_new_end == "" { first_new_end = $1 + $2 }
    $3 == "fail" && $1 >= tf { failed++ }
    $3 == "ok" && $1 > fn && $4 == old { demoted++ }
    END {
      printf "\"requests\": %d, \"failedRequests\": %d, \"lastSuccessBeforeMs\": %.0f, \"firstSuccessAfterMs\": %.0f, \"rtoMs\": %.0f, \"answeredByDemotedAfterSwitch\": %d",
        total, failed + 0, last_before + 0, first_new_end + 0,
        (first_new_end != "" && last_before != "") ? first_new_end - last_before : -1, demoted + 0
    }' "$1"
}

RESULTS=()
check_security() {  # ns oplog checkerlog
  local f
  for f in "$2" "$3" "$FO_CLUSTER_DIR"/logs/failover-*.log; do
    [ -f "$f" ] || continue
    if grep -qF "$TOKEN" "$f"; then fail "the ServiceAccount token appears in $f"; fi
    if grep -q "PRIVATE KEY" "$f"; then fail "PEM key material appears in $f"; fi
  done
  curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null || fail "metrics not served on 127.0.0.1:$METRICS_PORT"
  curl -sf "http://127.0.0.1:$HEALTH_PORT/healthz" >/dev/null || fail "health not served on 127.0.0.1:$HEALTH_PORT"
  if curl -s -m 1 "http://$FO_NODE_IP:$METRICS_PORT/metrics" >/dev/null; then
    fail "metrics answer on $FO_NODE_IP:$METRICS_PORT (bound beyond 127.0.0.1)"
  fi
}

fail_pod() { curl -s -m 2 -d x "http://$(pod_ip "$1" "$2"):8080/fail" >/dev/null || fail "$S_NAME: POST /fail to $2"; }
recover_pod() { curl -s -m 2 -d x "http://$(pod_ip "$1" "$2"):8080/recover" >/dev/null || fail "$S_NAME: POST /recover to $2"; }
wait_not_ready() {  # ns pod timeout_s
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do pod_ready "$1" "$2" || return 0; sleep 0.1; done
  return 1
}
# The Service switch time (failover.io/active-since), epoch seconds with fraction.
switch_time() { local t; t="$(k -n "$1" get svc db -o jsonpath='{.metadata.annotations.failover\.io/active-since}' 2>/dev/null)"; [ -n "$t" ] && date -d "$t" +%s.%N; }
ready_transition() { local t; t="$(k -n "$1" get pod "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}' 2>/dev/null)"; [ -n "$t" ] && date -d "$t" +%s; }
seconds_between() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; else echo -1; fi; }
json_bool() { if "$@"; then echo true; else echo false; fi; }

# One scenario's frame: namespace and group, the checker, the operator (or two replicas
# with --leader-elect), the group converged on site-a, then the load generator for 3 s.
#   scenario_begin name unhealthyFor failback strategy maxFailovers fencing slack replicas
S_NAME="" S_NS="" S_DIR="" S_CHECKER="" S_LOAD="" S_INVARIANTS=false
OPS=() OPS_METRICS=() OPS_HEALTH=()
scenario_begin() {
  S_NAME="$1"; S_NS="drill-$1-$RANDOM"; S_DIR="$OUT/$1"
  mkdir -p "$S_DIR"; find "$S_DIR" -maxdepth 1 -type f ! -name 'hook*' -delete
  log "scenario $S_NAME in namespace $S_NS"
  setup_namespace "$S_NS" "$2" "$3" "$4" "$5" "$6" || { fail "$S_NAME: setup"; return 1; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$S_NS" --slack "$7" \
    --timeline "$S_DIR/timeline.txt" >"$S_DIR/checker.log" 2>&1 &
  S_CHECKER=$!; PIDS+=("$S_CHECKER")
  # Both pods Ready before any operator runs: a group whose first member is not Ready yet
  # is activated on the first healthy one, and these scenarios start from site-a.
  wait_ready "$S_NS" db-a-0 60 && wait_ready "$S_NS" db-b-0 60 || { fail "$S_NAME: pods not ready"; return 1; }
  OPS=() OPS_METRICS=() OPS_HEALTH=()
  local r
  for r in $(seq 1 "$8"); do
    if [ "$8" -gt 1 ]; then
      OP_EXTRA=(--leader-elect --leader-election-namespace failover-system --leader-elect-lease-duration 4s
                --leader-elect-renew-deadline 3s --leader-elect-retry-period 500ms)
    fi
    start_operator "$S_NS" "$S_DIR/operator-$r.log" || { OP_EXTRA=(); return 1; }
    OPS+=("$OP_PID"); OPS_METRICS+=("$METRICS_PORT"); OPS_HEALTH+=("$HEALTH_PORT")
  done
  OP_EXTRA=()
  wait_converged "$S_NS" site-a 60 || { fail "$S_NAME: group never active on site-a"; dump_state "$S_NS" "$S_DIR"/operator-*.log; return 1; }
  local port; port="$(k -n "$S_NS" get svc db -o jsonpath='{.spec.ports[0].nodePort}')"
  "$BIN/failover-loadgen" --target "$FO_NODE_IP:$port" --out "$S_DIR/load.txt" --interval-ms 5 &
  S_LOAD=$!; PIDS+=("$S_LOAD")
  sleep 3
}
stop_load() { [ -n "$S_LOAD" ] || return 0; kill "$S_LOAD" 2>/dev/null; wait "$S_LOAD" 2>/dev/null; S_LOAD=""; }
# Security checks against a live replica, then every replica and the checker stopped.
scenario_end() {
  stop_load
  local i live=-1
  for i in "${!OPS[@]}"; do kill -0 "${OPS[$i]}" 2>/dev/null && live=$i; done
  if [ $live -ge 0 ]; then
    METRICS_PORT="${OPS_METRICS[$live]}"; HEALTH_PORT="${OPS_HEALTH[$live]}"
    check_security "$S_NS" "$S_DIR/operator-$((live + 1)).log" "$S_DIR/checker.log"
  fi
  for i in "${!OPS[@]}"; do kill "${OPS[$i]}" 2>/dev/null; wait "${OPS[$i]}" 2>/dev/null; done
  local rc=1
  if [ -n "$S_CHECKER" ]; then kill "$S_CHECKER" 2>/dev/null; wait "$S_CHECKER"; rc=$?; S_CHECKER=""; fi
  S_INVARIANTS=true
  [ $rc = 0 ] || { S_INVARIANTS=false; fail "$S_NAME: invariant checker exit $rc (see $S_DIR/checker.log)"; }
  drop_namespaces "$S_NS"
}
record() {  # json fields
  RESULTS+=("{\"scenario\": \"$S_NAME\", $1, \"invariantsHeld\": $S_INVARIANTS}")
}
# The demoted member must not answer after the new one did when the switch is BreakBeforeMake.
check_demoted() {  # fields strategy
  [ "$2" = BreakBeforeMake ] || return 0
  case "$1" in *'"answeredByDemotedAfterSwitch": 0'*) ;; *) fail "$S_NAME: requests answered by the demoted member after the switch" ;; esac
}
relists() { cat "$S_DIR"/operator-*.log 2>/dev/null | grep -c "watch expired, re-listing"; }

# One failover from site-a to site-b under load:
#   kill          the primary's process SIGKILLed;
#   ready-fail    the primary's /ready fails, the process stays up (it would answer);
#   mbb-failover  ready-fail with MakeBeforeBreak;
#   apiserver-restart  ready-fail, then kube-apiserver stopped as soon as Ready=False is
#                 written (inside unhealthyFor) and started 5 s later;
#   etcd-compaction    as apiserver-restart, with etcd compacted while it is down: every
#                 watch comes back to a resourceVersion the store no longer has (410, re-list);
#   leader-kill   two replicas with --leader-elect; a prePromote hook that hangs for its 2 s
#                 timeout (failurePolicy Ignore; a chaos proxy in blackhole mode) holds the
#                 switch at step Demoting; the leader is SIGKILLed as soon as status.switch is
#                 recorded, and the other replica must take the Lease over and finish it.
scenario_failover() {
  local name="$1" strategy=BreakBeforeMake replicas=1 extra=""
  [ "$name" = mbb-failover ] && strategy=MakeBeforeBreak
  local slack=10s hook_proxy=""
  FG_EXTRA=""
  if [ "$name" = leader-kill ]; then
    replicas=2 slack=15s
    mkdir -p "$OUT/$name"; rm -f "$OUT/$name/hook.ports"
    "$BIN/failover-chaos-proxy" --upstream 127.0.0.1:9 --port-file "$OUT/$name/hook.ports" >"$OUT/$name/hook-proxy.log" 2>&1 &
    hook_proxy=$!; PIDS+=("$hook_proxy")
    for _ in $(seq 1 50); do [ -s "$OUT/$name/hook.ports" ] && break; sleep 0.1; done
    curl -s "http://127.0.0.1:$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' "$OUT/$name/hook.ports")/blackhole/on" >/dev/null
    FG_EXTRA=",\"hooks\":{\"prePromote\":{\"url\":\"http://127.0.0.1:$(sed -n 's/.*listen=\([0-9]*\).*/\1/p' "$OUT/$name/hook.ports")/pre-promote\",\"timeout\":\"2s\",\"retries\":0,\"failurePolicy\":\"Ignore\"}}"
  fi
  scenario_begin "$name" 2s Manual "$strategy" 1000 Label "$slack" "$replicas" || { FG_EXTRA=""; scenario_end; return; }
  FG_EXTRA=""
  local leader=-1 i
  if [ "$name" = leader-kill ]; then
    # Up to 30 s: a Lease left by an earlier holder (another test) must expire first.
    for _ in $(seq 1 300); do
      for i in "${!OPS[@]}"; do
        curl -s "http://127.0.0.1:${OPS_METRICS[$i]}/metrics" | grep -q '^leader_election_master_status{.*} 1' && leader=$i
      done
      [ $leader -ge 0 ] && break; sleep 0.1
    done
    [ $leader -ge 0 ] || { fail "$name: no leader"; stop_load; scenario_end; return; }
  fi
  local t_fault; t_fault="$(now_ms)"
  case "$name" in
    kill) kill -9 "$(demo_pid "$S_NS" db-a-0)" || fail "$name: no process for db-a-0" ;;
    *) fail_pod "$S_NS" db-a-0 ;;
  esac
  local t_kill="" takeover=-1 down_ms=-1 rev=""
  case "$name" in
    leader-kill)
      local step="" line watch_fd watcher
      exec {watch_fd}< <(exec timeout 20 "$FO_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" -n "$S_NS" get fg db -w \
        -o jsonpath='{.status.switch.step}{"\n"}' 2>/dev/null)
      watcher=$!
      while read -r -u "$watch_fd" line; do [ -n "$line" ] && { step="$line"; break; }; done
      kill "$watcher" 2>/dev/null; exec {watch_fd}<&-
      [ -n "$step" ] || fail "$name: no switch recorded within 20 s"
      t_kill="$(now_ms)"
      kill -9 "${OPS[$leader]}"; wait "${OPS[$leader]}" 2>/dev/null
      local other=$(( 1 - leader ))
      for _ in $(seq 1 300); do
        curl -s "http://127.0.0.1:${OPS_METRICS[$other]}/metrics" | grep -q '^leader_election_master_status{.*} 1' &&
          { takeover=$(( $(now_ms) - t_kill )); break; }
        sleep 0.1
      done
      [ $takeover -ge 0 ] || fail "$name: the other replica did not take the lease over within 30 s"
      extra=", \"leaderKilledAfterFaultMs\": $(( t_kill - t_fault )), \"switchStepAtKill\": \"$step\", \"takeoverMs\": $takeover" ;;
    apiserver-restart|etcd-compaction)
      wait_not_ready "$S_NS" db-a-0 10 || fail "$name: Ready=False not written"
      local t_down; t_down="$(now_ms)"
      bash "$REPO/scripts/cluster.sh" stop-apiserver >>"$S_DIR/cluster.log" 2>&1 || fail "$name: stop-apiserver"
      if [ "$name" = etcd-compaction ]; then
        rev="$(bash "$REPO/scripts/cluster.sh" compact 2>>"$S_DIR/cluster.log")" || fail "$name: compact"
      fi
      sleep 5
      bash "$REPO/scripts/cluster.sh" start-apiserver >>"$S_DIR/cluster.log" 2>&1 || fail "$name: start-apiserver"
      down_ms=$(( $(now_ms) - t_down ))
      extra=", \"apiserverDownMs\": $down_ms" ;;
  esac
  local converged=true
  wait_converged "$S_NS" site-b 90 || { converged=false; fail "$name: no failover to site-b within 90 s (active=$(active_member "$S_NS") service=$(service_member "$S_NS") phase=$(phase "$S_NS"))"; }
  [ -n "$t_kill" ] && extra="$extra, \"killToConvergenceMs\": $(( $(now_ms) - t_kill ))"
  sleep 3
  stop_load
  local fields; fields="$(analyze "$S_DIR/load.txt" "$t_fault" db-a-0 db-b-0)"
  check_demoted "$fields" "$strategy"
  local rf_to_switch; rf_to_switch="$(seconds_between "$(ready_transition "$S_NS" db-a-0)" "$(switch_time "$S_NS")")"
  case "$name" in
    apiserver-restart|etcd-compaction)
      extra="$extra, \"operatorRelists\": $(relists)${rev:+, \"compactedAtRevision\": $rev}" ;;
  esac
  scenario_end
  if [ -n "$hook_proxy" ]; then kill "$hook_proxy" 2>/dev/null; wait "$hook_proxy" 2>/dev/null; fi
  record "\"strategy\": \"$strategy\", \"fencing\": \"Label\", \"converged\": $converged, $fields, \"readyFalseToSwitchS\": $rf_to_switch$extra"
}

# A planned switch under load, both members healthy or the preferred one recovered:
#   switchover      `kubectl failover switchover db --to site-b` (BreakBeforeMake);
#   mbb-switchover  the same with MakeBeforeBreak;
#   failback-auto   failover to site-b (site-a's /ready fails), site-a recovers, the
#                   operator fails back after stabilizationWindow (5 s) on its own;
#   failback-manual the same with failback Manual and `kubectl failover failback db`.
# Measured on the planned switch: the client's gap, failed requests, answers from the
# demoted member, and the time from the trigger (the request, or site-a's recovery) to the
# Service switch.
scenario_planned() {
  local name="$1" strategy=BreakBeforeMake policy=Manual from=db-a-0 to=db-b-0 target=site-b
  [ "$name" = mbb-switchover ] && strategy=MakeBeforeBreak
  [ "$name" = failback-auto ] && policy=Automatic
  scenario_begin "$name" 2s "$policy" "$strategy" 1000 Label 10s 1 || { scenario_end; return; }
  local extra=""
  case "$name" in
    failback-*)
      from=db-b-0; to=db-a-0; target=site-a
      fail_pod "$S_NS" db-a-0
      wait_converged "$S_NS" site-b 60 || fail "$name: no failover to site-b"
      sleep 1 ;;
  esac
  local t_req; t_req="$(now_ms)"
  case "$name" in
    switchover|mbb-switchover)
      "$BIN/kubectl-failover" --kubeconfig "$ADMIN_KUBECONFIG" -n "$S_NS" switchover db --to site-b \
        >>"$S_DIR/plugin.txt" 2>&1 || fail "$name: kubectl failover switchover" ;;
    failback-auto)
      recover_pod "$S_NS" db-a-0 ;;
    failback-manual)
      recover_pod "$S_NS" db-a-0
      wait_ready "$S_NS" db-a-0 30 || fail "$name: db-a-0 did not recover"
      sleep 1
      t_req="$(now_ms)"
      "$BIN/kubectl-failover" --kubeconfig "$ADMIN_KUBECONFIG" -n "$S_NS" failback db \
        >>"$S_DIR/plugin.txt" 2>&1 || fail "$name: kubectl failover failback" ;;
  esac
  local converged=true
  wait_converged "$S_NS" "$target" 60 || { converged=false; fail "$name: no switch to $target within 60 s (active=$(active_member "$S_NS") service=$(service_member "$S_NS") phase=$(phase "$S_NS"))"; }
  if [ "$name" = failback-auto ]; then
    extra=", \"readyTrueToSwitchS\": $(seconds_between "$(ready_transition "$S_NS" db-a-0)" "$(switch_time "$S_NS")")"
  fi
  sleep 3
  stop_load
  local fields; fields="$(analyze "$S_DIR/load.txt" "$t_req" "$from" "$to" planned)"
  check_demoted "$fields" "$strategy"
  local to_switch; to_switch="$(seconds_between "$(awk -v t="$t_req" 'BEGIN { printf "%.3f", t / 1000 }')" "$(switch_time "$S_NS")")"
  scenario_end
  record "\"strategy\": \"$strategy\", \"fencing\": \"Label\", \"converged\": $converged, $fields, \"triggerToSwitchS\": $to_switch$extra"
}

# Both members' /ready fail; for 8 s the phase and the Service (selector and active-since)
# are sampled. Sets AD_DEGRADED, AD_REASON, AD_CHANGES, AD_SERVICE (the Service as it was).
all_down_observe() {
  local since since0 obs
  since0="$(k -n "$S_NS" get svc db -o json | jq -r '.metadata.annotations["failover.io/active-since"] + " " + (.spec.selector | tostring)')"
  AD_SERVICE="$since0" AD_DEGRADED=false AD_REASON="" AD_CHANGES=0
  fail_pod "$S_NS" db-a-0; fail_pod "$S_NS" db-b-0
  local deadline=$(( $(now_ms) + 8000 ))
  while [ "$(now_ms)" -lt $deadline ]; do
    sleep 0.2
    obs="$(k -n "$S_NS" get fg/db svc/db -o json 2>/dev/null | jq -r '.items[0].status.phase,
      (.items[0].status.conditions[]? | select(.type == "Degraded") | .reason),
      (.items[1].metadata.annotations["failover.io/active-since"] + " " + (.items[1].spec.selector | tostring))' 2>/dev/null)" || continue
    [ "$(sed -n 1p <<<"$obs")" = Degraded ] && { AD_DEGRADED=true; AD_REASON="$(sed -n 2p <<<"$obs")"; }
    since="$(sed -n 3p <<<"$obs")"
    if [ "$since" != "$since0" ]; then AD_CHANGES=$((AD_CHANGES + 1)); since0="$since"; fi
  done
  [ "$AD_DEGRADED" = true ] || fail "$S_NAME: phase never Degraded while every member was down"
  [ "$AD_CHANGES" = 0 ] || fail "$S_NAME: the Service changed $AD_CHANGES times while every member was down"
}

scenario_all_down_active_first() {
  scenario_begin all-down-active-first 2s Manual BreakBeforeMake 1000 Label 10s 1 || { scenario_end; return; }
  local t_fault; t_fault="$(now_ms)"
  all_down_observe
  local t_rec; t_rec="$(now_ms)"
  recover_pod "$S_NS" db-a-0
  local converged=true
  wait_ready "$S_NS" db-a-0 30 || fail "$S_NAME: db-a-0 did not recover"
  wait_converged "$S_NS" site-a 60 || { converged=false; fail "$S_NAME: site-a recovered first but is not active (active=$(active_member "$S_NS") service=$(service_member "$S_NS"))"; }
  recover_pod "$S_NS" db-b-0
  wait_ready "$S_NS" db-b-0 30 || fail "$S_NAME: db-b-0 did not recover"
  sleep 3
  local now_service; now_service="$(k -n "$S_NS" get svc db -o json | jq -r '.metadata.annotations["failover.io/active-since"] + " " + (.spec.selector | tostring)')"
  local untouched; untouched="$(json_bool [ "$now_service" = "$AD_SERVICE" ])"
  [ "$untouched" = true ] || fail "$S_NAME: the Service was switched although the active member recovered first"
  stop_load
  # site-a keeps answering for a moment after its /ready fails, so the RTO is measured around
  # the recovery (the last success before it is the last one before the outage); failed
  # requests from the fault on.
  local fields failed; fields="$(analyze "$S_DIR/load.txt" "$t_rec" db-b-0 db-a-0)"
  failed="$(awk -v t="$t_fault" '$3=="fail" && $1>=t' "$S_DIR/load.txt" | wc -l)"
  fields="$(sed "s/\"failedRequests\": [0-9]*/\"failedRequests\": $failed/" <<<"$fields")"
  check_demoted "$fields" BreakBeforeMake
  local first; first="$(awk -v t="$t_rec" '$3=="ok" && $1>=t {printf "%.0f\n", $1+$2; exit}' "$S_DIR/load.txt")"
  scenario_end
  record "\"strategy\": \"BreakBeforeMake\", \"fencing\": \"Label\", \"converged\": $converged, $fields, \"allDownMs\": $(( t_rec - t_fault )), \"degradedWhileDown\": $AD_DEGRADED, \"degradedReason\": \"$AD_REASON\", \"serviceChangesWhileDown\": $AD_CHANGES, \"recoveryToFirstSuccessMs\": $(( ${first:-$t_rec} - t_rec )), \"serviceUntouchedThroughout\": $untouched"
}

# Primary and standby both down (/ready fails on both) for 8 s: the group must say
# Degraded and leave the Service alone (no switch, no flapping); then
#   all-down               site-b recovers first and becomes active, then site-a recovers
#                          (failback Manual: site-b stays);
#   all-down-active-first  site-a (still the active member) recovers first and serves again
#                          without any switch, then site-b recovers and nothing moves.
scenario_all_down() {
  local name="$1"
  if [ "$name" = all-down-active-first ]; then scenario_all_down_active_first; return; fi
  scenario_begin all-down 2s Manual BreakBeforeMake 1000 Label 10s 1 || { scenario_end; return; }
  local t_fault; t_fault="$(now_ms)"
  all_down_observe
  local degraded="$AD_DEGRADED" reason="$AD_REASON" changes="$AD_CHANGES"
  local t_rec; t_rec="$(now_ms)"
  recover_pod "$S_NS" db-b-0
  local converged=true
  wait_converged "$S_NS" site-b 60 || { converged=false; fail "all-down: site-b recovered first but did not become active (active=$(active_member "$S_NS") service=$(service_member "$S_NS") phase=$(phase "$S_NS"))"; }
  local to_switch; to_switch="$(seconds_between "$(awk -v t="$t_rec" 'BEGIN { printf "%.3f", t / 1000 }')" "$(switch_time "$S_NS")")"
  recover_pod "$S_NS" db-a-0
  wait_ready "$S_NS" db-a-0 30 || fail "all-down: db-a-0 did not recover"
  sleep 3
  local stayed; stayed="$(json_bool [ "$(active_member "$S_NS")" = site-b ])"
  [ "$stayed" = true ] || fail "all-down: site-a's recovery moved the group back (failback is Manual)"
  stop_load
  local fields; fields="$(analyze "$S_DIR/load.txt" "$t_fault" db-a-0 db-b-0)"
  check_demoted "$fields" BreakBeforeMake
  local first; first="$(awk -v t="$t_rec" '$3=="ok" && $1>=t {printf "%.0f\n", $1+$2; exit}' "$S_DIR/load.txt")"
  scenario_end
  record "\"strategy\": \"BreakBeforeMake\", \"fencing\": \"Label\", \"converged\": $converged, $fields, \"allDownMs\": $(( t_rec - t_fault )), \"degradedWhileDown\": $degraded, \"degradedReason\": \"$reason\", \"serviceChangesWhileDown\": $changes, \"recoveryToFirstSuccessMs\": $(( ${first:-$t_rec} - t_rec )), \"triggerToSwitchS\": $to_switch, \"stayedAfterPreferredRecovered\": $stayed"
}

# A flapping primary: the active member's /ready fails for 1 s and recovers for 1 s, 8 times,
# with unhealthyFor 0, fencing None (a demoted member is a candidate again at once) and
# antiFlap maxFailovers 3 per minute. At most 3 switches, then the group holds (Degraded,
# FailoverBudgetExhausted) with the checker clean; it ends converged on a healthy member.
scenario_flapping() {
  scenario_begin flapping 0 Manual BreakBeforeMake 3 None 15s 1 || { scenario_end; return; }
  local i pod held=false
  for i in $(seq 1 8); do
    pod="db-$(active_member "$S_NS" | sed 's/^site-//')-0"
    fail_pod "$S_NS" "$pod"; sleep 1
    [ "$(k -n "$S_NS" get fg db -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason}')" = FailoverBudgetExhausted ] && held=true
    recover_pod "$S_NS" "$pod"; sleep 1
  done
  wait_ready "$S_NS" db-a-0 30 && wait_ready "$S_NS" db-b-0 30 || fail "flapping: pods did not recover"
  local active converged=true count
  active="$(active_member "$S_NS")"
  wait_converged "$S_NS" "$active" 30 || { converged=false; fail "flapping: not converged at the end"; }
  count="$(k -n "$S_NS" get fg db -o jsonpath='{.status.failoverCount}')"
  [ "${count:-0}" -le 3 ] || fail "flapping: $count failovers with maxFailovers 3"
  [ "$held" = true ] || fail "flapping: the anti-flap hold (FailoverBudgetExhausted) never showed"
  sleep 1
  stop_load
  local failed; failed="$(awk '$3=="fail"' "$S_DIR/load.txt" | wc -l)"
  local total; total="$(wc -l <"$S_DIR/load.txt")"
  scenario_end
  record "\"strategy\": \"BreakBeforeMake\", \"fencing\": \"None\", \"converged\": $converged, \"flaps\": 8, \"maxFailovers\": 3, \"failovers\": ${count:-0}, \"budgetHeld\": $held, \"requests\": $total, \"failedRequests\": $failed, \"finalActive\": \"$active\""
}

# N failovers in a row (the active member's /ready fails, then recovers as the standby):
#   operator-kill: the operator SIGKILLed at a random point of each failover;
#   proxy-cuts:    the operator talks to the apiserver through failover-chaos-proxy, which
#                  cuts a random connection every ~1.5 s (exponential, seeded).
# Every failover must converge, with the invariant checker watching throughout.
scenario_repeated() {
  local name="$1" ns="drill-$1-$RANDOM" dir="$OUT/$1"
  mkdir -p "$dir"; rm -f "$dir"/*
  log "scenario $name ($OPERATOR_KILLS failovers) in namespace $ns"
  local saved_kubeconfig="$OP_KUBECONFIG" proxy=""
  if [ "$name" = proxy-cuts ]; then
    "$BIN/failover-chaos-proxy" --upstream "${FO_APISERVER_URL#https://}" --seed 42 \
      --cut-every-ms 1500 --port-file "$dir/proxy.ports" >"$dir/proxy.log" 2>&1 &
    proxy=$!; PIDS+=("$proxy")
    local i; for i in $(seq 1 50); do [ -s "$dir/proxy.ports" ] && break; sleep 0.1; done
    local lport; lport="$(sed -n 's/.*listen=\([0-9]*\).*/\1/p' "$dir/proxy.ports")"
    OP_KUBECONFIG="$dir/operator-via-proxy.kubeconfig"
    ( umask 077; sed "s#$FO_APISERVER_URL#https://127.0.0.1:$lport#" "$saved_kubeconfig" >"$OP_KUBECONFIG" )
  fi
  setup_namespace "$ns" 0 Manual BreakBeforeMake 1000 Label || { fail "$name: setup"; return; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$ns" --slack 15s \
    --timeline "$dir/timeline.txt" >"$dir/checker.log" 2>&1 &
  local checker=$!; PIDS+=("$checker")
  wait_ready "$ns" db-a-0 60 && wait_ready "$ns" db-b-0 60 || { fail "$name: pods not ready"; return; }
  start_operator "$ns" "$dir/operator.log" || return
  wait_converged "$ns" site-a 60 || { fail "$name: group never active on site-a"; dump_state "$ns" "$dir/operator.log"; return; }
  local i active=site-a other=site-b converged=0 worst=0
  for i in $(seq 1 "$OPERATOR_KILLS"); do
    local pod="db-${active#site-}-0"
    local t0; t0="$(now_ms)"
    curl -s -m 2 -d x "http://$(pod_ip "$ns" "$pod"):8080/fail" >/dev/null
    if [ "$name" = operator-kill ]; then
      sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
      kill_operator
      sleep "0.$(( RANDOM % 5 ))"
      start_operator "$ns" "$dir/operator.log" || return
    fi
    if wait_converged "$ns" "$other" 60; then
      converged=$((converged + 1))
      local took=$(( $(now_ms) - t0 )); [ $took -gt $worst ] && worst=$took
    else
      fail "$name: round $i: no convergence on $other (active=$(active_member "$ns") service=$(service_member "$ns") phase=$(phase "$ns"))"
      break
    fi
    curl -s -m 2 -d x "http://$(pod_ip "$ns" "$pod"):8080/recover" >/dev/null
    wait_ready "$ns" "$pod" 30 || { fail "$name: $pod did not recover"; break; }
    local tmp="$active"; active="$other"; other="$tmp"
  done
  check_security "$ns" "$dir/operator.log" "$dir/checker.log"
  stop_operator
  local cuts=0
  if [ -n "$proxy" ]; then
    cuts="$(curl -s "http://127.0.0.1:$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' "$dir/proxy.ports")/stats" | jq .cuts)"
    kill "$proxy"; wait "$proxy" 2>/dev/null
    OP_KUBECONFIG="$saved_kubeconfig"
  fi
  kill "$checker"; wait "$checker"; local checker_rc=$?
  [ $checker_rc = 0 ] || fail "$name: invariant checker exit $checker_rc (see $dir/checker.log)"
  RESULTS+=("{\"scenario\": \"$name\", \"connectionsCut\": ${cuts:-0}, \"failovers\": $OPERATOR_KILLS, \"converged\": $converged, \"worstConvergenceMs\": $worst, \"invariantsHeld\": $([ $checker_rc = 0 ] && echo true || echo false)}")
  drop_namespaces "$ns"
}

# node-loss: a whole node dies (its node agent and its pods SIGSTOPped: nothing renews its
# Lease or answers). Two groups in the same run, their site-a on that node and site-b on the
# cluster's: `lease` with the defaults (unhealthyFor 5s, nodeLeaseTimeout 15s), `notready`
# with nodeLeaseTimeout 0 (readiness only: it waits for the node lifecycle controller, run
# here at its default grace period, to mark the node and its pods NotReady). Measured for
# each: the fault to the Service switch (failover.io/active-since) and the client's RTO.
# Pass: the lease group switches within 20 s + 2 s of scheduling slack, before the
# notready group; the notready group switches too (within 120 s).
# A node of its own beside the cluster's: a node agent (renewing its node Lease as a kubelet
# does) with pod addresses from block B (1..7, an eighth each) of the cluster's pod range
# (the cluster's agent hands addresses out from the bottom), in the same pod network. Sets
# AGENT_PID.
AGENT_PID=""
start_extra_agent() {  # node block dir
  local cidr
  cidr="$(awk -F'[./]' -v b="$2" '{ printf "%s.%s.%d.0/19", $1, $2, b * 32 }' <<<"$FO_POD_CIDR")"
  local -a netns=(); [ -z "${FO_POD_NETNS:-}" ] || netns=(--pod-netns "$FO_POD_NETNS")
  "$BIN/failover-node-agent" --kubeconfig "$ADMIN_KUBECONFIG" --node-name "$1" --node-ip "$FO_NODE_IP" \
    --pod-cidr "$cidr" --state-dir "$3/agent-state-$1" "${netns[@]}" >"$3/agent-$1.log" 2>&1 &
  AGENT_PID=$!; PIDS+=("$AGENT_PID")
}
remove_extra_node() {  # node
  k delete node "$1" --wait=false >/dev/null 2>&1
  k -n kube-node-lease delete lease "$1" --wait=false >/dev/null 2>&1
}

# The scenarios of several groups at once (node-loss, node-cut, node-storm): one namespace
# per variant, set up by the scenario, then these. State in globals: MG_NSS (namespaces, in
# variant order), MG_CHECKERS, MG_OPS, MG_PORTS (metrics ports), MG_LOADS, MG_HELD.
mg_reset() { MG_NSS=() MG_CHECKERS=() MG_OPS=() MG_PORTS=() MG_LOADS=() MG_HELD=true; }
mg_watch() {  # ns dir variant slack: the invariant checker of one variant's namespace
  MG_NSS+=("$1")
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$1" --slack "$4" \
    --timeline "$2/timeline-$3.txt" >"$2/checker-$3.log" 2>&1 &
  MG_CHECKERS+=($!); PIDS+=($!)
}
# Both pods of every namespace Ready; then per variant an operator converged on site-a and,
# with load 1, a load generator through the Service's NodePort (DIR/load-VARIANT.txt).
mg_start() {  # name dir load variant...
  local name="$1" dir="$2" load="$3" ns variant i=0 port; shift 3
  for ns in "${MG_NSS[@]}"; do
    wait_ready "$ns" db-a-0 60 && wait_ready "$ns" db-b-0 60 || { fail "$name: pods not ready in $ns"; return 1; }
  done
  for variant in "$@"; do
    ns="${MG_NSS[$i]}"
    start_operator "$ns" "$dir/operator-$variant.log" || return 1
    MG_OPS+=("$OP_PID"); MG_PORTS+=("$METRICS_PORT")
    wait_converged "$ns" site-a 60 || { fail "$name: $ns never active on site-a"; dump_state "$ns" "$dir/operator-$variant.log"; return 1; }
    if [ "$load" = 1 ]; then
      port="$(k -n "$ns" get svc db -o jsonpath='{.spec.ports[0].nodePort}')"
      "$BIN/failover-loadgen" --target "$FO_NODE_IP:$port" --out "$dir/load-$variant.txt" --interval-ms 20 &
      MG_LOADS+=($!); PIDS+=($!)
    fi
    i=$((i + 1))
  done
}
mg_stop_loads() { local p; for p in "${MG_LOADS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; MG_LOADS=(); }
# The operators and checkers stopped (MG_HELD false, and a failure, for a checker that saw
# an invariant broken), the namespaces dropped.
mg_end() {  # name dir
  local i
  mg_stop_loads
  for i in "${!MG_OPS[@]}"; do kill "${MG_OPS[$i]}" 2>/dev/null; wait "${MG_OPS[$i]}" 2>/dev/null; done
  for i in "${!MG_CHECKERS[@]}"; do
    kill "${MG_CHECKERS[$i]}" 2>/dev/null
    wait "${MG_CHECKERS[$i]}" || { MG_HELD=false; fail "$1: invariant checker ${MG_NSS[$i]} (see $2/checker-*.log)"; }
  done
  drop_namespaces "${MG_NSS[@]}"
}

scenario_node_loss() {
  local name=node-loss dir="$OUT/node-loss" node="drill-lost-$RANDOM"
  mkdir -p "$dir"; find "$dir" -maxdepth 1 -type f -delete
  start_extra_agent "$node" 4 "$dir"
  local agent="$AGENT_PID"
  # The node lifecycle controller, at its defaults (the cluster's controller-manager leaves
  # it out: see scripts/cluster.sh), in a controller-manager of its own.
  "$FO_K8S_BIN/kube-controller-manager" --kubeconfig="$FO_CLUSTER_DIR/controller-manager.kubeconfig" \
    --controllers=node-lifecycle-controller --use-service-account-credentials=true \
    --leader-elect=false --secure-port=0 --v=1 \
    >"$dir/node-lifecycle.log" 2>&1 &
  local kcm=$!; PIDS+=("$kcm")
  mg_reset
  local variant ns i
  for variant in lease notready; do
    ns="drill-node-loss-$variant-$RANDOM"
    if [ $variant = notready ]; then DETECTION_EXTRA=',"nodeLeaseTimeout":"0"'; else DETECTION_EXTRA=''; fi
    NODE_A="$node" setup_namespace "$ns" 5s Manual || { fail "$name: setup $ns"; DETECTION_EXTRA=''; return 1; }
    DETECTION_EXTRA=''
    mg_watch "$ns" "$dir" "$variant" 120s
  done
  mg_start "$name" "$dir" 1 lease notready || return 1
  local -a nss=("${MG_NSS[@]}")
  sleep 12  # at least one renewal of the new node's Lease seen by both operators
  # The fault: the node agent, then each pod's process on it.
  local -a stopped=("$agent")
  for ns in "${nss[@]}"; do stopped+=("$(demo_pid "$ns" db-a-0)"); done
  local t0; t0="$(now_ms)"
  kill -STOP "${stopped[@]}"
  log "$name: node $node stopped (agent and pods: ${stopped[*]})"
  local -a switched=(0 0)
  local deadline=$(( $(now_ms) + 120000 ))
  while [ "$(now_ms)" -lt "$deadline" ] && { [ "${switched[0]}" = 0 ] || [ "${switched[1]}" = 0 ]; }; do
    for i in 0 1; do
      [ "${switched[$i]}" = 0 ] && [ "$(service_member "${nss[$i]}")" = site-b ] && switched[i]="$(now_ms)"
    done
    sleep 0.2
  done
  local node_notready pod_notready
  node_notready="$(k get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}' 2>/dev/null)"
  pod_notready="$(ready_transition "${nss[1]}" db-a-0)"
  kill -CONT "${stopped[@]}" 2>/dev/null
  mg_stop_loads
  local fields=() t_switch s
  i=0
  for variant in lease notready; do
    ns="${nss[$i]}"
    t_switch="$(switch_time "$ns")"
    s="$(seconds_between "$(awk -v t="$t0" 'BEGIN { printf "%.3f", t / 1000 }')" "$t_switch")"
    [ "${switched[$i]}" = 0 ] && s=-1
    fields+=("\"${variant}FaultToSwitchS\": $s")
    fields+=("\"${variant}Client\": {$(analyze "$dir/load-$variant.txt" "$t0" db-a-0 db-b-0)}")
    check_security "$ns" "$dir/operator-$variant.log" "$dir/checker-$variant.log"
    i=$((i + 1))
  done
  local lease_s="${fields[0]##*: }" notready_s="${fields[2]##*: }"
  [ "${switched[0]}" = 0 ] && fail "$name: the lease group did not fail over within 120 s"
  [ "${switched[1]}" = 0 ] && fail "$name: the notready group did not fail over within 120 s"
  awk -v a="$lease_s" 'BEGIN { exit !(a >= 0 && a <= 22) }' || fail "$name: node-lease failover took $lease_s s (target 20 s)"
  awk -v a="$lease_s" -v b="$notready_s" 'BEGIN { exit !(a >= 0 && (b < 0 || a < b)) }' ||
    fail "$name: the lease group ($lease_s s) was not faster than the NotReady path ($notready_s s)"
  mg_end "$name" "$dir"
  local held="$MG_HELD"
  kill "$agent" "$kcm" 2>/dev/null; wait "$agent" "$kcm" 2>/dev/null
  remove_extra_node "$node"
  RESULTS+=("{\"scenario\": \"$name\", \"converged\": $([ "${switched[0]}" != 0 ] && [ "${switched[1]}" != 0 ] && echo true || echo false), $(IFS=,; echo "${fields[*]}"), \"nodeNotReadyAt\": \"$node_notready\", \"notreadyPodReadyFalseAt\": $( [ -n "$pod_notready" ] && echo "$pod_notready" || echo null), \"faultAtMs\": $t0, \"invariantsHeld\": $held}")
}

# node-cut: only a node's link to the apiserver is lost (its node agent SIGSTOPped: nothing
# renews its Lease) while its pods serve on. Two groups, site-a on that node: `probe` with
# detection.probe (HTTP GET /ready from the operator) stays put, the operator's probe of the
# pods overriding the silent Lease; `noprobe` (the defaults) fails over, as docs/api.md says
# (without a probe the operator cannot tell a dead node from a cut-off one). Pass: noprobe
# switches within 20 s + 2 s of slack; probe's Service never moves in NODE_CUT_HOLD_S (40 s:
# twice the lease bound and unhealthyFor) and its client sees no failed request; after the
# link is back both groups are steady (probe still on site-a).
scenario_node_cut() {
  local name=node-cut dir="$OUT/node-cut" node="drill-cut-$RANDOM" hold_s="${NODE_CUT_HOLD_S:-40}"
  mkdir -p "$dir"; find "$dir" -maxdepth 1 -type f -delete
  start_extra_agent "$node" 4 "$dir"
  local agent="$AGENT_PID"
  local -a variants=(probe noprobe)
  local variant ns i
  mg_reset
  for variant in "${variants[@]}"; do
    ns="drill-node-cut-$variant-$RANDOM"
    if [ $variant = probe ]; then
      DETECTION_EXTRA=',"probe":{"http":{"path":"/ready","port":8080},"period":"1s","timeout":"500ms","failureThreshold":2}'
    else DETECTION_EXTRA=''; fi
    NODE_A="$node" setup_namespace "$ns" 5s Manual || { fail "$name: setup $ns"; DETECTION_EXTRA=''; return 1; }
    DETECTION_EXTRA=''
    mg_watch "$ns" "$dir" "$variant" 60s
  done
  mg_start "$name" "$dir" 1 "${variants[@]}" || return 1
  local -a nss=("${MG_NSS[@]}")
  sleep 12  # at least one renewal of the node's Lease seen by both operators
  local t0; t0="$(now_ms)"
  kill -STOP "$agent"
  log "$name: node $node cut off (agent $agent stopped; its pods serve on)"
  local -a switched=(0 0)
  local deadline=$(( t0 + hold_s * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    for i in 0 1; do
      [ "${switched[$i]}" = 0 ] && [ "$(service_member "${nss[$i]}")" = site-b ] && switched[i]="$(now_ms)"
    done
    sleep 0.2
  done
  local probe_reason
  probe_reason="$(k -n "${nss[0]}" get fg db -o jsonpath='{.status.conditions[?(@.type=="FailoverReady")].reason}')"
  kill -CONT "$agent"
  sleep 12  # the node renews again; both groups decide on it
  local probe_after noprobe_after
  probe_after="$(service_member "${nss[0]}")/$(phase "${nss[0]}")"
  noprobe_after="$(service_member "${nss[1]}")/$(phase "${nss[1]}")"
  mg_stop_loads
  local noprobe_s probe_client noprobe_client
  noprobe_s="$(seconds_between "$(awk -v t="$t0" 'BEGIN { printf "%.3f", t / 1000 }')" "$(switch_time "${nss[1]}")")"
  [ "${switched[1]}" = 0 ] && noprobe_s=-1
  probe_client="$(analyze "$dir/load-probe.txt" "$t0" db-a-0 db-b-0)"
  noprobe_client="$(analyze "$dir/load-noprobe.txt" "$t0" db-a-0 db-b-0)"
  local probe_failed; probe_failed="$(sed -n 's/.*"failedRequests": \([0-9]*\).*/\1/p' <<<"$probe_client")"
  [ "${switched[0]}" = 0 ] || fail "$name: the probe group failed over although its pods answered the probe"
  [ "${probe_failed:-1}" = 0 ] || fail "$name: the probe group's client saw $probe_failed failed requests during the cut"
  [ "${switched[1]}" != 0 ] || fail "$name: the noprobe group did not fail over within $hold_s s"
  awk -v a="$noprobe_s" 'BEGIN { exit !(a >= 0 && a <= 22) }' || fail "$name: the noprobe group took $noprobe_s s (bound 20 s)"
  [ "$probe_after" = site-a/Healthy ] || fail "$name: the probe group after the cut: $probe_after (want site-a/Healthy)"
  METRICS_PORT="${MG_PORTS[0]}"
  check_security "${nss[0]}" "$dir/operator-probe.log" "$dir/checker-probe.log"
  mg_end "$name" "$dir"
  local held="$MG_HELD"
  kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null
  remove_extra_node "$node"
  RESULTS+=("{\"scenario\": \"$name\", \"converged\": $([ "${switched[0]}" = 0 ] && [ "${switched[1]}" != 0 ] && [ "$probe_after" = site-a/Healthy ] && echo true || echo false), \"holdS\": $hold_s, \"probeSwitched\": $([ "${switched[0]}" = 0 ] && echo false || echo true), \"probeFailoverReady\": \"$probe_reason\", \"probeAfter\": \"$probe_after\", \"probeClient\": {$probe_client}, \"noprobeFaultToSwitchS\": $noprobe_s, \"noprobeAfter\": \"$noprobe_after\", \"noprobeClient\": {$noprobe_client}, \"faultAtMs\": $t0, \"invariantsHeld\": $held}")
}

# operator-partition: the operator loses the apiserver (its connections go through
# failover-chaos-proxy, black-holed for PARTITION_S, 30 s: longer than the node Lease bound and
# unhealthyFor together) while the cluster is fine. Its caches see no Lease renewal for that
# long, and the live reads that would confirm a silence fail: it must not fail anything over.
# Pass: the Service never moves during the partition nor in the 15 s after it, the client sees
# no failed request; then a real failure (site-a's /ready fails) is failed over within 20 s,
# so the operator is back in charge and was not just frozen.
scenario_operator_partition() {
  local name=operator-partition dir="$OUT/operator-partition" node="drill-part-$RANDOM" part_s="${PARTITION_S:-30}"
  mkdir -p "$dir"; find "$dir" -maxdepth 1 -type f -delete
  start_extra_agent "$node" 6 "$dir"
  local agent="$AGENT_PID" ns="drill-operator-partition-$RANDOM"
  "$BIN/failover-chaos-proxy" --upstream "${FO_APISERVER_URL#https://}" --port-file "$dir/proxy.ports" >"$dir/proxy.log" 2>&1 &
  local proxy=$!; PIDS+=("$proxy")
  local i; for i in $(seq 1 50); do [ -s "$dir/proxy.ports" ] && break; sleep 0.1; done
  local lport admin saved_kubeconfig="$OP_KUBECONFIG"
  lport="$(sed -n 's/.*listen=\([0-9]*\).*/\1/p' "$dir/proxy.ports")"
  admin="$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' "$dir/proxy.ports")"
  OP_KUBECONFIG="$dir/operator-via-proxy.kubeconfig"
  ( umask 077; sed "s#$FO_APISERVER_URL#https://127.0.0.1:$lport#" "$saved_kubeconfig" >"$OP_KUBECONFIG" )
  NODE_A="$node" setup_namespace "$ns" 5s Manual || { fail "$name: setup"; OP_KUBECONFIG="$saved_kubeconfig"; return 1; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$ns" --slack 60s \
    --timeline "$dir/timeline.txt" >"$dir/checker.log" 2>&1 &
  local checker=$!; PIDS+=("$checker")
  wait_ready "$ns" db-a-0 60 && wait_ready "$ns" db-b-0 60 || { fail "$name: pods not ready"; OP_KUBECONFIG="$saved_kubeconfig"; return 1; }
  start_operator "$ns" "$dir/operator.log" || { OP_KUBECONFIG="$saved_kubeconfig"; return 1; }
  OP_KUBECONFIG="$saved_kubeconfig"
  wait_converged "$ns" site-a 60 || { fail "$name: never active on site-a"; dump_state "$ns" "$dir/operator.log"; return 1; }
  local port; port="$(k -n "$ns" get svc db -o jsonpath='{.spec.ports[0].nodePort}')"
  "$BIN/failover-loadgen" --target "$FO_NODE_IP:$port" --out "$dir/load.txt" --interval-ms 20 &
  local load=$!; PIDS+=("$load")
  sleep 12  # renewals of both nodes' Leases seen
  local since0; since0="$(switch_time "$ns")"
  local t0; t0="$(now_ms)"
  curl -sf "http://127.0.0.1:$admin/blackhole/on" >/dev/null || fail "$name: blackhole/on"
  log "$name: the operator's apiserver connections black-holed for $part_s s"
  local moved=0 deadline=$(( t0 + (part_s + 15) * 1000 )) t_end=$(( t0 + part_s * 1000 )) off=0
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if [ $off = 0 ] && [ "$(now_ms)" -ge "$t_end" ]; then
      curl -sf "http://127.0.0.1:$admin/blackhole/off" >/dev/null || fail "$name: blackhole/off"
      off=1; log "$name: partition over"
    fi
    [ "$(service_member "$ns")" = site-a ] || moved=1
    sleep 0.2
  done
  local since1; since1="$(switch_time "$ns")"
  [ "$since0" = "$since1" ] || moved=1
  local client; client="$(analyze "$dir/load.txt" "$t0" db-a-0 db-b-0)"
  local failed requests
  failed="$(sed -n 's/.*"failedRequests": \([0-9]*\).*/\1/p' <<<"$client")"
  requests="$(sed -n 's/.*"requests": \([0-9]*\).*/\1/p' <<<"$client")"
  [ $moved = 0 ] || fail "$name: the Service moved during or after the partition"
  [ "${failed:-1}" = 0 ] || fail "$name: the client saw $failed failed requests"
  local t1; t1="$(now_ms)"
  fail_pod "$ns" db-a-0
  local after_s=-1
  if wait_converged "$ns" site-b 20; then after_s="$(awk -v a="$t1" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
  else fail "$name: a real failure after the partition was not failed over within 20 s"; dump_state "$ns" "$dir/operator.log"; fi
  kill "$load" 2>/dev/null; wait "$load" 2>/dev/null
  local stalls; stalls="$(grep -c 'watch silent' "$dir/operator.log")"
  check_security "$ns" "$dir/operator.log" "$dir/checker.log"
  stop_operator
  kill "$checker"; wait "$checker"; local checker_rc=$?
  [ $checker_rc = 0 ] || fail "$name: invariant checker exit $checker_rc (see $dir/checker.log)"
  kill "$proxy" "$agent" 2>/dev/null; wait "$proxy" "$agent" 2>/dev/null
  drop_namespaces "$ns"
  remove_extra_node "$node"
  RESULTS+=("{\"scenario\": \"$name\", \"converged\": $([ $moved = 0 ] && [ "$after_s" != -1 ] && echo true || echo false), \"partitionMs\": $((part_s * 1000)), \"serviceMovedByPartition\": $([ $moved = 1 ] && echo true || echo false), \"client\": {$client}, \"failedRequests\": ${failed:-0}, \"requests\": ${requests:-0}, \"operatorWatchStalls\": $stalls, \"failureAfterPartitionToConvergedS\": $after_s, \"invariantsHeld\": $([ $checker_rc = 0 ] && echo true || echo false)}")
}

# node-storm: three of the four nodes lose the apiserver at once (their node agents
# SIGSTOPped; their pods serve on), 75% of the nodes' Leases silent: a node storm, which holds
# node-lease failovers (--node-storm-share 0.55 and --node-storm-min-nodes 3, the defaults).
# Two groups, neither with a probe: `held`, site-a on a silent node, site-b on the cluster's
# node, would fail over by the Lease alone (as node-cut's noprobe group does) and must not;
# `into`, site-a on the cluster's node and site-b on a silent node, has its site-a fail
# (/ready) during the storm and must not be failed over onto the held node. Then a manual
# switchover of `held` goes through, and once the nodes renew again the hold ends
# (failover_operator_node_storm_held back to 0).
scenario_node_storm() {
  local name=node-storm dir="$OUT/node-storm" hold_s="${NODE_STORM_HOLD_S:-40}"
  mkdir -p "$dir"; find "$dir" -maxdepth 1 -type f -delete
  local -a nodes=() agents=() variants=(held into)
  local q
  for q in 1 2 3; do
    nodes+=("drill-storm$q-$RANDOM")
    start_extra_agent "${nodes[-1]}" "$q" "$dir"
    agents+=("$AGENT_PID")
  done
  local variant ns i
  mg_reset
  for variant in "${variants[@]}"; do
    ns="drill-node-storm-$variant-$RANDOM"
    if [ $variant = held ]; then
      NODE_A="${nodes[0]}" setup_namespace "$ns" 5s Manual || { fail "$name: setup $ns"; return 1; }
    else
      NODE_B="${nodes[1]}" setup_namespace "$ns" 5s Manual || { fail "$name: setup $ns"; return 1; }
    fi
    mg_watch "$ns" "$dir" "$variant" 60s
  done
  mg_start "$name" "$dir" 0 "${variants[@]}" || return 1
  local -a nss=("${MG_NSS[@]}") ports=("${MG_PORTS[@]}")
  sleep 12  # a renewal of every node's Lease seen by both operators
  storm_held() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "failover_operator_node_storm_held" { print $2 }'; }
  local t0; t0="$(now_ms)"
  kill -STOP "${agents[@]}"
  log "$name: nodes ${nodes[*]} cut off (agents stopped; pods serve on)"
  sleep 8
  fail_pod "${nss[1]}" db-a-0  # into: its site-a fails by readiness during the storm
  local moved_held=0 moved_into=0 held_seen=0 deadline=$(( t0 + hold_s * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(service_member "${nss[0]}")" = site-a ] || moved_held=1
    [ "$(service_member "${nss[1]}")" = site-a ] || moved_into=1
    [ "$(storm_held "${ports[0]}")" = 1 ] && held_seen=1
    sleep 0.5
  done
  local reason_held reason_into event
  reason_held="$(k -n "${nss[0]}" get fg db -o jsonpath='{.status.conditions[?(@.type=="FailoverReady")].reason}')"
  reason_into="$(k -n "${nss[1]}" get fg db -o jsonpath='{.status.conditions[?(@.type=="StandbyAvailable")].reason}')"
  event="$(k -n "${nss[0]}" get events --field-selector reason=NodeStormHold -o jsonpath='{.items[0].message}')"
  [ $moved_held = 0 ] || fail "$name: the held group failed over during the storm"
  [ $moved_into = 0 ] || fail "$name: the into group was failed over onto a held node"
  [ $held_seen = 1 ] || fail "$name: failover_operator_node_storm_held never read 1"
  [ "$reason_held" = NodeStormHold ] || fail "$name: the held group's FailoverReady reason is '$reason_held'"
  [ "$reason_into" = NodeStormHold ] || fail "$name: the into group's StandbyAvailable reason is '$reason_into'"
  [ -n "$event" ] || fail "$name: no NodeStormHold Event in ${nss[0]}"
  # A switchover is the operator's to ask for, storm or not.
  local t1 switchover_s=-1; t1="$(now_ms)"
  "$BIN/kubectl-failover" --kubeconfig "$ADMIN_KUBECONFIG" -n "${nss[0]}" switchover db --to site-b >/dev/null ||
    fail "$name: kubectl failover switchover refused"
  if wait_converged "${nss[0]}" site-b 20; then switchover_s="$(awk -v a="$t1" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
  else fail "$name: the switchover of the held group did not converge in 20 s"; dump_state "${nss[0]}" "$dir/operator-held.log"; fi
  kill -CONT "${agents[@]}"
  local released=-1 t2; t2="$(now_ms)"
  for _ in $(seq 1 60); do
    if [ "$(storm_held "${ports[0]}")" = 0 ]; then released="$(awk -v a="$t2" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"; break; fi
    sleep 0.5
  done
  [ "$released" != -1 ] || fail "$name: the hold did not end within 30 s of the nodes renewing again"
  # Once free to act, into fails over to site-b (its site-a is still failing).
  local into_after=-1
  if wait_converged "${nss[1]}" site-b 30; then into_after="$(awk -v a="$t2" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
  else fail "$name: the into group did not fail over once the storm ended"; dump_state "${nss[1]}" "$dir/operator-into.log"; fi
  mg_end "$name" "$dir"
  local held="$MG_HELD"
  kill "${agents[@]}" 2>/dev/null; wait "${agents[@]}" 2>/dev/null
  for q in "${nodes[@]}"; do remove_extra_node "$q"; done
  RESULTS+=("{\"scenario\": \"$name\", \"converged\": $([ $moved_held = 0 ] && [ $moved_into = 0 ] && [ "$switchover_s" != -1 ] && [ "$into_after" != -1 ] && echo true || echo false), \"stormHoldS\": $hold_s, \"silentNodes\": 3, \"knownNodes\": 4, \"heldGroupMoved\": $([ $moved_held = 1 ] && echo true || echo false), \"intoGroupMoved\": $([ $moved_into = 1 ] && echo true || echo false), \"heldReason\": \"$reason_held\", \"switchoverDuringStormS\": $switchover_s, \"renewedToReleasedS\": $released, \"renewedToIntoFailoverS\": $into_after, \"invariantsHeld\": $held}")
}

# zone-loss: zone z1 (three nodes) is lost: two of its nodes die (agents and pods
# SIGSTOPped), the third (z1b) renews on and its pod serves. A group of three members,
# preferred in that order: site-a on z1a (active), site-b on z1b, site-c on z2a (zone z2).
# By the Lease alone site-b would take over (its node renews); with zones (the operator's
# --zone-label, the default topology.kubernetes.io/zone) z1 is lost once half its nodes are
# silent, and site-c must take over. Fails when the Service ever selects site-b, or site-c
# is not active within 20 s + 2 s; two of five nodes silent is no node storm.
scenario_zone_loss() {
  local name=zone-loss dir="$OUT/zone-loss" ns="drill-zone-loss-$RANDOM"
  mkdir -p "$dir"; find "$dir" -maxdepth 1 -type f -delete
  local -a names=(z1a z1b z1c z2a) blocks=(1 2 3 5) nodes=() agents=()
  local i
  for i in 0 1 2 3; do
    nodes+=("drill-${names[$i]}-$RANDOM")
    start_extra_agent "${nodes[$i]}" "${blocks[$i]}" "$dir"
    agents+=("$AGENT_PID")
  done
  for i in 0 1 2 3; do
    local z="z${names[$i]:1:1}" tries=0
    until k label node "${nodes[$i]}" "topology.kubernetes.io/zone=$z" --overwrite >/dev/null 2>&1; do
      tries=$((tries + 1)); [ $tries -lt 50 ] || { fail "$name: node ${nodes[$i]} never registered"; return 1; }
      sleep 0.2
    done
  done
  NODE_A="${nodes[0]}" NODE_B="${nodes[1]}" NODE_C="${nodes[3]}" setup_namespace "$ns" 5s Manual ||
    { fail "$name: setup"; return 1; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$ns" --slack 60s \
    --timeline "$dir/timeline.txt" >"$dir/checker.log" 2>&1 &
  local checker=$!; PIDS+=("$checker")
  for p in db-a-0 db-b-0 db-c-0; do wait_ready "$ns" "$p" 60 || { fail "$name: $p not ready"; return 1; }; done
  start_operator "$ns" "$dir/operator.log" || return 1
  wait_converged "$ns" site-a 60 || { fail "$name: never active on site-a"; dump_state "$ns" "$dir/operator.log"; return 1; }
  local port; port="$(k -n "$ns" get svc db -o jsonpath='{.spec.ports[0].nodePort}')"
  "$BIN/failover-loadgen" --target "$FO_NODE_IP:$port" --out "$dir/load.txt" --interval-ms 20 &
  local load=$!; PIDS+=("$load")
  sleep 12  # every node's Lease renewed and seen; the Nodes' zones seen
  local -a stopped=("${agents[0]}" "${agents[2]}" "$(demo_pid "$ns" db-a-0)")
  local t0; t0="$(now_ms)"
  kill -STOP "${stopped[@]}"
  log "$name: zone z1 lost (${nodes[0]} and ${nodes[2]} stopped; ${nodes[1]} renews on)"
  local to_b=0 to_c=0 deadline=$(( t0 + 30000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    case "$(service_member "$ns")" in site-b) to_b=1 ;; site-c) [ $to_c = 0 ] && to_c="$(now_ms)" ;; esac
    sleep 0.2
  done
  local b_message; b_message="$(k -n "$ns" get fg db -o jsonpath='{.status.members[?(@.name=="site-b")].message}')"
  kill -CONT "${stopped[@]}" 2>/dev/null
  kill "$load" 2>/dev/null; wait "$load" 2>/dev/null
  local switch_s=-1
  [ "$to_c" != 0 ] && switch_s="$(awk -v a="$t0" -v b="$to_c" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
  local client; client="$(analyze "$dir/load.txt" "$t0" db-a-0 db-c-0)"
  [ $to_b = 0 ] || fail "$name: the Service selected site-b, in the lost zone"
  [ "$to_c" != 0 ] || { fail "$name: site-c never took over"; dump_state "$ns" "$dir/operator.log"; }
  awk -v a="$switch_s" 'BEGIN { exit !(a >= 0 && a <= 22) }' || fail "$name: the switch to site-c took $switch_s s (bound 20 s)"
  case "$b_message" in *ZoneLost*) ;; *) fail "$name: site-b's message does not say ZoneLost: $b_message" ;; esac
  check_security "$ns" "$dir/operator.log" "$dir/checker.log"
  stop_operator
  kill "$checker"; wait "$checker"; local checker_rc=$?
  [ $checker_rc = 0 ] || fail "$name: invariant checker exit $checker_rc (see $dir/checker.log)"
  kill "${agents[@]}" 2>/dev/null; wait "${agents[@]}" 2>/dev/null
  drop_namespaces "$ns"
  for i in "${nodes[@]}"; do remove_extra_node "$i"; done
  RESULTS+=("{\"scenario\": \"$name\", \"converged\": $([ $to_b = 0 ] && [ "$to_c" != 0 ] && echo true || echo false), \"zoneLostToSwitchS\": $switch_s, \"selectedLostZoneMember\": $([ $to_b = 1 ] && echo true || echo false), \"lostZoneMemberMessage\": $(jq -Rn --arg m "$b_message" '$m'), $client, \"invariantsHeld\": $([ $checker_rc = 0 ] && echo true || echo false)}")
}

IFS=, read -r -a list <<<"$SCENARIOS"
for s in "${list[@]}"; do
  t0="$(date +%s)" n="${#RESULTS[@]}"
  case "$s" in
    kill|ready-fail|mbb-failover|leader-kill|apiserver-restart|etcd-compaction) scenario_failover "$s" ;;
    switchover|mbb-switchover|failback-auto|failback-manual) scenario_planned "$s" ;;
    all-down|all-down-active-first) scenario_all_down "$s" ;;
    flapping) scenario_flapping ;;
    operator-kill|proxy-cuts) scenario_repeated "$s" ;;
    node-loss) scenario_node_loss ;;
    node-cut) scenario_node_cut ;;
    operator-partition) scenario_operator_partition ;;
    node-storm) scenario_node_storm ;;
    zone-loss) scenario_zone_loss ;;
    *) fail "unknown scenario $s" ;;
  esac
  took=$(( $(date +%s) - t0 ))
  log "scenario $s took $took s"
  if [ "${#RESULTS[@]}" -gt "$n" ]; then
    last=$(( ${#RESULTS[@]} - 1 )); RESULTS[last]="${RESULTS[last]%\}}, \"durationS\": $took, \"load1m\": $(cut -d" " -f1 /proc/loadavg)}"
  fi
done

{ printf '{"date": "%s", "set": "%s", "loadAverage": "%s", "results": [' "$(date -u +%FT%TZ)" "$SET" "$(cut -d' ' -f1-3 /proc/loadavg)"; (IFS=,; printf '%s' "${RESULTS[*]}"); printf ']}\n'; } >"$OUT/drills.json"
jq -r '.results[] | [.scenario, (.converged|tostring), (.rtoMs // "-"|tostring), (.failedRequests // "-"|tostring),
        (.answeredByDemotedAfterSwitch // "-"|tostring), (.readyFalseToSwitchS // .triggerToSwitchS // "-"|tostring),
        (.worstConvergenceMs // "-"|tostring), (.invariantsHeld|tostring),
        ([(if .strategy == "MakeBeforeBreak" then "MakeBeforeBreak" else empty end),
          (if .takeoverMs then "leader killed at step \(.switchStepAtKill), takeover \(.takeoverMs) ms, kill->converged \(.killToConvergenceMs) ms" else empty end),
          (if .apiserverDownMs then "apiserver down \(.apiserverDownMs) ms, \(.operatorRelists) re-lists" else empty end),
          (if .degradedWhileDown != null then "Degraded=\(.degradedWhileDown) (\(.degradedReason)), Service changes while down \(.serviceChangesWhileDown), recovery->first success \(.recoveryToFirstSuccessMs) ms\(if .serviceUntouchedThroughout != null then ", Service untouched throughout: \(.serviceUntouchedThroughout)" else "" end)" else empty end),
          (if .budgetHeld != null then "\(.failovers) failovers of \(.flaps) flaps, held=\(.budgetHeld)" else empty end),
          (if .readyTrueToSwitchS then "Ready=True->switch \(.readyTrueToSwitchS) s" else empty end),
          (if .leaseFaultToSwitchS then "node stopped -> switch: node Lease \(.leaseFaultToSwitchS) s (client RTO \(.leaseClient.rtoMs) ms), NotReady path \(.notreadyFaultToSwitchS) s (client RTO \(.notreadyClient.rtoMs) ms)" else empty end),
          (if .noprobeFaultToSwitchS then "node cut off \(.holdS) s: probe group switched=\(.probeSwitched) (FailoverReady \(.probeFailoverReady)), \(.probeClient.failedRequests) failed; no probe: switched after \(.noprobeFaultToSwitchS) s" else empty end),
          (if .partitionMs then "operator black-holed \(.partitionMs) ms: Service moved=\(.serviceMovedByPartition), \(.operatorWatchStalls) silent watches noticed; a failure after it converged in \(.failureAfterPartitionToConvergedS) s" else empty end),
          (if .zoneLostToSwitchS then "zone lost -> site-c \(.zoneLostToSwitchS) s, site-b (lost zone) selected=\(.selectedLostZoneMember)" else empty end),
          (if .stormHoldS then "\(.silentNodes) of \(.knownNodes) nodes cut off \(.stormHoldS) s: held group moved=\(.heldGroupMoved) (\(.heldReason)), failed-over-into-held=\(.intoGroupMoved); switchover \(.switchoverDuringStormS) s; released \(.renewedToReleasedS) s after renewals" else empty end),
          (if (.connectionsCut // 0) > 0 then "\(.connectionsCut) connections cut" else empty end)] | join("; ") | if . == "" then "-" else . end)] | @tsv' "$OUT/drills.json" |
  (echo -e "scenario\tconverged\trto_ms\tfailed\tdemoted_answers\tReady=False|trigger->switch_s\tworst_conv_ms\tinvariants\tnotes"; cat) |
  column -t -s $'\t'
# The same as a Markdown table (for docs/drills.md).
jq -r '
 def n(x): if x == null then "-" else (x|tostring) end;
 "| Scenario | Converged | RTO (client) | Failed requests | Answered by demoted member after switch | Ready=False (or trigger) -> Service switch | Worst fault -> convergence | Invariants | Notes | Took |",
 "|---|---|---|---|---|---|---|---|---|---|",
 (.results[] |
  "| `\(.scenario)` | \(if (.converged|type) == "number" then "\(.converged) of \(.failovers)" else (if .converged then "yes" else "NO" end) end) | \(if .rtoMs then "\(.rtoMs) ms" else "-" end) | \(if .failedRequests != null then "\(.failedRequests) of \(.requests)" else "-" end) | \(n(.answeredByDemotedAfterSwitch)) | \(if .readyFalseToSwitchS then "\(.readyFalseToSwitchS) s" elif .triggerToSwitchS then "\(.triggerToSwitchS) s (trigger)" else "-" end) | \(if .worstConvergenceMs then "\(.worstConvergenceMs) ms" else "-" end) | \(if .invariantsHeld then "held" else "VIOLATED" end) | \([(if .strategy == "MakeBeforeBreak" then "MakeBeforeBreak" else empty end),
          (if .takeoverMs then "leader killed at step \(.switchStepAtKill), takeover \(.takeoverMs) ms, kill -> converged \(.killToConvergenceMs) ms" else empty end),
          (if .apiserverDownMs then "apiserver down \(.apiserverDownMs) ms, \(.operatorRelists) operator re-lists" else empty end),
          (if .degradedWhileDown != null then "all down \(.allDownMs) ms: Degraded=\(.degradedWhileDown) (\(.degradedReason)), Service changes while down \(.serviceChangesWhileDown); recovery -> first success \(.recoveryToFirstSuccessMs) ms\(if .stayedAfterPreferredRecovered != null then "; stayed on site-b after site-a recovered: \(.stayedAfterPreferredRecovered)" else "" end)\(if .serviceUntouchedThroughout != null then "; Service untouched throughout: \(.serviceUntouchedThroughout)" else "" end)" else empty end),
          (if .budgetHeld != null then "\(.failovers) failovers in \(.flaps) flaps (max \(.maxFailovers)), hold shown: \(.budgetHeld)" else empty end),
          (if .readyTrueToSwitchS then "site-a Ready=True -> switch \(.readyTrueToSwitchS) s" else empty end),
          (if .leaseFaultToSwitchS then "node stopped -> Service switch: node Lease (defaults) \(.leaseFaultToSwitchS) s, client RTO \(.leaseClient.rtoMs) ms; NotReady path (nodeLeaseTimeout 0) \(.notreadyFaultToSwitchS) s, client RTO \(.notreadyClient.rtoMs) ms" else empty end),
          (if .noprobeFaultToSwitchS then "node agent stopped \(.holdS) s, pods serving: with a probe switched=\(.probeSwitched) (FailoverReady: \(.probeFailoverReady)), \(.probeClient.failedRequests) of \(.probeClient.requests) requests failed, after: \(.probeAfter); without a probe (documented) switched after \(.noprobeFaultToSwitchS) s, client RTO \(.noprobeClient.rtoMs) ms" else empty end),
          (if .partitionMs then "operator black-holed \(.partitionMs) ms: Service moved: \(.serviceMovedByPartition), \(.failedRequests) of \(.client.requests) requests failed, \(.operatorWatchStalls) silent watches noticed; a failure after it -> converged \(.failureAfterPartitionToConvergedS) s" else empty end),
          (if .zoneLostToSwitchS then "zone z1 lost (2 of its 3 nodes stopped, the third renewing): switched to site-c (zone z2) in \(.zoneLostToSwitchS) s, client RTO \(.rtoMs) ms; site-b (z1, its node renewing) selected: \(.selectedLostZoneMember)" else empty end),
          (if .stormHoldS then "\(.silentNodes) of \(.knownNodes) nodes with their agents stopped \(.stormHoldS) s (pods serving): group on a silent node moved: \(.heldGroupMoved) (FailoverReady \(.heldReason)); group whose primary failed moved onto the silent node: \(.intoGroupMoved); manual switchover during the storm \(.switchoverDuringStormS) s; hold released \(.renewedToReleasedS) s after the nodes renewed, the failed group then failed over in \(.renewedToIntoFailoverS) s" else empty end),
          (if (.connectionsCut // 0) > 0 then "\(.connectionsCut) connections cut" else empty end)] | join("; ") | if . == "" then "-" else . end) | \(n(.durationS)) s (load \(n(.load1m))) |")' "$OUT/drills.json" >"$OUT/drills.md"
log "results in $OUT/drills.json and $OUT/drills.md"
exit $FAILED
