#!/usr/bin/env bash
# The version matrix: runs the whole integration suite against the Kubernetes release that
# K8S_VERSION selects (scripts/build-tools.sh), on a test cluster of its own version, and
# writes a one-line summary (date, versions, pass/fail counts) to BUILD_DIR/k8s-vX.Y.Z.result
# for docs/compatibility.md.
#   usage: K8S_VERSION=1.34.x scripts/test-k8s.sh BUILD_DIR
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:?usage: test-k8s.sh BUILD_DIR}" && pwd)"
v="$(bash "$REPO/scripts/build-tools.sh" version)"
etcd_bin="$(bash "$REPO/scripts/build-tools.sh" etcd)"
etcd_v="$("$etcd_bin/etcd" --version | sed -n 's/^etcd Version: //p')"
export K8S_VERSION="$v"
out="$build/k8s-v$v.log"
echo "test-k8s: the integration suite on Kubernetes v$v (etcd $etcd_v); log $out"
rc=0
(cd "$build" && ctest -L integration --output-on-failure) 2>&1 | tee "$out" || rc=$?
[ "$rc" -eq 0 ] || rc="${PIPESTATUS[0]}"
summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -1)"
total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")"
failed="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")"
[ -n "$total" ] || { echo "test-k8s: ctest printed no summary (see $out)" >&2; exit 1; }
line="$(date -u +%Y-%m-%d) | v$v | $etcd_v | $((total - failed)) passed | $failed failed | $total tests"
echo "$line" >"$build/k8s-v$v.result"
echo "test-k8s: $line"
exit "$rc"
