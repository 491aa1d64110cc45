#!/usr/bin/env bash
# `cluster.sh up` is idempotent and runs beside the shared test cluster on its own
# loopback /16; `cluster.sh down` stops every process `up` started and removes its state.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../support/lib.sh"
fo_load_cluster_env
SHARED_SLOT="$FO_CLUSTER_SLOT"
CLUSTER_SH="${FO_SOURCE_DIR:?FO_SOURCE_DIR is not set}/scripts/cluster.sh"

TMP="$(mktemp -d /tmp/fo-up-down-XXXXXX)"
DIR="$TMP/cluster"
KCFG="$TMP/kubeconfig"
# Only the cluster.sh calls see this cluster's location; the processes `up` starts
# inherit it, which is how the test finds every one of them afterwards.
own() {
  env -u FO_NODE_IP -u FO_POD_CIDR -u FO_NODE_NAME -u KUBECONFIG \
    FO_CLUSTER_DIR="$DIR" FO_KUBECONFIG="$KCFG" "$@"
}
cleanup() { own bash "$CLUSTER_SH" down >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT

# Processes whose environment names this cluster's state dir.
started_processes() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" != "$$" ] || continue
    if tr "\0" "\n" 2>/dev/null <"$p/environ" | grep -qx "FO_CLUSTER_DIR=$DIR"; then
      echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"
    fi
  done
}

fo_log "up (second cluster in $DIR), called holding a lock on fd 9 as \`flock F make cluster-up\` does"
t0=$(date +%s%N)
exec 9>"$TMP/caller.lock"
flock 9
own bash "$CLUSTER_SH" up
exec 9>&-
t1=$(date +%s%N)
echo "up took $(( (t1 - t0) / 1000000 )) ms"
[ -f "$KCFG" ] || fo_fail "no kubeconfig at $KCFG"
own bash "$CLUSTER_SH" status >/dev/null || fo_fail "status after up: $(own bash "$CLUSTER_SH" status 2>&1)"
slot="$(own bash "$CLUSTER_SH" env | sed -n 's/^FO_CLUSTER_SLOT=//p')"
[ -n "$slot" ] && [ "$slot" != "$SHARED_SLOT" ] || fo_fail "second cluster got slot '$slot', the shared one has $SHARED_SLOT"
node_ip="$(own bash "$CLUSTER_SH" env | sed -n 's/^FO_NODE_IP=//p')"
[ "$node_ip" = "127.$slot.0.1" ] || fo_fail "node IP $node_ip is not 127.$slot.0.1"

"$FO_KUBECTL" --kubeconfig "$KCFG" get namespace default -o name >/dev/null || fo_fail "second cluster does not answer"
fo_kubectl get namespace default -o name >/dev/null || fo_fail "the shared cluster stopped answering"

fo_log "the deprecated-API check sees a deprecated request (core/v1 Endpoints) on this cluster"
check="$(dirname "${BASH_SOURCE[0]}")/no_deprecated_apis_test.sh"
own bash "$check" >/dev/null 2>&1 || fo_fail "the deprecated-API check fails on a fresh cluster: $(own bash "$check" 2>&1)"
"$FO_KUBECTL" --kubeconfig "$KCFG" get endpoints -n default >/dev/null 2>&1
if out="$(own bash "$check" 2>&1)"; then fo_fail "the deprecated-API check passed after a v1 Endpoints list: $out"; fi
grep -q 'list /api/v1/namespaces/default/endpoints' <<<"$out" || fo_fail "the deprecated-API check does not name the request: $out"

pids_before="$(cat "$DIR"/pids/*.pid | sort)"
fo_log "up again: already running, same processes"
own bash "$CLUSTER_SH" up
[ "$(cat "$DIR"/pids/*.pid | sort)" = "$pids_before" ] || fo_fail "a second up changed the recorded processes"

procs="$(started_processes)"
echo "processes of this cluster:"; echo "$procs" | sed 's/^/  /'
count="$(grep -c . <<<"$procs" || true)"
[ "$count" -ge 3 ] || fo_fail "found $count processes of this cluster, want at least etcd, apiserver, controller-manager"
# The caller's lock ended with the caller: no process of the cluster holds it.
flock -n "$TMP/caller.lock" true || fo_fail "a process of the cluster still holds its caller's lock (an inherited descriptor)"
recorded="$(cut -d' ' -f1 <<<"$pids_before" | sort -n)"
found="$(cut -d' ' -f1 <<<"$procs" | sort -n)"
[ "$recorded" = "$found" ] || fo_fail "recorded PIDs ($(echo $recorded)) differ from the running ones ($(echo $found))"

fo_log "down"
t0=$(date +%s%N)
own bash "$CLUSTER_SH" down
t1=$(date +%s%N)
echo "down took $(( (t1 - t0) / 1000000 )) ms"
left="$(started_processes)"
[ -z "$left" ] || fo_fail "processes left after down: $left"
while read -r pid started; do
  # A zombie has exited; only its parent (init, after cluster.sh exits) has yet to reap it.
  if [ -d "/proc/$pid" ] && [ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" = "$started" ] \
     && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    fo_fail "recorded process $pid is still running: $(cat "/proc/$pid/stat" 2>/dev/null)"
  fi
done <<<"$pids_before"
[ ! -e "$DIR" ] || fo_fail "state dir $DIR still exists"
[ ! -e "$KCFG" ] || fo_fail "kubeconfig $KCFG still exists"
registry="${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}/clusters"
[ "$(cat "$registry/slot-$slot" 2>/dev/null)" != "$DIR" ] || fo_fail "slot $slot is still claimed"
fo_kubectl get namespace default -o name >/dev/null || fo_fail "the shared cluster stopped answering after the second went down"
echo "PASS: up is idempotent, down leaves nothing behind"
