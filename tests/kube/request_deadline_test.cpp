// RequestDeadline (client.h): a write given a deadline is not sent once it has passed,
// not sent when the QPS limiter would hold it past it, and abandoned when the server has
// not answered by then, whatever the config's per-request timeout. Against a plain HTTP
// server on loopback that answers, or holds a request until released.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kube/client.h"
#include "kube/resource.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Counts the PATCHes it receives; holds each one for hold_ms, or until Release().
class Server {
 public:
  Server() {
    http_.Patch(R"(/api/v1/namespaces/ns/configmaps/(\w+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  patches_++;
                  Hold();
                  res.set_content(R"({"metadata":{"name":")" + req.matches[1].str() + R"("}})",
                                  "application/json");
                });
    http_.Get(R"(/api/v1/namespaces/ns/configmaps/(\w+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                Hold();
                res.set_content(R"({"metadata":{"name":")" + req.matches[1].str() + R"("}})",
                                "application/json");
              });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Server() {
    Release();
    http_.stop();
    thread_.join();
  }
  void HoldFor(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = d;
    released_ = false;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int patches() const { return patches_.load(); }
  std::shared_ptr<Client> NewClient(double qps = 0, int burst = 1) const {
    RestConfig cfg;
    cfg.server = "http://127.0.0.1:" + std::to_string(port_);
    cfg.timeout = 10s;
    cfg.qps = qps;
    cfg.burst = burst;
    auto c = Client::Create(cfg);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : nullptr;
  }

 private:
  void Hold() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, hold_, [&] { return released_; });
  }
  httplib::Server http_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> patches_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds hold_{0};
  bool released_ = false;
};

PatchOptions Within(std::chrono::milliseconds d) {
  PatchOptions o;
  const auto at = SteadyClock::now() + d;
  o.deadline = [at] { return at; };
  return o;
}

TEST(RequestDeadline, AnUnansweredWriteIsAbandonedAtItsDeadlineNotAtTheTimeout) {
  Server server;
  auto client = server.NewClient();
  server.HoldFor(5s);
  const auto start = SteadyClock::now();
  auto r = client->Patch(resources::kConfigMaps, "ns", "a", PatchType::kMerge, "{}", Within(400ms));
  const auto took = SteadyClock::now() - start;
  server.Release();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kRequestTimeout) << r.status().ToString();
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 1500ms) << "waited past the deadline (the config's timeout is 10s)";
}

TEST(RequestDeadline, AWriteWhoseDeadlinePassedIsNotSent) {
  Server server;
  auto client = server.NewClient();
  PatchOptions o;
  const auto past = SteadyClock::now() - 1ms;
  o.deadline = [past] { return past; };
  auto r = client->Patch(resources::kConfigMaps, "ns", "a", PatchType::kMerge, "{}", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kCancelled) << r.status().ToString();
  DeleteOptions d;
  d.deadline = [past] { return past; };
  EXPECT_EQ(client->Delete(resources::kConfigMaps, "ns", "a", d).status().reason(), Reason::kCancelled);
  EXPECT_EQ(server.patches(), 0);
}

// One token a second: the second write would wait ~1 s for the limiter, past its 300 ms
// deadline, so it is refused at once and never reaches the server.
TEST(RequestDeadline, AWriteTheQpsLimiterWouldHoldPastItsDeadlineIsNotSent) {
  Server server;
  auto client = server.NewClient(/*qps=*/1, /*burst=*/1);
  ASSERT_TRUE(client->Patch(resources::kConfigMaps, "ns", "a", PatchType::kMerge, "{}").ok());
  const auto start = SteadyClock::now();
  auto r = client->Patch(resources::kConfigMaps, "ns", "b", PatchType::kMerge, "{}", Within(300ms));
  EXPECT_LT(SteadyClock::now() - start, 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kCancelled) << r.status().ToString();
  EXPECT_EQ(server.patches(), 1);
}

// A kept-alive connection that carried a write with a short deadline serves the next
// request with the config's timeout again.
TEST(RequestDeadline, TheNextRequestOnTheSameConnectionHasTheFullTimeout) {
  Server server;
  auto client = server.NewClient();
  ASSERT_TRUE(client->Patch(resources::kConfigMaps, "ns", "a", PatchType::kMerge, "{}", Within(300ms)).ok());
  server.HoldFor(800ms);
  auto r = client->Get(resources::kConfigMaps, "ns", "a");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

}  // namespace
}  // namespace kube
