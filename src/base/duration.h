#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace base {

// Go's time.Duration text, as far as the FailoverGroup CRD accepts it (its pattern is
// ^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$): "1h2m3.5s", "1.5s", "250ms", "0". Units ms, s, m
// and h; no sign; every number but a lone "0" carries a unit. Fractions round to the
// nearest millisecond. nullopt when the text is not such a duration or is longer than
// 2^50 ms (about 35,000 years), so a caller never sees an overflowed value.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest text ParseDuration reads back as d (for d >= 0): "1m30s", "500ms", "0s".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace base
