#pragma once
// The domain's Duration and Time as text: base's one grammar, under the names the
// failover code has always used. The status keeps milliseconds.

#include <optional>
#include <string>
#include <string_view>

#include "base/duration.h"
#include "base/rfc3339.h"
#include "failover/types.h"

namespace failover {

// "1h2m3.5s", "500ms", "0" (base::ParseDuration); "1m30s", "500ms", "0s".
using base::FormatDuration;
using base::ParseDuration;

// RFC 3339 ("2026-01-02T03:04:05Z", fractional seconds and offsets accepted), to the
// millisecond.
inline std::optional<Time> ParseTime(std::string_view text) {
  auto t = base::ParseRfc3339(text);
  if (!t) return std::nullopt;
  return std::chrono::floor<Duration>(*t);
}

// "2026-01-02T03:04:05Z", or "...05.250Z" when there are milliseconds.
inline std::string FormatTime(Time t) { return base::FormatRfc3339(t, base::Fraction::kMillis); }

}  // namespace failover
