#!/usr/bin/env bash
# Builds helm-render offline from Debian's Go packages (GOPATH mode) into OUT_DIR
# (default: <repo>/build/bin). Rebuilds only when a source is newer than the binary.
# Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="${1:-$repo/build/bin}"
mkdir -p "$out_dir"
out="$out_dir/helm-render"
if [ -x "$out" ] && [ -z "$(find "$here" -name '*.go' -newer "$out" -print -quit)" ]; then
  echo "$out"; exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator"
mkdir -p "$cache/go-build"
cd "$here"
GO111MODULE=off GOPATH="$cache/gopath:/usr/share/gocode" GOCACHE="$cache/go-build" GOFLAGS= \
  go build -o "$out.tmp" . && mv "$out.tmp" "$out"
echo "$out"
