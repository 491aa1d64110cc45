#pragma once
// Text pieces the engine's messages and Describe share.

#include <string>
#include <vector>

#include "failover/types.h"

namespace failover::engine {

inline std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// "{k1=v1,k2=v2}": a selector as the messages quote it.
inline std::string SelectorText(const Labels& selector) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : selector) parts.push_back(k + "=" + v);
  return "{" + Join(parts, ",") + "}";
}

}  // namespace failover::engine
