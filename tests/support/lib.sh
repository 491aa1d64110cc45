# shellcheck shell=bash
# Shell helpers for integration tests written in bash. Source it, then call
# fo_load_cluster_env. Needs FO_CLUSTER_DIR (set by ctest for integration tests).

fo_fail() { echo "FAIL: $*" >&2; exit 1; }
fo_log() { echo "--- $*" >&2; }

# Exports every KEY=VALUE of $FO_CLUSTER_DIR/cluster.env; KUBECONFIG prefers $FO_KUBECONFIG.
fo_load_cluster_env() {
  [ -n "${FO_CLUSTER_DIR:-}" ] || fo_fail "FO_CLUSTER_DIR is not set"
  [ -f "$FO_CLUSTER_DIR/cluster.env" ] || fo_fail "no $FO_CLUSTER_DIR/cluster.env (is the cluster up? scripts/cluster.sh up)"
  set -a
  # shellcheck disable=SC1091
  . "$FO_CLUSTER_DIR/cluster.env"
  set +a
  export KUBECONFIG="${FO_KUBECONFIG:-$KUBECONFIG}"
}

fo_kubectl() { "$FO_KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }

# fo_api METHOD PATH [curl args...]: calls the apiserver as the admin; prints the body,
# then the HTTP status on a last line of its own (see fo_http_code, fo_http_body).
fo_api() {
  local method="$1" path="$2"; shift 2
  curl -sS --max-time 20 --cacert "$FO_CA_CERT" --cert "$FO_ADMIN_CERT" --key "$FO_ADMIN_KEY" \
    -X "$method" -w '\n%{http_code}' "$@" "$FO_APISERVER_URL$path"
}

# fo_api_as_token TOKEN METHOD PATH [curl args...]: the same with a bearer token.
fo_api_as_token() {
  local token="$1" method="$2" path="$3"; shift 3
  curl -sS --max-time 20 --cacert "$FO_CA_CERT" -H "Authorization: Bearer $token" \
    -X "$method" -w '\n%{http_code}' "$@" "$FO_APISERVER_URL$path"
}

fo_http_code() { tail -n1 <<<"$1"; }
fo_http_body() { sed '$d' <<<"$1"; }

# fo_wait_until TIMEOUT_S DESCRIPTION CMD...: polls CMD every 0.1 s; fails the test on timeout.
fo_wait_until() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fo_fail "timed out after ${timeout}s waiting for $what"
    sleep 0.1
  done
}

# fo_unique_ns PREFIX: a namespace name no other test uses.
fo_unique_ns() { echo "$1-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"; }
