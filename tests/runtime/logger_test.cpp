#include "runtime/logger.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "support/fake_env.h"

namespace {

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogSink([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    });
  }
  void TearDown() override {
    runtime::SetLogClock(base::RealEnv());
    runtime::SetLogSink(nullptr);
    runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kInfo);
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(LoggerTest, JsonRecordIsOneLineWithFields) {
  runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kInfo);
  runtime::Logger log("controller", {{"controller", "failovergroup"}});
  log.Info("reconcile done\nsecond line", {{"namespace", "shop"}, {"name", "orders-db"},
                                           {"reconcileID", "abc"}, {"attempt", 2}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find('\n'), std::string::npos);
  auto rec = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(rec["level"], "info");
  EXPECT_EQ(rec["logger"], "controller");
  EXPECT_EQ(rec["msg"], "reconcile done\nsecond line");
  EXPECT_EQ(rec["controller"], "failovergroup");
  EXPECT_EQ(rec["namespace"], "shop");
  EXPECT_EQ(rec["name"], "orders-db");
  EXPECT_EQ(rec["reconcileID"], "abc");
  EXPECT_EQ(rec["attempt"], 2);
  EXPECT_TRUE(rec["ts"].get<std::string>().ends_with("Z"));
}

TEST_F(LoggerTest, TextRecordIsKeyValue) {
  runtime::ConfigureLogging(runtime::LogFormat::kText, runtime::LogLevel::kInfo);
  runtime::Logger("informer").Warn("watch dropped", {{"resource", "pods"}, {"error", "connection refused"}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& l = lines_[0];
  EXPECT_NE(l.find(" warn informer \"watch dropped\" resource=pods error=\"connection refused\""),
            std::string::npos)
      << l;
}

TEST_F(LoggerTest, LevelFiltersRecords) {
  runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kWarn);
  runtime::Logger log("x");
  log.Debug("d");
  log.Info("i");
  log.Warn("w");
  log.Error("e");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines_[1])["level"], "error");
  runtime::LogLevel lvl;
  EXPECT_TRUE(runtime::ParseLogLevel("debug", &lvl));
  EXPECT_EQ(lvl, runtime::LogLevel::kDebug);
  EXPECT_FALSE(runtime::ParseLogLevel("loud", &lvl));
}

TEST_F(LoggerTest, RecordsAreStampedWithTheLogClock) {
  testsupport::FakeEnv env;  // 2024-01-01T00:00:00Z on the wall
  runtime::SetLogClock(env);
  runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kInfo);
  runtime::Logger log("x");
  log.Info("first");
  env.Advance(std::chrono::milliseconds(1500) + std::chrono::microseconds(7));
  log.Info("second");
  runtime::ConfigureLogging(runtime::LogFormat::kText, runtime::LogLevel::kInfo);
  log.Info("third");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines_[0])["ts"], "2024-01-01T00:00:00.000000Z");
  EXPECT_EQ(nlohmann::json::parse(lines_[1])["ts"], "2024-01-01T00:00:01.500007Z");
  EXPECT_EQ(lines_[2].rfind("2024-01-01T00:00:01.500007Z info x ", 0), 0u) << lines_[2];
}

TEST_F(LoggerTest, NeverPrintsTokensOrKeys) {
  runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kInfo);
  runtime::Logger("client").Info("config loaded",
      {{"token", "s3cr3t-token"},
       {"bearer_token", "abc"},
       {"client_key_pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"},
       {"header", "Authorization: Bearer eyJhbGciOi"},
       {"config", {{"password", "hunter2"}, {"server", "https://x"}}},
       {"key", "shop/orders-db"}});
  ASSERT_EQ(lines_.size(), 1u);
  for (const char* secret : {"s3cr3t", "abc\"", "MIIE", "eyJhbGciOi", "hunter2"}) {
    EXPECT_EQ(lines_[0].find(secret), std::string::npos) << secret << " in " << lines_[0];
  }
  EXPECT_NE(lines_[0].find("https://x"), std::string::npos);
  EXPECT_NE(lines_[0].find("shop/orders-db"), std::string::npos) << "a work-queue key is not a secret";
  runtime::ConfigureLogging(runtime::LogFormat::kText, runtime::LogLevel::kInfo);
  runtime::Logger("client").Info("using -----BEGIN CERTIFICATE----- abc");
  EXPECT_EQ(lines_[1].find("BEGIN"), std::string::npos);
}

}  // namespace
