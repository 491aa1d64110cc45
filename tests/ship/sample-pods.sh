# sample_pods [FILE]: reads the sample's objects as a JSON stream (kubectl create
# --dry-run=client -o json) and prints one Pod per Deployment: its pod template, named
# <deployment>-0, pinned to the harness node $FO_NODE_NAME.
sample_pods() {
  jq --arg node "${FO_NODE_NAME:?}" 'select(.kind == "Deployment") | {apiVersion: "v1", kind: "Pod",
    metadata: {name: (.metadata.name + "-0"), namespace: .metadata.namespace, labels: .spec.template.metadata.labels},
    spec: (.spec.template.spec + {nodeName: $node})}' "${1:--}"
}
