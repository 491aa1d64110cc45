#include "base/duration.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace base {
namespace {

constexpr int64_t kMaxDurationMs = int64_t{1} << 50;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds{0};
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start) return std::nullopt;
    double value = 0;
    for (size_t k = start; k < i; ++k) value = value * 10 + (text[k] - '0');
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t frac_start = i;
      double scale = 0.1;
      while (i < text.size() && IsDigit(text[i])) {
        value += (text[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == frac_start) return std::nullopt;
    }
    double unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit_ms = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit_ms = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit_ms = 3'600'000;
      ++i;
    } else {
      return std::nullopt;
    }
    total_ms += value * unit_ms;
    // Checked after every term: a long number of digits is +inf here, never a wrapped value.
    if (total_ms > static_cast<double>(kMaxDurationMs)) return std::nullopt;
  }
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(total_ms))};
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t h = ms / 3'600'000;
  ms %= 3'600'000;
  int64_t m = ms / 60'000;
  ms %= 60'000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (ms) {
    out += std::to_string(ms / 1000);
    if (ms % 1000) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
      std::string f = frac;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "s";
  }
  return out;
}

}  // namespace base
