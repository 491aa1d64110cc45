#!/usr/bin/env bash
# An upgrade from the previous chart version with the real helm against the local apiserver,
# as docs/install.md ("Upgrading from chart 0.1.0") tells a platform team to do it:
#  - chart 0.1.0, taken from the repository's history (as it was just before the commit
#    that moved Chart.yaml off 0.1.0), is installed with values in its own form (imagePullSecrets as
#    names); it creates the CRD from its crds/ directory, as Helm does, owned by no release;
#    a FailoverGroup is created;
#  - helm upgrade to the working tree's chart with the old values (--reset-then-reuse-values)
#    is refused by values.schema.json naming imagePullSecrets; with the values converted but
#    the CRD not adopted it is refused naming the CRD's ownership; nothing changes either time;
#  - after adopting the CRD as documented, helm upgrade succeeds: the same CRD (same uid) is
#    now the release's (keep policy) and its spec is the working tree's crds/; the
#    FailoverGroup is still there, same uid and spec; the Deployment is updated in place (same
#    uid, a new generation, the new chart's args, topology spread, imagePullSecrets as
#    objects, the values carried over); the ServiceAccount, RBAC and metrics Service are the
#    same objects; the new PodDisruptionBudget exists; what the release applied is what helm
#    template renders for the new chart;
#  - helm uninstall keeps the CRD and the FailoverGroup.
# A warning from helm or kubectl fails the test.
source "$(dirname "$0")/lib.sh"
use_cluster
use_helm
chart="$SRC/charts/failover-operator"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
crd=failovergroups.failover.io
: >"$tmp/stderr"
w() {  # w CMD...: runs CMD, shows its stderr; a warning there fails the test
  local rc=0 e="$tmp/stderr.$BASHPID"
  "$@" 2>"$e" || rc=$?
  cat "$e" >&2
  if grep -qiE 'warn|deprecat' "$e"; then fail "warning from '$*': $(grep -iE 'warn|deprecat' "$e" | head -3)"; fi
  return $rc
}
jp() { w k get $1 -o "jsonpath=$2"; }

log "--- chart 0.1.0 from the repository's history"
command -v git >/dev/null && git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
  fail "$SRC is not a git checkout: the previous chart version is read from its history"
# The chart as it last was at 0.1.0: the parent of the commit that moved Chart.yaml off
# 0.1.0 (commits between that left Chart.yaml alone may have changed the chart's files).
old_commit="" newer=""
for c in $(git -C "$SRC" log --format=%H -- charts/failover-operator/Chart.yaml); do
  if git -C "$SRC" show "$c:charts/failover-operator/Chart.yaml" 2>/dev/null | grep -qx 'version: 0.1.0'; then
    [ -n "$newer" ] && old_commit="$(git -C "$SRC" rev-parse "$newer^")"
    break
  fi
  newer="$c"
done
[ -n "$old_commit" ] || fail "no commit moved charts/failover-operator/Chart.yaml off version 0.1.0 (a shallow clone?)"
git -C "$SRC" show "$old_commit:charts/failover-operator/Chart.yaml" | grep -qx 'version: 0.1.0' ||
  fail "the chart at $old_commit is not 0.1.0"
mkdir -p "$tmp/old"
git -C "$SRC" archive "$old_commit" charts/failover-operator | tar -x -C "$tmp/old"
old="$tmp/old/charts/failover-operator"
[ -f "$old/crds/$crd.yaml" ] || fail "chart 0.1.0 at $old_commit has no crds/$crd.yaml"
new_version="$(sed -n 's/^version: *//p' "$chart/Chart.yaml")"
log "ok: chart 0.1.0 from ${old_commit:0:12}; upgrading to $new_version (working tree)"

# Chart 0.1.0 installs the CRD from crds/ only where there is none: start as a cluster
# without it. A CRD other suites left is given back at the end as crds/ defines it.
crd_existed=0
k get crd "$crd" >/dev/null 2>&1 && crd_existed=1
if [ "$crd_existed" = 1 ]; then
  # No operator runs while this test holds the cluster: a group still carrying the operator's
  # finalizer would hold the CRD in Terminating for good, and every later test with it. Said
  # before anything is deleted (the CRD is left as it is).
  held="$(k get fg -A -o json | jq -r '.items[] | select((.metadata.finalizers // []) | length > 0)
    | "\(.metadata.namespace)/\(.metadata.name)"' | tr '\n' ' ')"
  [ -z "$held" ] || fail "FailoverGroups left with a finalizer and no operator (an earlier test's clean-up): $held"
fi
on_exit "[ $crd_existed = 1 ] && { k delete crd $crd --ignore-not-found --timeout=60s; k apply -f '$SRC/crds/$crd.yaml'; } || k delete crd $crd --ignore-not-found --timeout=60s"
if [ "$crd_existed" = 1 ]; then w k delete crd "$crd" --timeout=60s >/dev/null; fi

rel="$(unique shipupg)"; ns="$(unique ship-upgrade)"
on_exit "k delete namespace $ns --ignore-not-found --wait=false"
on_exit "k delete clusterrole,clusterrolebinding -l app.kubernetes.io/instance=$rel --ignore-not-found"
on_exit "hb uninstall $rel -n $ns --ignore-not-found"
w k create namespace "$ns" >/dev/null
w k label namespace "$ns" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null

log "--- helm install chart 0.1.0, values in 0.1.0's form"
cat >"$tmp/values-0.1.yaml" <<'YAML'
imagePullSecrets: [regcred]
logLevel: debug
extraArgs: ["--workers=8"]
YAML
w hb install "$rel" "$old" -n "$ns" -f "$tmp/values-0.1.yaml" >/dev/null
release() { hb list -n "$ns" -o json | jq -r --arg r "$rel" '.[] | select(.name == $r) | "\(.status) \(.revision) \(.chart)"'; }
expect_eq "0.1.0 release" "deployed 1 failover-operator-0.1.0" "$(release)"
crd_established "$crd"
expect_eq "0.1.0's CRD is owned by no release" "" "$(jp "crd/$crd" '{.metadata.annotations.meta\.helm\.sh/release-name}')"
d="deployment/$rel-failover-operator -n $ns"
expect_eq "0.1.0 imagePullSecrets" regcred "$(jp "$d" '{.spec.template.spec.imagePullSecrets[*].name}')"
cat <<YAML | w k apply -f - >/dev/null
apiVersion: failover.io/v1alpha1
kind: FailoverGroup
metadata: {name: orders, namespace: $ns}
spec:
  members:
  - {name: site-a, selector: {matchLabels: {site: a}}}
  - {name: site-b, selector: {matchLabels: {site: b}}}
  services: [{name: orders}]
YAML
uids() {  # the uids of the objects an upgrade must keep, one a line
  jp "crd/$crd" '{.metadata.uid}'; echo
  jp "fg/orders -n $ns" '{.metadata.uid}'; echo
  for o in "$d" "serviceaccount/$rel-failover-operator -n $ns" "clusterrole/$rel-failover-operator" \
           "clusterrolebinding/$rel-failover-operator" "service/$rel-failover-operator-metrics -n $ns"; do
    jp "$o" '{.kind}/{.metadata.name} {.metadata.uid}'; echo
  done
}
uids >"$tmp/uids.before"
[ "$(grep -c . "$tmp/uids.before")" = 7 ] || fail "missing objects after the 0.1.0 install: $(cat "$tmp/uids.before")"
gen0="$(jp "$d" '{.metadata.generation}')"
fg_spec0="$(k get fg orders -n "$ns" -o json | jq -cS .spec)"
k get crd "$crd" -o json | jq -cS .spec.versions >"$tmp/crd.before"
log "ok: 0.1.0 installed: $(grep -c . "$tmp/uids.before") objects recorded, a FailoverGroup created"

log "--- helm upgrade with the values as they were: refused by the schema"
if hb upgrade "$rel" "$chart" -n "$ns" --reset-then-reuse-values >/dev/null 2>"$tmp/err"; then
  fail "helm upgrade accepted imagePullSecrets as names"
fi
grep -q "imagePullSecrets" "$tmp/err" && grep -qi "schema" "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
log "ok: refused: $(grep -m1 -o 'imagePullSecrets.*' "$tmp/err")"

log "--- helm upgrade with the values converted, the CRD not adopted: refused"
cat >"$tmp/values-0.2.yaml" <<'YAML'
imagePullSecrets: [{name: regcred}]
logLevel: debug
extraArgs: ["--workers=8"]
YAML
if hb upgrade "$rel" "$chart" -n "$ns" -f "$tmp/values-0.2.yaml" >/dev/null 2>"$tmp/err"; then
  fail "helm upgrade took over a CRD no release owns"
fi
grep -q "CustomResourceDefinition \"$crd\" in namespace \"\" exists and cannot be imported into the current release" "$tmp/err" ||
  fail "unexpected error: $(cat "$tmp/err")"
expect_eq "Deployment untouched by the refused upgrades" "$gen0" "$(jp "$d" '{.metadata.generation}')"
log "ok: refused: $(grep -m1 -o 'invalid ownership metadata.*' "$tmp/err" | cut -c1-120)"

log "--- adopt the CRD (docs/install.md) and upgrade"
w k label crd "$crd" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
w k annotate crd "$crd" "meta.helm.sh/release-name=$rel" "meta.helm.sh/release-namespace=$ns" --overwrite >/dev/null
w hb upgrade "$rel" "$chart" -n "$ns" -f "$tmp/values-0.2.yaml" >/dev/null
expect_eq "upgraded release" "deployed failover-operator-$new_version" "$(release | awk '{print $1, $3}')"
uids >"$tmp/uids.after"
diff "$tmp/uids.before" "$tmp/uids.after" || fail "an object was replaced or lost by the upgrade (uids above)"
log "ok: the CRD, the FailoverGroup, the Deployment, ServiceAccount, RBAC and metrics Service are the same objects"

expect_eq "CRD owned by the release, kept on uninstall" "$rel $ns keep Helm" \
  "$(jp "crd/$crd" '{.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.annotations.meta\.helm\.sh/release-namespace} {.metadata.annotations.helm\.sh/resource-policy} {.metadata.labels.app\.kubernetes\.io/managed-by}')"
python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["spec"]["versions"], sort_keys=True))' \
  "$SRC/crds/$crd.yaml" >"$tmp/crd.want"
k get crd "$crd" -o json | jq -cS .spec.versions >"$tmp/crd.got"
jq -cS . "$tmp/crd.want" | diff - "$tmp/crd.got" >/dev/null || fail "the CRD's versions are not the working tree's crds/$crd.yaml"
if cmp -s "$tmp/crd.before" "$tmp/crd.got"; then
  log "ok: the CRD served is the working tree's crds/$crd.yaml (0.1.0 shipped the same one)"
else
  log "ok: the CRD served is the working tree's crds/$crd.yaml, changed from 0.1.0's by the upgrade"
fi
# Nothing of the group is lost: every field it had is there with its value (a newer CRD may
# add defaults, which the apiserver applies when the group is read).
k get fg orders -n "$ns" -o json | jq -cS .spec >"$tmp/fg.after"
jq -e --argjson old "$fg_spec0" 'contains($old)' "$tmp/fg.after" >/dev/null ||
  fail "the FailoverGroup lost fields: before $fg_spec0, after $(cat "$tmp/fg.after")"
log "ok: FailoverGroup spec kept; added by the new CRD's defaults: $(jq -cS --argjson old "$fg_spec0" '[paths(scalars) as $p | select(($old | getpath($p)) == null) | $p | join(".")]' "$tmp/fg.after")"

gen1="$(jp "$d" '{.metadata.generation}')"
[ "$gen1" -gt "$gen0" ] || fail "the Deployment was not updated (generation $gen0 -> $gen1)"
c='{.spec.template.spec.containers[0]'
expect_eq "Deployment args after the upgrade" \
  "--leader-elect --leader-election-id=$rel-failover-operator-leader --metrics-bind-address=:8443 --metrics-secure=true --health-probe-bind-address=:8081 --log-level=debug --log-format=json --cache-sync-timeout=10m --workers=8" \
  "$(jp "$d" "$c.args[*]}")"
expect_eq "imagePullSecrets as objects" regcred "$(jp "$d" '{.spec.template.spec.imagePullSecrets[*].name}')"
expect_eq "topology spread (2 replicas)" "topology.kubernetes.io/zone kubernetes.io/hostname" \
  "$(jp "$d" '{.spec.template.spec.topologySpreadConstraints[*].topologyKey}')"
expect_eq "chart label" "failover-operator-$new_version" "$(jp "$d" '{.metadata.labels.helm\.sh/chart}')"
expect_eq "PodDisruptionBudget" 1 "$(jp "pdb/$rel-failover-operator -n $ns" '{.spec.minAvailable}')"
w hb template "$rel" "$chart" -n "$ns" -f "$tmp/values-0.2.yaml" >"$tmp/rendered.yaml"
hb get manifest "$rel" -n "$ns" >"$tmp/applied.yaml"
diff -B "$tmp/rendered.yaml" "$tmp/applied.yaml" || fail "the upgraded release applied something else than helm template renders"
log "ok: the Deployment updated in place (generation $gen0 -> $gen1) with the new chart's spec; the PodDisruptionBudget added"

log "--- helm uninstall keeps the CRD and the groups"
w hb uninstall "$rel" -n "$ns" >/dev/null
expect_eq "CRD kept (same uid)" "$(head -1 "$tmp/uids.before")" "$(jp "crd/$crd" '{.metadata.uid}')"
expect_eq "FailoverGroup kept" "$(sed -n 2p "$tmp/uids.before")" "$(jp "fg/orders -n $ns" '{.metadata.uid}')"
expect_eq "Deployment gone" "" "$(k get deployment -n "$ns" -o name)"
log "PASS"
