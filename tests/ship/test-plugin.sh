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

log "--- status -o json|yaml: the documented summary (docs/plugin.md)"
# A second YAML reader (PyYAML, YAML 1.1: it reads yes/on/no and times as such) must give
# back exactly the JSON: no string turns into a bool, a number or a time.
yaml_to_json() { python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'; }
plugin status -n "$ns" -o json >"$tmp/status.json"
jq -e --arg ns "$ns" '.kind == "FailoverGroupStatusList" and (.items | length) == 1 and (.items[0] |
  .namespace == $ns and .name == "orders" and .mode == "ActivePassive" and .phase == "FailedOver" and
  .paused == false and .activeMember == "site-b" and .activeMembers == ["site-b"] and .healthyMembers == 1 and
  .totalMembers == 2 and (.members | map(.name)) == ["site-a", "site-b"] and .members[1].healthy == true and
  .lastTransition.from == "site-a" and .lastTransition.to == "site-b" and .lastTransition.reason == "PrimaryUnhealthy")' \
  "$tmp/status.json" >/dev/null || fail "status -o json: $(cat "$tmp/status.json")"
plugin status -n "$ns" -ojson | cmp -s - "$tmp/status.json" || fail "-ojson differs from -o json"
plugin status -n "$ns" -o yaml | tee "$tmp/status.yaml" | yaml_to_json | jq -S . >"$tmp/status.yaml.json"
jq -S . "$tmp/status.json" | diff - "$tmp/status.yaml.json" || fail "status -o yaml does not read back as -o json"
grep -q '^- name: orders$\|^  name: orders$' "$tmp/status.yaml" || fail "status -o yaml: $(cat "$tmp/status.yaml")"
# A group the operator has not seen yet: the same keys, null where the status says nothing.
plugin status billing -n "$ns2" -o json >"$tmp/billing.json"
jq -e '.items[0] | .phase == null and .healthyMembers == null and .activeMember == null and .lastTransition == null
  and (keys | length) > 10' "$tmp/billing.json" >/dev/null || fail "status GROUP -o json: $(cat "$tmp/billing.json")"
expect_eq "same keys with and without status" "$(jq -c '.items[0] | keys' "$tmp/status.json")" "$(jq -c '.items[0] | keys' "$tmp/billing.json")"
expect_eq "status -A -o json holds both groups" "orders billing" \
  "$(plugin status -A -o json | jq -r --arg a "$ns" --arg b "$ns2" '[.items[] | select(.namespace == $a or .namespace == $b) | .name] | join(" ")')"
empty_ns="$(unique ship-plugin-empty)"
on_exit "k delete namespace $empty_ns --wait=false"
k create namespace "$empty_ns" >/dev/null
expect_eq "status -o json of no group" '{"items":[],"kind":"FailoverGroupStatusList"}' "$(plugin status -n "$empty_ns" -o json | jq -c .)"
expect_eq "status -o yaml of no group" $'items: []\nkind: FailoverGroupStatusList' "$(plugin status -n "$empty_ns" -o yaml)"
gen="$(k get fg orders -n "$ns" -o jsonpath='{.metadata.generation}')"
set +e
plugin status -n "$ns" -o wide 2>"$tmp/err"; expect_eq "-o wide exit code" 2 "$?"
plugin pause orders -n "$ns" -o json 2>"$tmp/err2"; expect_eq "-o on pause exit code" 2 "$?"
set -e
grep -q -- '-o: "wide" is not an output format: json or yaml' "$tmp/err" || fail "-o wide message: $(cat "$tmp/err")"
grep -q -- '-o only applies to status and history' "$tmp/err2" || fail "-o on pause message: $(cat "$tmp/err2")"
expect_eq "pause -o json wrote nothing (generation)" "$gen" "$(k get fg orders -n "$ns" -o jsonpath='{.metadata.generation}')"

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
# PHASES is "-": these transitions carry no phase times (they predate per-phase telemetry).
sed -n 2p "$tmp/history" | grep -qE "^$t1 +$t1 +site-a +site-b +PrimaryUnhealthy +- +3m$" || fail "newest history row first"
plugin history billing -n "$ns2" | grep -q 'no transitions yet' || fail "empty history message"
plugin history orders -n "$ns" -o json >"$tmp/history.json"
jq -e --arg ns "$ns" --arg t1 "$t1" --arg t0 "$t0" '.kind == "FailoverGroupHistory" and .namespace == $ns and
  .name == "orders" and (.transitions | length) == 2 and .transitions[0] == {from: "site-a", to: "site-b",
  reason: "PrimaryUnhealthy", detectedAt: $t1, completedAt: $t1} and .transitions[1].from == null and
  .transitions[1].detectedAt == $t0' "$tmp/history.json" >/dev/null || fail "history -o json: $(cat "$tmp/history.json")"
plugin history orders -n "$ns" -o yaml | yaml_to_json | jq -S . >"$tmp/history.yaml.json"
jq -S . "$tmp/history.json" | diff - "$tmp/history.yaml.json" || fail "history -o yaml does not read back as -o json"
expect_eq "history -o json of a group without transitions" '[]' "$(plugin history billing -n "$ns2" -o json | jq -c .transitions)"

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

log "--- shell completion"
# kubectl (1.26+) completes `kubectl failover ...` through kubectl_complete-failover on PATH.
ln -s "$bin_dir/kubectl_complete-failover" "$tmp/path/kubectl_complete-failover"
kcomplete() { PATH="$tmp/path:$PATH" "$FO_KUBECTL" __complete failover "$@" 2>/dev/null; }
kcomplete sw | grep -qx $'switchover\tmake a member active' || fail "kubectl completes no command: $(kcomplete sw)"
expect_eq "kubectl completes groups" "orders" "$(kcomplete status -n "$ns" "" | grep -v '^:')"
expect_eq "kubectl completes members" "site-a site-b" "$(kcomplete switchover orders -n "$ns" --to "" | grep -v '^:' | xargs)"
kcomplete status -n "" | grep -qx "$ns2" || fail "kubectl completes no namespace"
expect_eq "kubectl completes -o" "json yaml" "$(kcomplete history orders -o "" | grep -v '^:' | xargs)"
expect_eq "directive: no file completion" ":4" "$(kcomplete switchover orders -n "$ns" --to "" | tail -1)"
# The bash script for the kubectl-failover executable, in a real bash.
bash_complete() {  # bash_complete WORD... (the last one being completed)
  bash -c 'source <("$1" completion bash); shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kubectl_failover
    printf "%s\n" "${COMPREPLY[@]}"' _ "$bin_dir/kubectl-failover" "$bin_dir/kubectl-failover" "$@"
}
expect_eq "bash completes commands" "pause" "$(bash_complete pa)"
expect_eq "bash completes groups" "billing" "$(bash_complete failback -n "$ns2" "")"
expect_eq "bash completes flags" "--wait" "$(bash_complete pause billing --wa)"
plugin completion zsh | grep -q '^#compdef kubectl-failover' || fail "completion zsh"
if command -v zsh >/dev/null; then plugin completion zsh | zsh -n || fail "completion zsh: not valid zsh"; fi
set +e
plugin completion fish 2>"$tmp/err"; expect_eq "completion fish exit code" 2 "$?"
set -e
grep -q 'completion needs one SHELL: bash or zsh' "$tmp/err" || fail "completion fish message: $(cat "$tmp/err")"

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
