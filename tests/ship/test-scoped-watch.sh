#!/usr/bin/env bash
# Pods watched only where needed (docs/install.md, "Watching part of a cluster"): the
# operator runs under a ServiceAccount whose rights on groups, pods and Services are
# RoleBindings in two namespaces, A and B, and nothing cluster-wide. The sample runs in A, B
# and a third namespace C, under the harness (real processes and readiness probes).
#  - Without --namespace it cannot list pods cluster-wide: its caches never sync (the
#    apiserver's "forbidden" in its log) and it starts no controller: the RBAC is as tight
#    as the rest of the test needs.
#  - With `--namespace A,B` it elects site-a in A and B, fails B's group over when B's
#    primary fails, and never touches C's group (no finalizer, no status); it caches the
#    pods of A and B only (failover_operator_informer_objects{resource="pods"}).
#  - With `--namespace A --namespace B --pod-label-selector app=demo` a pod of A without
#    that label is not cached, and A's group still fails over.
# usage: test-scoped-watch.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-scoped-watch.sh BIN_DIR}" && pwd)"
need_bins "$bin_dir" failover-operator failover-node-agent failover-demo-app
k get node "$FO_NODE_NAME" >/dev/null || fail "node $FO_NODE_NAME missing: the harness is not running"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
source "$SRC/tests/ship/sample-pods.sh"
diagnose() {  # what a failure needs to be understood, on stderr
  {
    for n in "$ns_a" "$ns_b"; do
      echo "--- $n: pods"; k get pods -n "$n" -o wide --show-labels
      echo "--- $n: group status"; k get fg demo -n "$n" -o jsonpath='{.status}'; echo
    done
    echo "--- operator log (tail)"; tail -30 "$tmp/operator.log"
  } >&2 2>/dev/null || true
}

ns_a="$(unique ship-scope-a)"; ns_b="$(unique ship-scope-b)"; ns_c="$(unique ship-scope-c)"
opns="$(unique ship-scope-op)"; role="$(unique ship-scope)"
for n in "$ns_a" "$ns_b" "$ns_c"; do sample_namespace "$n" "$tmp/$n.json"; done
k create namespace "$opns" >/dev/null
on_exit "k delete namespace $opns --ignore-not-found --wait=false"
# The operator's rules (manifests/rbac/role.yaml) under a name of this test's, bound in A and
# B only.
sed "s/^  name: failover-operator\$/  name: $role/" "$SRC/manifests/rbac/role.yaml" | k apply -f - >/dev/null
on_exit "k delete clusterrole $role --ignore-not-found"
k create serviceaccount operator -n "$opns" >/dev/null
for n in "$ns_a" "$ns_b"; do
  k create rolebinding operator -n "$n" --clusterrole="$role" --serviceaccount="$opns:operator" >/dev/null
done
bash "$SRC/tests/ship/sa-kubeconfig.sh" "$opns" operator "$tmp/operator.kubeconfig"
expect_eq "list pods cluster-wide" no "$(k auth can-i list pods -A --as "system:serviceaccount:$opns:operator" || true)"
expect_eq "list pods in C" no "$(k auth can-i list pods -n "$ns_c" --as "system:serviceaccount:$opns:operator" || true)"

# The samples' objects, their pods on the harness node, and in A a pod of another app that
# no member selects (no node: it stays Pending).
for n in "$ns_a" "$ns_b" "$ns_c"; do
  jq 'select(.kind != "Deployment")' "$tmp/$n.json" | k apply -f - >/dev/null
  sample_pods "$tmp/$n.json" | k apply -f - >/dev/null
done
k run other -n "$ns_a" --image=none --labels=app=other --restart=Never >/dev/null

mport=""
start_operator() {  # start_operator ARGS...: the operator under the ServiceAccount, plain-HTTP metrics
  mport=$((20000 + RANDOM % 20000))
  "$bin_dir/failover-operator" --kubeconfig "$tmp/operator.kubeconfig" --node-leases=false \
    --metrics-secure=false --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address 0 \
    --log-format text "$@" >"$tmp/operator.log" 2>&1 &
  op=$!
}
stop_operator() { kill "$op" 2>/dev/null || true; wait "$op" 2>/dev/null || true; }
cached_pods() { curl -sf "http://127.0.0.1:$mport/metrics" | sed -n 's/^failover_operator_informer_objects{resource="pods"} //p'; }

log "--- without --namespace: a cluster-wide list is forbidden, the caches never sync"
start_operator --cache-sync-timeout 5s
exited() { ! kill -0 "$op" 2>/dev/null; }
wait_for 60 "the unscoped operator gives up" exited
wait "$op" 2>/dev/null || true
grep -qi 'forbidden' "$tmp/operator.log" || { cat "$tmp/operator.log" >&2; fail "no 'forbidden' in the unscoped operator's log"; }
grep -q 'caches did not sync in time' "$tmp/operator.log" || { cat "$tmp/operator.log" >&2; fail "the unscoped operator started its controllers"; }
log "ok: unscoped, the operator's ServiceAccount cannot start"

log "--- --namespace A,B"
start_operator --namespace "$ns_a,$ns_b"
on_exit stop_operator
# Before the operator stops, so its finalizers run; a group still held then loses it.
on_exit "for n in $ns_a $ns_b $ns_c; do k delete namespace \$n --ignore-not-found --timeout=60s || k patch fg demo -n \$n --type=merge -p '{\"metadata\":{\"finalizers\":null}}'; done"
active_is() { [ "$(k get fg demo -n "$1" -o jsonpath='{.status.activeMember}')" = "$2" ]; }
healthy() {  # healthy NS MEMBER: the operator reports it healthy
  [ "$(k get fg demo -n "$1" -o json | jq -r --arg m "$2" '.status.members[] | select(.name == $m) | .healthy')" = true ]
}
for n in "$ns_a" "$ns_b"; do
  wait_for 120 "site-a elected in $n" active_is "$n" site-a
  wait_for 60 "site-b healthy in $n" healthy "$n" site-b
done
expect_eq "pods cached (A's three, B's two)" 5 "$(cached_pods)"
pod_ip() { k get pod "demo-site-$2-0" -n "$1" -o jsonpath='{.status.podIP}'; }
curl -sf -X POST -d '' "http://$(pod_ip "$ns_b" a):8080/fail" >/dev/null || fail "POST /fail to B's site-a"
wait_for 60 "B's group fails over to site-b" active_is "$ns_b" site-b
expect_eq "B's Service selects" site-b "$(k get svc demo -n "$ns_b" -o jsonpath='{.spec.selector.failover\.io/member}')"
expect_eq "A still on" site-a "$(k get fg demo -n "$ns_a" -o jsonpath='{.status.activeMember}')"
expect_eq "C's group untouched (finalizers, status)" "" \
  "$(k get fg demo -n "$ns_c" -o jsonpath='{.metadata.finalizers}{.status}')"
expect_eq "C's Service untouched" "" "$(k get svc demo -n "$ns_c" -o jsonpath='{.spec.selector.failover\.io/member}')"
grep -qi 'forbidden' "$tmp/operator.log" && { tail -30 "$tmp/operator.log" >&2; fail "the scoped operator was refused something"; }
stop_operator

log "--- --namespace A --namespace B --pod-label-selector app=demo"
start_operator --namespace "$ns_a" --namespace "$ns_b" --pod-label-selector app=demo
wait_for 60 "the operator's metrics" cached_pods
wait_for 60 "A's site-b healthy" healthy "$ns_a" site-b
expect_eq "pods cached (A's app=other left out)" 4 "$(cached_pods)"
curl -sf -X POST -d '' "http://$(pod_ip "$ns_a" a):8080/fail" >/dev/null || fail "POST /fail to A's site-a"
wait_for 60 "A's group fails over to site-b" active_is "$ns_a" site-b
expect_eq "C's group still untouched" "" "$(k get fg demo -n "$ns_c" -o jsonpath='{.metadata.finalizers}{.status}')"

log "--- a bad --namespace and a bad --pod-label-selector are refused, naming the value"
set +e
"$bin_dir/failover-operator" --namespace "$ns_a,Bad_NS" >"$tmp/out" 2>&1; rc_ns=$?
"$bin_dir/failover-operator" --pod-label-selector 'app in (db' >"$tmp/out2" 2>&1; rc_sel=$?
set -e
expect_eq "bad --namespace exit code" 2 "$rc_ns"
grep -q '"Bad_NS" is not a namespace name' "$tmp/out" || fail "bad --namespace message: $(cat "$tmp/out")"
expect_eq "bad --pod-label-selector exit code" 2 "$rc_sel"
grep -q "unbalanced '('" "$tmp/out2" || fail "bad --pod-label-selector message: $(cat "$tmp/out2")"
log "PASS"
