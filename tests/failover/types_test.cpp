#include <gtest/gtest.h>

#include "failover/types.h"

namespace failover {
namespace {

TEST(LabelSelector, MatchLabelsAndEveryOperator) {
  LabelSelector s;
  s.match_labels = {{"app", "db"}};
  s.match_expressions = {{"site", SelectorOperator::kIn, {"a", "b"}},
                         {"tier", SelectorOperator::kNotIn, {"test"}},
                         {"zone", SelectorOperator::kExists, {}},
                         {"drain", SelectorOperator::kDoesNotExist, {}}};
  EXPECT_TRUE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}}));
  EXPECT_TRUE(s.Matches({{"app", "db"}, {"site", "b"}, {"zone", "z1"}, {"tier", "prod"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}, {"site", "a"}, {"zone", "z1"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "c"}, {"zone", "z1"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"zone", "z1"}}));  // In needs the key
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}, {"tier", "test"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}}));
  EXPECT_FALSE(s.Matches({{"app", "db"}, {"site", "a"}, {"zone", "z1"}, {"drain", ""}}));
  LabelSelector notin;
  notin.match_expressions = {{"tier", SelectorOperator::kNotIn, {"test"}}};
  EXPECT_TRUE(notin.Matches({}));  // NotIn holds when the key is absent
}

}  // namespace
}  // namespace failover
