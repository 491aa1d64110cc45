#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl from Debian's `kubernetes`
# source package, once, into a cache outside the repository keyed by version.
# Prints the bin directory on success. A failed build says which step failed and why.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.20.2}"
CACHE_ROOT="${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}"
OUT="$CACHE_ROOT/kubernetes-$K8S_VERSION"
BIN="$OUT/bin"
WANT=(kube-apiserver kube-controller-manager kubectl)

have_all() { for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

log() { echo "build-control-plane: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-$K8S_VERSION.lock"
flock 9
if have_all; then echo "$BIN"; exit 0; fi

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
SRC_LIST=/etc/apt/sources.list.d/failover-operator-src.sources
if ! apt-get source --print-uris kubernetes >/dev/null 2>&1; then
  log "adding a deb-src entry for Debian's suites ($SRC_LIST)"
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  $SUDO tee "$SRC_LIST" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO apt-get update -qq || fail "apt-get update after adding deb-src"
fi

WORK="$CACHE_ROOT/build-$K8S_VERSION"
rm -rf "$WORK"; mkdir -p "$WORK"
cd "$WORK"
log "fetching Debian's kubernetes source package (about 30 MB)"
apt-get source --download-only kubernetes >/dev/null 2>&1 || fail "apt-get source kubernetes (is a deb-src entry reachable?)"
dsc=$(ls kubernetes_*.dsc | head -1)
dpkg-source --no-check -x "$dsc" src >/dev/null || fail "dpkg-source -x $dsc"
TREE="$WORK/src"
grep -q "gitVersion.*v$K8S_VERSION\|$K8S_VERSION" "$TREE/debian/changelog" || log "warning: source tree version differs from $K8S_VERSION"

# The vendored reflect2 1.0.1 crashes the apiserver at run time with Go >= 1.18; use Debian's 1.0.2.
R2_SYS=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -d "$R2_SYS" ] || fail "golang-github-modern-go-reflect2-dev is not installed ($R2_SYS missing)"
R2_VENDOR="$TREE/vendor/github.com/modern-go/reflect2"
rm -rf "$R2_VENDOR"; mkdir -p "$R2_VENDOR"
cp -r "$R2_SYS"/. "$R2_VENDOR"/
sed -i 's#^\(github.com/modern-go/reflect2\) v1.0.1$#\1 v1.0.2#' "$TREE/vendor/modules.txt" || true
sed -i 's#github.com/modern-go/reflect2 v1.0.1#github.com/modern-go/reflect2 v1.0.2#' "$TREE/go.mod" || true

export GOPATH="$WORK/gopath"
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$TREE" "$GOPATH/src/k8s.io/kubernetes"
export GOFLAGS="-mod=vendor" GO111MODULE=off GOCACHE="$WORK/gocache" GOPROXY=off
export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR="${K8S_VERSION#1.}"
KUBE_GIT_MINOR="${KUBE_GIT_MINOR%%.*}"
cd "$GOPATH/src/k8s.io/kubernetes"
log "building ${WANT[*]} (about 9 minutes on 2 cores); log: $WORK/build.log"
if ! make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubectl" >"$WORK/build.log" 2>&1; then
  tail -30 "$WORK/build.log" >&2
  fail "make WHAT=... in the kubernetes tree (see $WORK/build.log)"
fi
mkdir -p "$BIN.tmp"
for b in "${WANT[@]}"; do
  f=$(find "$TREE/_output" -type f -name "$b" -perm -u+x | head -1)
  [ -n "$f" ] || fail "built tree has no $b"
  cp "$f" "$BIN.tmp/$b"
done
rm -rf "$BIN"; mv "$BIN.tmp" "$BIN"
cd /; rm -rf "$WORK"
log "cached in $BIN"
echo "$BIN"
