#!/usr/bin/env bash
# The shipped copies (manifests/crd, the chart's files/crds/ and files/, the PrometheusRule)
# are byte-identical to their sources, and the chart has no crds/ directory (its CRD is a
# template, templates/crds.yaml, so that helm upgrade upgrades it).
source "$(dirname "$0")/lib.sh"
bash "$SRC/scripts/sync-manifests.sh" --check || fail "shipped copies are stale: run make sync-manifests"
for f in "$SRC"/crds/*.yaml; do
  cmp "$f" "$SRC/manifests/crd/$(basename "$f")" || fail "manifests/crd/$(basename "$f") differs"
  cmp "$f" "$SRC/charts/failover-operator/files/crds/$(basename "$f")" || fail "chart files/crds/$(basename "$f") differs"
done
[ -e "$SRC/charts/failover-operator/crds" ] && fail "charts/failover-operator/crds/ exists: Helm would install it on its own and never upgrade it"
log "ok: every shipped copy matches its source"
