#pragma once

#include "kube/client.h"

namespace runtime {

// Feeds rest_client_requests_total{code,method,resource} and
// rest_client_request_duration_seconds{verb,resource} from a kube::Client.
class RequestMetrics : public kube::RequestObserver {
 public:
  void OnRequest(const std::string& verb, const std::string& resource, int code,
                 std::chrono::duration<double> latency) override;
};

}  // namespace runtime
