#!/usr/bin/env bash
# The Helm chart with the real helm (built from tools/helm/go.mod) against the local apiserver:
#  - helm lint --strict, default values and testdata/values-nondefault.yaml;
#  - Chart.yaml's kubeVersion: helm template --kube-version 1.33.0 is refused with a message
#    about it, 1.34.0 and helm's default version are accepted, and so is helm install
#    against the local apiserver; values the chart must refuse are refused with a message,
#    helm install refuses a value values.schema.json refuses (naming it) and records no
#    release (test-chart-values.sh has the rest of the schema, without a cluster);
#  - helm template: no monitoring objects by default, the CRD unless crds.install=false, no
#    ClusterRole with watched namespaces; its output passes a server-side dry-run (nothing
#    created) and is what helm install applies (helm get manifest);
#  - the CRD (crds.install): a CRD no release owns (applied by kubectl, or by the 0.1.0
#    chart's crds/) makes helm install fail until it is adopted as docs/install.md says;
#    then, or when there was none, the release installs it; helm upgrade upgrades it (a
#    changed CRD in the chart reaches the apiserver, unlike crds/); helm uninstall keeps it
#    (helm.sh/resource-policy: keep), same uid;
#  - helm install (default values, fresh namespace): the Deployment (replicas, image, args,
#    security contexts, topology spread), ServiceAccount, metrics Service, the
#    PodDisruptionBudget (2 replicas), the ClusterRole with the rules of
#    manifests/rbac/role.yaml and its binding, the leader-election Role;
#  - helm upgrade with the same values changes nothing; with --set logLevel=debug it rolls the
#    Deployment (new pod template, .metadata.generation up, a new ReplicaSet);
#  - helm install of the non-default values (monitoring objects, two watched namespaces with a
#    Role each, overrides, crds.install=false beside the release that owns the CRD); helm
#    upgrade to one other namespace and a pod label selector (the Role of the namespace no
#    longer watched deleted, the selector one argument);
#  - helm uninstall of both: no object of the release manifests is left but the kept CRD,
#    nor their ReplicaSets, Pods or release Secrets; the namespace --create-namespace made
#    stays.
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
# A CRD that was there before (other suites share the cluster) is given back as they know
# it: without the release's labels and annotations, as crds/ defines it.
helm_crd_labels=(app.kubernetes.io/managed-by- app.kubernetes.io/name- app.kubernetes.io/instance-
                 app.kubernetes.io/component- app.kubernetes.io/version- helm.sh/chart-)
helm_crd_annotations=(meta.helm.sh/release-name- meta.helm.sh/release-namespace- helm.sh/resource-policy-)
on_exit "[ $crd_existed = 0 ] || { k label crd $crd ${helm_crd_labels[*]}; k annotate crd $crd ${helm_crd_annotations[*]}; k apply -f '$SRC/crds/$crd.yaml'; }"
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
bad_rel="$(unique shipbad)"; bad_ns="$(unique ship-bad)"
on_exit "k delete namespace $bad_ns --ignore-not-found --wait=false"
for bad in replicaCount=-1 image.pullPolicy=Sometimes; do
  if hb install "$bad_rel" "$chart" -n "$bad_ns" --create-namespace --set "$bad" >/dev/null 2>"$tmp/err"; then
    hb uninstall "$bad_rel" -n "$bad_ns" >/dev/null 2>&1 || true
    fail "helm install accepted --set $bad"
  fi
  key="${bad%%=*}"; key="${key##*.}"
  grep -q "schema" "$tmp/err" && grep -qF "$key" "$tmp/err" || fail "helm install --set $bad: unexpected error: $(cat "$tmp/err")"
  expect_eq "no release after --set $bad" "" "$(hb list -n "$bad_ns" -a -q 2>/dev/null)"
done
log "ok: invalid values are refused with a message, by helm install too"

log "--- default values: helm template"
rel="$(unique shipchart)"; ns="$(unique ship-chart)"
w hb template "$rel" "$chart" -n "$ns" >"$tmp/default.yaml"
w hb template "$rel" "$chart" -n "$ns" --set crds.install=false >"$tmp/default-nocrd.yaml"
grep -qE '^kind: (ServiceMonitor|PrometheusRule)' "$tmp/default.yaml" && fail "monitoring objects rendered by default"
grep -q "^  name: $crd\$" "$tmp/default.yaml" || fail "the CRD is not rendered by default (crds.install)"
grep -q '^kind: CustomResourceDefinition' "$tmp/default-nocrd.yaml" && fail "CRD rendered with crds.install=false"
log "ok: $(grep -c '^kind:' "$tmp/default.yaml") objects, no monitoring objects; the CRD unless crds.install=false"

log "--- default values: helm install into a fresh namespace"
on_exit "k delete namespace $ns --wait=false"
on_exit "k delete clusterrole,clusterrolebinding -l app.kubernetes.io/instance=$rel --ignore-not-found"
on_exit "hb uninstall $rel -n $ns --ignore-not-found"
if [ "$crd_existed" = 1 ]; then
  # As after kubectl apply -k manifests/ or the 0.1.0 chart's crds/: no release owns it.
  w k label crd "$crd" "${helm_crd_labels[@]}" >/dev/null
  w k annotate crd "$crd" "${helm_crd_annotations[@]}" >/dev/null
  crd_uid0="$(jp "crd/$crd" '{.metadata.uid}')"
  if hb install "$rel" "$chart" -n "$ns" --create-namespace >/dev/null 2>"$tmp/err"; then
    fail "helm install took over a CRD no release owns without being told to"
  fi
  grep -q "CustomResourceDefinition \"$crd\" in namespace \"\" exists and cannot be imported into the current release" "$tmp/err" ||
    fail "unexpected error installing over an unowned CRD: $(cat "$tmp/err")"
  expect_eq release-after-refused-install "" "$(hb list -n "$ns" -a -q 2>/dev/null)"
  log "ok: a CRD no release owns is not taken over silently: $(grep -o 'invalid ownership metadata' "$tmp/err" | head -1)"
  # Adopt it, as docs/install.md says for an upgrade from 0.1.0 or a kubectl-applied CRD.
  w k label crd "$crd" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  w k annotate crd "$crd" "meta.helm.sh/release-name=$rel" "meta.helm.sh/release-namespace=$ns" --overwrite >/dev/null
fi
w hb install "$rel" "$chart" -n "$ns" --create-namespace >"$tmp/install.out"
expect_eq install-status "deployed 1" "$(hb status "$rel" -n "$ns" -o json | jq -r '"\(.info.status) \(.version)"')"
hb get manifest "$rel" -n "$ns" >"$tmp/default.manifest"
diff -B "$tmp/default.yaml" "$tmp/default.manifest" || fail "helm install applied something else than helm template renders"
log "ok: helm get manifest = helm template"
crd_established "$crd"
crd_uid="$(jp "crd/$crd" '{.metadata.uid}')"
if [ "$crd_existed" = 0 ]; then
  log "ok: helm install created the CRD"
else
  expect_eq crd-adopted-same-uid "$crd_uid0" "$crd_uid"
fi
expect_eq crd-in-release "$rel $ns keep Helm" "$(jp "crd/$crd" '{.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.annotations.meta\.helm\.sh/release-namespace} {.metadata.annotations.helm\.sh/resource-policy} {.metadata.labels.app\.kubernetes\.io/managed-by}')"
expect_eq crd-served-version v1alpha1 "$(jp "crd/$crd" '{.spec.versions[0].name}')"
d="deployment/$rel-failover-operator -n $ns"
expect_eq default-release-annotation "$rel" "$(jp "$d" '{.metadata.annotations.meta\.helm\.sh/release-name}')"
expect_eq default-managed-by Helm "$(jp "$d" '{.metadata.labels.app\.kubernetes\.io/managed-by}')"
expect_eq default-replicas 2 "$(jp "$d" '{.spec.replicas}')"
expect_eq default-image ghcr.io/failover-operator/failover-operator:0.1.0 "$(jp "$d" "$c.image}")"
expect_eq default-args "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8443 --metrics-secure=true --health-probe-bind-address=:8081 --log-level=info --log-format=json --cache-sync-timeout=10m" "$(jp "$d" "$c.args[*]}")"
expect_eq default-serviceaccount "$rel-failover-operator" "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq default-pod-security "true 65532 RuntimeDefault" "$(jp "$d" '{.spec.template.spec.securityContext.runAsNonRoot} {.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.securityContext.seccompProfile.type}')"
expect_eq default-container-security "false true true ALL" "$(jp "$d" "$c.securityContext.allowPrivilegeEscalation} $c.securityContext.readOnlyRootFilesystem} $c.securityContext.runAsNonRoot} $c.securityContext.capabilities.drop[*]}")"
expect_eq default-sa-exists "serviceaccount/$rel-failover-operator" "$(w k get serviceaccount "$rel-failover-operator" -n "$ns" -o name)"
expect_eq default-metrics-service "ClusterIP 8443" "$(jp "service/$rel-failover-operator-metrics -n $ns" '{.spec.type} {.spec.ports[0].port}')"
expect_eq default-clusterrole-rules 6 "$(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}x{end}' | wc -c)"
expect_eq default-clusterrolebinding "ClusterRole/$rel-failover-operator ServiceAccount/$ns/$rel-failover-operator" "$(jp "clusterrolebinding/$rel-failover-operator" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].namespace}/{.subjects[0].name}')"
expect_eq default-lease-role "create; get update on $rel-failover-operator-leader" "$(jp "role/$rel-failover-operator-leader-election -n $ns" '{.rules[0].verbs[*]}; {.rules[1].verbs[*]} on {.rules[1].resourceNames[*]}')"
expect_eq default-pdb "1 AlwaysAllow failover-operator $rel operator" "$(jp "poddisruptionbudget/$rel-failover-operator -n $ns" '{.spec.minAvailable} {.spec.unhealthyPodEvictionPolicy} {.spec.selector.matchLabels.app\.kubernetes\.io/name} {.spec.selector.matchLabels.app\.kubernetes\.io/instance} {.spec.selector.matchLabels.app\.kubernetes\.io/component}')"
expect_eq default-topology-spread "topology.kubernetes.io/zone kubernetes.io/hostname" "$(jp "$d" '{.spec.template.spec.topologySpreadConstraints[*].topologyKey}')"
expect_eq default-lease-rolebinding "Role/$rel-failover-operator-leader-election $rel-failover-operator" "$(jp "rolebinding/$rel-failover-operator-leader-election -n $ns" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].name}')"
# The chart's rules are the kustomize ClusterRole's rules.
diff <(jp "clusterrole/$rel-failover-operator" '{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') \
     <(w k apply -f "$SRC/manifests/rbac/role.yaml" --dry-run=client -o jsonpath='{range .rules[*]}{.apiGroups} {.resources} {.verbs}{"\n"}{end}') ||
  fail "chart ClusterRole rules differ from manifests/rbac/role.yaml"
log "ok: chart rules = manifests/rbac/role.yaml rules"
# Secure metrics (metrics.secure, the default): the review roles as manifests/rbac has them.
rules() { jp "$1" '{range .rules[*]}{.apiGroups} {.resources} {.nonResourceURLs} {.verbs}{"\n"}{end}'; }
file_rules() { w k apply -f "$1" --dry-run=client -o jsonpath='{range .rules[*]}{.apiGroups} {.resources} {.nonResourceURLs} {.verbs}{"\n"}{end}'; }
diff <(rules "clusterrole/$rel-failover-operator-metrics-auth") <(file_rules "$SRC/manifests/rbac/metrics_auth_role.yaml") ||
  fail "chart metrics-auth ClusterRole rules differ from manifests/rbac/metrics_auth_role.yaml"
diff <(rules "clusterrole/$rel-failover-operator-metrics-reader") <(file_rules "$SRC/manifests/rbac/metrics_reader_role.yaml") ||
  fail "chart metrics-reader ClusterRole rules differ from manifests/rbac/metrics_reader_role.yaml"
expect_eq default-metrics-auth-binding "ClusterRole/$rel-failover-operator-metrics-auth ServiceAccount/$ns/$rel-failover-operator" "$(jp "clusterrolebinding/$rel-failover-operator-metrics-auth" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].namespace}/{.subjects[0].name}')"
expect_eq default-can-review "yes yes" "$(for r in tokenreviews.authentication.k8s.io subjectaccessreviews.authorization.k8s.io; do k auth can-i create "$r" --as "system:serviceaccount:$ns:$rel-failover-operator" || true; done | paste -sd' ')"
log "ok: secure metrics: the operator may create TokenReviews and SubjectAccessReviews; metrics-reader as in manifests/rbac"

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
expect_eq upgrade-args "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8443 --metrics-secure=true --health-probe-bind-address=:8081 --log-level=debug --log-format=json --cache-sync-timeout=10m" "$(jp "$d" "$c.args[*]}")"
gen2="$(jp "$d" '{.metadata.generation}')"
[ "$gen2" -gt "$gen1" ] || fail "generation did not go up on upgrade: $gen1 -> $gen2"
log "ok: generation $gen1 -> $gen2"
until_eq upgrade-deployment-revision 2 jp "$d" '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
until_eq upgrade-replicasets 2 replicasets "$ns" "$rel"
rs_new="$(w k get rs -n "$ns" -l "app.kubernetes.io/instance=$rel" -o name | grep -vxF "$rs1")"
expect_eq new-replicaset-args "--log-level=debug" "$(jp "$rs_new -n $ns" "$c.args[*]}" | grep -o -- '--log-level=[a-z]*')"

log "--- helm upgrade upgrades the CRD (crds.install: a template, not crds/)"
cp -r "$chart" "$tmp/chart-next"
sed -i 's/^    categories: \[failover\]$/    categories: [failover, shipupgrade]/' "$tmp/chart-next/files/crds/$crd.yaml"
grep -q 'shipupgrade' "$tmp/chart-next/files/crds/$crd.yaml" || fail "could not change the CRD of the chart's copy"
w hb upgrade "$rel" "$tmp/chart-next" -n "$ns" --reuse-values >/dev/null
expect_eq crd-upgraded "failover shipupgrade" "$(jp "crd/$crd" '{.spec.names.categories[*]}')"
w hb upgrade "$rel" "$chart" -n "$ns" --reuse-values >/dev/null
expect_eq crd-upgraded-back failover "$(jp "crd/$crd" '{.spec.names.categories[*]}')"
expect_eq crd-upgrade-same-uid "$crd_uid" "$(jp "crd/$crd" '{.metadata.uid}')"

log "--- helm uninstall"
expect_eq release-secrets-before-uninstall 5 "$(w k get secrets -n "$ns" -l "owner=helm,name=$rel" -o name | grep -c .)"
hb get manifest "$rel" -n "$ns" >"$tmp/default.manifest"
w hb uninstall "$rel" -n "$ns" --wait --timeout 2m >"$tmp/uninstall.out"
grep -q "kept due to the resource policy" "$tmp/uninstall.out" || fail "helm uninstall did not report the CRD kept: $(cat "$tmp/uninstall.out")"
# Every object of the release but the kept CRD is gone.
awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} !/\nkind: CustomResourceDefinition\n/' "$tmp/default.manifest" >"$tmp/default-nocrd.manifest"
grep -q '^kind: CustomResourceDefinition' "$tmp/default-nocrd.manifest" && fail "could not leave the CRD out of the manifest"
gone default "$tmp/default-nocrd.manifest"
until_eq default-replicasets-pods-secrets-left "" owned_by_release "$ns" "$rel"
expect_eq default-release-listed "" "$(w hb list -n "$ns" -a -q)"
expect_eq namespace-stays "namespace/$ns" "$(w k get namespace "$ns" -o name)"
expect_eq crd-stays "$crd_uid" "$(jp "crd/$crd" '{.metadata.uid}')"
expect_eq crd-stays-kept keep "$(jp "crd/$crd" '{.metadata.annotations.helm\.sh/resource-policy}')"

log "--- non-default values (testdata/values-nondefault.yaml): helm template"
w k apply -f "$SRC/tests/ship/testdata/monitoring-crds.yaml" >/dev/null
crd_established prometheusrules.monitoring.coreos.com servicemonitors.monitoring.coreos.com
rel2="$(unique shipchart2)"; ns2="$(unique ship-chart2)"; watched="$(unique ship-watched)"; watched2="$(unique ship-watched2)"
on_exit "k delete namespace $ns2 $watched $watched2 --wait=false"
w k create namespace "$ns2" >/dev/null
w k create namespace "$watched" >/dev/null
w k create namespace "$watched2" >/dev/null
# Two watched namespaces: watchNamespace and watchNamespaces, the first named in both.
values2=(-f "$nondefault" --set "watchNamespace=$watched" --set "watchNamespaces={$watched2,$watched}"
         --set-string "podLabels.build=0042")
w hb template "$rel2" "$chart" -n "$ns2" "${values2[@]}" >"$tmp/custom.yaml"
# With watched namespaces and metrics.secure false, the one cluster-wide role left is the
# Nodes' reader (zones: Nodes are cluster-scoped).
expect_eq "ClusterRoles with watchNamespaces and metrics.secure false" "fo-custom-nodes" \
  "$(awk '/^kind: ClusterRole$/{c=1; next} c && /^  name: /{print $2; c=0}' "$tmp/custom.yaml" | paste -sd' ')"
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
expect_eq custom-args "--metrics-bind-address=:9090 --metrics-secure=false --health-probe-bind-address=:9091 --log-level=debug --log-format=text --cache-sync-timeout=20m --namespace=$watched --namespace=$watched2 --log-level=debug" "$(jp "$d" "$c.args[*]}")"
expect_eq custom-serviceaccount fo-custom-sa "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq custom-sa-annotation platform "$(jp "serviceaccount/fo-custom-sa -n $ns2" '{.metadata.annotations.example\.com/owner}')"
expect_eq custom-pod-label-set-string 0042 "$(jp "$d" '{.spec.template.metadata.labels.build}')"
expect_eq custom-limits 128Mi "$(jp "$d" "$c.resources.limits.memory}")"
expect_eq custom-toleration operators "$(jp "$d" '{.spec.template.spec.tolerations[0].value}')"
k get poddisruptionbudget fo-custom -n "$ns2" >/dev/null 2>&1 && fail "PodDisruptionBudget created with replicaCount 1"
expect_eq custom-no-topology-spread "" "$(jp "$d" '{.spec.template.spec.topologySpreadConstraints}')"
grep -q '^kind: CustomResourceDefinition' "$tmp/custom.yaml" && fail "CRD rendered with crds.install=false"
expect_eq custom-pull-secret regcred "$(jp "$d" '{.spec.template.spec.imagePullSecrets[0].name}')"
expect_eq custom-metrics-service NodePort "$(jp "service/fo-custom-metrics -n $ns2" '{.spec.type}')"
for wns in "$watched" "$watched2"; do
  expect_eq "custom-role-namespace $wns" "$wns" "$(jp "role/fo-custom -n $wns" '{.metadata.namespace}')"
  expect_eq "custom-rolebinding-subject $wns" "$ns2/fo-custom-sa" "$(jp "rolebinding/fo-custom -n $wns" '{.subjects[0].namespace}/{.subjects[0].name}')"
done
k get role fo-custom-leader-election -n "$ns2" >/dev/null 2>&1 && fail "leader-election Role created with leaderElection.enabled=false"
expect_eq custom-servicemonitor-release prometheus "$(jp "servicemonitor/fo-custom -n $ns2" '{.metadata.labels.release}')"
expect_eq custom-servicemonitor-plain "http " "$(jp "servicemonitor/fo-custom -n $ns2" '{.spec.endpoints[0].scheme} {.spec.endpoints[0].bearerTokenFile}')"
want_alerts="$(grep -c '^  - alert:' "$SRC/manifests/monitoring/alerts.rules.yaml")"
expect_eq custom-prometheusrule-alerts "$want_alerts" "$(jp "prometheusrule/fo-custom -n $ns2" '{range .spec.groups[*].rules[*]}{.alert}{"\n"}{end}' | grep -c .)"
jp "configmap/fo-custom-dashboard -n $ns2" '{.data.failover-operator\.json}' | jq -e '.panels | length > 0' >/dev/null ||
  fail "dashboard ConfigMap does not hold the dashboard JSON"
log "ok: dashboard ConfigMap holds the dashboard"

log "--- non-default values: helm upgrade to one other namespace and a pod label selector"
# The Role and RoleBinding of the namespace no longer watched go, the other's stay; the
# selector reaches the container as one argument.
w hb upgrade "$rel2" "$chart" -n "$ns2" -f "$nondefault" --set "watchNamespaces={$watched2}" \
  --set-string "podLabels.build=0042" --set-string 'podLabelSelector=app in (db\,cache)\,!canary' >/dev/null
expect_eq upgraded-scope-args "--namespace=$watched2|--pod-label-selector=app in (db,cache),!canary" \
  "$(w k get $d -o json | jq -r '.spec.template.spec.containers[0].args[] | select(startswith("--namespace") or startswith("--pod-label-selector"))' | paste -sd'|')"
expect_eq upgraded-role-kept "role.rbac.authorization.k8s.io/fo-custom rolebinding.rbac.authorization.k8s.io/fo-custom" \
  "$(w k get role,rolebinding fo-custom -n "$watched2" -o name | paste -sd' ')"
expect_eq upgraded-role-removed "" "$(w k get role,rolebinding -n "$watched" -o name)"
hb get manifest "$rel2" -n "$ns2" >"$tmp/custom.manifest"
log "ok: helm upgrade moved the Roles to the namespaces now watched"

log "--- non-default values: helm uninstall"
w hb uninstall "$rel2" -n "$ns2" --wait --timeout 2m
gone custom "$tmp/custom.manifest"
until_eq custom-replicasets-pods-secrets-left "" owned_by_release "$ns2" "$rel2"
expect_eq crd-stays-after-both "$crd_uid" "$(jp "crd/$crd" '{.metadata.uid}')"
log "ok: the CRD is left installed (helm.sh/resource-policy: keep)"

grep -iE 'warn|deprecat' "$tmp/stderr" && fail "helm or kubectl printed a warning (above)"
log "ok: no warning from helm or kubectl"
log "PASS"
