#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kube/client.h"
#include "kube/config.h"

namespace runtime_test {

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A client for the test cluster named by FO_KUBECONFIG.
inline std::shared_ptr<kube::Client> ClusterClient() {
  auto cfg = kube::LoadKubeconfig({Env("FO_KUBECONFIG")});
  if (!cfg.ok()) {
    ADD_FAILURE() << "kubeconfig: " << cfg.status().ToString();
    return nullptr;
  }
  auto c = kube::Client::Create(*cfg);
  if (!c.ok()) {
    ADD_FAILURE() << "client: " << c.status().ToString();
    return nullptr;
  }
  return *c;
}

inline std::string RandomSuffix() {
  std::mt19937_64 rng{std::random_device{}()};
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 6; ++i) s += alphabet[rng() % 36];
  return s;
}

// Runs scripts/cluster.sh <subcommand>; true on success.
inline bool ClusterScript(const std::string& subcommand) {
  const std::string cmd = "bash '" + Env("FO_SOURCE_DIR") + "/scripts/cluster.sh' " + subcommand;
  return std::system(cmd.c_str()) == 0;
}

inline bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// Makes sure the apiserver is running again when a test that stops it ends, however it ends.
struct ApiserverRestorer {
  ~ApiserverRestorer() { ClusterScript("start-apiserver"); }
};

// A namespace of its own for one test, deleted at the end.
class TestNamespace {
 public:
  TestNamespace(std::shared_ptr<kube::Client> client, const std::string& prefix)
      : client_(std::move(client)), name_(prefix + "-" + RandomSuffix()) {
    auto r = client_->Create(kube::resources::kNamespaces, "",
                             {{"apiVersion", "v1"}, {"kind", "Namespace"},
                              {"metadata", {{"name", name_}}}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  ~TestNamespace() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto r = client_->Delete(kube::resources::kNamespaces, "", name_);
      if (r.ok() || !r.status().IsTransport()) break;
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<kube::Client> client_;
  std::string name_;
};

inline kube::json ConfigMap(const std::string& ns, const std::string& name,
                            const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"test", "runtime"}}}}},
          {"data", {{"v", value}}}};
}

}  // namespace runtime_test
