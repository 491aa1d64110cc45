#!/usr/bin/env python3
# Prints (as one line of JSON, which Prometheus reads as YAML) the scrape config the Prometheus
# Operator generates for a ServiceMonitor, so a plain Prometheus scrapes the way it would
# under the operator: Kubernetes service discovery (role endpointslice: a Prometheus with
# serviceDiscoveryRole: EndpointSlice; core/v1 Endpoints are deprecated), then the
# relabelling of the operator's generateServiceMonitorConfig (pkg/prometheus/promcfg.go), in
# its order: keep the Services whose labels match the selector, keep the endpoint's port by
# name, the target labels node/pod/namespace/service/pod/container, drop finished pods, job
# from the Service's name and then from jobLabel, endpoint from the port name, and the
# sharding rules of a single shard (the config reloader substitutes $(SHARD) with 0).
#
# Only the fields manifests/monitoring/servicemonitor.yaml uses are translated; any other
# field of the spec or the endpoint fails, so the test never scrapes with a config that
# quietly differs from the shipped object. interval/scrapeTimeout are left out (the test's
# global 1s applies).
#
# usage: servicemonitor-scrape-config.py SERVICEMONITOR KUBECONFIG TOKEN_FILE [--honor-labels=false]
#   KUBECONFIG: what Prometheus discovers with (kubeconfig_file); TOKEN_FILE: the bearer token
#   it scrapes with, in place of the endpoint's bearerTokenFile (the same ServiceAccount's
#   token in a pod). --honor-labels=false overrides the endpoint's honorLabels (as a
#   Prometheus with overrideHonorLabels: true does): the test's negative control.
import json
import re
import sys

import yaml

args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = [a for a in sys.argv[1:] if a.startswith("--")]
if len(args) != 3 or any(f != "--honor-labels=false" for f in flags):
    sys.exit("usage: servicemonitor-scrape-config.py SERVICEMONITOR KUBECONFIG TOKEN_FILE [--honor-labels=false]")
sm_path, kubeconfig, token_file = args

with open(sm_path) as f:
    sm = yaml.safe_load(f)


def refuse(what):
    sys.exit(f"servicemonitor-scrape-config.py: {sm_path}: {what} (not translated)")


if sm.get("kind") != "ServiceMonitor":
    refuse(f"kind {sm.get('kind')!r}")
meta, spec = sm["metadata"], sm["spec"]
unknown = set(spec) - {"jobLabel", "selector", "namespaceSelector", "endpoints"}
if unknown:
    refuse(f"spec fields {sorted(unknown)}")
if set(spec["selector"]) - {"matchLabels"}:
    refuse(f"selector fields {sorted(set(spec['selector']) - {'matchLabels'})}")
if set(spec.get("namespaceSelector", {})) - {"matchNames"}:
    refuse("namespaceSelector other than matchNames")
if len(spec["endpoints"]) != 1:
    refuse(f"{len(spec['endpoints'])} endpoints (one is translated)")
ep = spec["endpoints"][0]
unknown = set(ep) - {"port", "path", "scheme", "bearerTokenFile", "tlsConfig", "interval", "scrapeTimeout",
                     "honorLabels"}
if unknown:
    refuse(f"endpoint fields {sorted(unknown)}")
if set(ep.get("tlsConfig", {})) - {"insecureSkipVerify"}:
    refuse("tlsConfig other than insecureSkipVerify")
if "port" not in ep:
    refuse("an endpoint without port")


def sanitize(name):  # the operator's sanitizeLabelName
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


kind_name = ["__meta_kubernetes_endpointslice_address_target_kind",
             "__meta_kubernetes_endpointslice_address_target_name"]
relabel = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
labels = spec["selector"]["matchLabels"]
for k in sorted(labels):
    relabel.append({"action": "keep",
                    "source_labels": [f"__meta_kubernetes_service_label_{sanitize(k)}",
                                      f"__meta_kubernetes_service_labelpresent_{sanitize(k)}"],
                    "regex": f"({labels[k]});true"})
relabel += [
    {"action": "keep", "source_labels": ["__meta_kubernetes_endpointslice_port_name"], "regex": ep["port"]},
    {"source_labels": kind_name, "separator": ";", "regex": "Node;(.*)", "replacement": "${1}",
     "target_label": "node"},
    {"source_labels": kind_name, "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}",
     "target_label": "pod"},
    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
    {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
    {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"},
    {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"},
]
if spec.get("jobLabel"):
    relabel.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}"],
                    "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
relabel += [
    {"target_label": "endpoint", "replacement": ep["port"]},
    {"source_labels": ["__address__", "__tmp_hash"], "target_label": "__tmp_hash", "regex": "(.+);",
     "replacement": "$1", "action": "replace"},
    {"source_labels": ["__tmp_hash"], "target_label": "__tmp_hash", "modulus": 1, "action": "hashmod"},
    {"source_labels": ["__tmp_hash", "__tmp_disable_sharding"], "regex": "0;|.+;.+", "action": "keep"},
]

honor = bool(ep.get("honorLabels", False))
if "--honor-labels=false" in flags:
    honor = False
job = {
    "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/0",
    "honor_labels": honor,
    "kubernetes_sd_configs": [{
        "role": "endpointslice",
        "kubeconfig_file": kubeconfig,
        "namespaces": {"names": spec.get("namespaceSelector", {}).get("matchNames", [meta["namespace"]])},
    }],
    "metrics_path": ep.get("path", "/metrics"),
    "scheme": ep.get("scheme", "http"),
    "relabel_configs": relabel,
}
if "tlsConfig" in ep:
    job["tls_config"] = {"insecure_skip_verify": bool(ep["tlsConfig"].get("insecureSkipVerify", False))}
if "bearerTokenFile" in ep:
    job["bearer_token_file"] = token_file
print(json.dumps(job))
