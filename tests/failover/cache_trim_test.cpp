// What the operator's informer caches keep: the observations the engine gets are the same
// from a trimmed object as from the full one, and the trimmed object is much smaller.
#include <gtest/gtest.h>

#include "failover/cache_trim.h"
#include "failover/parse.h"

namespace failover {
namespace {

using json = nlohmann::json;

// A pod as kube-apiserver returns it (managedFields, a full spec, every condition).
json FullPod(const std::string& ready) {
  return json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "db-a-0", "namespace": "shop", "uid": "5e1f", "resourceVersion": "1042",
      "creationTimestamp": "2026-01-01T00:00:00Z", "deletionTimestamp": "2026-01-01T00:05:00Z",
      "labels": {"app": "db", "failover.io/group": "db", "failover.io/role": "active"},
      "annotations": {"failover.io/lag-seconds": "2",
        "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"db-a-0\"}}"},
      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-a-7d9", "uid": "9a", "controller": true}],
      "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}]},
    "spec": {"containers": [{"name": "app", "image": "registry.example/db:15", "ports": [{"containerPort": 5432, "protocol": "TCP"}],
      "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2}, "resources": {},
      "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
      "nodeName": "node-1", "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
      "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}]},
    "status": {"phase": "Running", "podIP": "10.1.0.7", "hostIP": "10.0.0.1", "podIPs": [{"ip": "10.1.0.7"}],
      "startTime": "2026-01-01T00:00:01Z", "qosClass": "BestEffort",
      "conditions": [
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-01-01T00:00:01Z"},
        {"type": "Ready", "status": ")" + ready + R"(", "lastProbeTime": null, "lastTransitionTime": "2026-01-01T00:00:03Z"},
        {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-01-01T00:00:03Z"},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-01-01T00:00:00Z"}],
      "containerStatuses": [{"name": "app", "ready": true, "restartCount": 3, "image": "registry.example/db:15",
        "imageID": "", "containerID": "fo://1234", "started": true, "state": {"running": {"startedAt": "2026-01-01T00:00:02Z"}},
        "lastState": {}}]}})");
}

void ExpectSameObservation(const PodObservation& a, const PodObservation& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.annotations.count("failover.io/lag-seconds"), b.annotations.count("failover.io/lag-seconds"));
  EXPECT_EQ(a.ready, b.ready);
  EXPECT_EQ(a.terminating, b.terminating);
  EXPECT_EQ(a.pod_ip, b.pod_ip);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.node_name, b.node_name);
}

TEST(CacheTrim, PodKeepsEveryObservedFieldAndShrinks) {
  for (const std::string ready : {"True", "False"}) {
    const json full = FullPod(ready);
    json trimmed = full;
    TrimPod(trimmed);
    ExpectSameObservation(PodFromObject(full), PodFromObject(trimmed));
    EXPECT_EQ(PodFromObject(trimmed).ready, ready == "True");
    EXPECT_EQ(trimmed["metadata"]["namespace"], "shop");
    EXPECT_EQ(trimmed["metadata"]["resourceVersion"], "1042");
    EXPECT_EQ(trimmed["kind"], "Pod");
    // Only the node it runs on (node-lease detection) is kept of the spec.
    EXPECT_EQ(trimmed["spec"], json({{"nodeName", "node-1"}}));
    EXPECT_EQ(PodFromObject(trimmed).node_name, "node-1");
    EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
    EXPECT_FALSE(trimmed["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
    EXPECT_EQ(trimmed["metadata"]["annotations"]["failover.io/lag-seconds"], "2");
    EXPECT_EQ(trimmed["status"]["conditions"].size(), 1u);
    EXPECT_LT(trimmed.dump().size() * 4, full.dump().size()) << trimmed.dump();
  }
}

TEST(CacheTrim, PodWithoutStatusOrConditionsStaysReadable) {
  json pending = json::parse(R"({"metadata": {"name": "p", "namespace": "n", "uid": "u"}, "spec": {"containers": []}})");
  TrimPod(pending);
  EXPECT_EQ(pending, json::parse(R"({"metadata": {"name": "p", "namespace": "n", "uid": "u"}})"));
  EXPECT_FALSE(PodFromObject(pending).ready);

  json no_ready = json::parse(R"({"metadata": {"name": "p"}, "status": {"phase": "Pending",
      "conditions": [{"type": "PodScheduled", "status": "True"}]}})");
  TrimPod(no_ready);
  EXPECT_FALSE(no_ready["status"].contains("conditions"));
  EXPECT_EQ(no_ready["status"]["phase"], "Pending");

  json garbage = json::array({1, 2});
  TrimPod(garbage);
  EXPECT_EQ(garbage, json::array({1, 2}));
}

TEST(CacheTrim, NodeLeaseKeepsRenewTimeDurationAndHolder) {
  const json full = json::parse(R"({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
    "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "77", "resourceVersion": "501",
      "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n1"}],
      "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "coordination.k8s.io/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:renewTime": {}}}}]},
    "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
      "renewTime": "2026-01-01T00:00:10.123456Z"}})");
  json trimmed = full;
  TrimLease(trimmed);
  EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
  EXPECT_EQ(trimmed["metadata"]["resourceVersion"], "501");
  const NodeObservation a = NodeLeaseFromObject(full);
  const NodeObservation b = NodeLeaseFromObject(trimmed);
  EXPECT_EQ(b.name, "node-1");
  EXPECT_TRUE(b.lease_found);
  EXPECT_EQ(b.holder, "node-1");
  EXPECT_EQ(b.lease_duration_seconds, 40);
  // A MicroTime (microseconds) is read to the millisecond.
  EXPECT_EQ(FormatTime(b.renew_time), "2026-01-01T00:00:10.123Z");
  EXPECT_EQ(a.renew_time, b.renew_time);
  EXPECT_LT(trimmed.dump().size(), full.dump().size());
}

TEST(CacheTrim, ServiceKeepsSelectorAndAnnotations) {
  const json full = json::parse(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "db", "namespace": "shop", "uid": "s1", "resourceVersion": "77",
      "annotations": {"failover.io/active-member": "a", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
      "managedFields": [{"manager": "kubectl"}]},
    "spec": {"selector": {"failover.io/group": "db", "failover.io/role": "active"}, "clusterIP": "10.0.0.9",
      "ports": [{"port": 5432, "targetPort": 5432, "protocol": "TCP"}], "type": "ClusterIP", "sessionAffinity": "None"},
    "status": {"loadBalancer": {}}})");
  json trimmed = full;
  TrimService(trimmed);
  const ServiceObservation a = ServiceFromObject(full);
  const ServiceObservation b = ServiceFromObject(trimmed);
  EXPECT_EQ(a.selector, b.selector);
  EXPECT_EQ(b.annotations, (Labels{{"failover.io/active-member", "a"}}));
  EXPECT_EQ(b.name, "db");
  EXPECT_FALSE(trimmed["spec"].contains("ports"));
  EXPECT_FALSE(trimmed.contains("status"));
}

TEST(CacheTrim, GroupKeepsSpecStatusAndMetadata) {
  const json full = json::parse(R"({"apiVersion": "failover.io/v1alpha1", "kind": "FailoverGroup",
    "metadata": {"name": "db", "namespace": "shop", "uid": "g1", "resourceVersion": "12", "generation": 3,
      "finalizers": ["failover.io/finalizer"],
      "annotations": {"failover.io/switchover-to": "b", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
      "managedFields": [{"manager": "kubectl"}]},
    "spec": {"members": [{"name": "a", "selector": {"matchLabels": {"app": "db-a"}}}], "services": [{"name": "db"}]},
    "status": {"phase": "Healthy", "activeMember": "a"}})");
  json trimmed = full;
  TrimGroup(trimmed);
  EXPECT_EQ(trimmed["spec"], full["spec"]);
  EXPECT_EQ(trimmed["status"], full["status"]);
  EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
  const GroupMeta a = GroupMetaFromObject(full);
  const GroupMeta b = GroupMetaFromObject(trimmed);
  EXPECT_EQ(b.generation, 3);
  EXPECT_EQ(a.finalizers, b.finalizers);
  EXPECT_EQ(b.annotations, (Labels{{"failover.io/switchover-to", "b"}}));
}

}  // namespace
}  // namespace failover
