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

# need_bins DIR NAME...: each NAME an executable in DIR, or the test fails naming it.
need_bins() {
  local dir="$1" b; shift
  for b in "$@"; do [ -x "$dir/$b" ] || fail "$dir/$b is not built"; done
}

# crd_established CRD...: waits until each CRD is Established (scripts/crd-established.sh).
crd_established() { bash "$SRC/scripts/crd-established.sh" "$KUBECTL" "$KUBECONFIG" "$@"; }


# expect_eq WHAT WANT GOT
expect_eq() { [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"; log "ok: $1 = $3"; }

# use_helm: the real helm, built once from tools/helm/go.mod (scripts/build-tools.sh helm,
# cached), with its config, cache and data in a temporary directory (no repositories,
# nothing read from or left in $HOME). Call it in the test's own shell, not in a $(...).
use_helm() {
  HELM="$(bash "$SRC/scripts/build-tools.sh" helm)/helm"
  [ -x "$HELM" ] || fail "scripts/build-tools.sh helm did not build $HELM"
  HELM_HOME_DIR="$(mktemp -d)"
  on_exit "rm -rf '$HELM_HOME_DIR'"
  export HELM_CONFIG_HOME="$HELM_HOME_DIR/config" HELM_CACHE_HOME="$HELM_HOME_DIR/cache" \
    HELM_DATA_HOME="$HELM_HOME_DIR/data"
}

# hb ARGS...: helm (after use_helm), against $KUBECONFIG when one is set.
hb() {
  [ -n "${HELM:-}" ] || fail "hb before use_helm"
  if [ -n "${KUBECONFIG:-}" ]; then "$HELM" --kubeconfig "$KUBECONFIG" "$@"; else "$HELM" "$@"; fi
}

unique() { echo "$1-$(date +%s%N | tail -c 7)$RANDOM"; }

# wait_for SECONDS WHAT CMD...: runs CMD every $WAIT_POLL seconds (0.5) until it succeeds;
# past SECONDS fails naming WHAT, after the caller's diagnose (when the test defines one).
wait_for() {
  local seconds="$1" what="$2" deadline=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      if declare -F diagnose >/dev/null; then diagnose; fi
      fail "timed out after ${seconds}s waiting for: $what"
    fi
    sleep "${WAIT_POLL:-0.5}"
  done
}
