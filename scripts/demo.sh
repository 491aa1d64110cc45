#!/usr/bin/env bash
# A live failover drill on the local control plane (what `make demo` runs after
# `make cluster-up`): installs the CRD and RBAC, starts the operator as its own
# least-privilege ServiceAccount, deploys the sample FailoverGroup (two Deployments of
# the demo app behind a NodePort Service), sends traffic through the Service, kills the
# primary's process, shows the failover and a manual failback, and prints the RTO the
# client saw. The cluster and the operator stay up afterwards.
#
#   scripts/demo.sh          run the drill (needs `make cluster-up` first)
#   scripts/demo.sh stop     stop the demo's operator and load generator
#   scripts/demo.sh down     stop them and the local cluster
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FO_CLUSTER_DIR="${FO_CLUSTER_DIR:-$REPO/.local/cluster}"
export FO_KUBECONFIG="${FO_KUBECONFIG:-$REPO/.local/kubeconfig}"
BIN_DIR="${FO_BIN_DIR:-$REPO/build/bin}"
DEMO_DIR="$REPO/.local/demo"
NS=failover-demo
GROUP=demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { echo "demo: ERROR: $*" >&2; exit 1; }

stop_pidfile() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cmd_stop() {
  stop_pidfile "$DEMO_DIR/load.pid"
  stop_pidfile "$DEMO_DIR/operator.pid"
}

case "${1:-run}" in
  stop) cmd_stop; exit 0 ;;
  down) cmd_stop; exec bash "$REPO/scripts/cluster.sh" down ;;
  run) ;;
  *) echo "usage: $0 [run|stop|down]" >&2; exit 2 ;;
esac

[ -f "$FO_CLUSTER_DIR/cluster.env" ] || die "no local cluster: run 'make cluster-up' first"
# shellcheck disable=SC1091
source "$FO_CLUSTER_DIR/cluster.env"
k() { "$FO_KUBECTL" --kubeconfig "$FO_KUBECONFIG" "$@"; }
for b in failover-operator kubectl-failover; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b is missing: run 'make build'"
done
mkdir -p "$DEMO_DIR"
cmd_stop

say "Installing the CRD, the operator's namespace, ServiceAccount and least-privilege RBAC"
k apply -f "$REPO/manifests/manager/namespace.yaml" >/dev/null
k apply -k "$REPO/manifests/crd" >/dev/null
k apply -k "$REPO/manifests/rbac" >/dev/null
bash "$REPO/scripts/crd-established.sh" "$FO_KUBECTL" "$FO_KUBECONFIG" failovergroups.failover.io >/dev/null
note "crd/failovergroups.failover.io established; ClusterRole failover-operator bound to failover-system/failover-operator"

say "Starting the operator as system:serviceaccount:failover-system:failover-operator (not admin)"
SA_KUBECONFIG="$DEMO_DIR/operator.kubeconfig"
bash "$REPO/tests/ship/sa-kubeconfig.sh" failover-system failover-operator "$SA_KUBECONFIG"
METRICS="$FO_NODE_IP:8080"
HEALTH="$FO_NODE_IP:8081"
"$BIN_DIR/failover-operator" --kubeconfig "$SA_KUBECONFIG" --leader-elect \
  --leader-election-namespace failover-system \
  --metrics-bind-address "$METRICS" --metrics-secure=false --health-probe-bind-address "$HEALTH" \
  --log-format text >"$DEMO_DIR/operator.log" 2>&1 &
echo $! >"$DEMO_DIR/operator.pid"
for _ in $(seq 1 100); do
  curl -fs "http://$HEALTH/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$DEMO_DIR/operator.pid")" 2>/dev/null || { tail -20 "$DEMO_DIR/operator.log" >&2; die "the operator exited"; }
  sleep 0.2
done
curl -fs "http://$HEALTH/readyz" >/dev/null || die "operator not ready (log: $DEMO_DIR/operator.log)"
note "ready: metrics http://$METRICS/metrics, health http://$HEALTH/readyz, log $DEMO_DIR/operator.log"

if k get ns "$NS" >/dev/null 2>&1; then
  say "Removing the previous run's namespace $NS (the operator clears its finalizer)"
  k delete ns "$NS" --wait=false >/dev/null 2>&1 || true
  for _ in $(seq 1 180); do k get ns "$NS" >/dev/null 2>&1 || break; sleep 0.5; done
  k get ns "$NS" >/dev/null 2>&1 && die "namespace $NS is still terminating"
fi

say "Deploying the sample: Deployments demo-site-a and demo-site-b, Service demo (NodePort), FailoverGroup demo"
k apply -k "$REPO/manifests/samples" >/dev/null
phase() { k -n "$NS" get fg "$GROUP" -o jsonpath='{.status.phase}/{.status.activeMember}' 2>/dev/null || true; }
for _ in $(seq 1 120); do
  [ "$(phase)" = "Healthy/site-a" ] && break
  sleep 0.5
done
[ "$(phase)" = "Healthy/site-a" ] || { k -n "$NS" get fg,pods -o wide >&2; die "the group did not become Healthy on site-a (got $(phase))"; }
k -n "$NS" get fg "$GROUP"
echo
k -n "$NS" get pods -L failover.io/role,site

NODE_PORT="$(k -n "$NS" get svc demo -o jsonpath='{.spec.ports[0].nodePort}')"
URL="http://$FO_NODE_IP:$NODE_PORT/"
say "Traffic: a client sends 20 requests/s to $URL through the Service proxy"
LOAD_LOG="$DEMO_DIR/load.log"
: >"$LOAD_LOG"
(
  while :; do
    t="$(date +%s.%N)"
    if out="$(curl -fs --max-time 0.5 "$URL" 2>/dev/null)"; then
      pod="$(sed -n 's/.*"pod":"\([^"]*\)".*/\1/p' <<<"$out")"
      echo "$t ok ${pod:-?}"
    else
      echo "$t fail -"
    fi >>"$LOAD_LOG"
    sleep 0.05
  done
) &
echo $! >"$DEMO_DIR/load.pid"
sleep 3
note "last answers: $(tail -3 "$LOAD_LOG" | awk '{print $3}' | paste -sd' ')"

PRIMARY_POD="$(k -n "$NS" get pods -l app=demo,site=a -o jsonpath='{.items[0].metadata.name}')"
# The node agent records each container's PID under its state dir; /proc is the fallback.
AGENT_PODS="${TMPDIR:-/tmp}/failover-node-agent/$FO_NODE_NAME-$FO_NODE_IP/pods"
pid_of_pod() {
  local p f
  for f in "$AGENT_PODS/${NS}_$1_"*/*.pid; do
    [ -f "$f" ] && p="$(cat "$f" 2>/dev/null)" && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
  done
  for p in /proc/[0-9]*; do
    if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "POD_NAME=$1"; then basename "$p"; return 0; fi
  done
  return 1
}
PRIMARY_PID="$(pid_of_pod "$PRIMARY_POD")" || die "cannot find the process of pod $PRIMARY_POD"

say "A blip: SIGKILL to pod $PRIMARY_POD's process (pid $PRIMARY_PID)"
kill -KILL "$PRIMARY_PID"
note "the node agent restarts it at once (as kubelet would); detection.unhealthyFor is 5s, so the"
note "operator notes the outage and waits instead of failing over:"
sleep 7
k -n "$NS" get events --field-selector involvedObject.kind=FailoverGroup \
  --sort-by=.lastTimestamp -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message | tail -3
note "phase/active: $(phase), failovers: $(k -n "$NS" get fg "$GROUP" -o jsonpath='{.status.failoverCount}')"

PRIMARY_IP="$(k -n "$NS" get pod "$PRIMARY_POD" -o jsonpath='{.status.podIP}')"
say "A real outage: the primary hangs (alive, but its readiness probe fails: POST http://$PRIMARY_IP:8080/fail)"
KILL_AT="$(date +%s.%N)"
curl -fs -X POST -d '' "http://$PRIMARY_IP:8080/fail" >/dev/null || die "cannot reach the primary at $PRIMARY_IP"
note "kubelet's stand-in marks it NotReady at the next probe (periodSeconds 2); the operator fails over 5s later"
# Phase becomes FailedOver, or Degraded while the old primary is still down (no standby left).
for _ in $(seq 1 60); do
  case "$(phase)" in FailedOver/site-b|Degraded/site-b) break ;; esac
  sleep 0.5
done
case "$(phase)" in FailedOver/site-b|Degraded/site-b) ;; *) k -n "$NS" describe fg "$GROUP" >&2; die "no failover to site-b (got $(phase))" ;; esac
k -n "$NS" get fg "$GROUP"
echo
k -n "$NS" get pods -L failover.io/role,site
echo
k -n "$NS" get events --field-selector involvedObject.kind=FailoverGroup \
  --sort-by=.lastTimestamp -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message | tail -6

# RTO as the client saw it: from the last success before the outage to the first answer
# from another member after it.
rto() {
  awk -v k="$KILL_AT" -v old="$PRIMARY_POD" '
    $2=="ok" && $1<k {before=$1}
    $2=="ok" && $1>=k && $3!=old && first=="" {first=$1}
    $2=="fail" && $1>=k && first=="" {fails++}
    END {
      if (first=="") { print "no answer from another member yet"; exit }
      printf "%.2f s (%d failed requests in between)\n", first-before, fails
    }' "$LOAD_LOG"
}
note "answers now come from: $(tail -3 "$LOAD_LOG" | awk '{print $3}' | paste -sd' ')"
note "client-side RTO: $(rto)"

say "Metrics (http://$METRICS/metrics)"
curl -fs "http://$METRICS/metrics" | grep -E '^failover_group_(failovers_total|active_member|phase\{.*\} 1|healthy_members)' | sed 's/^/   /'

say "The old primary recovers (POST /recover); failback is Manual, so the operator stays on site-b"
curl -fs -X POST -d '' "http://$PRIMARY_IP:8080/recover" >/dev/null || die "cannot reach the primary at $PRIMARY_IP"
for _ in $(seq 1 60); do
  healthy="$(k -n "$NS" get fg "$GROUP" -o jsonpath='{.status.members[0].healthy}' 2>/dev/null || true)"
  [ "$healthy" = "true" ] && break
  sleep 0.5
done
note "site-a healthy again: ${healthy:-unknown}; failing back with the kubectl plugin:"
note "\$ kubectl failover failback $GROUP -n $NS"
PATH="$BIN_DIR:$PATH" "$BIN_DIR/kubectl-failover" --kubeconfig "$FO_KUBECONFIG" failback "$GROUP" -n "$NS"
for _ in $(seq 1 60); do
  [ "$(phase)" = "Healthy/site-a" ] && break
  sleep 0.5
done
[ "$(phase)" = "Healthy/site-a" ] || die "failback did not complete (got $(phase))"
sleep 1
"$BIN_DIR/kubectl-failover" --kubeconfig "$FO_KUBECONFIG" status "$GROUP" -n "$NS"
echo
"$BIN_DIR/kubectl-failover" --kubeconfig "$FO_KUBECONFIG" history "$GROUP" -n "$NS"
note "answers now come from: $(tail -3 "$LOAD_LOG" | awk '{print $3}' | paste -sd' ')"
failed="$(awk '$2=="fail"' "$LOAD_LOG" | wc -l)"
total="$(wc -l <"$LOAD_LOG")"

say "Done: $total requests, $failed failed; RTO $(rto)"
cat <<EOF
   The cluster, the operator and the client keep running. Explore:
     export KUBECONFIG=$FO_KUBECONFIG PATH=$BIN_DIR:$(dirname "$FO_KUBECTL"):\$PATH
     kubectl get fg -A                       # Active, Phase, Healthy, Failovers
     kubectl -n $NS get pods -L failover.io/role
     kubectl failover status -A              # the plugin
     kubectl failover switchover $GROUP --to site-b -n $NS
     curl -s -X POST -d '' http://<pod-ip>:8080/fail   # make a pod unready (pod IPs: kubectl get pods -o wide)
     curl -s http://$METRICS/metrics | grep failover_group
     tail -f $LOAD_LOG                       # the client's view
   Stop the demo: scripts/demo.sh stop; everything: make cluster-down
EOF
