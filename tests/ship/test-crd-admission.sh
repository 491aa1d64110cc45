#!/usr/bin/env bash
# The CRD's admission rules (CEL x-kubernetes-validations, list-type maps) against the real
# kube-apiserver with real `kubectl apply`, client-side and --server-side:
#   - every bad group is refused (non-zero exit, nothing stored) with its message on the
#     line naming the field;
#   - valid groups still pass: the sample, the groups the other tests and the drills use,
#     the boundaries of every bound (durations at the half millisecond the operator rounds
#     away) and the largest group the schema allows (runtime CEL cost);
#   - a bad group stored under the rule-less CRD (before an upgrade) can still be written
#     by the operator (status, finalizers, other spec fields: ratcheting), which is why the
#     operator keeps its own validation.
source "$(dirname "$0")/lib.sh"
use_cluster
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"

crd=failovergroups.failover.io
crd_existed=0
k get crd "$crd" >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd $crd --timeout=60s"
ns="$(unique ship-crd-admission)"
on_exit "k delete namespace $ns --wait=false"
k create namespace "$ns" >/dev/null

k apply -k "$SRC/manifests/crd" >/dev/null
crd_established "$crd"

# A valid two-member ActivePassive group (the operator tests' GroupSpec()).
cat >"$tmp/base.json" <<JSON
{"apiVersion": "failover.io/v1alpha1", "kind": "FailoverGroup",
 "metadata": {"name": "base", "namespace": "$ns"},
 "spec": {"mode": "ActivePassive",
  "members": [{"name": "site-a", "selector": {"matchLabels": {"app": "db", "site": "a"}}},
              {"name": "site-b", "selector": {"matchLabels": {"app": "db", "site": "b"}}}],
  "services": [{"name": "db"}],
  "detection": {"unhealthyFor": "1s"},
  "switchover": {"strategy": "BreakBeforeMake"},
  "failback": {"policy": "Manual", "stabilizationWindow": "3s"},
  "antiFlap": {"maxFailovers": 5, "window": "10m"},
  "fencing": {"policy": "Label"}}}
JSON
# group NAME JQ: the base group named NAME, changed by the jq filter JQ.
group() { jq --arg name "$1" ".metadata.name = \$name | $2" "$tmp/base.json"; }

# names_field OUTPUT FIELD MESSAGE: some line of OUTPUT names FIELD as the subject of an
# error (" spec.x: ", "* spec.x: ", or server-side apply's " .spec.x: ") and says MESSAGE.
names_field() {
  local re
  re="$(printf '%s' "$2" | sed 's/[][\.*^$]/\\&/g')"
  grep -E -- "(^|[ *])\.?$re: " <<<"$1" | grep -qF -- "$3"
}

# A CRD update reaches the custom resource handler asynchronously: wait until a group
# breaking rules at every level of the schema is refused naming each of them
# (want=refused), or accepted (want=accepted), by a dry run.
rules_probe='del(.spec.members[1]) | .spec.services = [{name: "db"}, {name: "db"}]
 | .spec.members[0].selector.matchExpressions = [{key: "zone", operator: "In"}]
 | .spec.failback.stabilizationWindow = "169h" | .spec.promotion.maxLag = {} | .spec.hooks.prePromote.url = "http:///"'
rules_probe_fields=(spec.members "spec.services[1]" "spec.members[0].selector.matchExpressions[0].values"
  spec.failback.stabilizationWindow spec.promotion.maxLag spec.hooks.prePromote.url)
wait_rules() {  # wait_rules refused|accepted
  local deadline=$((SECONDS + 60)) got out f
  while :; do
    if out="$(group rules-probe "$rules_probe" | k apply --dry-run=server -f - 2>&1)"; then
      got=accepted
    else
      got=refused
      for f in "${rules_probe_fields[@]}"; do names_field "$out" "$f" "" || got="refused in part"; done
    fi
    [ "$got" = "$1" ] && return 0
    [ $SECONDS -lt $deadline ] || fail "the CRD's rules never took effect (want $1, got $got): $out"
    sleep 0.5
  done
}
wait_rules refused

# apply_flags MODE: the kubectl apply flags of client (client-side) or server (server-side).
apply_flags() { if [ "$1" = server ]; then echo "--server-side --field-manager=ship-crd-admission"; fi; }

# refused_as MODE NAME FIELD MESSAGE FILTER: the base group named NAME changed by FILTER,
# applied with MODE, is refused naming FIELD with MESSAGE, and is not stored.
n_refused=0
refused_as() {
  local mode="$1" name="$2" field="$3" message="$4" out
  group "$name" "$5" >"$tmp/group.json"
  # shellcheck disable=SC2046
  if out="$(k apply $(apply_flags "$mode") -f "$tmp/group.json" 2>&1)"; then
    fail "$name ($mode-side apply) was accepted: $out"
  fi
  names_field "$out" "$field" "$message" ||
    fail "$name ($mode-side apply): the refusal does not say '$message' about $field: $out"
  k get fg "$name" -n "$ns" >/dev/null 2>&1 && fail "$name ($mode-side apply) was stored"
  n_refused=$((n_refused + 1))
}

# bad NAME FIELD MESSAGE JQ: the base group changed by JQ is refused with both kinds of apply.
bad() {
  local name="$1" field="$2" message="$3" filter="$4"
  refused_as client "$name" "$field" "$message" "$filter"
  refused_as server "$name" "$field" "$message" "$filter"
  log "ok: refused $name: $field: $message"
}

# good NAME [JQ]: the base group changed by JQ is accepted with both kinds of apply, as
# NAME (client-side) and NAME-ssa (server-side).
n_accepted=0
good() {
  local name="$1" filter="${2:-.}" out
  out="$(group "$name" "$filter" | k apply -f - 2>&1)" || fail "valid group $name was refused: $out"
  # shellcheck disable=SC2046
  out="$(group "$name-ssa" "$filter" | k apply $(apply_flags server) -f - 2>&1)" ||
    fail "valid group $name was refused by server-side apply: $out"
  k get fg "$name" "$name-ssa" -n "$ns" >/dev/null || fail "$name was not stored"
  n_accepted=$((n_accepted + 1))
  log "ok: accepted $name"
}

log "--- valid groups pass"
good base
good sample-as-shipped "$(k create --dry-run=client -o json -f "$SRC/manifests/samples/failovergroup.yaml" |
  jq -c '.spec') as \$s | .spec = \$s"
good mode-defaulted 'del(.spec.mode)'
good active-active-one-member '.spec.mode = "ActiveActive" | del(.spec.members[1]) | .spec.services = []'
good no-services 'del(.spec.services)'
good overlapping-selectors '.spec.members[0].selector = {matchLabels: {app: "db"}}'
good same-labels-one-with-expressions \
  '.spec.members[1].selector = {matchLabels: {app: "db", site: "a"}, matchExpressions: [{key: "zone", operator: "Exists"}]}'
good match-expressions '.spec.members[1].selector = {matchExpressions: [
   {key: "example.com/site", operator: "In", values: ["b", "c"]}, {key: "tier", operator: "NotIn", values: [""]},
   {key: "app", operator: "Exists"}, {key: "legacy", operator: "DoesNotExist", values: []}]}'
good label-key-prefix-and-empty-value '.spec.members[0].selector.matchLabels += {"failover.io/extra": "", "A_b.c-D": "x_Y.z-9"}'
good priorities '.spec.members[1].priority = 10 | .spec.members[0].priority = -1000'
# bench/bench.cpp: immediate failover, the shortest window, no fencing.
good bench-group '.spec.members = [{name: "a", selector: {matchLabels: {"failover.io/group": "g", "failover.io/member": "a"}}, minReady: 1},
   {name: "b", selector: {matchLabels: {"failover.io/group": "g", "failover.io/member": "b"}}, minReady: 1}]
 | .spec.detection.unhealthyFor = "0" | .spec.antiFlap = {maxFailovers: 1000, window: "1s"} | .spec.fencing.policy = "None"'
# e2e/drill.sh with a pre-promote hook.
good drill-hook '.spec.failback.stabilizationWindow = "5s" | .spec.antiFlap.window = "1m"
 | .spec.hooks = {prePromote: {url: "http://127.0.0.1:18080/pre-promote", timeout: "2s", retries: 0, failurePolicy: "Ignore"},
                  postPromote: {url: "https://hooks.example.com:8443/post", timeout: "30s"}}'
# The resilience test's operator-side probe.
good http-probe '.spec.detection = {unhealthyFor: "0s", source: "ReadinessAndProbe",
   probe: {http: {path: "/ready", port: 8080}, period: "500ms", timeout: "400ms", failureThreshold: 2}}'
good tcp-probe-source-defaulted '.spec.detection.probe = {tcp: {port: 5432}}'
good readiness-explicit '.spec.detection.source = "Readiness"'
good initial-wait-bounds '.spec.detection.initialWait = "10m"'
good initial-wait-zero '.spec.detection.initialWait = "0"'
good healthy-for-bounds '.spec.detection.healthyFor = "168h"'
good max-lag-bytes '.spec.promotion = {maxLag: {bytes: 0}}'
good max-lag-seconds '.spec.promotion = {maxLag: {seconds: 2.5}}'
good switch-timeout-bounds '.spec.promotion = {switchTimeout: "10s"}'
good switch-timeout-hour '.spec.promotion = {switchTimeout: "1h"}'
# Every bound, at the bound. The operator rounds a duration to the millisecond before it
# compares, so half a millisecond past a bound that rounds onto it is valid too.
good bounds-exact '.spec.detection = {unhealthyFor: "168h", probe: {tcp: {port: 1}, period: "100ms", timeout: "100ms"}}
 | .spec.failback.stabilizationWindow = "0" | .spec.antiFlap.window = "1s"
 | .spec.hooks.prePromote = {url: "http://h", timeout: "1ms"}'
good bounds-rounded '.spec.detection = {unhealthyFor: "167h59m60.0004s", probe: {tcp: {port: 1}, period: "99.5ms", timeout: "100.4ms"}}
 | .spec.failback.stabilizationWindow = "168h0.4ms" | .spec.antiFlap.window = "999.5ms"
 | .spec.hooks.prePromote = {url: "http://h", timeout: "0.5ms"}'
good bounds-large '.spec.detection = {unhealthyFor: "1.5h", probe: {http: {port: 443, scheme: "HTTPS"}, period: "168h", timeout: "1m"}}
 | .spec.hooks.postPromote = {url: "http://h/", timeout: "300s"}'
# A hook attempt and a probe attempt hold a pool thread: at most 5m and 1m.
good timeout-bounds-exact '.spec.detection.probe = {tcp: {port: 1}, period: "2m", timeout: "60s"}
 | .spec.hooks.prePromote = {url: "http://h", timeout: "5m", retries: 0}'
good timeout-bounds-rounded '.spec.detection.probe = {tcp: {port: 1}, period: "2m", timeout: "60.0004s"}
 | .spec.hooks.prePromote = {url: "http://h", timeout: "4m60.0004s", retries: 0}'
# The largest group the schema allows: 16 members with 64 labels and 64 expressions each
# (the CEL rules' runtime cost stays inside the apiserver's budget).
good largest '.spec.members = [range(16) as $m | {name: "m\($m)", priority: $m,
   selector: {matchLabels: ([range(64) as $l | {key: "example.com/label-\($l)", value: "m\($m)"}] | from_entries),
              matchExpressions: [range(64) as $e | {key: "example.com/key-\($e)", operator: "In", values: ["v\($m)", "w"]}]}}]
 | .spec.services = [range(32) as $s | {name: "svc-\($s)"}]'

log "--- bad groups are refused, naming the field"
bad one-member spec.members "ActivePassive needs at least 2 members (an active one and a standby), got 1" \
  'del(.spec.members[1])'
bad one-member-mode-defaulted spec.members "ActivePassive needs at least 2 members" \
  'del(.spec.mode) | del(.spec.members[1])'
bad empty-selector "spec.members[1].selector" "must not be empty (it would select every pod in the namespace)" \
  '.spec.members[1].selector = {}'
bad empty-match-labels "spec.members[0].selector" "must not be empty" \
  '.spec.members[0].selector = {matchLabels: {}, matchExpressions: []}'
bad same-selector-twice spec.members "two members have the same selector" \
  '.spec.members[1].selector = .spec.members[0].selector'
bad label-key-invalid "spec.members[0].selector.matchLabels" "is not a valid label key" \
  '.spec.members[0].selector.matchLabels["bad key!"] = "x"'
bad label-key-bad-prefix "spec.members[1].selector.matchLabels" "is not a valid label key" \
  '.spec.members[1].selector.matchLabels["Example.COM/site"] = "b"'
bad label-value-invalid "spec.members[1].selector.matchLabels.site" "should match" \
  '.spec.members[1].selector.matchLabels.site = "site b"'
bad expr-key-invalid "spec.members[1].selector.matchExpressions[0].key" "is not a valid label key" \
  '.spec.members[1].selector = {matchExpressions: [{key: "-site", operator: "Exists"}]}'
bad in-without-values "spec.members[1].selector.matchExpressions[0].values" "must be non-empty when operator is In" \
  '.spec.members[1].selector = {matchExpressions: [{key: "site", operator: "In"}]}'
bad notin-empty-values "spec.members[1].selector.matchExpressions[1].values" "must be non-empty when operator is NotIn" \
  '.spec.members[1].selector = {matchExpressions: [{key: "app", operator: "Exists"}, {key: "site", operator: "NotIn", values: []}]}'
bad exists-with-values "spec.members[1].selector.matchExpressions[0].values" "must be empty when operator is Exists" \
  '.spec.members[1].selector = {matchExpressions: [{key: "site", operator: "Exists", values: ["b"]}]}'
bad does-not-exist-with-values "spec.members[0].selector.matchExpressions[0].values" "must be empty when operator is DoesNotExist" \
  '.spec.members[0].selector.matchExpressions = [{key: "x", operator: "DoesNotExist", values: ["b"]}]'
bad expr-value-invalid "spec.members[1].selector.matchExpressions[0].values[1]" "should match" \
  '.spec.members[1].selector = {matchExpressions: [{key: "site", operator: "In", values: ["b", "b!"]}]}'
bad probe-http-and-tcp spec.detection.probe "must set exactly one of http, tcp" \
  '.spec.detection.probe = {http: {port: 8080}, tcp: {port: 8080}}'
bad probe-neither spec.detection.probe "must set exactly one of http, tcp" \
  '.spec.detection.probe = {period: "5s"}'
bad probe-timeout-over-period spec.detection.probe.timeout "must not be longer than period (1s)" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "1s", timeout: "2s"}'
bad probe-timeout-over-period-rounded spec.detection.probe.timeout "must not be longer than period (1s)" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "1s", timeout: "1000.5ms"}'
bad probe-timeout-over-default-period spec.detection.probe.timeout "must not be longer than period (5s)" \
  '.spec.detection.probe = {tcp: {port: 8080}, timeout: "6s"}'
bad probe-period-too-short spec.detection.probe.period "must be at least 100ms" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "50ms", timeout: "10ms"}'
bad probe-period-rounds-short spec.detection.probe.period "must be at least 100ms" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "99.4ms", timeout: "10ms"}'
bad probe-period-zero spec.detection.probe.period "must be at least 100ms" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "0s", timeout: "0s"}'
bad probe-period-over-a-week spec.detection.probe.period "must be at most 168h (7 days)" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "8h161h"}'
bad probe-timeout-too-short spec.detection.probe.timeout "must be at least 10ms" \
  '.spec.detection.probe = {tcp: {port: 8080}, timeout: "9ms"}'
bad probe-timeout-over-a-minute spec.detection.probe.timeout "must be at most 1m" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "2m", timeout: "61s"}'
bad probe-timeout-rounds-over spec.detection.probe.timeout "must be at most 1m" \
  '.spec.detection.probe = {tcp: {port: 8080}, period: "2m", timeout: "60.0005s"}'
bad source-probe-without-probe spec.detection.source '"Probe" needs spec.detection.probe' \
  '.spec.detection.source = "Probe"'
bad source-both-without-probe spec.detection.source '"ReadinessAndProbe" needs spec.detection.probe' \
  '.spec.detection.source = "ReadinessAndProbe"'
bad healthy-for-over-a-week spec.detection.healthyFor "must be at most 168h (7 days)" \
  '.spec.detection.healthyFor = "169h"'
bad initial-wait-over-ten-minutes spec.detection.initialWait "must be at most 10m" \
  '.spec.detection.initialWait = "10m1ms"'
bad unhealthy-for-over-a-week spec.detection.unhealthyFor "must be at most 168h (7 days)" \
  '.spec.detection.unhealthyFor = "169h"'
bad unhealthy-for-rounds-over spec.detection.unhealthyFor "must be at most 168h (7 days)" \
  '.spec.detection.unhealthyFor = "168h0.5ms"'
# Past what a Go duration holds: CEL's duration() fails, and the rule's message is kept.
bad unhealthy-for-overflow spec.detection.unhealthyFor "must be at most 168h (7 days)" \
  '.spec.detection.unhealthyFor = "99999999999h"'
bad stabilization-over-a-week spec.failback.stabilizationWindow "must be at most 168h (7 days)" \
  '.spec.failback.stabilizationWindow = "10081m"'
bad anti-flap-window-short spec.antiFlap.window "must be at least 1s" \
  '.spec.antiFlap.window = "500ms"'
bad anti-flap-window-long spec.antiFlap.window "must be at most 168h (7 days)" \
  '.spec.antiFlap.window = "192h"'
bad max-lag-empty spec.promotion.maxLag "must set seconds, bytes or both" \
  '.spec.promotion = {maxLag: {}}'
bad switch-timeout-short spec.promotion.switchTimeout "must be at least 10s" \
  '.spec.promotion = {switchTimeout: "9s"}'
bad switch-timeout-long spec.promotion.switchTimeout "must be at most 1h" \
  '.spec.promotion = {switchTimeout: "61m"}'
bad hook-url-no-host spec.hooks.prePromote.url "names no host" \
  '.spec.hooks = {prePromote: {url: "http:///pre"}}'
bad hook-url-port-no-host spec.hooks.postPromote.url "names no host" \
  '.spec.hooks = {postPromote: {url: "https://:8443/post"}}'
bad hook-timeout-zero spec.hooks.prePromote.timeout "must be at least 1ms" \
  '.spec.hooks = {prePromote: {url: "http://h.example/", timeout: "0s"}}'
bad hook-timeout-over-five-minutes spec.hooks.postPromote.timeout "must be at most 5m" \
  '.spec.hooks = {postPromote: {url: "http://h.example/", timeout: "6m"}}'
bad hook-timeout-rounds-to-zero spec.hooks.postPromote.timeout "must be at least 1ms" \
  '.spec.hooks = {postPromote: {url: "http://h.example/", timeout: "0.4ms"}}'
bad hook-timeout-rounds-over spec.hooks.prePromote.timeout "must be at most 5m" \
  '.spec.hooks = {prePromote: {url: "http://h.example/", timeout: "5m0.5ms"}}'
# A malformed duration gets the pattern's error (the CEL rules skip it).
bad duration-words spec.detection.unhealthyFor "should match" \
  '.spec.detection.unhealthyFor = "5 seconds"'

log "--- list-type map: duplicate keys are refused"
# Client-side apply (a create) is refused by the list-map validation, on the second entry;
# server-side apply already when building the typed object, on the list.
dup_members='.spec.members[1].name = "site-a"'
refused_as client dup-members "spec.members[1]" 'Duplicate value: {"name":"site-a"}' "$dup_members"
refused_as server dup-members spec.members 'duplicate entries for key [name="site-a"]' "$dup_members"
log "ok: refused dup-members: spec.members[1] (client-side), spec.members (server-side)"
dup_services='.spec.services = [{name: "db"}, {name: "web"}, {name: "db"}]'
refused_as client dup-services "spec.services[2]" 'Duplicate value: {"name":"db"}' "$dup_services"
refused_as server dup-services spec.services 'duplicate entries for key [name="db"]' "$dup_services"
log "ok: refused dup-services: spec.services[2] (client-side), spec.services (server-side)"
# Server-side apply merges members by name: a second manager applying one member adds it
# (to base-ssa, which server-side apply created).
group base-ssa '{apiVersion, kind, metadata: {name: .metadata.name, namespace: .metadata.namespace},
  spec: {members: [{name: "site-c", selector: {matchLabels: {app: "db", site: "c"}}}]}}' |
  k apply --server-side --field-manager=second-manager -f - >/dev/null || fail "adding a member by server-side apply"
expect_eq "members after a second manager applied site-c" "site-a site-b site-c" \
  "$(k get fg base-ssa -n "$ns" -o jsonpath='{.spec.members[*].name}')"
# status.conditions: one entry per type (through the status subresource, as the operator writes).
out="$(k patch fg base -n "$ns" --subresource=status --type=merge -p '{"status": {"conditions": [
  {"type": "Ready", "status": "True"}, {"type": "Degraded", "status": "False"}, {"type": "Ready", "status": "False"}]}}' 2>&1)" &&
  fail "two Ready conditions were accepted: $out"
names_field "$out" "status.conditions[2]" 'Duplicate value: {"type":"Ready"}' ||
  fail "duplicate condition types: the refusal does not name status.conditions[2]: $out"
k patch fg base -n "$ns" --subresource=status --type=merge -p '{"status": {"phase": "Pending", "conditions": [
  {"type": "Ready", "status": "False", "reason": "NoActiveMember"}, {"type": "InvalidSpec", "status": "False", "reason": "Valid"}]}}' \
  >/dev/null || fail "a valid status was refused"
log "ok: status.conditions is a map keyed by type"

log "--- a bad group stored before the upgrade is still writable (the operator marks it Invalid)"
# The CRD as it was before the rules: no x-kubernetes-validations, no list-type maps.
k create --dry-run=client -o json -f "$SRC/crds/$crd.yaml" |
  jq 'walk(if type == "object" then del(.["x-kubernetes-validations"], .["x-kubernetes-list-type"], .["x-kubernetes-list-map-keys"]) else . end)' \
  >"$tmp/crd-without-rules.json"
grep -q x-kubernetes "$tmp/crd-without-rules.json" && fail "the rule-less CRD still has rules"
on_exit "k apply -k '$SRC/manifests/crd'"
k apply -f "$tmp/crd-without-rules.json" >/dev/null
wait_rules accepted
group stored-before '.spec.members[1].name = "site-a" | .spec.detection.source = "Probe"' | k apply -f - >/dev/null ||
  fail "the rule-less CRD refused a group the operator must catch"
k apply -k "$SRC/manifests/crd" >/dev/null
wait_rules refused
on_exit "k patch fg stored-before -n $ns --type=merge -p '{\"metadata\": {\"finalizers\": null}}'"
k patch fg stored-before -n "$ns" --subresource=status --type=merge -p '{"status": {"phase": "Invalid", "conditions": [
  {"type": "InvalidSpec", "status": "True", "reason": "InvalidSpec", "message": "spec.members[1].name: duplicate member name"}]}}' \
  >/dev/null 2>&1 || fail "the operator could not mark a stored bad group Invalid"
k patch fg stored-before -n "$ns" --type=merge -p '{"metadata": {"finalizers": ["failover.io/finalizer"]}}' >/dev/null 2>&1 ||
  fail "adding a finalizer to a stored bad group"
k patch fg stored-before -n "$ns" --type=merge -p '{"metadata": {"finalizers": null}}' >/dev/null 2>&1 ||
  fail "removing the finalizer of a stored bad group"
k patch fg stored-before -n "$ns" --type=merge -p '{"spec": {"paused": true}}' >/dev/null 2>&1 ||
  fail "changing a field with no error in a stored bad group"
expect_eq "stored bad group" "Invalid true site-a site-a" \
  "$(k get fg stored-before -n "$ns" -o jsonpath='{.status.phase} {.spec.paused} {.spec.members[*].name}')"
# A change to a field in error is checked again.
out="$(k patch fg stored-before -n "$ns" --type=merge -p '{"spec": {"detection": {"source": "ReadinessAndProbe"}}}' 2>&1)" &&
  fail "a stored bad group was changed to another bad value: $out"
names_field "$out" spec.detection.source '"ReadinessAndProbe" needs spec.detection.probe' ||
  fail "changing source: the refusal does not name spec.detection.source: $out"
log "ok: the stored group takes status, finalizer and spec writes; a new error in it is refused"

log "PASS: $n_accepted valid groups accepted and $n_refused bad ones refused (each with client- and server-side apply)"
