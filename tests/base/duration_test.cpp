#include <gtest/gtest.h>

#include "base/duration.h"

namespace base {
namespace {

using namespace std::chrono_literals;
using Duration = std::chrono::milliseconds;

TEST(ParseDuration, ReadsGoStyleDurations) {
  EXPECT_EQ(ParseDuration("0"), Duration{0});
  EXPECT_EQ(ParseDuration("250ms"), 250ms);
  EXPECT_EQ(ParseDuration("500ms"), 500ms);
  EXPECT_EQ(ParseDuration("5s"), 5s);
  EXPECT_EQ(ParseDuration("1m30s"), 90s);
  EXPECT_EQ(ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(ParseDuration("2h1m"), 121min);
  EXPECT_EQ(ParseDuration("1h2m3s"), 1h + 2min + 3s);
  EXPECT_EQ(ParseDuration("1h0m0.25s"), 3600250ms);
  EXPECT_EQ(ParseDuration("0s"), Duration{0});
  EXPECT_EQ(ParseDuration("1.5m"), 90s);
}

TEST(ParseDuration, TermsAddUpInAnyOrder) {
  // Go's grammar (and the CRD's pattern) takes any sequence of terms; they add.
  EXPECT_EQ(ParseDuration("30s1m"), 90s);
  EXPECT_EQ(ParseDuration("1s1s"), 2s);
}

TEST(ParseDuration, FractionsRoundToTheNearestMillisecond) {
  EXPECT_EQ(ParseDuration("0.0004s"), 0ms);
  EXPECT_EQ(ParseDuration("0.0006s"), 1ms);
  EXPECT_EQ(ParseDuration("1.001s"), 1001ms);
  EXPECT_EQ(ParseDuration("0.1ms"), 0ms);
}

TEST(ParseDuration, RefusesWhatTheSchemaPatternRefuses) {
  for (const char* bad : {"", "5", "1d", "-1s", "+1s", "-5s", "s", "ms", "5x", "1.s", "5 s", " 5s",
                          "5s ", "1m30", ".5s", "5S", "1M", "1us", "1ns", "1h-1m", "0.", "00"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ParseDuration, RefusesOverflowInsteadOfWrapping) {
  // 2^50 ms is the largest; the next millisecond and anything far beyond are refused.
  EXPECT_EQ(ParseDuration("1125899906842624ms"), Duration{int64_t{1} << 50});
  EXPECT_FALSE(ParseDuration("1125899906842625ms").has_value());
  EXPECT_FALSE(ParseDuration("9223372036854775808ms").has_value());
  EXPECT_FALSE(ParseDuration("99999999999999999999999999999h").has_value());
  EXPECT_FALSE(ParseDuration(std::string(400, '9') + "s").has_value());
  EXPECT_FALSE(ParseDuration("400000000h").has_value());
  EXPECT_TRUE(ParseDuration("300000000h").has_value());
  EXPECT_FALSE(ParseDuration("300000000h300000000h").has_value()) << "the sum is checked, not each term";
}

TEST(FormatDuration, WritesTheShortestText) {
  EXPECT_EQ(FormatDuration(Duration{0}), "0s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(1h + 2min + 3s), "1h2m3s");
  EXPECT_EQ(FormatDuration(3600250ms), "1h0.25s");
  EXPECT_EQ(FormatDuration(10min), "10m");
  EXPECT_EQ(FormatDuration(61001ms), "1m1.001s");
}

TEST(FormatDuration, ParseReadsItBack) {
  for (auto d : {1ms, 999ms, 1000ms, 1001ms, 61001ms, Duration{86400000}, Duration{int64_t{1} << 50}}) {
    EXPECT_EQ(ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
}

}  // namespace
}  // namespace base
