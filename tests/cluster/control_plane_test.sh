#!/usr/bin/env bash
# Issue 2, "Done when": the local control plane is real and enforcing. Against the shared
# test cluster: a CRD and a schema-checked custom resource; a Pod bound to a Node whose
# podIP and Ready condition are written through pods/status; the EndpointSlice controller
# following Ready; ServiceAccount tokens that authenticate but are forbidden by RBAC until
# a RoleBinding exists; the namespace controller finalizing the namespace.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../support/lib.sh"
fo_load_cluster_env

NS="$(fo_unique_ns cp-test)"
SUFFIX="${NS##*-}"
GROUP="t$SUFFIX.ctltest.failover.example"
CRD="widgets.$GROUP"
# The Pod is bound to a Node of its own: the cluster's Node ($FO_NODE_NAME) may have the
# harness node agent on it, which would write this pod's status too.
TEST_NODE="$NS-node"
POD_IP="$(cut -d. -f1-2 <<<"${FO_POD_CIDR%/*}").254.$(( 2 + RANDOM % 250 ))"

cleanup() {
  fo_kubectl delete pod web -n "$NS" --grace-period=0 --force >/dev/null 2>&1 || true
  fo_kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fo_kubectl delete crd "$CRD" --ignore-not-found >/dev/null 2>&1 || true
  fo_kubectl delete node "$TEST_NODE" --ignore-not-found >/dev/null 2>&1 || true
}
trap cleanup EXIT

fo_log "the cluster's Node is Ready with InternalIP $FO_NODE_IP"
node_json="$(fo_kubectl get node "$FO_NODE_NAME" -o json)"
[ "$(jq -r '.status.conditions[] | select(.type=="Ready") | .status' <<<"$node_json")" = True ] \
  || fo_fail "Node $FO_NODE_NAME is not Ready: $(jq -c .status.conditions <<<"$node_json")"
[ "$(jq -r '.status.addresses[] | select(.type=="InternalIP") | .address' <<<"$node_json")" = "$FO_NODE_IP" ] \
  || fo_fail "Node $FO_NODE_NAME has no InternalIP $FO_NODE_IP"

fo_kubectl create namespace "$NS" >/dev/null
fo_log "namespace $NS; the serviceaccount controller gives it a default ServiceAccount"
fo_wait_until 30 "ServiceAccount $NS/default" fo_kubectl get serviceaccount default -n "$NS" -o name >/dev/null 2>&1

fo_log "CustomResourceDefinition $CRD"
fo_kubectl apply -f - >/dev/null <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $CRD}
spec:
  group: $GROUP
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
YAML
fo_kubectl wait --for=condition=Established --timeout=30s "crd/$CRD" >/dev/null
widgets_served() { fo_kubectl get "widgets.$GROUP" -n "$NS" >/dev/null 2>&1; }
fo_wait_until 30 "the $GROUP/v1 API to be served" widgets_served
fo_kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: $GROUP/v1
kind: Widget
metadata: {name: good}
spec: {size: 3}
YAML
[ "$(fo_kubectl get "widgets.$GROUP" good -n "$NS" -o jsonpath='{.spec.size}')" = 3 ] \
  || fo_fail "custom resource good was not stored"
if out="$(fo_kubectl apply -n "$NS" -f - 2>&1 <<YAML
apiVersion: $GROUP/v1
kind: Widget
metadata: {name: bad}
spec: {size: 0}
YAML
)"; then fo_fail "a Widget with size 0 was accepted; the schema is not enforced"; fi
grep -q "spec.size" <<<"$out" || fo_fail "rejection of size 0 does not name spec.size: $out"

fo_log "Node $TEST_NODE and Pod web bound to it"
fo_kubectl create -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $TEST_NODE}
YAML
fo_kubectl create -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web-$SUFFIX}}
spec:
  nodeName: $TEST_NODE
  containers:
  - name: web
    image: registry.invalid/failover/none:0
    ports: [{containerPort: 8080}]
YAML

# set_ready True|False: writes the pod's status as a kubelet would, through pods/status.
set_ready() {
  local now out
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  out="$(fo_api PATCH "/api/v1/namespaces/$NS/pods/web/status" \
    -H 'Content-Type: application/strategic-merge-patch+json' -d @- <<JSON
{"status":{"phase":"Running","hostIP":"$FO_NODE_IP","podIP":"$POD_IP","podIPs":[{"ip":"$POD_IP"}],
 "startTime":"$now",
 "conditions":[{"type":"Ready","status":"$1","lastTransitionTime":"$now"},
               {"type":"ContainersReady","status":"$1","lastTransitionTime":"$now"}]}}
JSON
)"
  [ "$(fo_http_code "$out")" = 200 ] || fo_fail "PATCH pods/web/status: $(fo_http_body "$out")"
}
set_ready True
[ "$(fo_kubectl get pod web -n "$NS" -o jsonpath='{.status.podIP}')" = "$POD_IP" ] || fo_fail "podIP was not stored"
# The main resource ignores status: a plain update must not change the Ready condition.
fo_kubectl label pod web -n "$NS" touched=yes >/dev/null
[ "$(fo_kubectl get pod web -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] \
  || fo_fail "Ready condition lost after a metadata update"

fo_kubectl create -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web-$SUFFIX}
  ports: [{port: 80, targetPort: 8080}]
YAML

# endpoint_ready: prints the ready condition of POD_IP in the Service's EndpointSlices.
endpoint_ready() {
  local out
  out="$(fo_api GET "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices?labelSelector=kubernetes.io/service-name%3Dweb")"
  [ "$(fo_http_code "$out")" = 200 ] || return 0
  fo_http_body "$out" | jq -r --arg ip "$POD_IP" \
    '[.items[].endpoints[]? | select(.addresses | index($ip)) | .conditions.ready | tostring] | first // "absent"'
}
endpoint_is() { [ "$(endpoint_ready)" = "$1" ]; }

fo_log "EndpointSlice for Service web lists $POD_IP ready"
fo_wait_until 30 "EndpointSlice with $POD_IP ready" endpoint_is true
port="$(fo_api GET "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices?labelSelector=kubernetes.io/service-name%3Dweb" \
  | sed '$d' | jq -r '.items[0].ports[0].port')"
[ "$port" = 8080 ] || fo_fail "EndpointSlice port is $port, want the targetPort 8080"

fo_log "Ready=False makes it not ready"
set_ready False
fo_wait_until 30 "EndpointSlice with $POD_IP not ready" endpoint_is false
fo_log "Ready=True again makes it ready"
set_ready True
fo_wait_until 30 "EndpointSlice with $POD_IP ready again" endpoint_is true

fo_log "ServiceAccount nobody: authenticated, forbidden without a RoleBinding"
fo_kubectl create serviceaccount nobody -n "$NS" >/dev/null
out="$(fo_api POST "/api/v1/namespaces/$NS/serviceaccounts/nobody/token" -H 'Content-Type: application/json' \
  -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}}')"
[ "$(fo_http_code "$out")" = 201 ] || fo_fail "TokenRequest failed: $out"
TOKEN="$(fo_http_body "$out" | jq -r .status.token)"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || fo_fail "TokenRequest returned no token"

expect_forbidden() {
  local out body
  out="$(fo_api_as_token "$1" GET "/api/v1/namespaces/$NS/pods")"
  body="$(fo_http_body "$out")"
  [ "$(fo_http_code "$out")" = 403 ] || fo_fail "$2: want 403, got $(fo_http_code "$out"): $body"
  grep -q "system:serviceaccount:$NS:nobody" <<<"$body" || fo_fail "$2: the 403 does not name the ServiceAccount: $body"
}
expect_forbidden "$TOKEN" "bound token"
out="$(fo_api_as_token "not-a-token" GET "/api/v1/namespaces/$NS/pods")"
[ "$(fo_http_code "$out")" = 401 ] || fo_fail "a bogus token got $(fo_http_code "$out"), want 401"

# Since 1.24 no token Secret is created by itself; one asked for with the annotation is
# filled in by the serviceaccount-token controller.
fo_kubectl apply -n "$NS" -f - >/dev/null <<SECRET
apiVersion: v1
kind: Secret
metadata:
  name: nobody-token
  annotations: {kubernetes.io/service-account.name: nobody}
type: kubernetes.io/service-account-token
SECRET
token_filled() { fo_kubectl get secret nobody-token -n "$NS" -o jsonpath='{.data.token}' 2>/dev/null | grep -q .; }
fo_wait_until 30 "the token Secret of ServiceAccount nobody (serviceaccount-token controller)" token_filled
LEGACY="$(fo_kubectl get secret nobody-token -n "$NS" -o jsonpath='{.data.token}' | base64 -d)"
expect_forbidden "$LEGACY" "token Secret"

fo_log "with a Role and RoleBinding allowing it, the same token may list pods"
fo_kubectl create role pod-reader -n "$NS" --verb=get,list --resource=pods >/dev/null
fo_kubectl create rolebinding nobody-pod-reader -n "$NS" --role=pod-reader --serviceaccount="$NS:nobody" >/dev/null
allowed() { [ "$(fo_http_code "$(fo_api_as_token "$TOKEN" GET "/api/v1/namespaces/$NS/pods")")" = 200 ]; }
fo_wait_until 30 "the RoleBinding to take effect" allowed

fo_log "deleting namespace $NS: the namespace controller finalizes it"
# A bound pod's deletion is graceful and waits for its kubelet; nothing runs on
# $TEST_NODE, so the test confirms it as a kubelet would (grace period 0).
fo_kubectl delete pod web -n "$NS" --grace-period=0 --force >/dev/null 2>&1
fo_kubectl delete namespace "$NS" --wait=false >/dev/null
gone() { ! fo_kubectl get namespace "$NS" -o name >/dev/null 2>&1; }
fo_wait_until 60 "namespace $NS to be deleted" gone
echo "PASS: control plane is real and enforcing (namespace $NS)"
