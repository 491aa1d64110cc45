#!/usr/bin/env bash
# The shipped copies (manifests/crd, the chart's crds/ and files/, the PrometheusRule)
# are byte-identical to their sources.
source "$(dirname "$0")/lib.sh"
bash "$SRC/scripts/sync-manifests.sh" --check || fail "shipped copies are stale: run make sync-manifests"
for f in "$SRC"/crds/*.yaml; do
  cmp "$f" "$SRC/manifests/crd/$(basename "$f")" || fail "manifests/crd/$(basename "$f") differs"
  cmp "$f" "$SRC/charts/failover-operator/crds/$(basename "$f")" || fail "chart crds/$(basename "$f") differs"
done
log "ok: every shipped copy matches its source"
