#!/usr/bin/env bash
# Runs after every test of the shared test cluster, before it goes down: no client of the
# run (the operator, the harness, the tests, kubectl, helm) requested an API version the
# apiserver marks deprecated. The apiserver counts each in the gauge
# apiserver_requested_deprecated_apis (since its last start: a drill that restarts it
# narrows what this sees). Each client also prints the apiserver's Warning headers.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../support/lib.sh"
fo_load_cluster_env
out="$(fo_api GET /metrics)"
[ "$(fo_http_code "$out")" = 200 ] || fo_fail "GET /metrics: HTTP $(fo_http_code "$out")"
used="$(fo_http_body "$out" | grep -E '^apiserver_requested_deprecated_apis\{' || true)"
if [ -n "$used" ]; then
  fo_fail "deprecated APIs were requested during the run (apiserver_requested_deprecated_apis):
$used"
fi
echo "PASS: no deprecated API requested on $FO_APISERVER_URL ($FO_K8S_VERSION)"
