#include <gtest/gtest.h>

#include "failover/time_text.h"

namespace failover {
namespace {

using namespace std::chrono_literals;

TEST(Time, RoundTripsRfc3339) {
  auto t = ParseTime("2026-11-27T17:40:05Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTime(*t), "2026-11-27T17:40:05Z");
  auto frac = ParseTime("2026-11-27T17:40:05.123456Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(FormatTime(*frac), "2026-11-27T17:40:05.123Z");
  EXPECT_EQ(*frac - *t, 123ms);
  auto offset = ParseTime("2026-11-27T18:40:05+01:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  EXPECT_FALSE(ParseTime("2026-11-27 17:40:05Z"));
  EXPECT_FALSE(ParseTime("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseTime("yesterday"));
}

TEST(Time, KeepsMillisecondsFlooredAndDurationsInTheCrdGrammar) {
  EXPECT_EQ(FormatTime(*ParseTime("2026-11-27T17:40:05.9999Z")), "2026-11-27T17:40:05.999Z");
  EXPECT_EQ(FormatTime(*ParseTime("1969-12-31T23:59:59.0005Z")), "1969-12-31T23:59:59Z");
  EXPECT_EQ(ParseDuration("1m30s"), 90s);
  EXPECT_FALSE(ParseDuration("90").has_value());
  EXPECT_EQ(FormatDuration(90s), "1m30s");
}

}  // namespace
}  // namespace failover
