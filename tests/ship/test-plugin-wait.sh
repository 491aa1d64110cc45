#!/usr/bin/env bash
# kubectl failover ... --wait against the real operator on the local cluster (the demo
# app's pods run under the harness with their readiness probes): switchover, failback,
# pause and resume return once the group's status shows the outcome (exit 0); a switch the
# operator refuses returns 4 naming its Event; an operator that does not act returns 3 at
# --timeout and leaves the request in place; --wait on a paused group is refused up front.
# usage: test-plugin-wait.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-plugin-wait.sh BIN_DIR}" && pwd)"
need_bins "$bin_dir" kubectl-failover failover-operator failover-node-agent failover-demo-app
k get node "$FO_NODE_NAME" >/dev/null || fail "node $FO_NODE_NAME missing: the harness is not running"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
source "$SRC/tests/ship/sample-pods.sh"
plugin() { "$bin_dir/kubectl-failover" --kubeconfig "$KUBECONFIG" "$@"; }
diagnose() {  # what a failure needs to be understood, on stderr (cleanups print nothing)
  {
    echo "--- pods"; k get pods -n "$ns" -o wide --show-labels
    echo "--- group status"; k get fg demo -n "$ns" -o jsonpath='{.status}'; echo
    echo "--- operator log (tail)"; tail -30 "$tmp/operator.log"
  } >&2 2>/dev/null || true
}

ns="$(unique ship-wait)"
# The sample in a namespace of its own; its Deployments' pod templates become pods on the
# harness node below (this control plane runs no scheduler).
sample_namespace "$ns" "$tmp/sample.json"

log "operator (admin credentials, no leader election)"
"$bin_dir/failover-operator" --kubeconfig "$KUBECONFIG" --metrics-bind-address 0 \
  --health-probe-bind-address 0 --log-format text >"$tmp/operator.log" 2>&1 &
op=$!
on_exit "kill -CONT $op; kill $op; sleep 1; kill -9 $op"
# Before the operator stops, so its finalizer runs; a group still held then loses it.
on_exit "k delete namespace $ns --ignore-not-found --timeout=60s || k patch fg demo -n $ns --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"

jq 'select(.kind != "Deployment")' "$tmp/sample.json" | k apply -f - >/dev/null
sample_pods "$tmp/sample.json" | k apply -f - >/dev/null
active() { k get fg demo -n "$ns" -o jsonpath='{.status.activeMember}'; }
active_is() { [ "$(active)" = "$1" ]; }
wait_for 120 "site-a elected" active_is site-a
pod_ip() { k get pod "demo-site-$1-0" -n "$ns" -o jsonpath='{.status.podIP}'; }
healthy() {  # healthy MEMBER: the operator reports it healthy
  [ "$(k get fg demo -n "$ns" -o json | jq -r --arg m "$1" '.status.members[] | select(.name == $m) | .healthy')" = true ]
}
wait_for 60 "site-b healthy" healthy site-b
log "ok: site-a active, site-b healthy"

log "--- switchover --wait: returns once the switch is booked"
plugin switchover demo --to site-b -n "$ns" --wait --timeout 60s | tee "$tmp/out"
grep -q "failovergroup $ns/demo: site-b is the active member: site-a -> site-b (Switchover) completed " "$tmp/out" ||
  fail "switchover --wait output: $(cat "$tmp/out")"
# Nothing left to wait for when it returns: the status says so already, and the Service.
expect_eq "active member after switchover --wait" site-b "$(active)"
expect_eq "lastTransition after switchover --wait" "site-a site-b Switchover" \
  "$(k get fg demo -n "$ns" -o jsonpath='{.status.lastTransition.from} {.status.lastTransition.to} {.status.lastTransition.reason}')"
expect_eq "Service selects" site-b "$(k get svc demo -n "$ns" -o jsonpath='{.spec.selector.failover\.io/member}')"
expect_eq "request consumed" "" "$(k get fg demo -n "$ns" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"

log "--- switchover --wait to an unhealthy member: refused (exit 4, the operator's Event)"
curl -sf -X POST -d '' "http://$(pod_ip a):8080/fail" >/dev/null || fail "POST /fail to site-a"
not_healthy() { ! healthy "$1"; }
wait_for 60 "site-a unhealthy" not_healthy site-a
set +e
plugin switchover demo --to site-a -n "$ns" --wait --timeout 60s >"$tmp/out" 2>"$tmp/err"; rc=$?
set -e
expect_eq "refused switchover exit code" 4 "$rc"
grep -q "the switch to site-a did not happen: site-b is active; SwitchoverRefused: member site-a is not healthy" "$tmp/err" ||
  fail "refused switchover message: $(cat "$tmp/err")"
expect_eq "still active after the refusal" site-b "$(active)"
curl -sf -X POST -d '' "http://$(pod_ip a):8080/recover" >/dev/null || fail "POST /recover to site-a"
wait_for 60 "site-a healthy again" healthy site-a

log "--- failback --wait"
plugin failback demo -n "$ns" --wait --timeout 60s | tee "$tmp/out"
grep -q "site-a is the active member: site-b -> site-a (Switchover) completed" "$tmp/out" || fail "failback --wait output: $(cat "$tmp/out")"
expect_eq "active member after failback --wait" site-a "$(active)"

log "--- pause --wait and resume --wait: return once the operator reports it"
plugin pause demo -n "$ns" --wait --timeout 30s | tee "$tmp/out"
grep -q "paused (status.phase Paused)" "$tmp/out" || fail "pause --wait output: $(cat "$tmp/out")"
expect_eq "phase after pause --wait" Paused "$(k get fg demo -n "$ns" -o jsonpath='{.status.phase}')"
set +e
plugin switchover demo --to site-b -n "$ns" --wait 2>"$tmp/err"; rc=$?
set -e
expect_eq "switchover --wait on a paused group exit code" 1 "$rc"
grep -q "is paused: the operator switches nothing until it is resumed" "$tmp/err" || fail "paused message: $(cat "$tmp/err")"
expect_eq "nothing requested on the paused group" "" "$(k get fg demo -n "$ns" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"
plugin resume demo -n "$ns" --wait --timeout 30s | tee "$tmp/out"
grep -q "resumed (status.phase Healthy)" "$tmp/out" || fail "resume --wait output: $(cat "$tmp/out")"

log "--- an operator that does not act: --wait times out (exit 3), the request stays"
kill -STOP "$op"
set +e
start=$SECONDS
plugin switchover demo --to site-b -n "$ns" --wait --timeout 3s >"$tmp/out" 2>"$tmp/err"; rc=$?
took=$((SECONDS - start))
plugin pause demo -n "$ns" --wait --timeout 2s 2>"$tmp/err2"; rc2=$?
set -e
expect_eq "switchover --wait timeout exit code" 3 "$rc"
[ "$took" -le 10 ] || fail "switchover --wait --timeout 3s took ${took}s"
grep -q "timed out after 3s waiting for the operator to take the request (failover.io/switchover-to=site-b) on failovergroup $ns/demo; the request stays" "$tmp/err" ||
  fail "timeout message: $(cat "$tmp/err")"
expect_eq "request left in place" site-b "$(k get fg demo -n "$ns" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"
expect_eq "pause --wait timeout exit code" 3 "$rc2"
grep -q "timed out after 2s waiting for the operator to report $ns/demo paused" "$tmp/err2" || fail "pause timeout message: $(cat "$tmp/err2")"
k annotate fg demo -n "$ns" failover.io/switchover-to- >/dev/null
k patch fg demo -n "$ns" --type=merge -p '{"spec":{"paused":false}}' >/dev/null
kill -CONT "$op"
touch "$tmp/ok"
log "PASS"
