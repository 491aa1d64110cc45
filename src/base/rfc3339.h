#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace base {

// An instant in UTC to the microsecond, the finest the API's timestamps carry
// (metav1.MicroTime). Coarser sys_time values convert to it implicitly; a
// system_clock::time_point needs std::chrono::floor<std::chrono::microseconds>.
using WallTime = std::chrono::sys_time<std::chrono::microseconds>;

// RFC 3339 as the apiserver and kubeconfig tools write it:
// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), with 'T' and 'Z' in either case.
// Fraction digits past the sixth are dropped. nullopt for anything else, including
// dates that do not exist ("2026-02-30").
std::optional<WallTime> ParseRfc3339(std::string_view text);

// How many digits of the second's fraction FormatRfc3339 writes; the rest is dropped.
enum class Fraction {
  kNone,    // "2026-01-02T03:04:05Z": metav1.Time (Events, pod conditions)
  kMillis,  // "...05.250Z", or "...05Z" on a whole second: the FailoverGroup status
  kMicros,  // "...05.250000Z" always: metav1.MicroTime (Leases), log records
};

// t in UTC ("Z"), the inverse of ParseRfc3339 up to the fraction dropped.
std::string FormatRfc3339(WallTime t, Fraction fraction);

}  // namespace base
