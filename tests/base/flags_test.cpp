#include <gtest/gtest.h>

#include "base/flags.h"

namespace base {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;

// One flag of every kind, with defaults that no test sets by accident.
struct Options {
  std::string name = "default";
  bool verbose = false;
  bool enabled = true;
  int workers = 4;
  double qps = 50;
  std::chrono::milliseconds timeout = 2min;
  std::chrono::milliseconds period = 2s;
  std::string format = "json";
};

FlagSet Declare(Options* o) {
  FlagSet f;
  f.String("--name", &o->name);
  f.Alias("-n", "--name");
  f.Bool("--verbose", &o->verbose);
  f.Alias("-v", "--verbose");
  f.Bool("--enabled", &o->enabled);
  f.Int("--workers", &o->workers, 1, 256);
  f.Double("--qps", &o->qps);
  f.Duration("--timeout", &o->timeout);
  f.Duration("--period", &o->period, 1ms);
  f.Value("--format", [o](const std::string& v) {
    if (v != "json" && v != "text") return "\"" + v + "\" is not json or text";
    o->format = v;
    return std::string();
  });
  return f;
}

TEST(FlagSet, AbsentFlagsKeepTheirDefaults) {
  Options o;
  auto r = Declare(&o).Parse(Args{});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.name, "default");
  EXPECT_EQ(o.workers, 4);
  EXPECT_EQ(o.timeout, 2min);
  EXPECT_TRUE(o.enabled);
  EXPECT_TRUE(r.rest.empty());
}

TEST(FlagSet, ReadsBothValueForms) {
  Options o;
  auto r = Declare(&o).Parse(Args{"--name=a=b", "--workers", "16", "--qps=0.5", "--timeout", "1m30s",
                                  "--format=text"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.name, "a=b") << "the value is everything after the first '='";
  EXPECT_EQ(o.workers, 16);
  EXPECT_EQ(o.qps, 0.5);
  EXPECT_EQ(o.timeout, 90s);
  EXPECT_EQ(o.format, "text");
}

TEST(FlagSet, AValueMayLookLikeAFlag) {
  Options o;
  ASSERT_TRUE(Declare(&o).Parse(Args{"--name", "--verbose", "--qps", "-1"}).ok());
  EXPECT_EQ(o.name, "--verbose");
  EXPECT_FALSE(o.verbose);
  EXPECT_EQ(o.qps, -1);
  ASSERT_TRUE(Declare(&o).Parse(Args{"--name="}).ok());
  EXPECT_EQ(o.name, "");
}

TEST(FlagSet, ReadsDurationsInTheSharedGrammar) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::chrono::milliseconds>>{
           {"1m30s", 90s}, {"1.5s", 1500ms}, {"0", 0ms}, {"250ms", 250ms}, {"1h2m3s", 1h + 2min + 3s}}) {
    Options o;
    auto r = Declare(&o).Parse(Args{"--timeout=" + text});
    ASSERT_TRUE(r.ok()) << text << ": " << r.error;
    EXPECT_EQ(o.timeout, want) << text;
  }
}

TEST(FlagSet, Booleans) {
  Options o;
  ASSERT_TRUE(Declare(&o).Parse(Args{"--verbose", "--enabled=false"}).ok());
  EXPECT_TRUE(o.verbose);
  EXPECT_FALSE(o.enabled);
  ASSERT_TRUE(Declare(&o).Parse(Args{"--verbose=false", "--enabled=true"}).ok());
  EXPECT_FALSE(o.verbose);
  EXPECT_TRUE(o.enabled);
  // A boolean never takes the next argument: "false" here is positional.
  auto r = Declare(&o).Parse(Args{"--verbose", "false"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(r.rest, Args{"false"});
}

TEST(FlagSet, AliasesAndPositionalArgumentsInOrder) {
  Options o;
  auto r = Declare(&o).Parse(Args{"switchover", "-n", "shop", "orders-db", "-v", "-", "--", "--workers=x", "-n"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.name, "shop");
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.workers, 4) << "nothing after -- is a flag";
  EXPECT_EQ(r.rest, (Args{"switchover", "orders-db", "-", "--workers=x", "-n"}));
}

TEST(FlagSet, ErrorsNameTheFlag) {
  struct Case {
    Args args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--workers=x"}, "--workers: \"x\" is not an integer"},
           {{"--workers", "4.5"}, "--workers: \"4.5\" is not an integer"},
           {{"--workers="}, "--workers: \"\" is not an integer"},
           {{"--workers=0"}, "--workers: \"0\" is not in 1..256"},
           {{"--workers=257"}, "--workers: \"257\" is not in 1..256"},
           {{"--workers=99999999999"}, "--workers: \"99999999999\" is not in 1..256"},
           {{"--foo"}, "unknown flag --foo"},
           {{"--foo=bar"}, "unknown flag --foo"},
           {{"-x"}, "unknown flag -x"},
           {{"--name"}, "--name: missing value"},
           {{"-n"}, "-n: missing value"},
           {{"--verbose=yes"}, "--verbose: \"yes\" is not true or false"},
           {{"--qps=fast"}, "--qps: \"fast\" is not a number"},
           {{"--qps=nan"}, "--qps: \"nan\" is not a number"},
           {{"--timeout=1m30"},
            "--timeout: \"1m30\" is not a duration: a number with a unit (ms, s, m, h), e.g. 500ms, 15s, 1m30s"},
           {{"--timeout=1d"},
            "--timeout: \"1d\" is not a duration: a number with a unit (ms, s, m, h), e.g. 500ms, 15s, 1m30s"},
           {{"--timeout=-1s"},
            "--timeout: \"-1s\" is not a duration: a number with a unit (ms, s, m, h), e.g. 500ms, 15s, 1m30s"},
           {{"--timeout=5"},
            "--timeout: \"5\" is not a duration: a number with a unit (ms, s, m, h), e.g. 500ms, 15s, 1m30s"},
           {{"--period=0"}, "--period: \"0\" is less than 1ms"},
           {{"--format=xml"}, "--format: \"xml\" is not json or text"},
       }) {
    Options o;
    auto r = Declare(&o).Parse(c.args);
    EXPECT_EQ(r.error, c.error) << ::testing::PrintToString(c.args);
  }
}

TEST(FlagSet, AnErrorStopsBeforeLaterFlags) {
  Options o;
  EXPECT_FALSE(Declare(&o).Parse(Args{"--workers=x", "--name=late"}).ok());
  EXPECT_EQ(o.name, "default");
}

TEST(FlagSet, KeepsUnknownFlagsForASecondReader) {
  Options o;
  auto r = Declare(&o).Parse(Args{"--kubeconfig", "/k", "--workers=8", "--context=c", "pos"},
                             FlagSet::Unknown::kKeep);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.workers, 8);
  EXPECT_EQ(r.rest, (Args{"--kubeconfig", "/k", "--context=c", "pos"}));
  // What the first reader kept, the second reads.
  std::string kubeconfig, context;
  FlagSet second;
  second.String("--kubeconfig", &kubeconfig);
  second.String("--context", &context);
  auto r2 = second.Parse(r.rest);
  ASSERT_TRUE(r2.ok()) << r2.error;
  EXPECT_EQ(kubeconfig, "/k");
  EXPECT_EQ(context, "c");
  EXPECT_EQ(r2.rest, Args{"pos"});
}

TEST(FlagSet, ReadsArgvSkippingTheProgram) {
  Options o;
  const char* argv[] = {"prog", "--workers", "2", "x"};
  auto r = Declare(&o).Parse(4, argv);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(o.workers, 2);
  EXPECT_EQ(r.rest, Args{"x"});
}

TEST(FlagSet, FlagsOnlyRefusesPositionalArguments) {
  Options o;
  const char* argv[] = {"prog", "--workers=2", "stray", "--name=x"};
  EXPECT_EQ(Declare(&o).ParseFlagsOnly(4, argv).error, "unexpected argument stray");
  const char* ok[] = {"prog", "--workers=3"};
  EXPECT_TRUE(Declare(&o).ParseFlagsOnly(2, ok).ok());
  EXPECT_EQ(o.workers, 3);
  const char* unknown[] = {"prog", "--bogus"};
  EXPECT_EQ(Declare(&o).ParseFlagsOnly(2, unknown).error, "unknown flag --bogus");
}

TEST(ReadProgramFlags, RunsOnHelpsOrRefuses) {
  struct Case {
    std::vector<const char*> argv;
    std::optional<int> exit_code;
    int usages;
  };
  for (const Case& c : std::vector<Case>{{{"prog", "--workers=2"}, std::nullopt, 0},
                                         {{"prog", "--help"}, 0, 1},
                                         {{"prog", "-h", "--workers=2"}, 0, 1},
                                         {{"prog", "--workers=x"}, 2, 1},
                                         {{"prog", "stray"}, 2, 1},
                                         {{"prog", "--bogus", "--help"}, 2, 1}}) {
    Options o;
    FlagSet flags = Declare(&o);
    int usages = 0;
    auto code = ReadProgramFlags(flags, static_cast<int>(c.argv.size()), c.argv.data(), "prog",
                                 [&] { ++usages; });
    EXPECT_EQ(code, c.exit_code) << ::testing::PrintToString(c.argv);
    EXPECT_EQ(usages, c.usages) << ::testing::PrintToString(c.argv);
  }
}

TEST(FlagSet, DeclaringANameTwiceIsAProgrammingError) {
  Options o;
  FlagSet f = Declare(&o);
  EXPECT_THROW(f.String("--name", &o.name), std::invalid_argument);
  EXPECT_THROW(f.Bool("-n", &o.verbose), std::invalid_argument) << "an alias's name is taken too";
  EXPECT_THROW(f.Alias("-w", "--nothing"), std::invalid_argument);
  EXPECT_THROW(f.String("name", &o.name), std::invalid_argument) << "names carry their dashes";
}

}  // namespace
}  // namespace base
