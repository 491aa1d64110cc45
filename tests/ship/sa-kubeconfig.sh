#!/usr/bin/env bash
# Writes a kubeconfig that authenticates as a ServiceAccount with a bound token from the
# TokenRequest API (`kubectl create token`; no token Secrets are created since 1.24), so a
# process runs with exactly the RBAC bound to that ServiceAccount, never admin.
# usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT OUT   (needs FO_CLUSTER_DIR)
set -euo pipefail
ns="$1"; sa="$2"; out="$3"
# shellcheck disable=SC1090
source "${FO_CLUSTER_DIR:?}/cluster.env"
k() { "$FO_KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
# The ServiceAccount may have been created a moment ago by the same apply.
token=""
for _ in $(seq 1 30); do
  token="$(k -n "$ns" create token "$sa" --duration=24h 2>/dev/null || true)"
  [ -n "$token" ] && break
  sleep 1
done
[ -n "$token" ] || { k -n "$ns" create token "$sa" --duration=24h >&2 || true; echo "sa-kubeconfig: no token for $ns/$sa" >&2; exit 1; }
cat >"$out" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $FO_APISERVER_URL
    certificate-authority: $FO_CA_CERT
users:
- name: $sa
  user:
    token: $token
contexts:
- name: $sa@local
  context: {cluster: local, user: $sa, namespace: $ns}
current-context: $sa@local
KCFG
chmod 600 "$out"
