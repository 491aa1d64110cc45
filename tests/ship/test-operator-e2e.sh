#!/usr/bin/env bash
# The operator as users install it, on the local cluster with the harness (real
# processes, real probes, real EndpointSlices, traffic through the NodePort proxy):
#  - it runs with the token of failover-system/failover-operator bound to exactly
#    manifests/rbac (never admin) and leader election on;
#  - the shipped sample (manifests/samples, pods pinned to the local node) fails over
#    when the primary fails its readiness; traffic follows; no request is Forbidden;
#  - /metrics is secure by default: HTTPS, and only a bearer token whose user the
#    apiserver lets get /metrics (a ServiceAccount bound to the shipped metrics-reader
#    ClusterRole) is served; another ServiceAccount's token gets 403, none 401, plain HTTP
#    no answer; the operator reviews tokens with its shipped RBAC and logs no token;
#  - a real Prometheus (upstream's, scripts/build-tools.sh prometheus: Debian's has no
#    Kubernetes service discovery) finds it as it would under the Prometheus Operator: the
#    metrics Service as shipped (manifests/manager), an EndpointSlice for it pointing at the
#    operator's address (a global address of this host: EndpointSlices refuse loopback
#    ones), and the scrape config the Prometheus Operator generates for the shipped
#    ServiceMonitor (servicemonitor-scrape-config.py: kubernetes_sd_configs role
#    endpointslice against the apiserver, as the prometheus ServiceAccount with a Role to
#    discover in failover-system only; the keep and target-label relabelling, jobLabel,
#    honorLabels). The target carries the __meta_kubernetes_* labels of that EndpointSlice
#    and Service and the target labels namespace/service/endpoint/job; it is scraped
#    over HTTPS with that ServiceAccount's token during the failover: `promtool check
#    metrics` passes on /metrics, the group series keep namespace="failover-demo" (no
#    exported_* label on any series), the operator's own series get namespace
#    failover-system, FailoverGroupFailoverOccurred fires from alerts.rules.yaml naming
#    failover-demo, the dashboard's namespace variable lists failover-demo and every
#    dashboard query for namespace failover-demo returns data;
#  - the negative control, a second Prometheus with the same config but honor_labels: false
#    (a Prometheus Operator with overrideHonorLabels): the same series read
#    namespace="failover-system", exported_namespace="failover-demo", the alert names
#    failover-system, the namespace variable lists failover-system, and every group panel
#    of the dashboard is empty for failover-demo. So the test can tell honorLabels apart.
# usage: test-operator-e2e.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-operator-e2e.sh BIN_DIR}" && pwd)"
need_bins "$bin_dir" failover-operator failover-node-agent failover-demo-app
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; make deps)"
PROMETHEUS="$(bash "$SRC/scripts/build-tools.sh" prometheus)/prometheus"
[ -x "$PROMETHEUS" ] || fail "scripts/build-tools.sh prometheus did not build $PROMETHEUS (make tools)"
k get node "$FO_NODE_NAME" >/dev/null || fail "node $FO_NODE_NAME missing: the harness is not running"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
source "$SRC/tests/ship/sample-pods.sh"

taken_ports=" "
free_port() {  # sets PORT to a port nothing listens on and not handed out before (no $(...))
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    [[ "$taken_ports" == *" $p "* ]] && continue
    ss -ltn "( sport = :$p )" | grep -q ":$p" || { PORT="$p"; taken_ports+="$p "; return; }
  done
}

crd_existed=0
k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
on_exit "k delete namespace failover-system failover-demo --ignore-not-found --timeout=90s"
on_exit "k delete -k '$SRC/manifests/rbac' --ignore-not-found"
on_exit "k delete clusterrolebinding failover-operator-e2e-metrics-reader --ignore-not-found"
k apply -k "$SRC/manifests/crd" >/dev/null
crd_established failovergroups.failover.io
k apply -f "$SRC/manifests/manager/namespace.yaml" >/dev/null
k apply -k "$SRC/manifests/rbac" >/dev/null
bash "$SRC/tests/ship/sa-kubeconfig.sh" failover-system failover-operator "$tmp/operator.kubeconfig"
grep -q 'client-certificate' "$tmp/operator.kubeconfig" && fail "operator kubeconfig carries a client certificate"
expect_eq "operator identity can read secrets" no "$(k auth can-i get secrets -A --as system:serviceaccount:failover-system:failover-operator || true)"

# The scraper: a ServiceAccount bound to the shipped metrics-reader ClusterRole, as a
# platform team binds its Prometheus's; and one that is bound to nothing.
k create serviceaccount prometheus -n failover-system >/dev/null
k create serviceaccount stranger -n failover-system >/dev/null
k create clusterrolebinding failover-operator-e2e-metrics-reader --clusterrole=failover-operator-metrics-reader \
  --serviceaccount=failover-system:prometheus >/dev/null
k create token prometheus -n failover-system --duration=1h >"$tmp/prometheus.token"
stranger_token="$(k create token stranger -n failover-system --duration=1h)"

# The metrics address: Prometheus finds the operator through an EndpointSlice, which
# refuses loopback and link-local addresses, so the operator serves /metrics on a global
# IPv4 address of this host (as a pod serves on its pod IP; FO_E2E_METRICS_IP picks one).
maddr="${FO_E2E_METRICS_IP:-$(ip -4 -o addr show scope global up | awk '{sub(/\/.*/, "", $4); print $4; exit}')}"
[ -n "$maddr" ] || fail "no global IPv4 address on this host for the operator's metrics (an EndpointSlice refuses loopback ones); set FO_E2E_METRICS_IP"
free_port; mport="$PORT"; free_port; hport="$PORT"; free_port; pport="$PORT"; free_port; cport="$PORT"
murl="https://$maddr:$mport/metrics"
log "operator: metrics $murl (secure by default), health 127.0.0.1:$hport, as failover-system/failover-operator"
POD_NAMESPACE=failover-system POD_NAME=ship-operator-0 POD_IP="$maddr" "$bin_dir/failover-operator" \
  --kubeconfig "$tmp/operator.kubeconfig" --leader-elect --leader-election-id=failover-operator-leader \
  --metrics-bind-address "$maddr:$mport" --health-probe-bind-address "127.0.0.1:$hport" \
  --log-format text --log-level debug >"$tmp/operator.log" 2>&1 &
op=$!
on_exit "kill $op; sleep 1; kill -9 $op"
# Runs before the operator stops, so its finalizer can remove the role labels; a group
# still held after that loses the finalizer so nothing is left behind.
on_exit "k delete namespace failover-demo --ignore-not-found --timeout=60s || k patch fg demo -n failover-demo --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"
on_exit "[ -f '$tmp/ok' ] || { echo '--- operator log (tail)'; tail -60 '$tmp/operator.log'; }"
wait_for 60 "operator /readyz" curl -sf "http://127.0.0.1:$hport/readyz"
scrape() {  # scrape [CURL ARGS...]: /metrics over HTTPS with the scraper's token
  curl -sfk --max-time 10 -H "Authorization: Bearer $(cat "$tmp/prometheus.token")" "$@" "$murl"
}
leads() { scrape | grep -qE '^leader_election_master_status\{.*\} 1'; }
wait_for 60 "operator leads" leads

log "--- secure /metrics"
code() { curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "metrics-reader's token" 200 "$(code -H "Authorization: Bearer $(cat "$tmp/prometheus.token")" "$murl")"
expect_eq "a token without metrics-reader" 403 "$(code -H "Authorization: Bearer $stranger_token" "$murl")"
expect_eq "no token" 401 "$(code "$murl")"
expect_eq "a forged token" 401 "$(code -H "Authorization: Bearer ${stranger_token%????}AAAA" "$murl")"
plain="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$maddr:$mport/metrics" || true)"
[ "$plain" = 200 ] && fail "plain HTTP was served on the secure metrics port"
log "ok: plain HTTP on the secure port: no answer (code '$plain')"
# The server certificate is the operator's own, self-signed, for the loopback and $POD_IP.
openssl s_client -connect "$maddr:$mport" </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName >"$tmp/san.txt" ||
  fail "no TLS certificate on the metrics port"
grep -q 'IP Address:127.0.0.1' "$tmp/san.txt" || fail "the metrics certificate does not name 127.0.0.1: $(cat "$tmp/san.txt")"
grep -qF "IP Address:$maddr" "$tmp/san.txt" || fail "the metrics certificate does not name POD_IP $maddr: $(cat "$tmp/san.txt")"
grep -q 'metrics request refused: not authorized' "$tmp/operator.log" || fail "the operator did not log the 403"
grep -q 'metrics request refused: not authenticated' "$tmp/operator.log" || fail "the operator did not log the 401"
for t in "$(cat "$tmp/prometheus.token")" "$stranger_token"; do
  grep -qF "${t: -40}" "$tmp/operator.log" && fail "the operator logged a token"
done
log "ok: 200 for metrics-reader, 403 without it, 401 without or with a forged token; refusals logged, tokens not"

log "--- discovery: the metrics Service as shipped, an EndpointSlice for the operator"
# The Service selects the Deployment's pods, which do not run here (the operator is a local
# process); the EndpointSlice controller keeps an empty slice for it. The slice below is
# the one a Ready pod of the Deployment would get (the operator's address, the port named
# metrics), without a targetRef: there is no Pod object, so the target gets no pod or
# container label (no metric of the operator exports either). Another manager
# (managed-by) owns it, so the controller leaves it alone.
k apply -f "$SRC/manifests/manager/metrics_service.yaml" >/dev/null
k apply -f - >/dev/null <<SLICE
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: failover-operator-metrics-e2e
  namespace: failover-system
  labels:
    kubernetes.io/service-name: failover-operator-metrics
    endpointslice.kubernetes.io/managed-by: ship-operator-e2e
addressType: IPv4
endpoints:
- addresses: ["$maddr"]
  conditions: {ready: true}
ports:
- {name: metrics, port: $mport, protocol: TCP}
SLICE
# Prometheus discovers as its ServiceAccount, with a Role in the namespace it watches (as
# kube-prometheus grants its Prometheus one per namespace), so a config that listed
# cluster-wide would discover nothing.
k apply -f - >/dev/null <<RBAC
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: prometheus-discovery, namespace: failover-system}
rules:
- {apiGroups: [""], resources: [services, pods], verbs: [get, list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: prometheus-discovery, namespace: failover-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus-discovery}
subjects: [{kind: ServiceAccount, name: prometheus, namespace: failover-system}]
RBAC
as_prometheus=system:serviceaccount:failover-system:prometheus
expect_eq "prometheus may list EndpointSlices in failover-system" yes "$(k auth can-i list endpointslices.discovery.k8s.io -n failover-system --as "$as_prometheus" || true)"
expect_eq "prometheus may list EndpointSlices cluster-wide" no "$(k auth can-i list endpointslices.discovery.k8s.io -A --as "$as_prometheus" || true)"
bash "$SRC/tests/ship/sa-kubeconfig.sh" failover-system prometheus "$tmp/prometheus-sd.kubeconfig"

# prom_config OUT [--honor-labels=false]: the shipped rules and the ServiceMonitor's
# scrape config; the second Prometheus (the control) differs only in honor_labels.
prom_config() {
  local out="$1"; shift
  local job
  job="$(python3 "$SRC/tests/ship/servicemonitor-scrape-config.py" "$SRC/manifests/monitoring/servicemonitor.yaml" \
    "$tmp/prometheus-sd.kubeconfig" "$tmp/prometheus.token" "$@")" || fail "servicemonitor-scrape-config.py failed"
  printf '%s\n' "global: {scrape_interval: 1s, evaluation_interval: 1s}" \
    "rule_files: [\"$SRC/manifests/monitoring/alerts.rules.yaml\"]" "scrape_configs:" "- $job" >"$out"
}
prom_config "$tmp/prometheus.yml"
prom_config "$tmp/control.yml" --honor-labels=false
expect_eq "honor_labels of the ServiceMonitor's scrape config" true "$(sed -n 's/^- //p' "$tmp/prometheus.yml" | jq .honor_labels)"
expect_eq "honor_labels of the control's" false "$(sed -n 's/^- //p' "$tmp/control.yml" | jq .honor_labels)"
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
prom=$!
on_exit "kill $prom; sleep 1; kill -9 $prom"
"$PROMETHEUS" --config.file="$tmp/control.yml" --storage.tsdb.path="$tmp/tsdb-control" \
  --web.listen-address="127.0.0.1:$cport" >"$tmp/control.log" 2>&1 &
ctl=$!
on_exit "kill $ctl; sleep 1; kill -9 $ctl"
on_exit "[ -f '$tmp/ok' ] || { echo '--- prometheus log (tail)'; tail -20 '$tmp/prometheus.log'; echo '--- control prometheus log (tail)'; tail -20 '$tmp/control.log'; }"
wait_for 60 "prometheus ready" curl -sf "http://127.0.0.1:$pport/-/ready"
wait_for 60 "control prometheus ready" curl -sf "http://127.0.0.1:$cport/-/ready"
query_at() { curl -sf --get "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2"; }
query() { query_at "$pport" "$1"; }
cquery() { query_at "$cport" "$1"; }
scraped() { query_at "$1" 'up{job="failover-operator"} == 1' | jq -e '.data.result | length == 1'; }
wait_for 60 "first scrape through service discovery" scraped "$pport"
wait_for 60 "control's first scrape through service discovery" scraped "$cport"

log "--- the target, as discovered"
for which in main:$pport control:$cport; do
  targets="$(curl -sf "http://127.0.0.1:${which#*:}/api/v1/targets?state=active")"
  tj() { jq -r "$1" <<<"$targets"; }
  expect_eq "active targets (${which%:*} Prometheus)" 1 "$(tj '.data.activeTargets | length')"
  expect_eq "its scrape pool" serviceMonitor/failover-system/failover-operator/0 "$(tj '.data.activeTargets[0].scrapePool')"
  expect_eq "its health" up "$(tj '.data.activeTargets[0].health')"
  expect_eq "discovered from the EndpointSlice" failover-operator-metrics-e2e \
    "$(tj '.data.activeTargets[0].discoveredLabels.__meta_kubernetes_endpointslice_name')"
  expect_eq "of the Service" failover-operator-metrics "$(tj '.data.activeTargets[0].discoveredLabels.__meta_kubernetes_service_name')"
  expect_eq "its port name" metrics "$(tj '.data.activeTargets[0].discoveredLabels.__meta_kubernetes_endpointslice_port_name')"
  expect_eq "its address" "$maddr:$mport" "$(tj '.data.activeTargets[0].discoveredLabels.__address__')"
  expect_eq "its target labels" \
    "{\"endpoint\":\"metrics\",\"instance\":\"$maddr:$mport\",\"job\":\"failover-operator\",\"namespace\":\"failover-system\",\"service\":\"failover-operator-metrics\"}" \
    "$(tj '.data.activeTargets[0].labels' | jq -cS .)"
done
# The sample as shipped; its Deployments' pod templates become pods on the harness node
# (this control plane runs no scheduler and no Deployment controller).
k kustomize "$SRC/manifests/samples" | k create --dry-run=client -o json -f - >"$tmp/samples.json"
jq 'select(.kind != "Deployment")' "$tmp/samples.json" | k apply -f -
sample_pods "$tmp/samples.json" | k apply -f -
ready_pod() {  # ready_pod SITE -> name of a Ready pod of that site
  k get pods -n failover-demo -l "app=demo,site=$1" -o json |
    jq -r '.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True")) | .metadata.name' | head -1
}
deadline=$((SECONDS + 90))
until [ -n "$(ready_pod a)" ] && [ -n "$(ready_pod b)" ]; do
  [ $SECONDS -lt $deadline ] || fail "demo pods never became Ready: $(k get pods -n failover-demo -o wide)"
  sleep 1
done
pod_a="$(ready_pod a)"; pod_b="$(ready_pod b)"
jpath() { k get "$@" 2>/dev/null; }
selected_sites() {  # the site labels of the pods the Service demo selects
  local sel
  sel="$(k get svc demo -n failover-demo -o json | jq -r '.spec.selector // {} | to_entries | map("\(.key)=\(.value)") | join(",")')"
  [ -n "$sel" ] || return 0
  k get pods -n failover-demo -l "$sel" -o jsonpath='{.items[*].metadata.labels.site}'
}
active_is() {  # active_is MEMBER SITE: the group's status and the Service's pods agree
  [ "$(jpath fg demo -n failover-demo -o jsonpath='{.status.activeMember}')" = "$1" ] &&
  [ "$(selected_sites)" = "$2" ]
}
deadline=$((SECONDS + 60))
until active_is site-a a; do
  [ $SECONDS -lt $deadline ] || fail "site-a never became active: $(k get fg demo -n failover-demo -o jsonpath='{.status}'; k get svc demo -n failover-demo -o yaml)"
  sleep 0.5
done
expect_eq "role of $pod_a" active "$(jpath pod "$pod_a" -n failover-demo -o jsonpath='{.metadata.labels.failover\.io/role}')"
expect_eq "role of $pod_b" standby "$(jpath pod "$pod_b" -n failover-demo -o jsonpath='{.metadata.labels.failover\.io/role}')"
served_by() { curl -sf --max-time 2 "http://$FO_NODE_IP:30080/?format=text" | sed -n 's/^pod=\([^ ]*\).*/\1/p'; }
served_by_is() { [[ "$(served_by)" == "$1"* ]]; }  # a pod of the site (name prefix)
wait_for 30 "traffic through the NodePort reaches site-a" served_by_is demo-site-a-
log "ok: site-a active, traffic reaches site-a"

log "primary fails its readiness"
for ip_a in $(k get pods -n failover-demo -l app=demo,site=a -o jsonpath='{.items[*].status.podIP}'); do
  curl -sf -X POST -d '' "http://$ip_a:8080/fail" >/dev/null || fail "POST /fail to $ip_a"
done
deadline=$((SECONDS + 90))
until active_is site-b b; do
  [ $SECONDS -lt $deadline ] || fail "no failover to site-b: $(k get fg demo -n failover-demo -o jsonpath='{.status}'; k get svc demo -n failover-demo -o yaml)"
  sleep 0.5
done
wait_for 30 "traffic reaches site-b" served_by_is demo-site-b-
expect_eq "role of $pod_b after failover" active "$(jpath pod "$pod_b" -n failover-demo -o jsonpath='{.metadata.labels.failover\.io/role}')"
expect_eq "role of $pod_a after failover (fencing Label)" fenced "$(jpath pod "$pod_a" -n failover-demo -o jsonpath='{.metadata.labels.failover\.io/role}')"
log "ok: failed over to site-b; traffic follows"

log "--- Prometheus"
scrape >"$tmp/metrics.txt"
promtool check metrics <"$tmp/metrics.txt" || fail "promtool check metrics reports problems on /metrics"
log "ok: promtool check metrics"
failover_alert_firing() {  # failover_alert_firing PORT NAMESPACE: the alert, naming NAMESPACE
  curl -sf "http://127.0.0.1:$1/api/v1/alerts" | jq -e --arg ns "$2" '[.data.alerts[] | select(.labels.alertname == "FailoverGroupFailoverOccurred"
    and .state == "firing" and .labels.namespace == $ns and .labels.group == "demo" and .labels.from == "site-a" and .labels.to == "site-b")] | length == 1'
}
wait_for 60 "FailoverGroupFailoverOccurred firing for failover-demo/demo" failover_alert_firing "$pport" failover-demo
log "ok: FailoverGroupFailoverOccurred fired for failover-demo/demo site-a -> site-b"

log "--- labels under honorLabels (the shipped ServiceMonitor)"
# labels_of PORT SELECTOR: the namespace, exported_namespace and group of each series
labels_of() { query_at "$1" "$2" | jq -c '[.data.result[].metric | {namespace, exported_namespace, group}] | sort'; }
expect_eq "failover_group_members" '[{"namespace":"failover-demo","exported_namespace":null,"group":"demo"}]' \
  "$(labels_of "$pport" 'failover_group_members{job="failover-operator"}')"
expect_eq "failover_group_* series outside failover-demo" 0 \
  "$(query 'count({__name__=~"failover_group_.+", job="failover-operator", namespace!="failover-demo"})' | jq '.data.result | length')"
expect_eq "exported_* labels on the job's series" '[]' \
  "$(query '{job="failover-operator"}' | jq -c '[.data.result[].metric | keys[] | select(startswith("exported_"))] | unique')"
expect_eq "the operator's own series (leader_election_master_status)" \
  '[{"endpoint":"metrics","namespace":"failover-system","service":"failover-operator-metrics"}]' \
  "$(query 'leader_election_master_status{job="failover-operator"}' | jq -c '[.data.result[].metric | {endpoint, namespace, service}]')"
# The dashboard's variables (templating) as Grafana asks for them.
label_values() {  # label_values PORT LABEL MATCH
  curl -sf --get "http://127.0.0.1:$1/api/v1/label/$2/values" --data-urlencode "match[]=$3" | jq -c '.data'
}
var_query() { jq -r --arg v "$1" '.templating.list[] | select(.name == $v) | .query.query' "$SRC/manifests/monitoring/grafana-dashboard.json"; }
[[ "$(var_query namespace)" == 'label_values(failover_group_members{job=~"$job"}, namespace)' ]] ||
  fail "the dashboard's namespace variable changed ($(var_query namespace)); update this test"
[[ "$(var_query group)" == 'label_values(failover_group_members{job=~"$job", namespace=~"$namespace"}, group)' ]] ||
  fail "the dashboard's group variable changed ($(var_query group)); update this test"
expect_eq "the dashboard's namespace variable" '["failover-demo"]' \
  "$(label_values "$pport" namespace 'failover_group_members{job=~"failover-operator"}')"
expect_eq "its group variable for failover-demo" '["demo"]' \
  "$(label_values "$pport" group 'failover_group_members{job=~"failover-operator", namespace=~"failover-demo"}')"
sleep 3
# dashboard_queries [GROUP]: title and query of every panel target, the variables set as
# picked in Grafana: the job, namespace failover-demo, group GROUP (default All, its
# allValue .*; a single group is substituted as its name). The latency histograms carry no
# group label without --metrics-per-group-histograms: their panels must still show the
# namespace's figures when one group is picked.
dashboard_queries() {
  jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$SRC/manifests/monitoring/grafana-dashboard.json" |
    sed -e 's/\$__rate_interval/1m/g' -e 's/\$namespace/failover-demo/g' -e "s/\\\$group/${1:-.*}/g" -e 's/\$job/failover-operator/g'
}
for pick in '.*' demo; do
  log "dashboard with group $pick picked"
  empty=0
  while IFS=$'\t' read -r title expr; do
    n="$(query "$expr" | jq '.data.result | length')"
    if [ "${n:-0}" -gt 0 ]; then printf '  %3s series  %s\n' "$n" "$title"; else
      printf '  NO DATA     %s: %s\n' "$title" "$expr"; empty=$((empty + 1)); fi
  done < <(dashboard_queries "$pick")
  [ "$empty" -eq 0 ] || fail "$empty dashboard queries return no data for namespace failover-demo, group $pick, after the failover"
done
log "ok: every dashboard query returns data for namespace failover-demo, group All and group demo"

log "--- the negative control: the same scrape with honor_labels: false"
expect_eq "failover_group_members (control)" '[{"namespace":"failover-system","exported_namespace":"failover-demo","group":"demo"}]' \
  "$(labels_of "$cport" 'failover_group_members{job="failover-operator"}')"
wait_for 30 "the control's FailoverGroupFailoverOccurred firing for failover-system/demo" failover_alert_firing "$cport" failover-system
log "ok: the control's FailoverGroupFailoverOccurred names failover-system, not the group's namespace"
expect_eq "the control's namespace variable" '["failover-system"]' \
  "$(label_values "$cport" namespace 'failover_group_members{job=~"failover-operator"}')"
expect_eq "the control's group variable for failover-demo" '[]' \
  "$(label_values "$cport" group 'failover_group_members{job=~"failover-operator", namespace=~"failover-demo"}')"
group_panels=0
while IFS=$'\t' read -r title expr; do
  [[ "$expr" == *'namespace=~"failover-demo"'* ]] || continue
  group_panels=$((group_panels + 1))
  n="$(cquery "$expr" | jq '.data.result | length')"
  [ "${n:-1}" -eq 0 ] || fail "control: the dashboard's \"$title\" has $n series for failover-demo under honor_labels: false: $expr"
done < <(dashboard_queries)
[ "$group_panels" -gt 0 ] || fail "no dashboard query selects on the namespace variable"
log "ok: control: all $group_panels group queries of the dashboard are empty for failover-demo"

# An RBAC denial reads 'forbidden: User "..." cannot <verb> resource ...'. Other 403s are
# not about RBAC: Events for groups in namespaces other tests are deleting are refused by
# NamespaceLifecycle ("is being terminated"), and that is expected.
rbac_denied='forbidden: User \\"[^\\"]*\\" cannot|forbidden: User "[^"]*" cannot'
if grep -qE "$rbac_denied" "$tmp/operator.log"; then
  grep -E "$rbac_denied" "$tmp/operator.log" | head -5
  fail "the operator was refused something by its shipped RBAC"
fi
log "ok: no RBAC denial in the operator's log"
touch "$tmp/ok"
log "PASS"
