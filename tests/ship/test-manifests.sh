#!/usr/bin/env bash
# `kubectl apply -k manifests/` (server-side dry-run, then for real) and the sample
# (two demo Deployments, a NodePort Service, a FailoverGroup) against the local cluster.
source "$(dirname "$0")/lib.sh"
use_cluster

crd_existed=0
k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
on_exit "k delete namespace failover-system failover-demo --ignore-not-found --timeout=90s"
on_exit "k delete clusterrole failover-operator failover-operator-metrics-auth failover-operator-metrics-reader --ignore-not-found; k delete clusterrolebinding failover-operator failover-operator-metrics-auth --ignore-not-found"

# Namespaced objects can only be dry-run once their namespace exists.
k apply -f "$SRC/manifests/manager/namespace.yaml"
out="$(k apply -k "$SRC/manifests" --dry-run=server 2>&1)" || fail "server dry-run of manifests/: $out"
echo "$out"
k get deployment -n failover-system failover-operator >/dev/null 2>&1 && fail "a dry-run created the Deployment"
k apply -k "$SRC/manifests"
crd_established failovergroups.failover.io

d='deployment/failover-operator -n failover-system'
jp() { k get $1 -o "jsonpath=$2"; }
expect_eq replicas 2 "$(jp "$d" '{.spec.replicas}')"
expect_eq serviceAccountName failover-operator "$(jp "$d" '{.spec.template.spec.serviceAccountName}')"
expect_eq runAsNonRoot true "$(jp "$d" '{.spec.template.spec.securityContext.runAsNonRoot}')"
expect_eq pod-seccomp RuntimeDefault "$(jp "$d" '{.spec.template.spec.securityContext.seccompProfile.type}')"
c='{.spec.template.spec.containers[0]'
expect_eq readOnlyRootFilesystem true "$(jp "$d" "$c.securityContext.readOnlyRootFilesystem}")"
expect_eq allowPrivilegeEscalation false "$(jp "$d" "$c.securityContext.allowPrivilegeEscalation}")"
expect_eq capabilities.drop ALL "$(jp "$d" "$c.securityContext.capabilities.drop[*]}")"
expect_eq container-seccomp RuntimeDefault "$(jp "$d" "$c.securityContext.seccompProfile.type}")"
expect_eq liveness "/healthz 8081" "$(jp "$d" "$c.livenessProbe.httpGet.path} $c.ports[?(@.name==\"health\")].containerPort}")"
expect_eq readiness /readyz "$(jp "$d" "$c.readinessProbe.httpGet.path}")"
expect_eq args-leader-elect --leader-elect "$(jp "$d" "$c.args[0]}")"
[ -n "$(jp "$d" "$c.resources.limits.memory}")" ] && [ -n "$(jp "$d" "$c.resources.requests.cpu}")" ] ||
  fail "requests/limits missing"
expect_eq metrics-service-port 8443 "$(jp 'service/failover-operator-metrics -n failover-system' '{.spec.ports[0].port}')"
expect_eq metrics-secure "--metrics-bind-address=:8443 --metrics-secure" "$(jp "$d" "$c.args[2]} $c.args[3]}")"
expect_eq metrics-container-port 8443 "$(jp "$d" "$c.ports[?(@.name==\"metrics\")].containerPort}")"
expect_eq metrics-auth-binding "ClusterRole/failover-operator-metrics-auth failover-system/failover-operator" "$(jp clusterrolebinding/failover-operator-metrics-auth '{.roleRef.kind}/{.roleRef.name} {.subjects[0].namespace}/{.subjects[0].name}')"
expect_eq metrics-reader-role "/metrics get" "$(jp clusterrole/failover-operator-metrics-reader '{.rules[0].nonResourceURLs[*]} {.rules[0].verbs[*]}')"
expect_eq lease-role "create; get update on failover-operator-leader" "$(jp 'role/failover-operator-leader-election -n failover-system' '{.rules[0].verbs[*]}; {.rules[1].verbs[*]} on {.rules[1].resourceNames[*]}')"
expect_eq args-lease-id --leader-election-id=failover-operator-leader "$(jp "$d" "$c.args[1]}")"

# Pod Security admission: the namespace enforces restricted, and a pod of the Deployment's
# template is admitted under it (server-side dry-run: PodSecurity refuses a violating pod).
expect_eq namespace-pod-security "restricted restricted restricted" "$(jp 'namespace/failover-system' '{.metadata.labels.pod-security\.kubernetes\.io/enforce} {.metadata.labels.pod-security\.kubernetes\.io/audit} {.metadata.labels.pod-security\.kubernetes\.io/warn}')"
grep -qi 'PodSecurity\|violate' <<<"$out" && fail "the server dry-run warned about Pod Security: $out"
psa="$(k get $d -o json | jq '{apiVersion: "v1", kind: "Pod", metadata: {name: "pod-security-check", namespace: "failover-system"}, spec: .spec.template.spec}' |
       k create --dry-run=server -f - 2>&1)" || fail "a pod of the Deployment is refused in failover-system: $psa"
grep -qi 'PodSecurity\|violate' <<<"$psa" && fail "a pod of the Deployment warns about Pod Security: $psa"
log "ok: failover-system enforces Pod Security restricted; the operator's pod is admitted"

# Applying again changes nothing.
again="$(k apply -k "$SRC/manifests")"
if grep -v -E ' (unchanged|configured)$' <<<"$again" | grep -q .; then fail "second apply was not a no-op: $again"; fi
grep -q configured <<<"$again" && fail "second apply reconfigured something: $again"
log "ok: a second apply changes nothing"

k apply -f "$SRC/manifests/samples/namespace.yaml"
out="$(k apply -k "$SRC/manifests/samples" --dry-run=server 2>&1)" || fail "server dry-run of samples: $out"
k apply -k "$SRC/manifests/samples"
expect_eq sample-group-members "site-a site-b" "$(jp 'fg/demo -n failover-demo' '{.spec.members[*].name}')"
expect_eq sample-service-type NodePort "$(jp 'service/demo -n failover-demo' '{.spec.type}')"
expect_eq sample-readiness /ready "$(jp 'deployment/demo-site-b -n failover-demo' "$c.readinessProbe.httpGet.path}")"
k get fg -n failover-demo

# The sample workload runs: its pod templates as pods on the harness node (no scheduler
# or Deployment controller here), Ready through their /ready probes, served on the NodePort.
source "$SRC/tests/ship/sample-pods.sh"
k create --dry-run=client -o json -f <(k kustomize "$SRC/manifests/samples") | sample_pods | k apply -f -
deadline=$((SECONDS + 60))
all_ready() {  # every demo pod on a node is Ready (ReplicaSet pods may wait unscheduled)
  k get pods -n failover-demo -l app=demo -o json | jq -e '[.items[] | select(.spec.nodeName)] |
    length >= 2 and all(.[]; any(.status.conditions[]?; .type == "Ready" and .status == "True"))' >/dev/null
}
until all_ready; do
  [ $SECONDS -lt $deadline ] || fail "sample pods not Ready: $(k get pods -n failover-demo -o wide)"
  sleep 0.5
done
expect_eq "sample answers on NodePort 30080 from" "pod=demo-site-a" \
  "$(curl -sf --max-time 5 "http://$FO_NODE_IP:30080/?format=text" | cut -d' ' -f1 | cut -d- -f1-3)"
log "PASS"
