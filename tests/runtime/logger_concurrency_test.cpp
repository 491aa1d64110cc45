#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "runtime/logger.h"

namespace {

TEST(LoggerConcurrency, ConcurrentRecordsStayWholeLines) {
  std::mutex mu;
  std::vector<std::string> lines;
  runtime::SetLogSink([&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  });
  runtime::ConfigureLogging(runtime::LogFormat::kJson, runtime::LogLevel::kInfo);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      runtime::Logger log("t" + std::to_string(t));
      for (int i = 0; i < 200; ++i) log.Info("m", {{"i", i}});
    });
  }
  for (auto& th : threads) th.join();
  runtime::SetLogSink(nullptr);
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& l : lines) EXPECT_TRUE(nlohmann::json::accept(l)) << l;
}

}  // namespace
