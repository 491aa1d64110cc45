#pragma once
// A complete, valid FailoverGroup spec (every field set) for the spec and validation
// tests, and their errors as the user reads them.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "failover/spec_parse.h"

namespace failover {

inline std::vector<std::string> Messages(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

inline json ValidSpec() {
  return json::parse(R"({
    "mode": "ActivePassive",
    "members": [
      {"name": "site-a", "selector": {"matchLabels": {"app": "db", "site": "a"}}, "minReady": 2},
      {"name": "site-b", "selector": {"matchExpressions": [{"key": "site", "operator": "In", "values": ["b", "c"]}]}, "priority": 5}
    ],
    "services": [{"name": "orders-db"}],
    "detection": {"unhealthyFor": "1m30s", "probe": {"tcp": {"port": 5432}, "period": "2s", "timeout": "500ms", "failureThreshold": 2}},
    "switchover": {"strategy": "MakeBeforeBreak"},
    "failback": {"policy": "Automatic", "stabilizationWindow": "2m"},
    "antiFlap": {"maxFailovers": 5, "window": "1h"},
    "fencing": {"policy": "DeletePods"},
    "promotion": {"maxLag": {"seconds": 10, "bytes": 1048576}},
    "hooks": {"prePromote": {"url": "http://hooks/pre", "failurePolicy": "Ignore"}},
    "paused": true,
    "dryRun": false
  })");
}

}  // namespace failover
