#!/usr/bin/env bash
# The Helm chart with the real helm (built from tools/helm/go.mod) against the local apiserver:
#  - helm lint --strict, default values and testdata/values-nondefault.yaml;
#  - Chart.yaml's kubeVersion: helm template --kube-version 1.33.0 is refused with a message
#    about it, 1.34.0 and helm's default version are accepted, and so is helm install
#    against the local apiserver; values the chart must refuse are refused with a message;
#  - helm template: no monitoring objects by default, the CRD only with --include-crds, no
#    ClusterRole with watchNamespace; its output passes a server-side dry-run (nothing
#    created) and is what helm install applies (helm get manifest);
#  - helm install (default values, fresh namespace): the Deployment (replicas, image, args,
#    security contexts), ServiceAccount, metrics Service, the ClusterRole with the rules of
#    manifests/rbac/role.yaml and its binding, the leader-election Role; the CRD of crds/;
#  - helm upgrade with the same values changes nothing; with --set logLevel=debug it rolls the
#    Deployment (new pod template, .metadata.generation up, a new ReplicaSet);
#  - helm install of the non-default values (monitoring objects, single namespace, overrides);
#  - helm uninstall of both: no object of the release manifests is left, nor their
#    ReplicaSets, Pods or release Secrets; the CRD stays (Helm never deletes crds/), and so
#    does the namespace --create-namespace made.
# The local node agent runs only images it knows, so the operator pods never become Ready:
# nothing waits for readiness, the objects are checked instead. A warning printed by helm or
# kubectl (a deprecated API among them) fails the test.
source "$(dirname "$0")/lib.sh"
use_cluster
use_helm
chart="$SRC/charts/failover-operator"
nondefault="$SRC/tests/ship/testdata/values-nondefault.yaml"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
crd=failovergroups.failover.io

# w CMD...: runs CMD and shows its stderr; a warning there fails the test. Every stderr is
# also kept in $tmp/stderr, checked again at the end (a fail inside $(...) only ends the
# subshell).
: >"$tmp/stderr"
w() {
  local rc=0 e="$tmp/stderr.$BASHPID"
  "$@" 2>"$e" || rc=$?
  cat "$e" >>"$tmp/stderr"
  cat "$e" >&2
  if grep -qiE 'warn|deprecat' "$e"; then fail "warning from '$*': $(grep -iE 'warn|deprecat' "$e" | head -3)"; fi
  return $rc
}
jp() { w k get $1 -o "jsonpath=$2"; }
c='{.spec.template.spec.containers[0]'
# until_eq WHAT WANT CMD...: polls CMD (60 s) until it prints WANT.
until_eq() {
  local what="$1" want="$2" got="" i; shift 2
  for i in $(seq 1 60); do
    got="$("$@" 2>/dev/null)" || true
    [ "$got" = "$want" ] && break
    sleep 1
  done
  expect_eq "$what" "$want" "$got"
}
# gone WHAT MANIFEST: no object of MANIFEST exists any more.
gone() {
  local left
  left="$(w k get -f "$2" --ignore-not-found -o name)"
  [ -z "$left" ] || fail "$1: left behind after helm uninstall: $(echo $left)"
  log "ok: $1: none of the $(grep -c '^kind:' "$2") objects of the release is left"
}
# replicasets NAMESPACE RELEASE: how many ReplicaSets the release's Deployment has.
replicasets() { k get rs -n "$1" -l "app.kubernetes.io/instance=$2" -o name | grep -c . || true; }
# owned_by_release NAMESPACE RELEASE: ReplicaSets, Pods and Helm's release Secrets of RELEASE.
owned_by_release() {
  local out
  out="$(w k get replicasets,pods -n "$1" -l "app.kubernetes.io/instance=$2" -o name &&
         w k get secrets -n "$1" -l "owner=helm,name=$2" -o name)" || { echo "(kubectl get failed)"; return; }
  echo $(sort <<<"$out")
}

crd_existed=0
k get crd "$crd" >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd $crd --timeout=60s"
mon_existed=0
k get crd prometheusrules.monitoring.coreos.com >/dev/null 2>&1 && mon_existed=1
on_exit "[ $mon_existed = 1 ] || k delete -f '$SRC/tests/ship/testdata/monitoring-crds.yaml' --wait=false"

log "--- helm $(hb version --template '{{.Version}}'), Kubernetes $(w k version -o json | jq -r .serverVersion.gitVersion)"
log "--- lint"
w hb lint --strict "$chart"
w hb lint --strict "$chart" -f "$nondefault"

log "--- kubeVersion and values the chart must refuse"
kube_version="$(sed -n 's/^kubeVersion: *"\(.*\)"$/\1/p' "$chart/Chart.yaml")"
expect_eq chart-kubeVersion ">=1.34.0-0" "$kube_version"
if hb template x "$chart" --kube-version 1.33.0 >/dev/null 2>"$tmp/err"; then
  fail "helm template --kube-version 1.33.0 rendered a chart that requires $kube_version"
fi
grep -qF "chart requires kubeVersion: $kube_version which is incompatible with Kubernetes v1.33.0" "$tmp/err" ||
  fail "unexpected error for --kube-version 1.33.0: $(cat "$tmp/err")"
log "ok: --kube-version 1.33.0 refused: $(grep -o 'chart requires.*' "$tmp/err")"
w hb template x "$chart" --kube-version 1.34.0 >/dev/null
log "ok: --kube-version 1.34.0 accepted"
# Without a cluster, helm assumes the Kubernetes of the client-go it was built with, as
# Helm's release builds stamp it (-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor/Minor);
# unstamped it assumes v1.20.0 and refuses the chart.
hb template x "$chart" >/dev/null 2>"$tmp/err" ||
  fail "helm template with helm's default Kubernetes version: $(cat "$tmp/err") (is helm built without Helm's k8sVersion ldflags?)"
log "ok: helm template with helm's default Kubernetes version accepted"
if hb template x "$chart" --set serviceAccount.create=false >/dev/null 2>"$tmp/err"; then
  fail "serviceAccount.create=false without a name rendered"
fi
grep -q 'serviceAccount.name is required' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
if hb template x "$chart" --set serviceMonitor.enabled=true,metricsService.enabled=false >/dev/null 2>"$tmp/err"; then
  fail "serviceMonitor without metricsService rendered"
fi
grep -q 'serviceMonitor.enabled needs metricsService.enabled' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
log "ok: invalid values are refused with a message"

log "--- default values: helm template"
rel="$(unique shipchart)"; ns="$(unique ship-chart)"
w hb template "$rel" "$chart" -n "$ns" >"$tmp/default.yaml"
w hb template "$rel" "$chart" -n "$ns" --include-crds >"$tmp/default-crds.yaml"
grep -qE '^kind: (ServiceMonitor|PrometheusRule)' "$tmp/default.yaml" && fail "monitoring objects rendered by default"
grep -q '^kind: CustomResourceDefinition' "$tmp/default.yaml" && fail "CRD rendered without --include-crds"
grep -q "^  name: $crd\$" "$tmp/default-crds.yaml" || fail "--include-crds did not render the CRD"
log "ok: $(grep -c '^kind:' "$tmp/default.yaml") objects, no monitoring objects; the CRD only with --include-crds"

log "--- default values: helm install into a fresh namespace"
on_exit "k delete namespace $ns --wait=false"
on_exit "k delete clusterrole,clusterrolebinding -l app.kubernetes.io/instance=$rel --ignore-not-found"
on_exit "hb uninstall $rel -n $ns --ignore-not-found"
w hb install "$rel" "$chart" -n "$ns" --create-namespace >"$tmp/install.out"
expect_eq install-status "deployed 1" "$(hb status "$rel" -n "$ns" -o json | jq -r '"\(.info.status) \(.version)"')"
hb get manifest "$rel" -n "$ns" >"$tmp/default.manifest"
diff -B "$tmp/default.yaml" "$tmp/default.manifest" || fail "helm install applied something else than helm template renders"
log "ok: helm get manifest = helm template"
if [ "$crd_existed" = 0 ]; then
  crd_established "$crd"
  log "ok: helm install created the CRD from crds/"
else
  log "the CRD existed before this test: helm install left it as it was (not checked: its creation)"
fi
crd_uid="$(jp "crd/$crd" '{.metadata.uid}')"
expect_eq crd-not-in-release "" "$(jp "crd/$crd" '{.metadata.annotations.meta\.helm\.sh/release-name}')"
d="deployment/$rel-failover-operator -n $ns"
expect_eq default-release-annotation "$rel" "$(jp "$d" '{.metadata.annotations.meta\.helm\.sh/release-name}')"
expect_eq default-managed-by Helm "$(jp "$d" '{.metadata.labels.app\.kubernetes\.io/managed-by}')"
expect_eq default-replicas 2 "$(jp "$d" '{.spec.replicas}')"
expect_eq default-image failover-operator:0.1.0 "$(jp "$d" "$c.image}")"
expect_eq default-args "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8080 --health-probe-bind-address=:8081 --log-level=info --log-format=json" "$(jp "$d" "$c.args[*]}")"
expect_eq default-serviceaccount "$rel-failover-operator" "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq default-pod-security "true 65532 RuntimeDefault" "$(jp "$d" '{.spec.template.spec.securityContext.runAsNonRoot} {.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.securityContext.seccompProfile.type}')"
expect_eq default-container-security "false true true ALL" "$(jp "$d" "$c.securityContext.allowPrivilegeEscalation} $c.securityContext.readOnlyRootFilesystem} $c.securityContext.runAsNonRoot} $c.securityContext.capabilities.drop[*]}")"
expect_eq default-sa-exists "serviceaccount/$rel-failover-operator" "$(w k get serviceaccount "$rel-failover-operator" -n "$ns" -o name)"
expect_eq default-metrics-service "ClusterIP 8080" "$(jp "service/$rel-failover-operator-metrics -n $ns" '{.spec.type} {.spec.ports[0].port}')"
expect_eq default-clusterrole-rules 6 "$(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}x{end}' | wc -c)"
expect_eq default-clusterrolebinding "ClusterRole/$rel-failover-operator ServiceAccount/$ns/$rel-failover-operator" "$(jp "clusterrolebinding/$rel-failover-operator" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].namespace}/{.subjects[0].name}')"
expect_eq default-lease-role "create; get update on $rel-failover-operator-leader" "$(jp "role/$rel-failover-operator-leader-election -n $ns" '{.rules[0].verbs[*]}; {.rules[1].verbs[*]} on {.rules[1].resourceNames[*]}')"
expect_eq default-lease-rolebinding "Role/$rel-failover-operator-leader-election $rel-failover-operator" "$(jp "rolebinding/$rel-failover-operator-leader-election -n $ns" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].name}')"
# The chart's rules are the kustomize ClusterRole's rules.
diff <(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') \
     <(w k apply -f "$SRC/manifests/rbac/role.yaml" --dry-run=client -o jsonpath='{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') ||
  fail "chart ClusterRole rules differ from manifests/rbac/role.yaml"
log "ok: chart rules = manifests/rbac/role.yaml rules"

log "--- helm upgrade"
# The Deployment controller has created the first ReplicaSet (its pods stay unscheduled).
until_eq default-replicasets 1 replicasets "$ns" "$rel"
gen1="$(jp "$d" '{.metadata.generation}')"
rs1="$(w k get rs -n "$ns" -l "app.kubernetes.io/instance=$rel" -o name)"
w hb upgrade "$rel" "$chart" -n "$ns" --reuse-values >/dev/null
expect_eq same-values-revision 2 "$(hb status "$rel" -n "$ns" -o json | jq -r .version)"
expect_eq same-values-generation "$gen1" "$(jp "$d" '{.metadata.generation}')"
jp "$d" '{.spec.template}' >"$tmp/template1.json"
w hb upgrade "$rel" "$chart" -n "$ns" --reuse-values --set logLevel=debug >/dev/null
expect_eq upgrade-status "deployed 3" "$(hb status "$rel" -n "$ns" -o json | jq -r '"\(.info.status) \(.version)"')"
jp "$d" '{.spec.template}' >"$tmp/template2.json"
cmp -s "$tmp/template1.json" "$tmp/template2.json" && fail "helm upgrade --set logLevel=debug left the pod template as it was"
expect_eq upgrade-args "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8080 --health-probe-bind-address=:8081 --log-level=debug --log-format=json" "$(jp "$d" "$c.args[*]}")"
gen2="$(jp "$d" '{.metadata.generation}')"
[ "$gen2" -gt "$gen1" ] || fail "generation did not go up on upgrade: $gen1 -> $gen2"
log "ok: generation $gen1 -> $gen2"
until_eq upgrade-deployment-revision 2 jp "$d" '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
until_eq upgrade-replicasets 2 replicasets "$ns" "$rel"
rs_new="$(w k get rs -n "$ns" -l "app.kubernetes.io/instance=$rel" -o name | grep -vxF "$rs1")"
expect_eq new-replicaset-args "--log-level=debug" "$(jp "$rs_new -n $ns" "$c.args[*]}" | grep -o -- '--log-level=[a-z]*')"

log "--- helm uninstall"
expect_eq release-secrets-before-uninstall 3 "$(w k get secrets -n "$ns" -l "owner=helm,name=$rel" -o name | grep -c .)"
w hb uninstall "$rel" -n "$ns" --wait --timeout 2m
gone default "$tmp/default.manifest"
until_eq default-replicasets-pods-secrets-left "" owned_by_release "$ns" "$rel"
expect_eq default-release-listed "" "$(w hb list -n "$ns" -a -q)"
expect_eq namespace-stays "namespace/$ns" "$(w k get namespace "$ns" -o name)"
expect_eq crd-stays "$crd_uid" "$(jp "crd/$crd" '{.metadata.uid}')"

log "--- non-default values (testdata/values-nondefault.yaml): helm template"
w k apply -f "$SRC/tests/ship/testdata/monitoring-crds.yaml" >/dev/null
crd_established prometheusrules.monitoring.coreos.com servicemonitors.monitoring.coreos.com
rel2="$(unique shipchart2)"; ns2="$(unique ship-chart2)"; watched="$(unique ship-watched)"
on_exit "k delete namespace $ns2 $watched --wait=false"
w k create namespace "$ns2" >/dev/null
w k create namespace "$watched" >/dev/null
values2=(-f "$nondefault" --set "watchNamespace=$watched" --set-string "podLabels.build=0042")
w hb template "$rel2" "$chart" -n "$ns2" "${values2[@]}" >"$tmp/custom.yaml"
grep -q '^kind: ClusterRole' "$tmp/custom.yaml" && fail "ClusterRole rendered with watchNamespace set"
for kind in ServiceMonitor PrometheusRule ConfigMap; do
  grep -q "^kind: $kind\$" "$tmp/custom.yaml" || fail "$kind not rendered with it enabled"
done
w k apply -f "$tmp/custom.yaml" --dry-run=server >/dev/null
expect_eq dry-run-created-nothing "" "$(w k get -f "$tmp/custom.yaml" --ignore-not-found -o name)"
log "ok: helm template | kubectl apply --dry-run=server"

log "--- non-default values: helm install"
on_exit "hb uninstall $rel2 -n $ns2 --ignore-not-found"
w hb install "$rel2" "$chart" -n "$ns2" "${values2[@]}" >/dev/null
hb get manifest "$rel2" -n "$ns2" >"$tmp/custom.manifest"
diff -B "$tmp/custom.yaml" "$tmp/custom.manifest" || fail "helm install applied something else than helm template renders"
d="deployment/fo-custom -n $ns2"
expect_eq custom-replicas 1 "$(jp "$d" '{.spec.replicas}')"
expect_eq custom-image registry.example.com/team/failover-operator:1.2.3 "$(jp "$d" "$c.image}")"
expect_eq custom-args "--metrics-bind-address=:9090 --health-probe-bind-address=:9091 --log-level=debug --log-format=text --namespace=$watched --log-level=debug" "$(jp "$d" "$c.args[*]}")"
expect_eq custom-serviceaccount fo-custom-sa "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq custom-sa-annotation platform "$(jp "serviceaccount/fo-custom-sa -n $ns2" '{.metadata.annotations.example\.com/owner}')"
expect_eq custom-pod-label-set-string 0042 "$(jp "$d" '{.spec.template.metadata.labels.build}')"
expect_eq custom-limits 128Mi "$(jp "$d" "$c.resources.limits.memory}")"
expect_eq custom-toleration operators "$(jp "$d" '{.spec.template.spec.tolerations[0].value}')"
expect_eq custom-pull-secret regcred "$(jp "$d" '{.spec.template.spec.imagePullSecrets[0].name}')"
expect_eq custom-metrics-service NodePort "$(jp "service/fo-custom-metrics -n $ns2" '{.spec.type}')"
expect_eq custom-role-namespace "$watched" "$(jp "role/fo-custom -n $watched" '{.metadata.namespace}')"
expect_eq custom-rolebinding-subject "$ns2/fo-custom-sa" "$(jp "rolebinding/fo-custom -n $watched" '{.subjects[0].namespace}/{.subjects[0].name}')"
k get role fo-custom-leader-election -n "$ns2" >/dev/null 2>&1 && fail "leader-election Role created with leaderElection.enabled=false"
expect_eq custom-servicemonitor-release prometheus "$(jp "servicemonitor/fo-custom -n $ns2" '{.metadata.labels.release}')"
want_alerts="$(grep -c '^  - alert:' "$SRC/manifests/monitoring/alerts.rules.yaml")"
expect_eq custom-prometheusrule-alerts "$want_alerts" "$(jp "prometheusrule/fo-custom -n $ns2" '{range .spec.groups[*].rules[*]}{.alert}{"\n"}{end}' | grep -c .)"
jp "configmap/fo-custom-dashboard -n $ns2" '{.data.failover-operator\.json}' | jq -e '.panels | length > 0' >/dev/null ||
  fail "dashboard ConfigMap does not hold the dashboard JSON"
log "ok: dashboard ConfigMap holds the dashboard"

log "--- non-default values: helm uninstall"
w hb uninstall "$rel2" -n "$ns2" --wait --timeout 2m
gone custom "$tmp/custom.manifest"
until_eq custom-replicasets-pods-secrets-left "" owned_by_release "$ns2" "$rel2"
expect_eq crd-stays-after-both "$crd_uid" "$(jp "crd/$crd" '{.metadata.uid}')"
log "ok: the CRD of crds/ is left installed, as Helm does (it never upgrades or deletes crds/)"

grep -iE 'warn|deprecat' "$tmp/stderr" && fail "helm or kubectl printed a warning (above)"
log "ok: no warning from helm or kubectl"
log "PASS"
