#include "runtime/request_metrics.h"

#include "runtime/metrics.h"

namespace runtime {

void RequestMetrics::OnRequest(const std::string& verb, const std::string& resource, int code,
                               std::chrono::duration<double> latency) {
  const std::string code_label = code == 0 ? "<error>" : std::to_string(code);
  metrics::RestClientRequests()
      .Add({{"code", code_label}, {"method", verb}, {"resource", resource}})
      .Increment();
  metrics::RestClientDuration()
      .Add({{"verb", verb}, {"resource", resource}}, metrics::LatencyBuckets())
      .Observe(latency.count());
}

}  // namespace runtime
