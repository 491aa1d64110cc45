#!/usr/bin/env bash
# No token or key material in logs; metrics and health bound only where configured.
# Runs one ready-fail drill (e2e/drill.sh), whose every scenario scans the operator's,
# the checker's and the harness's logs for the ServiceAccount token and PEM key markers
# and connects to the metrics/health ports on 127.0.0.1 (must answer) and on the node IP
# (must not). Needs FO_CLUSTER_DIR (ctest's cluster fixture) or brings a cluster up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-${FO_CLUSTER_DIR:-/tmp}/security}"
bash "$here/../../e2e/drill.sh" --scenarios ready-fail --out "$out"
# The drill's own scan covers the logs it knows; scan everything it wrote once more.
token="$(cat "$out/operator.token")"
if grep -rlF --exclude=operator.token --exclude=operator.kubeconfig "$token" "$out" "${FO_CLUSTER_DIR:-$out}/logs" 2>/dev/null; then
  echo "security: the token appears in the files above" >&2
  exit 1
fi
if grep -rl "PRIVATE KEY" --include='*.log' --include='*.txt' "$out" "${FO_CLUSTER_DIR:-$out}/logs" 2>/dev/null; then
  echo "security: PEM key material appears in the logs above" >&2
  exit 1
fi
echo "security: no token or key material in logs; binds as configured"
