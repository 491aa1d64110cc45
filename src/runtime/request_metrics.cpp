#include "runtime/request_metrics.h"

namespace runtime {

void RequestMetrics::OnRequest(const std::string& verb, const std::string& resource, int code,
                               std::chrono::duration<double> latency) {
  if (!metrics_) return;
  const std::string code_label = code == 0 ? "<error>" : std::to_string(code);
  metrics_->RestClientRequests()
      .Add({{"code", code_label}, {"method", verb}, {"resource", resource}})
      .Increment();
  metrics_->RestClientDuration()
      .Add({{"verb", verb}, {"resource", resource}}, LatencyBuckets())
      .Observe(latency.count());
}

}  // namespace runtime
