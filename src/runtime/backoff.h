#pragma once

// The backoff lives in fo_kube, whose list-watch loop uses it; the runtime keeps its
// names for it and its steady clock.
#include "kube/backoff.h"

namespace runtime {

using Clock = std::chrono::steady_clock;
using kube::Backoff;
using kube::BackoffOptions;

}  // namespace runtime
