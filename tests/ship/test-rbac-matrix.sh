#!/usr/bin/env bash
# The shipped roles give the operator's ServiceAccount what it needs and nothing else:
# an access matrix through `kubectl auth can-i --as` (SubjectAccessReview) for the
# kustomize manifests and for the chart watching two namespaces (a Role in each, nothing
# elsewhere). Secure metrics: the operator may create TokenReviews and SubjectAccessReviews
# and read nothing through them; a scraper bound to the metrics-reader ClusterRole may get
# /metrics and nothing else.
source "$(dirname "$0")/lib.sh"
use_cluster
use_helm

on_exit "k delete -k '$SRC/manifests/rbac' --ignore-not-found; k delete namespace failover-system --ignore-not-found --timeout=90s"
# can-i resolves failovergroups through discovery: the CRD must be installed.
crd_existed=0
k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
k apply -k "$SRC/manifests/crd" >/dev/null
crd_established failovergroups.failover.io
k apply -f "$SRC/manifests/manager/namespace.yaml"
k apply -k "$SRC/manifests/rbac"

results="$(mktemp)"
on_exit "rm -f '$results'"
# can VERB RESOURCE NAMESPACE|-A [SUBRESOURCE] -> yes|no for subject $SA
can() {
  local ns=(-n "$3"); [ "$3" = "-A" ] && ns=(-A)
  local sub=(); [ -n "${4:-}" ] && sub=(--subresource "$4")
  k auth can-i "$1" "$2" "${ns[@]}" "${sub[@]}" --as "$SA" 2>/dev/null || true
}
expect_one() {  # expect_one yes|no VERB RESOURCE NS [SUBRESOURCE]
  local got; got="$(can "$2" "$3" "$4" "${5:-}")"
  local what="$2 $3${5:+/$5} in ${4/-A/all namespaces}"
  if [ "$got" = "$1" ]; then printf '  %-3s %s\n' "$got" "$what" >>"$results"; else
    printf '  %-3s %s   <-- want %s\n' "$got" "$what" "$1" >>"$results"; fi
}
# expect ...: like expect_one, four checks at a time (each is one SubjectAccessReview).
expect() {
  while [ "$(jobs -rp | wc -l)" -ge 4 ]; do wait -n || true; done
  expect_one "$@" &
}
report() {  # prints and clears the results of one matrix
  wait
  sort -k2 "$results"
  cat "$results" >>"$results.all"
  : >"$results"
}
on_exit "rm -f '$results.all'"

matrix() {  # matrix WORKLOAD_NS OPERATOR_NS
  local ns="$1" own="$2"
  for v in get list watch patch; do expect yes "$v" failovergroups.failover.io "$ns"; done
  for v in create delete update; do expect no "$v" failovergroups.failover.io "$ns"; done
  expect yes update failovergroups.failover.io "$ns" status
  expect yes patch failovergroups.failover.io "$ns" status
  expect yes update failovergroups.failover.io "$ns" finalizers
  for v in get list watch patch delete; do expect yes "$v" pods "$ns"; done
  for v in create update; do expect no "$v" pods "$ns"; done
  expect no create pods "$ns" exec
  expect no get pods "$ns" log
  expect no create pods "$ns" eviction
  expect no patch pods "$ns" status
  for v in get list watch patch; do expect yes "$v" services "$ns"; done
  for v in create delete update; do expect no "$v" services "$ns"; done
  expect yes create events "$ns"
  expect yes patch events "$ns"
  expect no delete events "$ns"
  for v in get list watch create update patch delete; do expect no "$v" secrets "$ns"; done
  expect no get secrets -A
  for v in get list; do expect no "$v" configmaps "$ns"; done
  for v in create update patch delete; do
    expect no "$v" deployments.apps "$ns"
    expect no "$v" endpoints "$ns"
    expect no "$v" endpointslices.discovery.k8s.io "$ns"
    expect no "$v" namespaces "$ns"
    expect no "$v" nodes "$ns"
  done
  expect no update services "$ns" status
  expect no create serviceaccounts "$ns" token
  for v in create update patch delete escalate bind; do
    expect no "$v" clusterroles.rbac.authorization.k8s.io "$ns"
    expect no "$v" roles.rbac.authorization.k8s.io "$ns"
  done
  expect no create customresourcedefinitions.apiextensions.k8s.io "$ns"
  expect yes create leases.coordination.k8s.io "$own"
  for v in get update; do
    expect yes "$v" "leases.coordination.k8s.io/$lease" "$own"
    expect no "$v" leases.coordination.k8s.io/someone-elses "$own"
  done
  for v in delete list watch patch; do expect no "$v" "leases.coordination.k8s.io/$lease" "$own"; done
  expect no create leases.coordination.k8s.io "$ns"
  expect no update leases.coordination.k8s.io kube-system
  # Node-lease detection: read the node Leases, write none of them, read no other Lease.
  for v in get list watch; do expect yes "$v" leases.coordination.k8s.io kube-node-lease; done
  for v in create update patch delete; do expect no "$v" leases.coordination.k8s.io kube-node-lease; done
  expect no list leases.coordination.k8s.io kube-system
  # Zones: list/watch the Nodes (their zone label), nothing more of them.
  for v in list watch; do expect yes "$v" nodes "$ns"; done
  expect no get nodes "$ns"
  expect no get nodes "$ns" status
  # Secure metrics: the two reviews, create only (cluster-scoped).
  expect yes create tokenreviews.authentication.k8s.io -A
  expect yes create subjectaccessreviews.authorization.k8s.io -A
  for v in get list; do
    expect no "$v" tokenreviews.authentication.k8s.io -A
    expect no "$v" subjectaccessreviews.authorization.k8s.io -A
  done
  expect no create localsubjectaccessreviews.authorization.k8s.io "$ns"
  expect no create certificatesigningrequests.certificates.k8s.io -A
}
# can_url VERB PATH SUBJECT -> yes|no
can_url() { k auth can-i "$1" "$2" --as "$3" 2>/dev/null || true; }

SA=system:serviceaccount:failover-system:failover-operator
echo "access matrix of $SA (manifests/rbac, all namespaces):"
lease=failover-operator-leader
matrix "$(unique ship-any)" failover-system
expect_eq "$SA get /metrics (not a scraper)" no "$(can_url get /metrics "$SA")"
report

# The metrics-reader ClusterRole, bound to a scraper's ServiceAccount: get /metrics, nothing else.
scraper_ns="$(unique ship-scraper)"
on_exit "k delete namespace $scraper_ns --ignore-not-found --wait=false; k delete clusterrolebinding $scraper_ns --ignore-not-found"
k create namespace "$scraper_ns" >/dev/null
k create serviceaccount prometheus -n "$scraper_ns" >/dev/null
k create clusterrolebinding "$scraper_ns" --clusterrole=failover-operator-metrics-reader --serviceaccount="$scraper_ns:prometheus" >/dev/null
scraper="system:serviceaccount:$scraper_ns:prometheus"
expect_eq "scraper get /metrics" yes "$(can_url get /metrics "$scraper")"
expect_eq "scraper post /metrics" no "$(can_url post /metrics "$scraper")"
expect_eq "scraper get /metrics/extra" no "$(can_url get /metrics/extra "$scraper")"
expect_eq "scraper get pods" no "$(k auth can-i get pods -A --as "$scraper" 2>/dev/null || true)"
expect_eq "scraper create tokenreviews" no "$(k auth can-i create tokenreviews.authentication.k8s.io --as "$scraper" 2>/dev/null || true)"
log "ok: metrics-reader allows get /metrics and nothing else"

# The chart watching two namespaces (watchNamespace and watchNamespaces): a Role in each of
# them only.
rel="$(unique shiprbac)"
opns="$(unique ship-op)"; watched="$(unique ship-watched)"; watched2="$(unique ship-watched2)"; other="$(unique ship-other)"
on_exit "k delete namespace $opns $watched $watched2 --wait=false"
k create namespace "$opns" >/dev/null
k create namespace "$watched" >/dev/null
k create namespace "$watched2" >/dev/null
# crds.install=false: the objects are applied and deleted with kubectl, and the CRD is not
# this test's to replace or delete.
hb template "$rel" "$SRC/charts/failover-operator" -n "$opns" --set "watchNamespace=$watched" \
  --set "watchNamespaces={$watched2}" --set crds.install=false >"${TMPDIR:-/tmp}/$rel.yaml"
grep -q '^kind: CustomResourceDefinition' "${TMPDIR:-/tmp}/$rel.yaml" && fail "the chart rendered the CRD with crds.install=false"
on_exit "rm -f '${TMPDIR:-/tmp}/$rel.yaml'"
# Cluster-wide roles: secure metrics' (the reviews, and /metrics for scrapers) and the
# Nodes' reader (zones), Nodes being cluster-scoped.
cluster_roles="$(awk '/^kind: ClusterRole$/{c=1; next} c && /^  name: /{print $2; c=0}' "${TMPDIR:-/tmp}/$rel.yaml" | sort | paste -sd' ')"
expect_eq "watchNamespaces chart ClusterRoles" "$rel-failover-operator-metrics-auth $rel-failover-operator-metrics-reader $rel-failover-operator-nodes" "$cluster_roles"
k apply -f "${TMPDIR:-/tmp}/$rel.yaml" >/dev/null
on_exit "k delete -f '${TMPDIR:-/tmp}/$rel.yaml' --ignore-not-found --wait=false"
SA="system:serviceaccount:$opns:$rel-failover-operator"
lease="$rel-failover-operator-leader"
echo "access matrix of $SA (chart, watchNamespace=$watched, watchNamespaces={$watched2}):"
matrix "$watched" "$opns"
matrix "$watched2" "$opns"
for v in get list watch patch delete; do expect no "$v" pods "$other"; done
for v in get list watch patch; do expect no "$v" failovergroups.failover.io "$other"; expect no "$v" services "$other"; done
expect no list pods -A
report

failures="$(grep -c '<-- want' "$results.all" || true)"
total="$(wc -l <"$results.all")"
[ "$failures" -eq 0 ] || fail "$failures of $total access-matrix entries differ"
log "ok: $total access-matrix entries as expected"
log "PASS"
