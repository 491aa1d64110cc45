#pragma once

#include <memory>

#include "kube/client.h"
#include "runtime/metrics.h"

namespace runtime {

// Feeds rest_client_requests_total{code,method,resource} and
// rest_client_request_duration_seconds{verb,resource} of `metrics` from a kube::Client
// (null metrics = records nothing).
class RequestMetrics : public kube::RequestObserver {
 public:
  explicit RequestMetrics(std::shared_ptr<RuntimeMetrics> metrics) : metrics_(std::move(metrics)) {}

  void OnRequest(const std::string& verb, const std::string& resource, int code,
                 std::chrono::duration<double> latency) override;

 private:
  std::shared_ptr<RuntimeMetrics> metrics_;
};

}  // namespace runtime
