#include "runtime/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "runtime/metrics.h"

namespace {

TEST(BindAddress, Parses) {
  auto a = runtime::ParseBindAddress(":8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  auto b = runtime::ParseBindAddress("127.0.0.1:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->port, 0);
  auto c = runtime::ParseBindAddress("0");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->disabled);
  EXPECT_FALSE(runtime::ParseBindAddress("8080x").ok());
  EXPECT_FALSE(runtime::ParseBindAddress(":99999").ok());
}

TEST(HttpServer, ReadyzFailsUntilChecksPassAndMetricsAreServed) {
  runtime::RuntimeMetrics metrics(std::make_shared<prometheus::Registry>());
  runtime::HttpServer server(base::RealEnv());  // a real serving thread: the real clock
  server.ServeHealth();
  server.ServeMetrics(metrics.registry());
  std::atomic<bool> synced{false};
  server.AddReadyzCheck("informers-synced", [&]() -> std::string {
    return synced ? "" : "pods not synced";
  });
  metrics.WorkqueueAdds().Add({{"name", "http_test"}}).Increment();
  ASSERT_TRUE(server.Start({false, "127.0.0.1", 0}).ok());
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("[-]informers-synced failed: pods not synced"), std::string::npos);
  synced = true;
  r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("workqueue_adds_total{name=\"http_test\"} 1"), std::string::npos)
      << r->body;
  server.Stop();
}

}  // namespace
