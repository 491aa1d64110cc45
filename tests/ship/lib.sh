# Shared by the ship tests. Needs FO_SOURCE_DIR; cluster tests also FO_CLUSTER_DIR.
set -euo pipefail
SRC="${FO_SOURCE_DIR:?FO_SOURCE_DIR is not set}"
CLEANUPS=()

log() { echo "[$(basename "$0" .sh)] $*"; }
fail() { echo "[$(basename "$0" .sh)] FAIL: $*" >&2; exit 1; }

# on_exit CMD: run CMD (a string) at exit, last registered first.
on_exit() { CLEANUPS=("$1" "${CLEANUPS[@]}"); }
run_cleanups() {
  local c
  for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap run_cleanups EXIT

use_cluster() {
  local env="${FO_CLUSTER_DIR:?FO_CLUSTER_DIR is not set}/cluster.env"
  [ -f "$env" ] || fail "no $env: is the local cluster up (scripts/cluster.sh up)?"
  # shellcheck disable=SC1090
  source "$env"
  KUBECTL="$FO_KUBECTL"
  export KUBECONFIG="${FO_KUBECONFIG:-$KUBECONFIG}"
}

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }

# crd_established CRD...: waits until each CRD is Established. `kubectl wait --for
# condition=established` errors out instead of waiting while a just-created CRD's
# status.conditions is still null (kubectl 1.3x), so it is retried for up to a minute.
crd_established() {
  local i
  for i in $(seq 1 60); do
    "$KUBECTL" --kubeconfig "$KUBECONFIG" wait --for condition=established --timeout=10s "${@/#/crd/}" >/dev/null 2>&1 && return 0
    sleep 1
  done
  "$KUBECTL" --kubeconfig "$KUBECONFIG" wait --for condition=established --timeout=1s "${@/#/crd/}"
}


# expect_eq WHAT WANT GOT
expect_eq() { [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"; log "ok: $1 = $3"; }

helm_render() {
  local bin
  bin="$(bash "$SRC/tools/helm-render/build.sh" "${FO_BIN_DIR:-$SRC/build/bin}")"
  "$bin" "$@"
}

unique() { echo "$1-$(date +%s%N | tail -c 7)$RANDOM"; }
