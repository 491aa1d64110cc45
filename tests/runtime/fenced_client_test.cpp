#include "runtime/fenced_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace runtime {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

// Records the deadline each write arrived with; reads answer an empty object.
class Inner : public kube::Client {
 public:
  int writes = 0;
  int reads = 0;
  kube::RequestDeadline last_deadline;

  kube::Result<kube::json> Get(const kube::Resource&, const std::string&, const std::string&,
                               const std::string& = "") override {
    ++reads;
    return kube::json::object();
  }
  kube::Result<kube::json> List(const kube::Resource&, const std::string&, const kube::ListOptions& = {}) override {
    ++reads;
    return kube::json::object();
  }
  kube::Result<kube::json> ListAll(const kube::Resource&, const std::string&, kube::ListOptions = {}) override {
    ++reads;
    return kube::json::object();
  }
  kube::Result<kube::json> Create(const kube::Resource&, const std::string&, const kube::json&,
                                  const kube::CreateOptions& o = {}) override {
    return Write(o.deadline);
  }
  kube::Result<kube::json> Update(const kube::Resource&, const std::string&, const kube::json&,
                                  const kube::UpdateOptions& o = {}) override {
    return Write(o.deadline);
  }
  kube::Result<kube::json> Patch(const kube::Resource&, const std::string&, const std::string&, kube::PatchType,
                                 const std::string&, const kube::PatchOptions& o = {}) override {
    return Write(o.deadline);
  }
  kube::Result<kube::json> Delete(const kube::Resource&, const std::string&, const std::string&,
                                  const kube::DeleteOptions& o = {}) override {
    return Write(o.deadline);
  }
  kube::Status Watch(const kube::Resource&, const std::string&, const kube::WatchOptions&,
                     const std::function<bool(kube::WatchEvent&&)>&, kube::WatchCancel* = nullptr) override {
    ++reads;
    return kube::Status::OK();
  }
  kube::Result<std::string> Raw(const std::string&, const std::string&, const std::string& = "",
                                const std::string& = "") override {
    ++reads;
    return std::string();
  }
  const kube::RestConfig& config() const override { return config_; }
  void SetObserver(std::shared_ptr<kube::RequestObserver>) override {}

 private:
  kube::Result<kube::json> Write(const kube::RequestDeadline& d) {
    ++writes;
    last_deadline = d;
    return kube::json::object();
  }
  kube::RestConfig config_;
};

struct Fixture {
  std::shared_ptr<Inner> inner = std::make_shared<Inner>();
  bool leading = true;
  TimePoint lease_end = TimePoint() + 100s;
  FencedClient client{inner, [this] { return leading; }, [this] { return lease_end; }};
};

TEST(FencedClient, NoWriteStartsWithoutTheLease) {
  Fixture f;
  f.leading = false;
  const auto& cm = kube::resources::kConfigMaps;
  auto p = f.client.Patch(cm, "ns", "a", kube::PatchType::kMerge, "{}");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), kube::Reason::kCancelled);
  EXPECT_NE(p.status().message().find("leader lease"), std::string::npos) << p.status().message();
  EXPECT_FALSE(f.client.Create(cm, "ns", kube::json::object()).ok());
  EXPECT_FALSE(f.client.Update(cm, "ns", kube::json::object()).ok());
  EXPECT_FALSE(f.client.Delete(cm, "ns", "a").ok());
  EXPECT_EQ(f.inner->writes, 0);
  // Reads are not fenced: a replica that does not lead keeps its caches.
  EXPECT_TRUE(f.client.Get(cm, "ns", "a").ok());
  EXPECT_TRUE(f.client.List(cm, "ns").ok());
  EXPECT_TRUE(f.client.Watch(cm, "ns", {}, [](kube::WatchEvent&&) { return true; }).ok());
  EXPECT_EQ(f.inner->reads, 3);
}

// Each write carries the lease's end as its deadline, read when the client asks (a renewal
// in between moves it).
TEST(FencedClient, WritesCarryTheLeaseEndAsTheirDeadline) {
  Fixture f;
  const auto& cm = kube::resources::kConfigMaps;
  ASSERT_TRUE(f.client.Patch(cm, "ns", "a", kube::PatchType::kMerge, "{}").ok());
  ASSERT_TRUE(f.inner->last_deadline);
  EXPECT_EQ(f.inner->last_deadline(), TimePoint() + 100s);
  f.lease_end = TimePoint() + 120s;
  EXPECT_EQ(f.inner->last_deadline(), TimePoint() + 120s);
  for (auto write : {+[](FencedClient& c) { return c.Create(kube::resources::kConfigMaps, "ns", {}).ok(); },
                     +[](FencedClient& c) { return c.Update(kube::resources::kConfigMaps, "ns", {}).ok(); },
                     +[](FencedClient& c) { return c.Delete(kube::resources::kConfigMaps, "ns", "a").ok(); }}) {
    f.inner->last_deadline = nullptr;
    ASSERT_TRUE(write(f.client));
    ASSERT_TRUE(f.inner->last_deadline);
    EXPECT_EQ(f.inner->last_deadline(), TimePoint() + 120s);
  }
  EXPECT_EQ(f.inner->writes, 4);
}

TEST(FencedClient, AnEarlierDeadlineOfTheCallerIsKept) {
  Fixture f;
  kube::PatchOptions o;
  o.deadline = [] { return TimePoint() + 10s; };
  ASSERT_TRUE(f.client.Patch(kube::resources::kConfigMaps, "ns", "a", kube::PatchType::kMerge, "{}", o).ok());
  EXPECT_EQ(f.inner->last_deadline(), TimePoint() + 10s);
  o.deadline = [] { return TimePoint() + 500s; };
  ASSERT_TRUE(f.client.Patch(kube::resources::kConfigMaps, "ns", "a", kube::PatchType::kMerge, "{}", o).ok());
  EXPECT_EQ(f.inner->last_deadline(), TimePoint() + 100s);
}

}  // namespace
}  // namespace runtime
