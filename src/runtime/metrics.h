#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace runtime {

// No registry is process-wide: the program (main, a test) makes one, hands it to the
// manager (ManagerOptions::metrics_registry) and to what it wires (FailoverMetrics), and
// the manager's /metrics serves it. Two managers on two registries share no series.

// A registry in the Prometheus text exposition format (what /metrics serves).
std::string SerializeMetrics(const prometheus::Registry& registry);

// failover_operator_build_info{version} = 1 on the registry (main publishes it).
void PublishBuildInfo(prometheus::Registry& registry, const std::string& version);

// Buckets used for latency histograms (seconds).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// The runtime families of docs/metrics.md, registered on one registry when constructed.
// The manager makes one on its registry and hands it to what it makes (controllers, work
// queues, informers, leader election, the request observer); those record nothing when
// given none. Thread-safe (prometheus families are). Keeps the registry alive.
class RuntimeMetrics {
 public:
  // registry: null = a registry of its own (reachable through registry()).
  explicit RuntimeMetrics(std::shared_ptr<prometheus::Registry> registry);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  // SerializeMetrics(*registry()).
  std::string Serialize() const;

  prometheus::Family<prometheus::Counter>& ReconcileTotal() const { return *reconcile_total_; }      // controller, result
  prometheus::Family<prometheus::Counter>& ReconcileErrors() const { return *reconcile_errors_; }    // controller
  prometheus::Family<prometheus::Counter>& ReconcilePanics() const { return *reconcile_panics_; }    // controller
  prometheus::Family<prometheus::Histogram>& ReconcileTime() const { return *reconcile_time_; }      // controller
  prometheus::Family<prometheus::Gauge>& ActiveWorkers() const { return *active_workers_; }          // controller
  prometheus::Family<prometheus::Gauge>& WorkqueueDepth() const { return *workqueue_depth_; }        // name
  prometheus::Family<prometheus::Counter>& WorkqueueAdds() const { return *workqueue_adds_; }        // name
  prometheus::Family<prometheus::Counter>& WorkqueueRetries() const { return *workqueue_retries_; }  // name
  prometheus::Family<prometheus::Histogram>& WorkqueueQueueDuration() const { return *workqueue_queue_duration_; }  // name
  prometheus::Family<prometheus::Histogram>& WorkqueueWorkDuration() const { return *workqueue_work_duration_; }    // name
  prometheus::Family<prometheus::Counter>& RestClientRequests() const { return *rest_client_requests_; }  // code, method, resource
  prometheus::Family<prometheus::Histogram>& RestClientDuration() const { return *rest_client_duration_; }  // verb, resource
  prometheus::Family<prometheus::Gauge>& LeaderStatus() const { return *leader_status_; }            // name
  prometheus::Family<prometheus::Counter>& InformerRelists() const { return *informer_relists_; }    // resource
  prometheus::Family<prometheus::Counter>& InformerWatchStalls() const { return *informer_watch_stalls_; }  // resource
  prometheus::Family<prometheus::Gauge>& InformerObjects() const { return *informer_objects_; }  // resource

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* reconcile_total_;
  prometheus::Family<prometheus::Counter>* reconcile_errors_;
  prometheus::Family<prometheus::Counter>* reconcile_panics_;
  prometheus::Family<prometheus::Histogram>* reconcile_time_;
  prometheus::Family<prometheus::Gauge>* active_workers_;
  prometheus::Family<prometheus::Gauge>* workqueue_depth_;
  prometheus::Family<prometheus::Counter>* workqueue_adds_;
  prometheus::Family<prometheus::Counter>* workqueue_retries_;
  prometheus::Family<prometheus::Histogram>* workqueue_queue_duration_;
  prometheus::Family<prometheus::Histogram>* workqueue_work_duration_;
  prometheus::Family<prometheus::Counter>* rest_client_requests_;
  prometheus::Family<prometheus::Histogram>* rest_client_duration_;
  prometheus::Family<prometheus::Gauge>* leader_status_;
  prometheus::Family<prometheus::Counter>* informer_relists_;
  prometheus::Family<prometheus::Gauge>* informer_objects_;
  prometheus::Family<prometheus::Counter>* informer_watch_stalls_;
};

}  // namespace runtime
