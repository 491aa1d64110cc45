#!/usr/bin/env bash
# Builds the tools the tests run against from their Go modules, at the versions pinned by
# the go.mod/go.sum files under tools/, once, into a cache outside the repository keyed by
# tool and version; rebuilt only when missing. Prints the tool's bin directory.
#
#   build-tools.sh kubernetes [all | COMPONENT...]  kube-apiserver, kube-controller-manager and
#                                                   kubectl by default; `all` adds kube-scheduler,
#                                                   kubelet, kubeadm and kube-proxy
#   build-tools.sh etcd                             the etcd the selected Kubernetes is tested with
#   build-tools.sh helm | kind
#   build-tools.sh prometheus                       Prometheus with Kubernetes service discovery
#                                                   (Debian's has none), the only SD compiled in
#   build-tools.sh version                          the Kubernetes version K8S_VERSION selects
#
# K8S_VERSION selects the Kubernetes release: empty for the newest under tools/kubernetes/,
# a minor (1.34, 1.34.x) for the newest patch of that minor there, or an exact 1.34.4.
# The cache root is $FAILOVER_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/failover-operator.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tools"
CACHE_ROOT="${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}"
JOBS="${JOBS:-2}"

log() { echo "build-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- Go: any toolchain new enough to read `tool` directives (1.24); go.mod's go line then
# selects the exact toolchain (GOTOOLCHAIN=auto fetches it through the module proxy if needed).
find_go() {
  local g v
  for g in "${GO:-}" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -n "$g" ] && [ -x "$g" ] || continue
    v="$("$g" env GOVERSION 2>/dev/null || true)"; v="${v#go}"
    if [ -n "$v" ] && [ "$(printf '%s\n1.24\n' "${v%%[-+ ]*}" | sort -V | head -1)" = "1.24" ]; then
      echo "$g"; return 0
    fi
  done
  return 1
}
GO_BIN="$(find_go)" || die "no Go toolchain >= 1.24 found (looked at \$GO, PATH, /usr/local/go/bin); install one from go.dev/dl or Debian's backports"

# ---- versions

k8s_version() {
  local want="${K8S_VERSION:-}" all pick=""
  want="${want#v}"
  all="$(cd "$TOOLS/kubernetes" && ls -d v1.* 2>/dev/null | sed 's/^v//' | sort -V)"
  [ -n "$all" ] || die "no Kubernetes versions under tools/kubernetes/"
  case "$want" in
    "") pick="$(tail -1 <<<"$all")" ;;
    *.x | [0-9]*.[0-9]*[0-9]) 
      if [[ "$want" =~ ^1\.[0-9]+\.[0-9]+$ ]]; then
        grep -qx "$want" <<<"$all" && pick="$want"
      else
        want="${want%.x}"
        pick="$(grep -E "^${want//./\\.}\.[0-9]+$" <<<"$all" | tail -1 || true)"
      fi ;;
  esac
  [ -n "$pick" ] || die "K8S_VERSION=$K8S_VERSION: no such version under tools/kubernetes/ (have: $(echo $all)); add one with tools/kubernetes/gen-gomod.sh"
  echo "$pick"
}

# The version a tool module pins: the require line of MODULE in DIR/go.mod.
pinned() { awk -v m="$2" '$1 == m {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$1/go.mod"; }

# ---- building

# build NAME VERSION MODULE_DIR LDFLAGS PKG=OUT... : builds each Go package PKG into the
# cache as OUT, skipping those already there, with the build tags in $TAGS (if any).
# Prints the bin directory.
TAGS=""
build() {
  local name="$1" version="$2" moddir="$3" ldflags="$4"; shift 4
  local bin="$CACHE_ROOT/tools/$name-$version/bin" want=() pkgs=() p key
  key="$ldflags${TAGS:+ tags=$TAGS}"
  # The link flags (and tags) are part of the key too: binaries linked with other ones (an
  # older recipe of this script) are rebuilt.
  if [ -d "$bin" ] && [ "$(cat "$bin/.ldflags" 2>/dev/null)" != "$key" ]; then
    log "$name $version in the cache was linked with other flags: rebuilding"
    rm -rf "$bin"
  fi
  for p in "$@"; do [ -x "$bin/${p#*=}" ] || want+=("$p"); done
  if [ ${#want[@]} -eq 0 ]; then echo "$bin"; return 0; fi
  mkdir -p "$CACHE_ROOT/tools"
  exec 9>"$CACHE_ROOT/tools/.build-$name-$version.lock"
  flock 9
  want=()
  for p in "$@"; do [ -x "$bin/${p#*=}" ] || want+=("$p"); done
  if [ ${#want[@]} -eq 0 ]; then echo "$bin"; return 0; fi
  local tmp="$bin.tmp.$$" t0 t1 logf="$CACHE_ROOT/tools/build-$name-$version.log"
  rm -rf "$tmp"; mkdir -p "$tmp" "$bin"
  printf '%s' "$key" >"$bin/.ldflags"
  for p in "${want[@]}"; do pkgs+=("${p%%=*}"); done
  log "building $name $version: ${want[*]##*=} from Go modules (cold: minutes on 2 cores; log $logf)"
  t0=$(date +%s)
  # CGO off as Kubernetes' own release builds do: static binaries that also run in the
  # kind node image. -trimpath keeps machine paths out of them.
  if ! (cd "$moddir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly "$GO_BIN" build -p "$JOBS" -trimpath \
        ${TAGS:+-tags "$TAGS"} -ldflags "-s -w $ldflags" -o "$tmp/" "${pkgs[@]}") >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    rm -rf "$tmp"
    die "building $name $version failed (log $logf)"
  fi
  for p in "${want[@]}"; do
    local built; built="$tmp/$(basename "${p%%=*}")"
    [ -x "$built" ] || built="$(find "$tmp" -maxdepth 1 -type f -perm -u+x | head -1)"
    mv "$built" "$bin/${p#*=}"
  done
  rm -rf "$tmp"
  t1=$(date +%s)
  log "built $name $version (${want[*]##*=}) in $((t1 - t0)) s; cached in $bin"
  echo "$bin"
}

build_kubernetes() {
  local v dir comps=() c ld date
  v="$(k8s_version)"; dir="$TOOLS/kubernetes/v$v"
  if [ $# -eq 0 ]; then comps=(kube-apiserver kube-controller-manager kubectl)
  elif [ "$1" = all ]; then comps=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy)
  else comps=("$@"); fi
  local pkgs=()
  for c in "${comps[@]}"; do
    case "$c" in
      kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kubeadm|kube-proxy) pkgs+=("k8s.io/kubernetes/cmd/$c=$c") ;;
      *) die "unknown Kubernetes component '$c'" ;;
    esac
  done
  # What Kubernetes' hack/lib/version.sh stamps, so `kubectl version` and /version report
  # the real release. The build date is the release's publication time (reproducible).
  date="$(GOFLAGS=-mod=readonly "$GO_BIN" -C "$dir" list -m \
          -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes 2>/dev/null || true)"
  ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$v -X $p.gitMajor=1 -X $p.gitMinor=$(cut -d. -f2 <<<"$v")"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=${date:-1970-01-01T00:00:00Z} -X $p.gitCommit="
  done
  build kubernetes "v$v" "$dir" "$ld" "${pkgs[@]}"
}

build_etcd() {
  local v ev
  v="$(k8s_version)"
  ev="$(cat "$TOOLS/kubernetes/v$v/etcd-version" 2>/dev/null)" || die "tools/kubernetes/v$v/etcd-version is missing"
  [ -f "$TOOLS/etcd/$ev/go.mod" ] || die "tools/etcd/$ev/go.mod is missing (named by tools/kubernetes/v$v/etcd-version)"
  build etcd "$ev" "$TOOLS/etcd/$ev" "-X go.etcd.io/etcd/api/v3/version.GitSHA=$ev" "go.etcd.io/etcd/server/v3=etcd"
}

case "${1:-}" in
  kubernetes) shift; build_kubernetes "$@" ;;
  etcd) build_etcd ;;
  helm)
    v="$(pinned "$TOOLS/helm" helm.sh/helm/v3)"
    # As Helm's own Makefile does: the Kubernetes version `helm template` and lint assume
    # without a cluster is the client-go minor it is built with (else v1.20).
    m="$(pinned "$TOOLS/helm" k8s.io/client-go | cut -d. -f2)"
    ld="-X helm.sh/helm/v3/internal/version.version=$v"
    for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
      ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$m"
    done
    build helm "$v" "$TOOLS/helm" "$ld" "helm.sh/helm/v3/cmd/helm=helm" ;;
  kind)
    v="$(pinned "$TOOLS/kind" sigs.k8s.io/kind)"
    build kind "$v" "$TOOLS/kind" "" "sigs.k8s.io/kind=kind" ;;
  prometheus)
    # Module v0.X.Y is Prometheus v3.(X-300).Y. Only the Kubernetes service discovery is
    # compiled in (with the static, file and HTTP ones every build has): upstream's build
    # tags for a smaller binary; the web UI's assets are not embedded (the API serves).
    v="$(pinned "$TOOLS/prometheus" github.com/prometheus/prometheus)"
    IFS=. read -r _ minor patch <<<"${v#v}"
    pv="3.$((minor - 300)).$patch"
    TAGS="remove_all_sd,enable_kubernetes_sd"
    ld="-X github.com/prometheus/common/version.Version=$pv -X github.com/prometheus/common/version.Branch=HEAD"
    ld+=" -X github.com/prometheus/common/version.Revision=$v"
    build prometheus "v$pv" "$TOOLS/prometheus" "$ld" "github.com/prometheus/prometheus/cmd/prometheus=prometheus" ;;
  version) k8s_version ;;
  *) echo "usage: $0 kubernetes [all|COMPONENT...] | etcd | helm | kind | prometheus | version" >&2; exit 2 ;;
esac
