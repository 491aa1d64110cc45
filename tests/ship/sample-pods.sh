# sample_pods [FILE]: reads the sample's objects as a JSON stream (kubectl create
# --dry-run=client -o json) and prints one Pod per Deployment: its pod template, named
# <deployment>-0, pinned to the harness node $FO_NODE_NAME.
sample_pods() {
  jq --arg node "${FO_NODE_NAME:?}" 'select(.kind == "Deployment") | {apiVersion: "v1", kind: "Pod",
    metadata: {name: (.metadata.name + "-0"), namespace: .metadata.namespace, labels: .spec.template.metadata.labels},
    spec: (.spec.template.spec + {nodeName: $node})}' "${1:--}"
}

# sample_namespace NS OUT: the CRD installed (and removed at exit unless it was there), then
# the sample's objects for namespace NS written to OUT as a JSON stream (no Namespace; the
# Service a ClusterIP; initialWait 30s, so the preferred site-a is waited for whichever pod
# turns Ready first: with 0, site-b was elected now and then), and NS created. Needs lib.sh
# (k, on_exit, crd_established) and its caller's shell (on_exit).
sample_namespace() {
  local ns="$1" out="$2" crd_existed=0
  k get crd failovergroups.failover.io >/dev/null 2>&1 && crd_existed=1
  on_exit "[ $crd_existed = 1 ] || k delete crd failovergroups.failover.io --timeout=60s"
  k apply -k "$SRC/manifests/crd" >/dev/null
  crd_established failovergroups.failover.io
  k kustomize "$SRC/manifests/samples" | k create --dry-run=client -o json -f - |
    jq --arg ns "$ns" 'select(.kind != "Namespace") | .metadata.namespace = $ns
      | if .kind == "Service" then .spec.type = "ClusterIP" | del(.spec.ports[].nodePort) else . end
      | if .kind == "FailoverGroup" then .spec.detection.initialWait = "30s" else . end' >"$out"
  k create namespace "$ns" >/dev/null
}
