#!/usr/bin/env bash
# kubectl-failover against the local cluster: every command, as a kubectl plugin and
# standalone, with --kubeconfig/--context/-n/-A, and its errors.
# usage: test-plugin.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-plugin.sh BIN_DIR}" && pwd)"
[ -x "$bin_dir/kubectl-failover" ] || fail "$bin_dir/kubectl-failover is not built"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
plugin() { "$bin_dir/kubectl-failover" --kubeconfig "$KUBECONFIG" "$@"; }

crd_existed=0
k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
k apply -k "$SRC/manifests/crd" >/dev/null
crd_established failovergroups.failover.io
ns="$(unique ship-plugin)"; ns2="$(unique ship-plugin2)"
on_exit "k delete namespace $ns $ns2 --wait=false"
k create namespace "$ns" >/dev/null
k create namespace "$ns2" >/dev/null

group() {  # group NAME NS [priority of site-b]
  cat <<YAML | k apply -f - >/dev/null
apiVersion: failover.io/v1alpha1
kind: FailoverGroup
metadata: {name: $1, namespace: $2}
spec:
  members:
  - name: site-a
    selector: {matchLabels: {site: a}}
  - name: site-b
    selector: {matchLabels: {site: b}}
$( [ -n "${3:-}" ] && echo "    priority: $3" )
  services: [{name: $1}]
YAML
}
group orders "$ns"
group billing "$ns2" 10

# Status as the operator would write it, through the status subresource.
status_patch() {  # status_patch NS NAME JSON
  curl -sf --cacert "$FO_CA_CERT" --cert "$FO_ADMIN_CERT" --key "$FO_ADMIN_KEY" -X PATCH \
    -H 'Content-Type: application/merge-patch+json' \
    "$FO_APISERVER_URL/apis/failover.io/v1alpha1/namespaces/$1/failovergroups/$2/status" -d "$3" >/dev/null ||
    fail "writing status of $1/$2"
}
t1="$(date -u -d '-3 min' +%Y-%m-%dT%H:%M:%SZ)"; t0="$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)"
status_patch "$ns" orders "{\"status\": {\"phase\": \"FailedOver\", \"activeMember\": \"site-b\",
  \"members\": [{\"name\": \"site-a\", \"healthy\": false}, {\"name\": \"site-b\", \"healthy\": true}],
  \"lastTransition\": {\"from\": \"site-a\", \"to\": \"site-b\", \"reason\": \"PrimaryUnhealthy\", \"detectedAt\": \"$t1\", \"completedAt\": \"$t1\"},
  \"history\": [{\"to\": \"site-a\", \"reason\": \"Initial\", \"detectedAt\": \"$t0\", \"completedAt\": \"$t0\"},
                {\"from\": \"site-a\", \"to\": \"site-b\", \"reason\": \"PrimaryUnhealthy\", \"detectedAt\": \"$t1\", \"completedAt\": \"$t1\"}]}}"

log "--- help"
plugin --help >"$tmp/help"
for w in status switchover failback pause resume history --namespace --all-namespaces --kubeconfig --context; do
  grep -q -- "$w" "$tmp/help" || fail "--help does not mention $w"
done
set +e
plugin >/dev/null 2>&1; expect_eq "no command exit code" 2 "$?"
plugin frobnicate 2>"$tmp/err"; expect_eq "unknown command exit code" 2 "$?"
set -e
grep -q 'unknown command "frobnicate"' "$tmp/err" || fail "unknown command message: $(cat "$tmp/err")"

log "--- status"
plugin status -n "$ns" | tee "$tmp/status"
grep -qE '^NAME +MODE +ACTIVE +HEALTHY +PHASE +LAST TRANSITION$' "$tmp/status" || fail "status header"
grep -qE '^orders +ActivePassive +site-b +1/2 +FailedOver +site-a -> site-b \(PrimaryUnhealthy\), 3m ago$' "$tmp/status" ||
  fail "status row for orders"
plugin status -A | tee "$tmp/all"
grep -qE "^$ns +orders " "$tmp/all" && grep -qE "^$ns2 +billing +ActivePassive +<none> +\?/2 " "$tmp/all" ||
  fail "status -A does not show both namespaces"
plugin status orders -n "$ns" | grep -q '^orders ' || fail "status GROUP"

log "--- kubectl plugin discovery, --context and the context's namespace"
mkdir -p "$tmp/path"; ln -s "$bin_dir/kubectl-failover" "$tmp/path/kubectl-failover"
PATH="$tmp/path:$PATH" "$FO_KUBECTL" failover status -n "$ns" | grep -q '^orders ' || fail "kubectl failover status"
cp "$KUBECONFIG" "$tmp/kubeconfig"
ctx="$(k config current-context)"
KUBECONFIG="$tmp/kubeconfig" "$FO_KUBECTL" config set-context ship-ctx --cluster="$(k config view -o jsonpath="{.contexts[?(@.name==\"$ctx\")].context.cluster}")" \
  --user="$(k config view -o jsonpath="{.contexts[?(@.name==\"$ctx\")].context.user}")" --namespace="$ns2" >/dev/null
"$bin_dir/kubectl-failover" --kubeconfig "$tmp/kubeconfig" --context ship-ctx status | grep -q '^billing ' ||
  fail "--context with its namespace"
KUBECONFIG="$tmp/kubeconfig" "$bin_dir/kubectl-failover" --context=ship-ctx status billing >/dev/null ||
  fail "KUBECONFIG from the environment"

log "--- history"
plugin history orders -n "$ns" | tee "$tmp/history"
expect_eq "history rows" 3 "$(wc -l <"$tmp/history")"
sed -n 2p "$tmp/history" | grep -qE "^$t1 +$t1 +site-a +site-b +PrimaryUnhealthy +3m$" || fail "newest history row first"
plugin history billing -n "$ns2" | grep -q 'no transitions yet' || fail "empty history message"

log "--- switchover"
plugin switchover orders --to site-a -n "$ns"
expect_eq annotation site-a "$(k get fg orders -n "$ns" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"
set +e
plugin switchover orders --to site-z -n "$ns" 2>"$tmp/err"; expect_eq "unknown member exit code" 1 "$?"
plugin switchover orders -n "$ns" 2>/dev/null; expect_eq "missing --to exit code" 2 "$?"
plugin switchover missing --to site-a -n "$ns" 2>"$tmp/err2"; expect_eq "missing group exit code" 1 "$?"
set -e
grep -q 'has no member "site-z"; its members are: site-a, site-b' "$tmp/err" || fail "unknown member message: $(cat "$tmp/err")"
grep -q "failovergroup \"missing\" not found in namespace \"$ns\"" "$tmp/err2" || fail "not-found message: $(cat "$tmp/err2")"
plugin switchover orders --to site-b -n "$ns" | grep -q 'already the active member' || fail "switchover to the active member"

log "--- failback (most preferred: priority, then order)"
k annotate fg orders -n "$ns" failover.io/switchover-to- >/dev/null
plugin failback orders -n "$ns"
expect_eq "failback target (order)" site-a "$(k get fg orders -n "$ns" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"
plugin failback billing -n "$ns2"
expect_eq "failback target (priority)" site-b "$(k get fg billing -n "$ns2" -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')"

log "--- pause / resume"
plugin pause orders -n "$ns"
expect_eq paused true "$(k get fg orders -n "$ns" -o jsonpath='{.spec.paused}')"
plugin resume orders -n "$ns"
expect_eq resumed false "$(k get fg orders -n "$ns" -o jsonpath='{.spec.paused}')"
expect_eq "spec otherwise untouched" "site-a site-b" "$(k get fg orders -n "$ns" -o jsonpath='{.spec.members[*].name}')"

log "--- errors a user can act on"
k -n "$ns" create serviceaccount nobody >/dev/null
bash "$SRC/tests/ship/sa-kubeconfig.sh" "$ns" nobody "$tmp/nobody.kubeconfig"
set +e
"$bin_dir/kubectl-failover" --kubeconfig "$tmp/nobody.kubeconfig" pause orders 2>"$tmp/err"; rc=$?
"$bin_dir/kubectl-failover" --kubeconfig "$tmp/does-not-exist" status 2>"$tmp/err3"; rc3=$?
set -e
expect_eq "forbidden exit code" 1 "$rc"
grep -qi 'forbidden' "$tmp/err" || fail "forbidden message: $(cat "$tmp/err")"
expect_eq "missing kubeconfig exit code" 1 "$rc3"
grep -q 'does-not-exist' "$tmp/err3" || fail "missing kubeconfig message: $(cat "$tmp/err3")"
log "PASS"
