#include "runtime/metrics.h"

#include <prometheus/text_serializer.h>

namespace runtime {

std::shared_ptr<prometheus::Registry> MetricsRegistry() {
  static auto* registry = new std::shared_ptr<prometheus::Registry>(
      std::make_shared<prometheus::Registry>());
  return *registry;
}

prometheus::Registry& Metrics() { return *MetricsRegistry(); }

std::string SerializeMetrics() {
  return prometheus::TextSerializer().Serialize(Metrics().Collect());
}

namespace metrics {
namespace {

template <typename Builder>
auto& Register(Builder b, const char* name, const char* help) {
  return b.Name(name).Help(help).Register(Metrics());
}

}  // namespace

#define FO_FAMILY(fn, type, builder, name, help)             \
  prometheus::Family<prometheus::type>& fn() {               \
    static auto& f = Register(prometheus::builder(), name, help); \
    return f;                                                \
  }

FO_FAMILY(ReconcileTotal, Counter, BuildCounter, "controller_runtime_reconcile_total",
          "Total number of reconciliations per controller")
FO_FAMILY(ReconcileErrors, Counter, BuildCounter, "controller_runtime_reconcile_errors_total",
          "Total number of reconciliation errors per controller")
FO_FAMILY(ReconcilePanics, Counter, BuildCounter, "controller_runtime_reconcile_panics_total",
          "Total number of exceptions caught inside reconciles per controller")
FO_FAMILY(ReconcileTime, Histogram, BuildHistogram, "controller_runtime_reconcile_time_seconds",
          "Length of time per reconciliation per controller")
FO_FAMILY(ActiveWorkers, Gauge, BuildGauge, "controller_runtime_active_workers",
          "Number of currently used workers per controller")
FO_FAMILY(WorkqueueDepth, Gauge, BuildGauge, "workqueue_depth", "Current depth of workqueue")
FO_FAMILY(WorkqueueAdds, Counter, BuildCounter, "workqueue_adds_total",
          "Total number of adds handled by workqueue")
FO_FAMILY(WorkqueueRetries, Counter, BuildCounter, "workqueue_retries_total",
          "Total number of retries handled by workqueue")
FO_FAMILY(WorkqueueQueueDuration, Histogram, BuildHistogram, "workqueue_queue_duration_seconds",
          "How long in seconds an item stays in workqueue before being requested")
FO_FAMILY(WorkqueueWorkDuration, Histogram, BuildHistogram, "workqueue_work_duration_seconds",
          "How long in seconds processing an item from workqueue takes")
FO_FAMILY(RestClientRequests, Counter, BuildCounter, "rest_client_requests_total",
          "Number of HTTP requests, partitioned by status code, method, and resource")
FO_FAMILY(RestClientDuration, Histogram, BuildHistogram, "rest_client_request_duration_seconds",
          "Request latency in seconds, broken down by verb and resource")
FO_FAMILY(LeaderStatus, Gauge, BuildGauge, "leader_election_master_status",
          "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
          "backup, 1 indicates master. 'name' is the string used to identify the lease.")
FO_FAMILY(InformerRelists, Counter, BuildCounter, "failover_operator_informer_relists_total",
          "Full re-lists an informer made after its first list (410 Expired, errors)")
FO_FAMILY(BuildInfo, Gauge, BuildGauge, "failover_operator_build_info",
          "Build information; the value is always 1")

#undef FO_FAMILY

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return kBuckets;
}

}  // namespace metrics
}  // namespace runtime
