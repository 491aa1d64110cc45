#include "base/rfc3339.h"

#include <cstdint>
#include <cstdio>

namespace base {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<WallTime> ParseRfc3339(std::string_view s) {
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    if (pos + len > s.size()) return std::nullopt;
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      if (!IsDigit(s[k])) return std::nullopt;
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  // A leap second (:60) reads as the first second of the next minute.
  if (!y || !mo || !d || !h || !mi || !se || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  size_t i = 19;
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (digits < 6) micros = micros * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 6; ++k) micros *= 10;
  }
  int offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || s[i + 3] != ':') return std::nullopt;
    offset_min = (*oh * 60 + *om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return WallTime{std::chrono::sys_days(ymd)} + std::chrono::hours(*h) +
         std::chrono::minutes(*mi) + std::chrono::seconds(*se) +
         std::chrono::microseconds(micros) - std::chrono::minutes(offset_min);
}

std::string FormatRfc3339(WallTime t, Fraction fraction) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss<std::chrono::microseconds> tod(t - days);
  const int micros = static_cast<int>(tod.subseconds().count());
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                        static_cast<int>(tod.minutes().count()),
                        static_cast<int>(tod.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction == Fraction::kMicros) {
    std::snprintf(buf, sizeof buf, ".%06d", micros);
    out += buf;
  } else if (fraction == Fraction::kMillis && micros / 1000 != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", micros / 1000);
    out += buf;
  }
  return out + "Z";
}

}  // namespace base
