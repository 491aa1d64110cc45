#!/usr/bin/env bash
# Runs after every test of the shared test cluster, before it goes down: no client of the
# run (the operator, the harness, the tests, kubectl, helm) requested an API version or
# resource the apiserver marks deprecated. cluster.sh's audit policy logs every request
# of those clients with its annotations; a deprecated one carries k8s.io/deprecated=true.
# (The control plane's own controllers are left out: the namespace controller still
# deletes core/v1 Endpoints, deprecated since 1.33, in every namespace it removes.)
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../support/lib.sh"
fo_load_cluster_env
audit="$FO_CLUSTER_DIR/logs/audit.log"
[ -f "$audit" ] || fo_fail "no audit log at $audit: the check would see nothing (cluster.sh sets one up)"
sleep 1.5  # the apiserver writes audit events in batches of at most 1 s
used="$(grep '"k8s.io/deprecated":"true"' "$audit" \
  | jq -r '"\(.user.username) \(.verb) \(.requestURI) (\(.annotations["k8s.io/removed-release"] // "no removal planned"))"' \
  | sort | uniq -c | sort -rn || true)"
if [ -n "$used" ]; then
  fo_fail "deprecated APIs were requested during the run (count, user, verb, URI):
$used"
fi
echo "PASS: no deprecated API requested on $FO_APISERVER_URL ($FO_K8S_VERSION; $(wc -l <"$audit") requests audited)"
