#!/usr/bin/env bash
# Keeps the shipped copies in step with their single sources:
#   crds/*.yaml                          -> manifests/crd/, charts/failover-operator/files/crds/
#                                           (the chart renders them from templates/crds.yaml,
#                                           so that helm upgrade upgrades them: crds.install)
#   manifests/monitoring/alerts.rules.yaml -> charts/failover-operator/files/,
#                                           manifests/monitoring/prometheusrule.yaml (spec)
#   manifests/monitoring/grafana-dashboard.json -> charts/failover-operator/files/
# (kustomize and Helm both refuse files outside their roots, hence copies.)
# --check: change nothing, list stale copies, exit 1 if any.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check=0
[ "${1:-}" = "--check" ] && check=1
stale=0

# emit TARGET: content on stdin becomes TARGET (or is compared with it under --check).
emit() {
  local target="$1" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if ! cmp -s "$tmp" "$root/$target"; then
    if [ $check -eq 1 ]; then
      echo "stale: $target (run scripts/sync-manifests.sh or make sync-manifests)" >&2
      stale=1
    else
      mkdir -p "$(dirname "$root/$target")"
      cp "$tmp" "$root/$target"
      echo "updated: $target"
    fi
  fi
  rm -f "$tmp"
}

shopt -s nullglob
crds=("$root"/crds/*.yaml)
if [ ${#crds[@]} -eq 0 ]; then
  echo "sync-manifests: no CRD in crds/" >&2
  exit 1
fi
for crd in "${crds[@]}"; do
  name="$(basename "$crd")"
  emit "manifests/crd/$name" <"$crd"
  emit "charts/failover-operator/files/crds/$name" <"$crd"
done

rules="$root/manifests/monitoring/alerts.rules.yaml"
emit charts/failover-operator/files/alerts.rules.yaml <"$rules"
emit charts/failover-operator/files/grafana-dashboard.json <"$root/manifests/monitoring/grafana-dashboard.json"
{
  cat <<'HEADER'
# Generated from alerts.rules.yaml by scripts/sync-manifests.sh: edit that file instead.
# Needs the Prometheus Operator (monitoring.coreos.com CRDs).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: failover-operator
  namespace: failover-system
  labels:
    app.kubernetes.io/name: failover-operator
    app.kubernetes.io/component: operator
spec:
HEADER
  sed -n '/^groups:/,$p' "$rules" | sed 's/^/  /'
} | emit manifests/monitoring/prometheusrule.yaml

# Helm installs whatever is in a chart's crds/ on its own (and never upgrades it): the chart
# must not have one, or its CRD would be both there and in templates/crds.yaml.
if [ -e "$root/charts/failover-operator/crds" ]; then
  if [ $check -eq 1 ]; then
    echo "stale: charts/failover-operator/crds/ (the CRD is in files/crds/; run make sync-manifests)" >&2
    stale=1
  else
    rm -rf "$root/charts/failover-operator/crds"
    echo "removed: charts/failover-operator/crds/"
  fi
fi

exit $stale
