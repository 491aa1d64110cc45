#!/usr/bin/env bash
# Waits (up to a minute) until each named CustomResourceDefinition is Established.
# `kubectl wait --for condition=established` errors out instead of waiting while a
# just-created CRD's status.conditions is still null (kubectl 1.3x), so it is retried.
#   usage: crd-established.sh KUBECTL KUBECONFIG CRD...
set -uo pipefail
kubectl="$1" kubeconfig="$2"; shift 2
for _ in $(seq 1 60); do
  "$kubectl" --kubeconfig "$kubeconfig" wait --for condition=established --timeout=10s "${@/#/crd/}" >/dev/null 2>&1 && exit 0
  sleep 1
done
"$kubectl" --kubeconfig "$kubeconfig" wait --for condition=established --timeout=1s "${@/#/crd/}"
