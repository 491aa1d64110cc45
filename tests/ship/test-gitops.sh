#!/usr/bin/env bash
# A GitOps tool re-applying the application's original Service manifest (selector
# {app: demo, site: a}) while the operator steers it, against the real operator and apiserver
# (docs/gitops.md):
#  - in steady state on site-a and after a switch to site-b (site-a demoted), a watch records
#    every version of the Service the apiserver publishes while the manifest is re-applied:
#    Argo CD's default sync (kubectl's client-side apply) merges the original keys in beside
#    the operator's, so every version still selects only the active member; Flux's
#    (server-side apply forcing conflicts) replaces the atomic selector whole, so the
#    original pods are selected until the operator's correction; the manifest without
#    spec.selector (docs/gitops.md's Flux set-up) leaves the selector alone. Whatever was
#    changed is set back within 5 s, with a Warning SelectorDriftCorrected;
#  - the operator's writes are its own: the field manager failover-operator owns
#    spec.selector.
# usage: test-gitops.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-gitops.sh BIN_DIR}" && pwd)"
need_bins "$bin_dir" kubectl-failover failover-operator failover-node-agent failover-demo-app
k get node "$FO_NODE_NAME" >/dev/null || fail "node $FO_NODE_NAME missing: the harness is not running"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
source "$SRC/tests/ship/sample-pods.sh"
WAIT_POLL=0.2  # wait_for (lib.sh) polls every 0.2 s here

diagnose() {  # what a failure needs to be understood, on stderr
  {
    echo "--- pods"; k get pods -n "$ns" -o wide --show-labels
    echo "--- group"; k get fg demo -n "$ns" -o jsonpath='{.status}'; echo
    echo "--- service"; k get svc demo -n "$ns" -o jsonpath='{.spec.selector} {.metadata.annotations}'; echo
    echo "--- operator log (tail)"; tail -30 "$tmp/operator.log"
  } >&2 2>/dev/null || true
}

ns="$(unique ship-gitops)"
# The sample in a namespace of its own; its Deployments' pod templates become pods on the
# harness node below (this control plane runs no scheduler).
sample_namespace "$ns" "$tmp/sample.json"
jq 'select(.kind == "Service")' "$tmp/sample.json" >"$tmp/service.json"
expect_eq "the application's own selector" '{"app":"demo","site":"a"}' "$(jq -cS .spec.selector "$tmp/service.json")"

"$bin_dir/failover-operator" --kubeconfig "$KUBECONFIG" --namespace "$ns" --metrics-bind-address 0 \
  --health-probe-bind-address 0 --log-format text --log-level debug >"$tmp/operator.log" 2>&1 &
op=$!
on_exit "kill $op; sleep 1; kill -9 $op"
# Before the operator stops, so its finalizer runs; a group still held then loses it.
on_exit "k delete namespace $ns --ignore-not-found --timeout=60s || k patch fg demo -n $ns --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"

# As the GitOps tool created it: kubectl apply (last-applied-configuration kept).
jq 'select(.kind != "Deployment")' "$tmp/sample.json" | k apply -f - >/dev/null
sample_pods "$tmp/sample.json" | k apply -f - >/dev/null
selector() { k get svc demo -n "$ns" -o jsonpath='{.spec.selector}' | jq -cS .; }
operators_selector() {  # MEMBER
  jq -cnS --arg m "$1" '{"failover.io/eligible": "true", "failover.io/group": "demo", "failover.io/member": $m}'
}
selector_is() { [ "$(selector)" = "$(operators_selector "$1")" ]; }
wait_for 120 "the Service on site-a" selector_is site-a
healthy() { [ "$(k get fg demo -n "$ns" -o json | jq -r --arg m "$1" '.status.members[] | select(.name == $m) | .healthy')" = true ]; }
wait_for 60 "site-b healthy" healthy site-b
log "ok: the operator steers the Service: $(selector)"

owners="$(k get svc demo -n "$ns" -o json --show-managed-fields |
  jq -r '[.metadata.managedFields[] | select(.fieldsV1["f:spec"]["f:selector"] != null) | .manager] | unique | join(" ")')"
case " $owners " in *" failover-operator "*) log "ok: spec.selector's managers: $owners" ;;
  *) fail "the field manager failover-operator does not own spec.selector (managers: $owners)" ;; esac

drift_events_over() { [ "$(k get events -n "$ns" --field-selector reason=SelectorDriftCorrected -o name | grep -c .)" -gt "$1" ]; }
jq 'del(.spec.selector)' "$tmp/service.json" >"$tmp/service-no-selector.json"
# reapply HOW MEMBER: re-applies the manifest while a watch records every version of the
# Service, and checks what docs/gitops.md says of HOW:
#   client-side   kubectl apply (Argo CD's default): the original keys are merged in beside
#                 the operator's, so every version still selects MEMBER; corrected < 5 s.
#   server-side   server-side apply of the whole manifest, forcing conflicts (Flux's): the
#                 selector is an atomic map, replaced whole: until the operator's correction
#                 (< 5 s) the Service selects the original pods. Counted and reported: this is
#                 why docs/gitops.md says to leave spec.selector out of the manifest.
#   no-selector   server-side apply of the manifest without spec.selector (the set-up
#                 docs/gitops.md gives for Flux): the selector is never touched.
reapply() {
  local how="$1" member="$2" watch events_before
  events_before="$(k get events -n "$ns" --field-selector reason=SelectorDriftCorrected -o name | grep -c . || true)"
  k get svc demo -n "$ns" -w -o jsonpath='{.metadata.resourceVersion} {.spec.selector}{"\n"}' >"$tmp/watch.$how" 2>/dev/null &
  watch=$!
  sleep 1
  case "$how" in
    client-side) k apply -f "$tmp/service.json" >/dev/null ;;
    server-side) k apply --server-side --force-conflicts --field-manager=kustomize-controller -f "$tmp/service.json" >/dev/null ;;
    no-selector) k apply --server-side --force-conflicts --field-manager=kustomize-controller -f "$tmp/service-no-selector.json" >/dev/null ;;
  esac
  local t0=$SECONDS
  wait_for 5 "the operator's selector back after a $how apply" selector_is "$member"
  sleep 1
  kill "$watch" 2>/dev/null; wait "$watch" 2>/dev/null || true
  local versions beyond original
  versions="$(grep -c . "$tmp/watch.$how" || true)"
  beyond="$(awk -v m="\"failover.io/member\":\"$member\"" 'index($0, m) == 0' "$tmp/watch.$how" | grep -c . || true)"
  original="$(grep -c '"site":"a"' "$tmp/watch.$how" || true)"
  case "$how" in
    client-side)
      [ "$original" -ge 1 ] || fail "$how apply: no version carried the original keys (did the apply change anything?)"
      [ "$beyond" = 0 ] || fail "$how apply on $member: $beyond version(s) selected beyond $member: $(cat "$tmp/watch.$how")" ;;
    server-side)
      [ "$original" -ge 1 ] || fail "$how apply: no version carried the original selector (did the apply change anything?)" ;;
    no-selector)
      [ "$beyond" = 0 ] && [ "$original" = 0 ] || fail "$how apply changed the selector: $(cat "$tmp/watch.$how")"
      [ "$(uniq <(cut -d' ' -f2- "$tmp/watch.$how") | grep -c .)" = 1 ] ||
        fail "$how apply: the selector changed: $(cat "$tmp/watch.$how")"
      log "ok: $how apply on $member: the selector untouched ($versions versions seen, all the operator's)"
      return 0 ;;
  esac
  wait_for 5 "a SelectorDriftCorrected Event" drift_events_over "$events_before"
  log "ok: $how apply on $member: $versions versions, $beyond selecting beyond $member ($original with the original keys); the operator's selector back within $((SECONDS - t0 + 1)) s"
}

log "--- steady state on site-a"
reapply client-side site-a
reapply no-selector site-a
reapply server-side site-a

log "--- after a switch to site-b (site-a demoted)"
"$bin_dir/kubectl-failover" --kubeconfig "$KUBECONFIG" -n "$ns" switchover demo --to site-b --wait --timeout 60s >/dev/null ||
  fail "switchover to site-b"
selector_is site-b || fail "after the switchover the Service selects $(selector)"
reapply client-side site-b
reapply no-selector site-b
reapply server-side site-b
log "PASS"
