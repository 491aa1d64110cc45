#!/usr/bin/env bash
# The chart's values and what they render, with the real helm and no cluster:
#  - values.schema.json covers every value of values.yaml (and names nothing else), and
#    helm lint --strict accepts the default and testdata/values-nondefault.yaml;
#  - bad values are refused by helm lint --strict and helm template, the error naming the
#    value: a negative replicaCount, an unknown pullPolicy, a key the chart does not have,
#    imagePullSecrets as bare names, ...;
#  - replicaCount 2 renders a PodDisruptionBudget and topology spread over zones and nodes,
#    replicaCount 1 neither; their values (maxUnavailable, own constraints, off) apply;
#  - imagePullSecrets render as the pod spec's objects;
#  - watchNamespace and watchNamespaces (combined, de-duplicated) render one --namespace
#    each and a Role and RoleBinding per namespace with the ClusterRole's rules instead of
#    it, the other RBAC unchanged; podLabelSelector renders one --pod-label-selector
#    argument intact (spaces, parentheses, '!', commas); NOTES.txt names both; bad names
#    and selectors are refused by the schema;
#  - secure metrics (metrics.*): --metrics-secure, the review and reader ClusterRoles, a
#    certificate Secret mounted for --metrics-cert-dir, readers bound, an https
#    ServiceMonitor with a bearer token; plain HTTP and none of that with secure false;
#  - the CRD: rendered from files/crds/ (identical to crds/ but for the metadata the chart
#    adds), annotated helm.sh/resource-policy: keep unless crds.keep=false, absent with
#    crds.install=false; the chart has no crds/ directory (Helm would install it on its own
#    and never upgrade it).
# The cluster side (helm install refusing a bad value, the PDB, the CRD kept and upgraded)
# is in test-chart.sh.
source "$(dirname "$0")/lib.sh"
use_helm
chart="$SRC/charts/failover-operator"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
unset KUBECONFIG  # helm lint and template only: no cluster

# rendered FILE [ARGS...]: the documents of templates/FILE in helm template's output.
rendered() {
  local f="$1"; shift
  hb template r "$chart" "$@" | awk -v f="templates/$f" '/^# Source: /{p = index($0, f) > 0; next} /^---/{p=0} p'
}

log "--- values.schema.json covers values.yaml"
schema="$chart/values.schema.json"
jq -e '.type == "object" and .additionalProperties == false' "$schema" >/dev/null ||
  fail "values.schema.json: the top level must be an object that refuses unknown keys"
# values.yaml as JSON, through helm itself (a template in a copy of the chart).
cp -r "$chart" "$tmp/chart"
echo '{{ .Values | toJson }}' >"$tmp/chart/templates/values-json.yaml"
hb template r "$tmp/chart" --show-only templates/values-json.yaml | sed -n '/^{/p' >"$tmp/values.json"
jq -e 'type == "object"' "$tmp/values.json" >/dev/null || fail "could not read values.yaml as JSON"
# Each value's path, down to where the schema stops listing keys (a free-form object).
missing="$(jq -r --slurpfile s "$schema" '
  def walk_paths($v; $sch; $p):
    if ($v | type) == "object" and ($sch.properties != null) then
      ($v | keys[]) as $k |
      if $sch.properties[$k] == null then "\($p + [$k] | join("."))"
      else walk_paths($v[$k]; $sch.properties[$k]; $p + [$k]) end
    else empty end;
  walk_paths(.; $s[0]; [])' "$tmp/values.json")"
[ -z "$missing" ] || fail "values.yaml has values values.schema.json does not describe: $(echo $missing)"
# ... and the schema names nothing values.yaml does not have (global is Helm's own).
extra="$(jq -r --slurpfile v "$tmp/values.json" '
  def walk_props($sch; $v; $p):
    if $sch.properties != null then
      ($sch.properties | keys[]) as $k |
      if ($p == [] and $k == "global") then empty
      elif ($v | type) != "object" or ($v | has($k) | not) then "\($p + [$k] | join("."))"
      else walk_props($sch.properties[$k]; $v[$k]; $p + [$k]) end
    else empty end;
  walk_props(.; $v[0]; [])' "$schema")"
[ -z "$extra" ] || fail "values.schema.json describes values values.yaml does not have: $(echo $extra)"
undescribed="$(jq -r '[paths(objects | select(has("type") and (has("description") | not)))] | map(map(tostring) | join(".")) | map(select(test("^properties\\.[^.]+(\\.properties\\.[^.]+)*$"))) | .[]' "$schema")"
[ -z "$undescribed" ] || fail "values.schema.json: values without a description: $(echo $undescribed)"
log "ok: every value of values.yaml is in values.schema.json, with a type and a description"

log "--- helm lint --strict"
hb lint --strict "$chart" >"$tmp/lint.out" 2>&1 || { cat "$tmp/lint.out"; fail "helm lint --strict (default values)"; }
hb lint --strict "$chart" -f "$SRC/tests/ship/testdata/values-nondefault.yaml" >"$tmp/lint.out" 2>&1 ||
  { cat "$tmp/lint.out"; fail "helm lint --strict (values-nondefault.yaml)"; }
log "ok: default and non-default values lint clean"

log "--- bad values are refused, naming the value"
# refused WHAT WANT_IN_ERROR HELM_ARGS...: helm lint --strict and helm template both fail,
# and their errors contain WANT_IN_ERROR (the value's name).
refused() {
  local what="$1" want="$2" cmd; shift 2
  for cmd in lint template; do
    local args=(lint --strict "$chart" "$@")
    [ $cmd = template ] && args=(template r "$chart" "$@")
    if hb "${args[@]}" >"$tmp/out" 2>&1; then fail "$what: helm $cmd accepted $*"; fi
    grep -q 'schema' "$tmp/out" || fail "$what: helm $cmd failed, but not on the schema: $(cat "$tmp/out")"
    grep -qF -- "$want" "$tmp/out" || fail "$what: helm $cmd's error does not name '$want': $(cat "$tmp/out")"
  done
  log "ok: $what refused: $(grep -F -- "$want" "$tmp/out" | head -1 | sed 's/^[ -]*//')"
}
refused "negative replicaCount" replicaCount --set replicaCount=-1
refused "replicaCount as text" replicaCount --set replicaCount=two
refused "unknown image.pullPolicy" pullPolicy --set image.pullPolicy=Sometimes
refused "unknown top-level key (replicas for replicaCount)" replicas --set replicas=2
refused "unknown nested key" pullPolcy --set image.pullPolcy=Always
refused "imagePullSecrets as a bare name" imagePullSecrets --set 'imagePullSecrets[0]=regcred'
refused "imagePullSecrets entry without a name" imagePullSecrets --set 'imagePullSecrets[0].secret=regcred'
refused "unknown logLevel" logLevel --set logLevel=verbose
refused "unknown logFormat" logFormat --set logFormat=xml
refused "cacheSyncTimeout without a unit" cacheSyncTimeout --set-string cacheSyncTimeout=600
refused "cacheSyncTimeout as a number" cacheSyncTimeout --set cacheSyncTimeout=600
refused "metrics port out of range" port --set metrics.port=70000
refused "watchNamespace not a namespace name" watchNamespace --set watchNamespace=Not_A_Namespace
refused "watchNamespaces entry not a namespace name" /watchNamespaces/1 --set 'watchNamespaces={apps,Not_A_Namespace}'
grep -qF "'Not_A_Namespace'" "$tmp/out" || fail "the error does not quote the bad namespace name: $(cat "$tmp/out")"
refused "watchNamespaces entry longer than 63" /watchNamespaces/0 --set "watchNamespaces={$(printf 'a%.0s' $(seq 64))}"
refused "watchNamespaces entry empty" /watchNamespaces/0 --set-json 'watchNamespaces=[""]'
refused "watchNamespaces entry a comma list" /watchNamespaces/0 --set-json 'watchNamespaces=["apps,shop"]'
refused "watchNamespaces as a string" watchNamespaces --set watchNamespaces=apps
refused "podLabelSelector with a quote" podLabelSelector --set-string 'podLabelSelector=app="db"'
refused "podLabelSelector with a line break" podLabelSelector --set-json 'podLabelSelector="app=db\n- --namespace=x"'
refused "podLabelSelector not a string" podLabelSelector --set-json 'podLabelSelector=["app=db"]'
refused "crds.install not a boolean" install --set-string crds.install=maybe
refused "negative podDisruptionBudget.minAvailable" minAvailable --set podDisruptionBudget.minAvailable=-1
refused "unknown topologySpread.whenUnsatisfiable" whenUnsatisfiable --set topologySpread.whenUnsatisfiable=Sometimes
refused "serviceMonitor.interval not a duration" interval --set serviceMonitor.interval=fast
refused "metricsService.type unknown" type --set metricsService.type=Ingress
refused "a pod label that is not a string" podLabels --set podLabels.build=42
refused "metrics.secure not a boolean" secure --set-string metrics.secure=maybe
refused "metrics.readers entry without a namespace" namespace --set 'metrics.readers[0].name=prometheus'
refused "metrics.readers as bare names" readers --set 'metrics.readers[0]=prometheus'
refused "serviceMonitor.tlsConfig not an object" tlsConfig --set serviceMonitor.tlsConfig=insecure

log "--- PodDisruptionBudget and topology spread above one replica"
rendered poddisruptionbudget.yaml --set replicaCount=2 >"$tmp/pdb.yaml"
expect_eq pdb-kind PodDisruptionBudget "$(sed -n 's/^kind: //p' "$tmp/pdb.yaml")"
expect_eq pdb-minAvailable 1 "$(sed -n 's/^  minAvailable: //p' "$tmp/pdb.yaml")"
expect_eq pdb-unhealthyPodEvictionPolicy AlwaysAllow "$(sed -n 's/^  unhealthyPodEvictionPolicy: //p' "$tmp/pdb.yaml")"
expect_eq pdb-selector "app.kubernetes.io/name: failover-operator app.kubernetes.io/instance: r app.kubernetes.io/component: operator" \
  "$(sed -n '/^    matchLabels:/,$p' "$tmp/pdb.yaml" | sed -n 's/^      //p' | paste -sd' ')"
rendered poddisruptionbudget.yaml --set replicaCount=3 --set podDisruptionBudget.maxUnavailable=1 >"$tmp/pdb3.yaml"
expect_eq pdb-maxUnavailable "1 0" "$(sed -n 's/^  maxUnavailable: //p' "$tmp/pdb3.yaml") $(grep -c minAvailable "$tmp/pdb3.yaml")"
expect_eq pdb-replicas-1 "" "$(rendered poddisruptionbudget.yaml --set replicaCount=1)"
expect_eq pdb-disabled "" "$(rendered poddisruptionbudget.yaml --set replicaCount=2 --set podDisruptionBudget.enabled=false)"
rendered deployment.yaml --set replicaCount=2 >"$tmp/deploy2.yaml"
expect_eq spread-keys "topology.kubernetes.io/zone kubernetes.io/hostname" \
  "$(sed -n 's/^      - topologyKey: //p' "$tmp/deploy2.yaml" | paste -sd' ')"
expect_eq spread-whenUnsatisfiable "ScheduleAnyway ScheduleAnyway" \
  "$(sed -n 's/^        whenUnsatisfiable: //p' "$tmp/deploy2.yaml" | paste -sd' ')"
expect_eq spread-matchLabelKeys 2 "$(grep -c '^        matchLabelKeys: \[pod-template-hash\]$' "$tmp/deploy2.yaml")"
expect_eq spread-replicas-1 0 "$(rendered deployment.yaml --set replicaCount=1 | grep -c topologySpreadConstraints)"
expect_eq spread-disabled 0 "$(rendered deployment.yaml --set replicaCount=2 --set topologySpread.enabled=false | grep -c topologySpreadConstraints)"
rendered deployment.yaml --set replicaCount=1 --set 'topologySpread.constraints[0].maxSkew=2' \
  --set 'topologySpread.constraints[0].topologyKey=example.com/rack' \
  --set 'topologySpread.constraints[0].whenUnsatisfiable=DoNotSchedule' >"$tmp/own.yaml"
expect_eq spread-own "2 example.com/rack DoNotSchedule" \
  "$(sed -n '/^      topologySpreadConstraints:/,/^      [a-z]/p' "$tmp/own.yaml" |
     sed -n 's/^ *-\{0,1\} *topologyKey: //p; s/^ *-\{0,1\} *maxSkew: //p; s/^ *-\{0,1\} *whenUnsatisfiable: //p' | paste -sd' ')"
log "ok: PodDisruptionBudget and topology spread with replicaCount > 1 only, as configured"

log "--- imagePullSecrets are objects"
rendered deployment.yaml --set 'imagePullSecrets[0].name=regcred' --set 'imagePullSecrets[1].name=mirror' >"$tmp/pull.yaml"
expect_eq imagePullSecrets "- name: regcred - name: mirror" \
  "$(sed -n '/^      imagePullSecrets:/,/^      [a-z]/p' "$tmp/pull.yaml" | sed -n 's/^        - /- /p' | paste -sd' ')"

log "--- watched namespaces and the pod label selector"
# as_json FILE: one YAML document as JSON, parsed by helm itself (FILE as a values file of an
# empty chart that prints its values).
mkdir -p "$tmp/yj/templates"
printf 'apiVersion: v2\nname: yj\nversion: 0.0.0\n' >"$tmp/yj/Chart.yaml"
echo '{{ .Values | toJson }}' >"$tmp/yj/templates/j.yaml"
as_json() { hb template yj "$tmp/yj" -f "$1" | sed -n '/^{/p'; }
# ns_args HELM_ARGS...: the Deployment's --namespace and --pod-label-selector arguments,
# one a line, exactly as the container gets them.
ns_args() {
  rendered deployment.yaml "$@" >"$tmp/ns-deploy.yaml"
  as_json "$tmp/ns-deploy.yaml" | jq -r '.spec.template.spec.containers[0].args[] | select(startswith("--namespace") or startswith("--pod-label-selector"))'
}
# objects HELM_ARGS...: "kind name namespace" of every object of templates/rbac.yaml.
objects() {
  hb template r "$chart" --show-only templates/rbac.yaml "$@" | awk '
    function out() { if (k != "") print k, n, (ns == "" ? "-" : ns); k = n = ns = "" }
    /^---/ { out(); next }
    /^kind: / { k = $2 }
    /^metadata:/ { m = 1; next }
    /^[^ ]/ { m = 0 }
    m && /^  name: / { n = $2 }
    m && /^  namespace: / { ns = $2; gsub(/"/, "", ns) }
    END { out() }'
}
# The objects that grant the operator's rules on groups, pods and services: the (Cluster)Role
# and (Cluster)RoleBinding named r-failover-operator.
operator_rbac() { objects "$@" | awk '$2 == "r-failover-operator"' | sort | paste -sd' '; }
expect_eq all-namespaces-rbac "ClusterRole r-failover-operator - ClusterRoleBinding r-failover-operator -" "$(operator_rbac)"
expect_eq all-namespaces-args "" "$(ns_args)"
expect_eq two-namespaces-rbac \
  "Role r-failover-operator billing Role r-failover-operator shop RoleBinding r-failover-operator billing RoleBinding r-failover-operator shop" \
  "$(operator_rbac --set 'watchNamespaces={shop,billing}')"
expect_eq two-namespaces-args "--namespace=shop --namespace=billing" "$(ns_args --set 'watchNamespaces={shop,billing}' | paste -sd' ')"
# Each Role has the ClusterRole's rules; each binding names its Role and the operator's
# ServiceAccount in the release namespace.
hb template r "$chart" --show-only templates/rbac.yaml >"$tmp/rbac-all.yaml"
hb template r "$chart" -n ops --show-only templates/rbac.yaml --set 'watchNamespaces={shop,billing}' >"$tmp/rbac-two.yaml"
doc_of() {  # doc_of FILE KIND NAMESPACE: that object of FILE (namespace - for none)
  awk -v k="$2" -v ns="$3" 'BEGIN{RS="\n---\n"} $0 ~ ("(^|\n)kind: " k "\n") && (ns == "-" ? $0 !~ /\n  namespace: / : index($0, "\n  namespace: \"" ns "\"\n") > 0) && /\n  name: r-failover-operator\n/' "$1"
}
rules_of() { doc_of "$@" | sed -n '/^rules:/,$p'; }
want_rules="$(rules_of "$tmp/rbac-all.yaml" ClusterRole -)"
[ -n "$want_rules" ] || fail "no rules in the ClusterRole r-failover-operator"
for ns in shop billing; do
  [ "$(rules_of "$tmp/rbac-two.yaml" Role "$ns")" = "$want_rules" ] ||
    fail "the Role in $ns does not have the ClusterRole's rules: $(rules_of "$tmp/rbac-two.yaml" Role "$ns")"
  log "ok: role-rules-$ns: the ClusterRole's $(grep -c '^ *- apiGroups:' <<<"$want_rules") rules"
  expect_eq "rolebinding-$ns" "Role r-failover-operator ServiceAccount r-failover-operator ops" \
    "$(doc_of "$tmp/rbac-two.yaml" RoleBinding "$ns" | sed -n '/^roleRef:/,$p' | awk '/^  kind: /{printf "%s ", $2} /^  name: /{printf "%s ", $2} /^- kind: /{printf "%s ", $3} /^  namespace: /{printf "%s", $2}')"
done
# What stays as it is whatever namespaces are watched: the node Leases' Role, the Nodes'
# ClusterRole, the metrics ClusterRoles, the leader-election Role.
expect_eq two-namespaces-other-rbac "$(objects | awk '$2 != "r-failover-operator"' | sort | paste -sd' ')" \
  "$(objects --set 'watchNamespaces={shop,billing}' | awk '$2 != "r-failover-operator"' | sort | paste -sd' ')"
# watchNamespace (one, kept) and watchNamespaces are combined, watchNamespace first, each once.
expect_eq combined-args "--namespace=shop --namespace=billing --namespace=apps" \
  "$(ns_args --set watchNamespace=shop --set 'watchNamespaces={billing,shop,apps,billing}' | paste -sd' ')"
expect_eq combined-rbac \
  "Role r-failover-operator apps Role r-failover-operator billing Role r-failover-operator shop RoleBinding r-failover-operator apps RoleBinding r-failover-operator billing RoleBinding r-failover-operator shop" \
  "$(operator_rbac --set watchNamespace=shop --set 'watchNamespaces={billing,shop,apps,billing}')"
expect_eq watchNamespace-alone-args "--namespace=shop" "$(ns_args --set watchNamespace=shop)"
expect_eq watchNamespace-alone-rbac "Role r-failover-operator shop RoleBinding r-failover-operator shop" "$(operator_rbac --set watchNamespace=shop)"
# A namespace YAML would read as another type stays a string (quoted).
expect_eq yaml-lookalike-namespaces "Role r-failover-operator 123 Role r-failover-operator no RoleBinding r-failover-operator 123 RoleBinding r-failover-operator no" \
  "$(operator_rbac --set-json 'watchNamespaces=["no","123"]')"
hb template r "$chart" --show-only templates/rbac.yaml --set-json 'watchNamespaces=["no","123"]' >"$tmp/rbac-lookalike.yaml"
expect_eq yaml-lookalike-quoted 4 "$(grep -c '^  namespace: "\(no\|123\)"$' "$tmp/rbac-lookalike.yaml")"
# The selector is one argument, intact, however it is given.
expect_eq selector-set-string "--pod-label-selector=app in (db,cache)" "$(ns_args --set-string 'podLabelSelector=app in (db\,cache)')"
printf 'podLabelSelector: "app in (db,cache),!canary,tier!=batch"\nwatchNamespaces: [shop]\n' >"$tmp/selector-values.yaml"
expect_eq selector-values-file "--namespace=shop|--pod-label-selector=app in (db,cache),!canary,tier!=batch" \
  "$(ns_args -f "$tmp/selector-values.yaml" | paste -sd'|')"
expect_eq selector-quoted-line 1 "$(grep -cF -- '- "--pod-label-selector=app in (db,cache),!canary,tier!=batch"' "$tmp/ns-deploy.yaml")"
hb lint --strict "$chart" -f "$tmp/selector-values.yaml" --set watchNamespace=apps >"$tmp/lint.out" 2>&1 ||
  { cat "$tmp/lint.out"; fail "helm lint --strict with watchNamespaces and podLabelSelector"; }
# NOTES.txt names the namespaces and the selector (rendered as a template of the chart's
# copy: helm template leaves NOTES.txt out, helm install --dry-run needs a cluster).
{ echo '{{- define "test.notes" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end -}}'; } >"$tmp/chart/templates/_notes.tpl"
printf 'notes: |\n{{ include "test.notes" . | indent 2 }}\n' >"$tmp/chart/templates/notes-txt.yaml"
notes() { hb template r "$tmp/chart" --show-only templates/notes-txt.yaml "$@" | sed -n 's/^  //p'; }
expect_eq notes-all "It watches FailoverGroups, Pods and Services in every namespace." "$(notes | grep '^It watches')"
expect_eq notes-one "It watches FailoverGroups, Pods and Services in namespace shop only." "$(notes --set watchNamespace=shop | grep '^It watches')"
expect_eq notes-two "It watches FailoverGroups, Pods and Services in these 2 namespaces only: shop, billing." \
  "$(notes --set watchNamespace=shop --set 'watchNamespaces={shop,billing}' | grep '^It watches')"
expect_eq notes-selector 'It caches only the pods matching the label selector "app in (db,cache),!canary,tier!=batch": a member'"'"'s pods must carry' \
  "$(notes -f "$tmp/selector-values.yaml" | grep '^It caches')"
log "ok: watched namespaces render one --namespace and one Role and RoleBinding each (no ClusterRole for them), combined and de-duplicated; the selector one intact argument"

log "--- secure metrics"
args() { rendered deployment.yaml "$@" | sed -n 's/^        - \(--metrics[a-z-]*=.*\)$/\1/p' | paste -sd' '; }
expect_eq secure-default-args "--metrics-bind-address=:8443 --metrics-secure=true" "$(args)"
expect_eq secure-default-no-volume 0 "$(rendered deployment.yaml | grep -c 'volumes:')"
# The RBAC documents with their --- separators (helm orders them by kind).
rbac_docs() { hb template r "$chart" --show-only templates/rbac.yaml "$@"; }
rbac_docs >"$tmp/rbac.yaml"
cluster_roles() { awk '/^kind: ClusterRole$/{c=1; next} c && /^  name: /{print $2; c=0}' "$1" | paste -sd' '; }
expect_eq secure-cluster-roles "r-failover-operator r-failover-operator-nodes r-failover-operator-metrics-auth r-failover-operator-metrics-reader" "$(cluster_roles "$tmp/rbac.yaml")"
expect_eq secure-review-rules "tokenreviews create subjectaccessreviews create" \
  "$(awk '/^kind: ClusterRole$/{c=1} /^---/{c=0} c' "$tmp/rbac.yaml" | sed -n '/^  name: r-failover-operator-metrics-auth$/,/^kind:/p' | sed -n 's/^  resources: \["\(.*\)"\]$/\1/p; s/^  verbs: \["\(.*\)"\]$/\1/p' | paste -sd' ')"
expect_eq secure-reader-rule '- nonResourceURLs: ["/metrics"] verbs: ["get"]' \
  "$(awk '/^kind: ClusterRole$/{c=1} /^---/{c=0} c' "$tmp/rbac.yaml" | sed -n '/^  name: r-failover-operator-metrics-reader$/,/^kind:/p' | sed -n '/^rules:/,$p' | sed -n 's/^\(- nonResourceURLs: .*\)$/\1/p; s/^  \(verbs: .*\)$/\1/p' | paste -sd' ')"
# No reader bound by default: the one object so named is the ClusterRole.
expect_eq secure-no-reader-binding 1 "$(grep -c '^  name: r-failover-operator-metrics-reader$' "$tmp/rbac.yaml")"
rbac_docs --set 'metrics.readers[0].name=prometheus-k8s' --set 'metrics.readers[0].namespace=monitoring' >"$tmp/readers.yaml"
expect_eq secure-reader-binding "ServiceAccount monitoring/prometheus-k8s" \
  "$(awk '/^kind: ClusterRoleBinding$/{b=1} b && /^  name: r-failover-operator-metrics-reader$/{r=1} r && /^- kind: /{k=$3} r && /^  name: /{n=$2} r && /^  namespace: /{print k, $2 "/" n; exit}' "$tmp/readers.yaml")"
rbac_docs --set watchNamespace=apps >"$tmp/rbac-ns.yaml"
expect_eq secure-watchNamespace-cluster-roles "r-failover-operator-nodes r-failover-operator-metrics-auth r-failover-operator-metrics-reader" "$(cluster_roles "$tmp/rbac-ns.yaml")"
rendered deployment.yaml --set metrics.certSecret=operator-metrics-tls >"$tmp/cert.yaml"
expect_eq secure-cert-args "--metrics-bind-address=:8443 --metrics-secure=true --metrics-cert-dir=/etc/failover-operator/metrics-cert" \
  "$(args --set metrics.certSecret=operator-metrics-tls)"
expect_eq secure-cert-volume "operator-metrics-tls" "$(sed -n 's/^          secretName: //p' "$tmp/cert.yaml")"
expect_eq secure-cert-mount "/etc/failover-operator/metrics-cert true" \
  "$(sed -n '/^        volumeMounts:/,/^      [a-z]/p' "$tmp/cert.yaml" | sed -n 's/^ *mountPath: //p; s/^ *readOnly: //p' | paste -sd' ')"
rendered servicemonitor.yaml --set serviceMonitor.enabled=true >"$tmp/sm.yaml"
expect_eq secure-servicemonitor "https /var/run/secrets/kubernetes.io/serviceaccount/token true" \
  "$(sed -n 's/^    scheme: //p; s/^    bearerTokenFile: //p; s/^      insecureSkipVerify: //p' "$tmp/sm.yaml" | paste -sd' ')"
rendered servicemonitor.yaml --set serviceMonitor.enabled=true --set serviceMonitor.tlsConfig.insecureSkipVerify=false \
  --set serviceMonitor.tlsConfig.serverName=fo-metrics.failover-system.svc >"$tmp/sm-ca.yaml"
expect_eq secure-servicemonitor-tls "false fo-metrics.failover-system.svc" \
  "$(sed -n 's/^      insecureSkipVerify: //p; s/^      serverName: //p' "$tmp/sm-ca.yaml" | paste -sd' ')"
expect_eq plain-args "--metrics-bind-address=:8443 --metrics-secure=false" "$(args --set metrics.secure=false --set metrics.certSecret=ignored)"
rbac_docs --set metrics.secure=false >"$tmp/rbac-plain.yaml"
expect_eq plain-cluster-roles "r-failover-operator r-failover-operator-nodes" "$(cluster_roles "$tmp/rbac-plain.yaml")"
rendered servicemonitor.yaml --set serviceMonitor.enabled=true --set metrics.secure=false >"$tmp/sm-plain.yaml"
expect_eq plain-servicemonitor "http 0" "$(sed -n 's/^    scheme: //p' "$tmp/sm-plain.yaml") $(grep -c '^ *\(bearerTokenFile\|tlsConfig\):' "$tmp/sm-plain.yaml" || true)"
log "ok: secure metrics by default, with its RBAC, certificate and ServiceMonitor; plain only when asked"

log "--- the CRD, as a template"
[ -e "$chart/crds" ] && fail "the chart has a crds/ directory: Helm would install it itself and never upgrade it"
crd_src="$SRC/crds/failovergroups.failover.io.yaml"
crd_copy="$chart/files/crds/failovergroups.failover.io.yaml"
cmp -s "$crd_src" "$crd_copy" || fail "files/crds/ differs from crds/ (make sync-manifests)"
rendered crds.yaml >"$tmp/crd.yaml"
expect_eq crd-kind CustomResourceDefinition "$(sed -n 's/^kind: //p' "$tmp/crd.yaml")"
expect_eq crd-keep keep "$(sed -n 's/^    helm.sh\/resource-policy: //p' "$tmp/crd.yaml")"
expect_eq crd-labels "failover-operator r" "$(sed -n 's/^    app.kubernetes.io\/name: //p; s/^    app.kubernetes.io\/instance: //p' "$tmp/crd.yaml" | paste -sd' ')"
# The rendered CRD is the source with the chart's labels and annotations added to metadata.
awk '/^metadata:$/{print; m=1; next} m && /^  (labels|annotations):$/{skip=1; next} m && skip && /^    /{next} {skip=0} /^spec:$/{m=0} {print}' \
  "$tmp/crd.yaml" | sed '/^$/d' >"$tmp/crd-stripped.yaml"
diff <(sed '/^$/d' "$crd_src") "$tmp/crd-stripped.yaml" >"$tmp/crd.diff" ||
  { head -20 "$tmp/crd.diff"; fail "the rendered CRD differs from crds/ beyond its metadata's labels and annotations"; }
expect_eq crd-no-keep 0 "$(rendered crds.yaml --set crds.keep=false | grep -c 'helm.sh/resource-policy')"
expect_eq crd-not-installed "" "$(rendered crds.yaml --set crds.install=false)"
log "ok: the CRD renders from crds/, kept on uninstall unless crds.keep=false, absent with crds.install=false"
log "PASS"
