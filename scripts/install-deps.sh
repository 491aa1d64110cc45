#!/usr/bin/env bash
# Installs every build and test dependency that comes from Debian's packages. The
# Kubernetes components, etcd, helm and kind are built from their Go modules instead
# (scripts/build-tools.sh), with the Go toolchain found by scripts/go.sh.
# Idempotent: installs only what is missing; safe to run any number of times.
set -euo pipefail

# What compiling the project needs; the Dockerfile's builder stage installs exactly this
# set (tests/ship/check-dockerfile.sh checks it).
BUILD_PACKAGES=(
  g++ cmake make pkg-config ninja-build
  libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev
  prometheus-cpp-dev googletest libgtest-dev libgmock-dev
)

PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  rsync jq openssl curl procps iproute2 psmisc
  # libFuzzer targets and their ASan/UBSan runtime (make fuzz)
  clang libclang-rt-14-dev
  # shipping: promtool checks the alert rules and the operator's /metrics (the end-to-end
  # test's Prometheus is upstream's, scripts/build-tools.sh: Debian's has no Kubernetes SD);
  # PyYAML reads back the plugin's -o yaml and the krew manifest
  prometheus python3-yaml
  # make bench: the latency plot (docs/bench-latency.png)
  gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
