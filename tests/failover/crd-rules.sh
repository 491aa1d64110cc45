#!/usr/bin/env bash
# crd-rules.sh off|on: installs the FailoverGroup CRD without its admission rules (no
# x-kubernetes-validations, no list-map keys: the CRD as a cluster had it before they
# existed), or as shipped; returns once the apiserver enforces what was installed.
# Tests of the operator's own validation store bad groups under "off" (as they were
# stored before an upgrade) and switch back "on" at once (tests/failover/operator_fixture.h).
# Needs FO_CLUSTER_DIR and FO_SOURCE_DIR (set by ctest).
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../support/lib.sh"
fo_load_cluster_env
crd="${FO_SOURCE_DIR:?FO_SOURCE_DIR is not set}/crds/failovergroups.failover.io.yaml"
case "${1:-}" in
  off)
    fo_kubectl create --dry-run=client -o json -f "$crd" |
      jq 'walk(if type == "object" then del(.["x-kubernetes-validations"], .["x-kubernetes-list-type"], .["x-kubernetes-list-map-keys"]) else . end)' |
      fo_kubectl apply -f - >/dev/null
    want=accepted ;;
  on) fo_kubectl apply -f "$crd" >/dev/null; want=refused ;;
  *) echo "usage: crd-rules.sh off|on" >&2; exit 2 ;;
esac
# A group only the rules refuse (two members named a), tried with a server-side dry run.
probe() {
  fo_kubectl create --dry-run=server -f - >/dev/null 2>&1 <<'YAML'
apiVersion: failover.io/v1alpha1
kind: FailoverGroup
metadata: {name: crd-rules-probe, namespace: default}
spec:
  members:
  - {name: a, selector: {matchLabels: {site: a}}}
  - {name: a, selector: {matchLabels: {site: b}}}
  services: [{name: db}]
YAML
}
for _ in $(seq 1 120); do
  if probe; then got=accepted; else got=refused; fi
  [ "$got" = "$want" ] && exit 0
  sleep 0.5
done
fo_fail "the CRD's admission rules never turned $1 (a duplicate member name is still $got)"
