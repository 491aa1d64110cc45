#include <gtest/gtest.h>

#include "base/rfc3339.h"

namespace base {
namespace {

using namespace std::chrono_literals;

// 2026-11-27T17:40:05Z as seconds since the epoch (date -u -d ... +%s).
constexpr int64_t kT = 1795801205;

WallTime At(int64_t unix_seconds, std::chrono::microseconds fraction = 0us) {
  return WallTime{std::chrono::seconds(unix_seconds)} + fraction;
}

TEST(ParseRfc3339, ReadsTheApiServersForms) {
  EXPECT_EQ(ParseRfc3339("2026-11-27T17:40:05Z"), At(kT));
  EXPECT_EQ(ParseRfc3339("2026-11-27t17:40:05z"), At(kT));
  EXPECT_EQ(ParseRfc3339("2026-11-27T17:40:05.5Z"), At(kT, 500000us));
  EXPECT_EQ(ParseRfc3339("2026-11-27T17:40:05.123456Z"), At(kT, 123456us));
  EXPECT_EQ(ParseRfc3339("2026-11-27T17:40:05.123456789Z"), At(kT, 123456us)) << "nanoseconds dropped";
  EXPECT_EQ(ParseRfc3339("2026-11-27T18:40:05+01:00"), At(kT));
  EXPECT_EQ(ParseRfc3339("2026-11-27T12:10:05-05:30"), At(kT));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:10Z"), At(10));
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.5Z"), At(-1, 500000us));
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), At(1709164800));
  EXPECT_EQ(ParseRfc3339("2026-11-27T17:40:60Z"), At(kT + 55)) << "a leap second is the next minute";
}

TEST(ParseRfc3339, RefusesEverythingElse) {
  for (const char* bad : {"", "yesterday", "2026-11-27", "2026-11-27 17:40:05Z", "2026-11-27T17:40:05",
                          "2026-11-27T17:40:05Zjunk", "2026-11-27T17:40:05.Z", "2026-11-27T17:40:5Z",
                          "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-11-27T24:00:00Z", "2026-11-27T17:60:05Z", "2026-11-27T17:40:05+0100",
                          "2026-11-27T17:40:05+01", "+2026-11-27T17:40:05Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(FormatRfc3339, WritesTheFractionAsked) {
  const WallTime t = At(kT, 250999us);
  EXPECT_EQ(FormatRfc3339(t, Fraction::kNone), "2026-11-27T17:40:05Z");
  EXPECT_EQ(FormatRfc3339(t, Fraction::kMillis), "2026-11-27T17:40:05.250Z");
  EXPECT_EQ(FormatRfc3339(t, Fraction::kMicros), "2026-11-27T17:40:05.250999Z");
  EXPECT_EQ(FormatRfc3339(At(kT), Fraction::kMillis), "2026-11-27T17:40:05Z");
  EXPECT_EQ(FormatRfc3339(At(kT, 999us), Fraction::kMillis), "2026-11-27T17:40:05Z");
  EXPECT_EQ(FormatRfc3339(At(kT), Fraction::kMicros), "2026-11-27T17:40:05.000000Z");
  EXPECT_EQ(FormatRfc3339(At(0), Fraction::kNone), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(At(-1, 500000us), Fraction::kMillis), "1969-12-31T23:59:59.500Z");
}

TEST(FormatRfc3339, TakesCoarserClocks) {
  // The FailoverGroup status keeps milliseconds; a system_clock reading is floored.
  const std::chrono::sys_time<std::chrono::milliseconds> ms{std::chrono::milliseconds(kT * 1000 + 7)};
  EXPECT_EQ(FormatRfc3339(ms, Fraction::kMillis), "2026-11-27T17:40:05.007Z");
  const std::chrono::system_clock::time_point ns{std::chrono::seconds(kT) + 1999ns};
  EXPECT_EQ(FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(ns), Fraction::kMicros),
            "2026-11-27T17:40:05.000001Z");
}

TEST(Rfc3339, ParseReadsFormatBack) {
  for (WallTime t : {At(0), At(kT), At(kT, 1us), At(kT, 999999us), At(-86400 * 365, 42us),
                     At(253402300799, 999999us) /* 9999-12-31T23:59:59.999999Z */}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, Fraction::kMicros)), t) << FormatRfc3339(t, Fraction::kMicros);
  }
}

}  // namespace
}  // namespace base
