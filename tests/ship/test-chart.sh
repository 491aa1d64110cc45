#!/usr/bin/env bash
# The Helm chart, rendered by tools/helm-render with default values and with
# testdata/values-nondefault.yaml (plus --set), is accepted by the real apiserver
# (server-side dry-run) and applied for real; the rendered objects carry the values.
source "$(dirname "$0")/lib.sh"
use_cluster
chart="$SRC/charts/failover-operator"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"

crd_existed=0
k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
mon_existed=0
k get crd prometheusrules.monitoring.coreos.com >/dev/null 2>&1 && mon_existed=1
on_exit "[ $mon_existed = 1 ] || k delete -f '$SRC/tests/ship/testdata/monitoring-crds.yaml' --wait=false"

# apply_both FILE NAMESPACE: dry-run on the server, check nothing was created, then apply.
apply_both() {
  local out
  out="$(k apply -f "$1" --dry-run=server 2>&1)" || fail "server dry-run of $1: $out"
  echo "$out"
  k apply -f "$1"
}
jp() { k get $1 -o "jsonpath=$2"; }
c='{.spec.template.spec.containers[0]'

log "--- default values"
rel="$(unique shipchart)"; ns="$(unique ship-chart)"
on_exit "k delete namespace $ns --wait=false"
helm_render template "$rel" "$chart" -n "$ns" --include-crds >"$tmp/default.yaml"
k create namespace "$ns" >/dev/null
# The CRD first (as helm install does with crds/), then the templates.
awk '/^# Source: failover-operator\/crds\//{p=1} /^# Source: failover-operator\/templates\//{p=0} p' "$tmp/default.yaml" |
  k apply -f - >/dev/null
k wait --for condition=established --timeout=60s crd/failovergroups.failover.io >/dev/null
apply_both "$tmp/default.yaml"
on_exit "k delete clusterrole,clusterrolebinding $rel-failover-operator --ignore-not-found"
d="deployment/$rel-failover-operator -n $ns"
expect_eq default-replicas 2 "$(jp "$d" '{.spec.replicas}')"
expect_eq default-image failover-operator:0.1.0 "$(jp "$d" "$c.image}")"
expect_eq default-args "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8080 --health-probe-bind-address=:8081 --log-level=info --log-format=json" "$(jp "$d" "$c.args[*]}")"
expect_eq default-readOnlyRootFilesystem true "$(jp "$d" "$c.securityContext.readOnlyRootFilesystem}")"
expect_eq default-clusterrole-rules 6 "$(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}x{end}' | wc -c)"
expect_eq default-lease-role "create; get update on $rel-failover-operator-leader" "$(jp "role/$rel-failover-operator-leader-election -n $ns" '{.rules[0].verbs[*]}; {.rules[1].verbs[*]} on {.rules[1].resourceNames[*]}')"
grep -qE '^kind: (ServiceMonitor|PrometheusRule)' "$tmp/default.yaml" && fail "monitoring objects rendered by default"
# The chart's rules are the kustomize ClusterRole's rules.
diff <(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') \
     <(k apply -f "$SRC/manifests/rbac/role.yaml" --dry-run=client -o jsonpath='{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') ||
  fail "chart ClusterRole rules differ from manifests/rbac/role.yaml"
log "ok: chart rules = manifests/rbac/role.yaml rules"

log "--- non-default values (testdata/values-nondefault.yaml)"
k apply -f "$SRC/tests/ship/testdata/monitoring-crds.yaml" >/dev/null
k wait --for condition=established --timeout=60s crd/prometheusrules.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com >/dev/null
rel2="$(unique shipchart2)"; ns2="$(unique ship-chart2)"; watched="$(unique ship-watched)"
on_exit "k delete namespace $ns2 $watched --wait=false"
helm_render template "$rel2" "$chart" -n "$ns2" -f "$SRC/tests/ship/testdata/values-nondefault.yaml" \
  --set "watchNamespace=$watched" --set-string "podLabels.build=0042" >"$tmp/custom.yaml"
k create namespace "$ns2" >/dev/null
k create namespace "$watched" >/dev/null
apply_both "$tmp/custom.yaml"
d="deployment/fo-custom -n $ns2"
expect_eq custom-replicas 1 "$(jp "$d" '{.spec.replicas}')"
expect_eq custom-image registry.example.com/team/failover-operator:1.2.3 "$(jp "$d" "$c.image}")"
expect_eq custom-args "--metrics-bind-address=:9090 --health-probe-bind-address=:9091 --log-level=debug --log-format=text --namespace=$watched --log-level=debug" "$(jp "$d" "$c.args[*]}")"
expect_eq custom-serviceaccount fo-custom-sa "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq custom-pod-label-set-string 0042 "$(jp "$d" '{.spec.template.metadata.labels.build}')"
expect_eq custom-limits 128Mi "$(jp "$d" "$c.resources.limits.memory}")"
expect_eq custom-toleration operators "$(jp "$d" '{.spec.template.spec.tolerations[0].value}')"
expect_eq custom-pull-secret regcred "$(jp "$d" '{.spec.template.spec.imagePullSecrets[0].name}')"
expect_eq custom-metrics-service NodePort "$(jp "service/fo-custom-metrics -n $ns2" '{.spec.type}')"
expect_eq custom-role-namespace "$watched" "$(jp "role/fo-custom -n $watched" '{.metadata.namespace}')"
k get role fo-custom-leader-election -n "$ns2" >/dev/null 2>&1 && fail "leader-election Role rendered with leaderElection.enabled=false"
grep -q '^kind: ClusterRole' "$tmp/custom.yaml" && fail "ClusterRole rendered with watchNamespace set"
expect_eq custom-servicemonitor-release prometheus "$(jp "servicemonitor/fo-custom -n $ns2" '{.metadata.labels.release}')"
want_alerts="$(grep -c '^  - alert:' "$SRC/manifests/monitoring/alerts.rules.yaml")"
expect_eq custom-prometheusrule-alerts "$want_alerts" "$(jp "prometheusrule/fo-custom -n $ns2" '{range .spec.groups[*].rules[*]}{.alert}{"\n"}{end}' | grep -c .)"
jp "configmap/fo-custom-dashboard -n $ns2" '{.data.failover-operator\.json}' | jq -e '.panels | length > 0' >/dev/null ||
  fail "dashboard ConfigMap does not hold the dashboard JSON"
log "ok: dashboard ConfigMap holds the dashboard"

log "--- values the chart must refuse"
if helm_render template x "$chart" --set serviceAccount.create=false >/dev/null 2>"$tmp/err"; then
  fail "serviceAccount.create=false without a name rendered"
fi
grep -q 'serviceAccount.name is required' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
if helm_render template x "$chart" --set serviceMonitor.enabled=true,metricsService.enabled=false >/dev/null 2>"$tmp/err"; then
  fail "serviceMonitor without metricsService rendered"
fi
log "ok: invalid values are refused with a message"
log "PASS"
