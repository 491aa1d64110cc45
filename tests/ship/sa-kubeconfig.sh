#!/usr/bin/env bash
# Writes a kubeconfig that authenticates as a ServiceAccount with its token (the
# token Secret the 1.20 token controller creates), so a process runs with exactly the
# RBAC bound to that ServiceAccount, never admin.
# usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT OUT   (needs FO_CLUSTER_DIR)
set -euo pipefail
ns="$1"; sa="$2"; out="$3"
# shellcheck disable=SC1090
source "${FO_CLUSTER_DIR:?}/cluster.env"
k() { "$FO_KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }
secret=""
for _ in $(seq 1 30); do
  secret="$(k -n "$ns" get sa "$sa" -o jsonpath='{.secrets[0].name}' 2>/dev/null || true)"
  [ -n "$secret" ] && break
  sleep 1
done
[ -n "$secret" ] || { echo "sa-kubeconfig: no token Secret for $ns/$sa" >&2; exit 1; }
token="$(k -n "$ns" get secret "$secret" -o jsonpath='{.data.token}' | base64 -d)"
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
