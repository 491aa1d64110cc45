#include "runtime/metrics.h"

#include <prometheus/text_serializer.h>

namespace runtime {
namespace {

template <typename Builder>
auto* Register(prometheus::Registry& registry, Builder b, const char* name, const char* help) {
  return &b.Name(name).Help(help).Register(registry);
}

std::shared_ptr<prometheus::Registry> OrNew(std::shared_ptr<prometheus::Registry> registry) {
  return registry ? std::move(registry) : std::make_shared<prometheus::Registry>();
}

}  // namespace

std::string SerializeMetrics(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

void PublishBuildInfo(prometheus::Registry& registry, const std::string& version) {
  Register(registry, prometheus::BuildGauge(), "failover_operator_build_info",
           "Build information; the value is always 1")
      ->Add({{"version", version}})
      .Set(1);
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return kBuckets;
}

// Names and help as docs/metrics.md lists them (controller-runtime's where they exist).
RuntimeMetrics::RuntimeMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(OrNew(std::move(registry))) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  reconcile_total_ = Register(r, BuildCounter(), "controller_runtime_reconcile_total",
                              "Total number of reconciliations per controller");
  reconcile_errors_ = Register(r, BuildCounter(), "controller_runtime_reconcile_errors_total",
                               "Total number of reconciliation errors per controller");
  reconcile_panics_ = Register(r, BuildCounter(), "controller_runtime_reconcile_panics_total",
                               "Total number of exceptions caught inside reconciles per controller");
  reconcile_time_ = Register(r, BuildHistogram(), "controller_runtime_reconcile_time_seconds",
                             "Length of time per reconciliation per controller");
  active_workers_ = Register(r, BuildGauge(), "controller_runtime_active_workers",
                             "Number of currently used workers per controller");
  workqueue_depth_ = Register(r, BuildGauge(), "workqueue_depth", "Current depth of workqueue");
  workqueue_adds_ = Register(r, BuildCounter(), "workqueue_adds_total",
                             "Total number of adds handled by workqueue");
  workqueue_retries_ = Register(r, BuildCounter(), "workqueue_retries_total",
                                "Total number of retries handled by workqueue");
  workqueue_queue_duration_ =
      Register(r, BuildHistogram(), "workqueue_queue_duration_seconds",
               "How long in seconds an item stays in workqueue before being requested");
  workqueue_work_duration_ = Register(r, BuildHistogram(), "workqueue_work_duration_seconds",
                                      "How long in seconds processing an item from workqueue takes");
  rest_client_requests_ =
      Register(r, BuildCounter(), "rest_client_requests_total",
               "Number of HTTP requests, partitioned by status code, method, and resource");
  rest_client_duration_ = Register(r, BuildHistogram(), "rest_client_request_duration_seconds",
                                   "Request latency in seconds, broken down by verb and resource");
  leader_status_ =
      Register(r, BuildGauge(), "leader_election_master_status",
               "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
               "backup, 1 indicates master. 'name' is the string used to identify the lease.");
  informer_relists_ =
      Register(r, BuildCounter(), "failover_operator_informer_relists_total",
               "Full re-lists an informer made after its first list (410 Expired, errors)");
  informer_watch_stalls_ =
      Register(r, BuildCounter(), "failover_operator_informer_watch_stalls_total",
               "Watches that stayed open but delivered nothing past their server-side timeout "
               "plus grace (kube::kSilentWatchBound), cut and resumed from the last resourceVersion");
  informer_objects_ =
      Register(r, BuildGauge(), "failover_operator_informer_objects",
               "Objects in an informer cache (its namespaces and selector: --namespace, --pod-label-selector)");
}

std::string RuntimeMetrics::Serialize() const { return SerializeMetrics(*registry_); }

}  // namespace runtime
