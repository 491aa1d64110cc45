#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "kube/list_watch.h"

namespace harness {

// How the harness's components (node agent, scheduler, service proxy) run a
// kube::ListWatch: a failed list or watch is tried again after a fixed second of env's.
inline kube::ListWatchOptions HarnessListWatch(const kube::Resource& res, base::Env& env,
                                               std::string field_selector = "") {
  kube::ListWatchOptions o;
  o.resource = res;
  o.env = &env;
  o.field_selector = std::move(field_selector);
  o.backoff.initial = o.backoff.max = std::chrono::seconds(1);
  return o;
}

// The line a component logs for a list-watch failure ("list pods: <status>", "watch pods:
// <status>"); none for the re-list after 410 Expired, which is routine.
inline std::optional<std::string> ListWatchErrorLine(const std::string& resource,
                                                     const kube::ListWatchError& e) {
  using Kind = kube::ListWatchError::Kind;
  if (e.kind == Kind::kWatchExpired) return std::nullopt;
  return std::string(e.kind == Kind::kListFailed ? "list " : "watch ") + resource + ": " +
         e.status.ToString();
}

}  // namespace harness
