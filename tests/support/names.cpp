#include "support/names.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <random>

namespace testsupport {

std::string unique_namespace(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  std::string base;
  for (const char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      base.push_back(static_cast<char>(std::tolower(u)));
    } else if (!base.empty() && base.back() != '-') {
      base.push_back('-');
    }
  }
  if (base.empty() || std::isalpha(static_cast<unsigned char>(base.front())) == 0) base.insert(0, "t-");
  std::random_device rd;
  std::array<char, 48> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "-%d-%u-%06x", static_cast<int>(getpid()), counter.fetch_add(1),
                static_cast<unsigned>(rd() & 0xffffffu));
  const std::string tail(suffix.data());
  constexpr std::size_t kMaxLabel = 63;
  if (base.size() + tail.size() > kMaxLabel) base.resize(kMaxLabel - tail.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + tail;
}

}  // namespace testsupport
