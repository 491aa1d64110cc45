#!/usr/bin/env bash
# Failover drills with real traffic: the local control plane, the harness (node agent,
# service proxy), the operator running as its least-privilege ServiceAccount (manifests/rbac,
# a TokenRequest token), a load generator through the Service's NodePort, and the
# independent invariant checker watching throughout.
#
#   drill.sh [--scenarios kill,ready-fail,operator-kill,proxy-cuts] [--operator-kills N] [--out DIR]
#
# Uses the cluster in $FO_CLUSTER_DIR when one is up there (ctest's fixture), otherwise
# brings one up under DIR and takes it down at the end. Writes DIR/drills.json and prints
# a table. Exit 1 when a drill fails (no convergence, an invariant violation, a request
# answered by the demoted member, token or key material in a log, a wrong bind).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FO_BIN_DIR:-$REPO/build/bin}"
SCENARIOS="kill,ready-fail,operator-kill,proxy-cuts"
OPERATOR_KILLS="${DRILL_OPERATOR_KILLS:-5}"
OUT="${DRILL_OUT:-$REPO/build/drills}"
while [ $# -gt 0 ]; do
  case "$1" in
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --operator-kills) OPERATOR_KILLS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: drill.sh [--scenarios a,b] [--operator-kills N] [--out DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
for b in failover-operator failover-invariant-checker failover-loadgen failover-chaos-proxy failover-node-agent; do
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

PIDS=()
cleanup() {
  local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ $OWN_CLUSTER = 1 ] && bash "$REPO/scripts/cluster.sh" down >/dev/null 2>&1
}
trap cleanup EXIT

# ---- the operator's identity: the shipped RBAC, a TokenRequest token ---------------------
k apply -f "$REPO/crds/failovergroups.failover.io.yaml" >/dev/null || exit 1
k create namespace failover-system >/dev/null 2>&1
k apply -k "$REPO/manifests/rbac" >/dev/null || exit 1
k wait --for condition=established --timeout=60s crd/failovergroups.failover.io >/dev/null || exit 1
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
# Starts the operator; a port taken between choosing and binding means another try.
start_operator() {  # ns log
  local attempt
  for attempt in 1 2 3; do
    start_operator_once "$1" "$2" && return 0
    grep -q "cannot bind" "$2" || break
  done
  fail "operator did not start (log $2)"
  return 1
}
start_operator_once() {  # ns log
  METRICS_PORT="$(free_port)"; HEALTH_PORT="$(free_port)"
  "$BIN/failover-operator" --kubeconfig "$OP_KUBECONFIG" --namespace "$1" \
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" --health-probe-bind-address "127.0.0.1:$HEALTH_PORT" \
    --log-format text --log-level debug >>"$2" 2>&1 &
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

demo_pod() {  # ns name site
  cat <<POD
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$2","namespace":"$1","labels":{"app":"db","site":"$3"}},
 "spec":{"nodeName":"$FO_NODE_NAME","restartPolicy":"Never","terminationGracePeriodSeconds":2,
  "containers":[{"name":"app","image":"example.registry/failover-demo-app:drill",
   "ports":[{"name":"http","containerPort":8080}],
   "readinessProbe":{"httpGet":{"path":"/ready","port":"http"},"periodSeconds":1,"failureThreshold":1}}]}}
POD
}

setup_namespace() {  # ns unhealthyFor failback
  local ns="$1"
  k create namespace "$ns" >/dev/null || return 1
  demo_pod "$ns" db-a-0 a | k apply -f - >/dev/null
  demo_pod "$ns" db-b-0 b | k apply -f - >/dev/null
  k -n "$ns" apply -f - >/dev/null <<SVC
{"apiVersion":"v1","kind":"Service","metadata":{"name":"db"},
 "spec":{"type":"NodePort","selector":{"app":"db"},"ports":[{"name":"http","port":80,"targetPort":"http"}]}}
SVC
  k -n "$ns" apply -f - >/dev/null <<FG
{"apiVersion":"failover.io/v1alpha1","kind":"FailoverGroup","metadata":{"name":"db"},
 "spec":{"mode":"ActivePassive",
  "members":[{"name":"site-a","selector":{"matchLabels":{"app":"db","site":"a"}}},
             {"name":"site-b","selector":{"matchLabels":{"app":"db","site":"b"}}}],
  "services":[{"name":"db"}],"detection":{"unhealthyFor":"$2"},
  "switchover":{"strategy":"BreakBeforeMake"},"failback":{"policy":"$3","stabilizationWindow":"5s"},
  "antiFlap":{"maxFailovers":1000,"window":"1m"},"fencing":{"policy":"Label"}}}
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

# RTO, failed requests and demoted answers from a load generator log.
analyze() {  # loadlog t_fault_ms old_pod new_pod -> JSON fields
  awk -v tf="$2" -v old="$3" -v new="$4" '
    $3 == "ok" && $1 < tf { last_before = $1 + $2 }
    $3 == "ok" && $1 >= tf && $4 == new && first_new == "" { first_new = $1; first_new_end = $1 + $2 }
    $3 == "fail" && $1 >= tf { failed++ }
    { total++ }
    END {
      printf "\"requests\": %d, \"failedRequests\": %d, \"lastSuccessBeforeMs\": %.0f, \"firstSuccessAfterMs\": %.0f, \"rtoMs\": %.0f",
        total, failed + 0, last_before + 0, first_new_end + 0,
        (first_new_end != "" && last_before != "") ? first_new_end - last_before : -1
    }' "$1"
  local first_new
  first_new="$(awk -v tf="$2" -v new="$4" '$3=="ok" && $1>=tf && $4==new {print $1; exit}' "$1")"
  printf ', "answeredByDemotedAfterSwitch": %d' \
    "$(awk -v fn="${first_new:-99999999999999}" -v old="$3" '$3=="ok" && $1>fn && $4==old' "$1" | wc -l)"
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

# One failover under load: fault = kill | ready-fail.
scenario_failover() {
  local name="$1" ns="drill-$1-$RANDOM" dir="$OUT/$1"
  mkdir -p "$dir"; rm -f "$dir"/*
  log "scenario $name in namespace $ns"
  setup_namespace "$ns" 2s Manual || { fail "$name: setup"; return; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$ns" --slack 10s \
    --timeline "$dir/timeline.txt" >"$dir/checker.log" 2>&1 &
  local checker=$!; PIDS+=("$checker")
  start_operator "$ns" "$dir/operator.log" || return
  wait_ready "$ns" db-a-0 60 && wait_ready "$ns" db-b-0 60 || { fail "$name: pods not ready"; return; }
  wait_converged "$ns" site-a 60 || { fail "$name: group never active on site-a"; return; }
  local port; port="$(k -n "$ns" get svc db -o jsonpath='{.spec.ports[0].nodePort}')"
  "$BIN/failover-loadgen" --target "$FO_NODE_IP:$port" --out "$dir/load.txt" --interval-ms 5 &
  local load=$!; PIDS+=("$load")
  sleep 3
  local t_fault; t_fault="$(now_ms)"
  case "$name" in
    kill) kill -9 "$(demo_pid "$ns" db-a-0)" || fail "$name: no process for db-a-0" ;;
    ready-fail) curl -s -m 2 -d x "http://$(pod_ip "$ns" db-a-0):8080/fail" >/dev/null || fail "$name: POST /fail" ;;
  esac
  local converged=true
  wait_converged "$ns" site-b 60 || { converged=false; fail "$name: no failover to site-b within 60 s"; }
  sleep 3
  kill "$load"; wait "$load" 2>/dev/null
  local ready_false switched
  ready_false="$(k -n "$ns" get pod db-a-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}' 2>/dev/null)"
  switched="$(k -n "$ns" get svc db -o jsonpath='{.metadata.annotations.failover\.io/active-since}')"
  local rf_to_switch=-1
  if [ -n "$ready_false" ] && [ -n "$switched" ]; then
    rf_to_switch="$(awk -v a="$(date -d "$switched" +%s.%N)" -v b="$(date -d "$ready_false" +%s)" 'BEGIN { printf "%.3f", a - b }')"
  fi
  check_security "$ns" "$dir/operator.log" "$dir/checker.log"
  stop_operator
  kill "$checker"; wait "$checker"; local checker_rc=$?
  [ $checker_rc = 0 ] || fail "$name: invariant checker exit $checker_rc (see $dir/checker.log)"
  local fields; fields="$(analyze "$dir/load.txt" "$t_fault" db-a-0 db-b-0)"
  case "$fields" in *'"answeredByDemotedAfterSwitch": 0'*) ;; *) fail "$name: requests answered by the demoted member after the switch" ;; esac
  RESULTS+=("{\"scenario\": \"$name\", \"strategy\": \"BreakBeforeMake\", \"fencing\": \"Label\", \"converged\": $converged, $fields, \"readyFalseToSwitchS\": $rf_to_switch, \"invariantsHeld\": $([ $checker_rc = 0 ] && echo true || echo false)}")
  k delete namespace "$ns" --wait=false >/dev/null 2>&1
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
  setup_namespace "$ns" 0 Manual || { fail "$name: setup"; return; }
  "$BIN/failover-invariant-checker" --kubeconfig "$ADMIN_KUBECONFIG" --namespace "$ns" --slack 15s \
    --timeline "$dir/timeline.txt" >"$dir/checker.log" 2>&1 &
  local checker=$!; PIDS+=("$checker")
  start_operator "$ns" "$dir/operator.log" || return
  wait_ready "$ns" db-a-0 60 && wait_ready "$ns" db-b-0 60 || { fail "$name: pods not ready"; return; }
  wait_converged "$ns" site-a 60 || { fail "$name: group never active on site-a"; return; }
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
  k delete namespace "$ns" --wait=false >/dev/null 2>&1
}

IFS=, read -r -a list <<<"$SCENARIOS"
for s in "${list[@]}"; do
  case "$s" in
    kill|ready-fail) scenario_failover "$s" ;;
    operator-kill|proxy-cuts) scenario_repeated "$s" ;;
    *) fail "unknown scenario $s" ;;
  esac
done

{ printf '{"date": "%s", "results": [' "$(date -u +%FT%TZ)"; (IFS=,; printf '%s' "${RESULTS[*]}"); printf ']}\n'; } >"$OUT/drills.json"
jq -r '.results[] | [.scenario, (.converged|tostring), (.rtoMs // "-"|tostring), (.failedRequests // "-"|tostring),
        (.answeredByDemotedAfterSwitch // "-"|tostring), (.readyFalseToSwitchS // "-"|tostring),
        (.worstConvergenceMs // "-"|tostring), (.invariantsHeld|tostring)] | @tsv' "$OUT/drills.json" |
  (echo -e "scenario\tconverged\trto_ms\tfailed\tdemoted_answers\treadyFalse->switch_s\tworst_conv_ms\tinvariants"; cat) |
  column -t -s $'\t'
log "results in $OUT/drills.json"
exit $FAILED
