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
#  - a real Prometheus (Debian's) scrapes it over HTTPS with that ServiceAccount's token
#    during the failover: `promtool check metrics` passes on /metrics, every dashboard
#    query returns data, and the FailoverGroupFailoverOccurred alert fires from
#    alerts.rules.yaml.
# usage: test-operator-e2e.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
use_cluster
bin_dir="$(cd "${1:?usage: test-operator-e2e.sh BIN_DIR}" && pwd)"
need_bins "$bin_dir" failover-operator failover-node-agent failover-demo-app
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus; make deps)"
k get node "$FO_NODE_NAME" >/dev/null || fail "node $FO_NODE_NAME missing: the harness is not running"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
source "$SRC/tests/ship/sample-pods.sh"

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -ltn "( sport = :$p )" | grep -q ":$p" || { echo "$p"; return; }
  done
}
wait_for() {  # wait_for SECONDS WHAT CMD...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${deadline}s waiting for: $what"
    sleep 0.5
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

mport="$(free_port)"; hport="$(free_port)"; pport="$(free_port)"
log "operator: metrics https://127.0.0.1:$mport (secure by default), health 127.0.0.1:$hport, as failover-system/failover-operator"
POD_NAMESPACE=failover-system POD_NAME=ship-operator-0 "$bin_dir/failover-operator" \
  --kubeconfig "$tmp/operator.kubeconfig" --leader-elect --leader-election-id=failover-operator-leader \
  --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address "127.0.0.1:$hport" \
  --log-format text --log-level debug >"$tmp/operator.log" 2>&1 &
op=$!
on_exit "kill $op; sleep 1; kill -9 $op"
# Runs before the operator stops, so its finalizer can remove the role labels; a group
# still held after that loses the finalizer so nothing is left behind.
on_exit "k delete namespace failover-demo --ignore-not-found --timeout=60s || k patch fg demo -n failover-demo --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"
on_exit "[ -f '$tmp/ok' ] || { echo '--- operator log (tail)'; tail -60 '$tmp/operator.log'; }"
wait_for 60 "operator /readyz" curl -sf "http://127.0.0.1:$hport/readyz"
scrape() {  # scrape [CURL ARGS...]: /metrics over HTTPS with the scraper's token
  curl -sfk --max-time 10 -H "Authorization: Bearer $(cat "$tmp/prometheus.token")" "$@" "https://127.0.0.1:$mport/metrics"
}
leads() { scrape | grep -qE '^leader_election_master_status\{.*\} 1'; }
wait_for 60 "operator leads" leads

log "--- secure /metrics"
code() { curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "metrics-reader's token" 200 "$(code -H "Authorization: Bearer $(cat "$tmp/prometheus.token")" "https://127.0.0.1:$mport/metrics")"
expect_eq "a token without metrics-reader" 403 "$(code -H "Authorization: Bearer $stranger_token" "https://127.0.0.1:$mport/metrics")"
expect_eq "no token" 401 "$(code "https://127.0.0.1:$mport/metrics")"
expect_eq "a forged token" 401 "$(code -H "Authorization: Bearer ${stranger_token%????}AAAA" "https://127.0.0.1:$mport/metrics")"
plain="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/metrics" || true)"
[ "$plain" = 200 ] && fail "plain HTTP was served on the secure metrics port"
log "ok: plain HTTP on the secure port: no answer (code '$plain')"
# The server certificate is the operator's own, self-signed, for the loopback too.
openssl s_client -connect "127.0.0.1:$mport" </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName >"$tmp/san.txt" ||
  fail "no TLS certificate on the metrics port"
grep -q 'IP Address:127.0.0.1' "$tmp/san.txt" || fail "the metrics certificate does not name 127.0.0.1: $(cat "$tmp/san.txt")"
grep -q 'metrics request refused: not authorized' "$tmp/operator.log" || fail "the operator did not log the 403"
grep -q 'metrics request refused: not authenticated' "$tmp/operator.log" || fail "the operator did not log the 401"
for t in "$(cat "$tmp/prometheus.token")" "$stranger_token"; do
  grep -qF "${t: -40}" "$tmp/operator.log" && fail "the operator logged a token"
done
log "ok: 200 for metrics-reader, 403 without it, 401 without or with a forged token; refusals logged, tokens not"

cat >"$tmp/prometheus.yml" <<PROM
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$SRC/manifests/monitoring/alerts.rules.yaml"]
scrape_configs:
- job_name: failover-operator
  scheme: https
  tls_config: {insecure_skip_verify: true}
  authorization: {credentials_file: "$tmp/prometheus.token"}
  static_configs: [{targets: ["127.0.0.1:$mport"]}]
PROM
promtool check config "$tmp/prometheus.yml" >/dev/null
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
prom=$!
on_exit "kill $prom; sleep 1; kill -9 $prom"
wait_for 60 "prometheus ready" curl -sf "http://127.0.0.1:$pport/-/ready"
query() { curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1"; }
prometheus_scraped() { query 'up{job="failover-operator"} == 1' | jq -e '.data.result | length == 1'; }
wait_for 30 "first scrape" prometheus_scraped

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
failover_alert_firing() {
  curl -sf "http://127.0.0.1:$pport/api/v1/alerts" | jq -e '[.data.alerts[] | select(.labels.alertname == "FailoverGroupFailoverOccurred"
    and .state == "firing" and .labels.group == "demo" and .labels.from == "site-a" and .labels.to == "site-b")] | length == 1'
}
wait_for 60 "FailoverGroupFailoverOccurred firing" failover_alert_firing
log "ok: FailoverGroupFailoverOccurred fired for demo site-a -> site-b"
sleep 3
empty=0
while IFS=$'\t' read -r title expr; do
  expr="${expr//\$__rate_interval/1m}"; expr="${expr//\$namespace/.*}"; expr="${expr//\$group/.*}"
  expr="${expr//\$job/failover-operator}"  # the dashboard's job variable: the scrape job above
  n="$(query "$expr" | jq '.data.result | length')"
  if [ "${n:-0}" -gt 0 ]; then printf '  %3s series  %s\n' "$n" "$title"; else
    printf '  NO DATA     %s: %s\n' "$title" "$expr"; empty=$((empty + 1)); fi
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$SRC/manifests/monitoring/grafana-dashboard.json")
[ "$empty" -eq 0 ] || fail "$empty dashboard queries return no data after the failover"
log "ok: every dashboard query returns data"

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
