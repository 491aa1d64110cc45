#include <gtest/gtest.h>

#include "runtime/manager.h"

using namespace std::chrono_literals;

namespace {

kube::Status Parse(std::initializer_list<const char*> args, runtime::ManagerOptions* o,
                   std::vector<std::string>* rest) {
  const char* argv[32] = {"prog"};
  int argc = 1;
  for (const char* a : args) argv[argc++] = a;
  return runtime::ParseManagerFlags(argc, argv, o, rest);
}

// controller-runtime's, with /metrics secure on :8443 as kubebuilder's scaffold serves it.
TEST(ManagerFlags, DefaultsMatchControllerRuntime) {
  runtime::ManagerOptions o;
  EXPECT_EQ(o.metrics_bind_address, ":8443");
  EXPECT_TRUE(o.metrics_secure);
  EXPECT_EQ(o.metrics_cert_dir, "");
  EXPECT_EQ(o.health_probe_bind_address, ":8081");
  EXPECT_FALSE(o.leader_elect);
  EXPECT_EQ(o.lease_duration, 15s);
  EXPECT_EQ(o.renew_deadline, 10s);
  EXPECT_EQ(o.retry_period, 2s);
  EXPECT_EQ(o.cache_sync_timeout, 2min);
}

TEST(ManagerFlags, ParsesBothFormsAndLeavesOthers) {
  runtime::ManagerOptions o;
  std::vector<std::string> rest;
  ASSERT_TRUE(Parse({"--metrics-bind-address=0", "--health-probe-bind-address", "127.0.0.1:9000",
                     "--leader-elect", "--leader-election-id=x", "--kubeconfig=/k",
                     "--leader-elect-lease-duration=20s", "--leader-elect-retry-period=500ms",
                     "--cache-sync-timeout=10m", "--log-format=text", "--log-level=debug", "positional"},
                    &o, &rest)
                  .ok());
  EXPECT_EQ(o.metrics_bind_address, "0");
  EXPECT_EQ(o.health_probe_bind_address, "127.0.0.1:9000");
  EXPECT_TRUE(o.leader_elect);
  EXPECT_EQ(o.leader_election_id, "x");
  EXPECT_EQ(o.lease_duration, 20s);
  EXPECT_EQ(o.retry_period, 500ms);
  EXPECT_EQ(o.cache_sync_timeout, 10min);
  EXPECT_EQ(o.log_format, runtime::LogFormat::kText);
  EXPECT_EQ(o.log_level, runtime::LogLevel::kDebug);
  EXPECT_EQ(rest, (std::vector<std::string>{"--kubeconfig=/k", "positional"}));
  ASSERT_TRUE(Parse({"--leader-elect=false"}, &o, &rest).ok());
  EXPECT_FALSE(o.leader_elect);
}

TEST(ManagerFlags, MetricsArePlainOnlyWhenAsked) {
  runtime::ManagerOptions o;
  ASSERT_TRUE(Parse({"--metrics-cert-dir=/certs"}, &o, nullptr).ok());
  EXPECT_TRUE(o.metrics_secure);
  EXPECT_EQ(o.metrics_cert_dir, "/certs");
  ASSERT_TRUE(Parse({"--metrics-secure=false"}, &o, nullptr).ok());
  EXPECT_FALSE(o.metrics_secure);
  ASSERT_TRUE(Parse({"--metrics-secure"}, &o, nullptr).ok());
  EXPECT_TRUE(o.metrics_secure);
  EXPECT_FALSE(Parse({"--metrics-secure=no"}, &o, nullptr).ok());
}

TEST(ManagerFlags, BadValuesNameTheFlag) {
  runtime::ManagerOptions o;
  auto st = Parse({"--metrics-bind-address=nope"}, &o, nullptr);
  EXPECT_FALSE(st.ok());
  st = Parse({"--leader-elect-renew-deadline=soon"}, &o, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--leader-elect-renew-deadline"), std::string::npos);
  EXPECT_FALSE(Parse({"--log-level=loud"}, &o, nullptr).ok());
  st = Parse({"--cache-sync-timeout=-1s"}, &o, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--cache-sync-timeout"), std::string::npos);
  EXPECT_FALSE(Parse({"--health-probe-bind-address"}, &o, nullptr).ok());
}

// The durations take the CRD's grammar (base::ParseDuration): compound and fractional
// values that the first flag reader refused ("1m30s" read as 1 minute and a bad unit).
TEST(ManagerFlags, DurationsTakeTheCrdGrammar) {
  runtime::ManagerOptions o;
  std::vector<std::string> rest;
  ASSERT_TRUE(Parse({"--cache-sync-timeout=1m30s", "--leader-elect-lease-duration", "1.5m",
                     "--leader-elect-renew-deadline=1h2m3s", "--leader-elect-retry-period=250ms"},
                    &o, &rest)
                  .ok());
  EXPECT_EQ(o.cache_sync_timeout, 90s);
  EXPECT_EQ(o.lease_duration, 90s);
  EXPECT_EQ(o.renew_deadline, 1h + 2min + 3s);
  EXPECT_EQ(o.retry_period, 250ms);
  EXPECT_TRUE(rest.empty());
}

TEST(ManagerFlags, DurationsMustBePositiveAndCarryAUnit) {
  for (const char* arg : {"--cache-sync-timeout=0", "--cache-sync-timeout=5", "--cache-sync-timeout=1d",
                          "--cache-sync-timeout=1m30", "--cache-sync-timeout=", "--cache-sync-timeout=-1s"}) {
    runtime::ManagerOptions o;
    auto st = Parse({arg}, &o, nullptr);
    ASSERT_FALSE(st.ok()) << arg;
    EXPECT_EQ(st.message().rfind("--cache-sync-timeout: ", 0), 0u) << st.message();
    EXPECT_EQ(o.cache_sync_timeout, 2min) << arg << " must leave the default";
  }
}

// The Lease stores leaseDuration as whole seconds: anything else is refused at the flag
// (a 500ms lease used to be published as leaseDurationSeconds 0, expired for every other
// replica). renewDeadline and retryPeriod stay in the process and may be sub-second.
TEST(ManagerFlags, LeaseDurationMustBeWholeSeconds) {
  for (const char* arg : {"--leader-elect-lease-duration=500ms", "--leader-elect-lease-duration=1.5s",
                          "--leader-elect-lease-duration=999ms", "--leader-elect-lease-duration=0s"}) {
    runtime::ManagerOptions o;
    auto st = Parse({arg}, &o, nullptr);
    ASSERT_FALSE(st.ok()) << arg;
    EXPECT_EQ(st.message().rfind("--leader-elect-lease-duration: ", 0), 0u) << st.message();
    EXPECT_NE(st.message().find("whole number of seconds"), std::string::npos) << st.message();
    EXPECT_EQ(o.lease_duration, 15s) << arg << " must leave the default";
  }
  runtime::ManagerOptions o;
  ASSERT_TRUE(Parse({"--leader-elect-lease-duration=1s", "--leader-elect-renew-deadline=800ms",
                     "--leader-elect-retry-period=200ms"},
                    &o, nullptr)
                  .ok());
  EXPECT_EQ(o.lease_duration, 1s);
  EXPECT_EQ(o.renew_deadline, 800ms);
  EXPECT_EQ(o.retry_period, 200ms);
}

// What the operator's main does: the manager's flags and its own in one set, unknown
// flags refused.
TEST(ManagerFlags, ShareOneFlagSetWithTheProgram) {
  runtime::ManagerOptions o;
  int workers = 4;
  base::FlagSet flags;
  runtime::AddManagerFlags(flags, &o);
  flags.Int("--workers", &workers, 1, 256);
  const char* argv[] = {"prog", "--workers=16", "--cache-sync-timeout=1m30s", "--leader-elect"};
  auto r = flags.Parse(4, argv);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(workers, 16);
  EXPECT_EQ(o.cache_sync_timeout, 90s);
  EXPECT_TRUE(o.leader_elect);
  const char* bad[] = {"prog", "--workers=x"};
  EXPECT_EQ(flags.Parse(2, bad).error, "--workers: \"x\" is not an integer");
  const char* unknown[] = {"prog", "--foo"};
  EXPECT_EQ(flags.Parse(2, unknown).error, "unknown flag --foo");
  const char* address[] = {"prog", "--metrics-bind-address=nope"};
  EXPECT_EQ(flags.Parse(2, address).error.rfind("--metrics-bind-address: ", 0), 0u);
  EXPECT_EQ(o.metrics_bind_address, ":8443");
}

TEST(LeaderElection, ValidateRejectsInconsistentDurations) {
  runtime::LeaderElectionOptions o;
  o.lease_name = "l";
  o.lease_namespace = "n";
  EXPECT_TRUE(runtime::LeaderElector::Validate(o).ok());
  o.renew_deadline = 20s;
  EXPECT_FALSE(runtime::LeaderElector::Validate(o).ok());
  o.renew_deadline = 2s;
  EXPECT_FALSE(runtime::LeaderElector::Validate(o).ok()) << "renewDeadline must exceed 1.2 x retryPeriod";
  EXPECT_NE(runtime::DefaultLeaderIdentity(), runtime::DefaultLeaderIdentity());
}

}  // namespace
