#!/usr/bin/env bash
# End-to-end on real kubelets: a kind cluster, the image built from the Dockerfile and
# loaded into it, the operator installed with Helm, and the failover scenarios run
# against real pods. Needs docker, kind, helm and kubectl on PATH (it cannot run on a
# machine without a Docker engine, such as this project's default test machine).
#
#   e2e/kind/run.sh            create cluster, build, install, run scenarios, delete cluster
#   KEEP_CLUSTER=1 e2e/kind/run.sh   leave the cluster for inspection
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CLUSTER="${KIND_CLUSTER:-failover-e2e}"
IMAGE="${IMAGE:-failover-operator:e2e}"
DEMO_IMAGE="${DEMO_IMAGE:-failover-demo-app:0.1.0}"
NS=failover-system
DEMO_NS=failover-demo
TIMEOUT=180

log() { echo "[kind-e2e] $*"; }
die() { echo "[kind-e2e] FAIL: $*" >&2; dump; exit 1; }
for t in docker kind helm kubectl jq curl; do
  command -v "$t" >/dev/null || { echo "[kind-e2e] needs $t on PATH" >&2; exit 2; }
done

dump() {
  kubectl get fg,pods,svc,endpoints -n "$DEMO_NS" -o wide -L failover.io/role 2>/dev/null || true
  kubectl get events -n "$DEMO_NS" --sort-by=.lastTimestamp 2>/dev/null | tail -30 || true
  kubectl logs -n "$NS" -l app.kubernetes.io/name=failover-operator --tail=100 2>/dev/null || true
}

cleanup() {
  if [ "${KEEP_CLUSTER:-0}" != 1 ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# until SECONDS CMD...: retry CMD once a second until it succeeds or time runs out.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}
jp() { kubectl get "$@" 2>/dev/null; }
active() { jp fg demo -n "$DEMO_NS" -o jsonpath='{.status.activeMember}'; }
svc_site() {  # the site labels of the pods the Service selects
  local sel
  sel="$(kubectl get svc demo -n "$DEMO_NS" -o json | jq -r '.spec.selector // {} | to_entries | map("\(.key)=\(.value)") | join(",")')"
  [ -n "$sel" ] && kubectl get pods -n "$DEMO_NS" -l "$sel" -o jsonpath='{.items[*].metadata.labels.site}'
}
is_active() { [ "$(active)" = "$1" ] && [ "$(svc_site)" = "$2" ]; }

log "cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --config "$here/kind-config.yaml" --wait 120s

log "image $IMAGE (and $DEMO_IMAGE from the same build)"
docker build -t "$IMAGE" -t "$DEMO_IMAGE" "$root"
kind load docker-image --name "$CLUSTER" "$IMAGE" "$DEMO_IMAGE"

log "helm install"
helm install failover-operator "$root/charts/failover-operator" -n "$NS" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set logFormat=text --wait --timeout 180s
kubectl -n "$NS" rollout status deployment/failover-operator --timeout=120s
until_ok 60 bash -c "kubectl -n $NS get lease -o jsonpath='{.items[*].spec.holderIdentity}' | grep -q ." ||
  die "no replica took the leader Lease"

log "sample workload"
kubectl apply -k "$root/manifests/samples"
kubectl -n "$DEMO_NS" rollout status deployment/demo-site-a --timeout=120s
kubectl -n "$DEMO_NS" rollout status deployment/demo-site-b --timeout=120s
until_ok $TIMEOUT is_active site-a a || die "site-a never became active"
[ "$(jp pods -n "$DEMO_NS" -l site=a -o jsonpath='{.items[0].metadata.labels.failover\.io/role}')" = active ] ||
  die "site-a pod is not labelled failover.io/role=active"

log "scenario: primary fails its readiness -> Service follows site-b"
pod_a="$(jp pods -n "$DEMO_NS" -l site=a -o jsonpath='{.items[0].metadata.name}')"
kubectl -n "$DEMO_NS" port-forward "pod/$pod_a" 18080:8080 >/dev/null 2>&1 &
pf=$!
until_ok 20 curl -sf http://127.0.0.1:18080/healthz || die "port-forward to $pod_a"
curl -sf -X POST -d '' http://127.0.0.1:18080/fail >/dev/null
until_ok $TIMEOUT is_active site-b b || die "no failover to site-b"
log "ok: failed over to site-b"

log "scenario: manual failback through the annotation"
curl -sf -X POST -d '' http://127.0.0.1:18080/recover >/dev/null
kill $pf 2>/dev/null || true
until_ok 60 bash -c "kubectl -n $DEMO_NS get pods -l site=a -o jsonpath='{.items[0].status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" ||
  die "site-a did not become Ready again"
kubectl -n "$DEMO_NS" annotate fg demo failover.io/switchover-to=site-a --overwrite
until_ok $TIMEOUT is_active site-a a || die "switchover back to site-a did not happen"
until_ok 30 bash -c "[ -z \"\$(kubectl -n $DEMO_NS get fg demo -o jsonpath='{.metadata.annotations.failover\.io/switchover-to}')\" ]" ||
  die "switchover annotation not cleared"
log "ok: switched back to site-a"

log "scenario: the leader replica dies -> the other takes over and still fails over"
leader="$(kubectl -n "$NS" get lease -o jsonpath='{.items[0].spec.holderIdentity}')"
kubectl -n "$NS" delete pod "${leader%%_*}" --wait=false >/dev/null 2>&1 || true
kubectl -n "$DEMO_NS" scale deployment/demo-site-a --replicas=0
until_ok $TIMEOUT is_active site-b b || die "no failover after the leader change"
log "ok: failover with the new leader"

log "scenario: kubectl failover plugin (from the image)"
op_pod="$(jp pods -n "$NS" -l app.kubernetes.io/name=failover-operator -o jsonpath='{.items[0].metadata.name}')"
kubectl -n "$NS" exec "$op_pod" -- /usr/local/bin/kubectl-failover --help >/dev/null || die "plugin does not run in the image"

log "uninstall"
kubectl delete -k "$root/manifests/samples" --wait=true --timeout=120s
helm uninstall failover-operator -n "$NS" --wait
log "PASS"
