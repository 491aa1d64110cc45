#include "common.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "base/rfc3339.h"
#include "kube/config.h"

namespace bench {

std::optional<int> ReadFlags(base::FlagSet& flags, int argc, char** argv, int first, const std::string& program,
                             const std::function<void()>& usage) {
  // ReadProgramFlags reads from its argv[1]: hand it the arguments from `first` on.
  return base::ReadProgramFlags(flags, argc - (first - 1), argv + (first - 1), program, usage);
}

std::shared_ptr<kube::Client> Connect(const std::string& path, const std::string& user_agent) {
  auto cfg = kube::LoadConfig(path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "kubeconfig: %s\n", cfg.status().ToString().c_str());
    std::exit(2);
  }
  cfg->qps = 0;
  cfg->user_agent = user_agent;
  auto client = kube::Client::Create(*cfg);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    std::exit(2);
  }
  return *client;
}

std::string GroupName(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "g-%05d", index);
  return buf;
}

std::string PodName(const std::string& group, const std::string& member, int ordinal) {
  return group + "-" + member + "-" + std::to_string(ordinal);
}

std::string PodIp(int n) {
  return "10.200." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
}

std::string WallTimeRfc3339(std::chrono::system_clock::time_point t) {
  return base::FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(t), base::Fraction::kMicros);
}

int64_t ParseRfc3339Micros(const std::string& text) {
  auto t = base::ParseRfc3339(text);
  return t ? static_cast<int64_t>(t->time_since_epoch().count()) : 0;
}

bool PodReady(const json& pod) {
  const json* conds = nullptr;
  if (pod.contains("status") && pod["status"].contains("conditions")) conds = &pod["status"]["conditions"];
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : *conds) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string Label(const json& obj, const std::string& key) {
  if (!obj.contains("metadata")) return "";
  const auto& md = obj["metadata"];
  if (!md.contains("labels") || !md["labels"].is_object()) return "";
  auto it = md["labels"].find(key);
  return it != md["labels"].end() && it->is_string() ? it->get<std::string>() : "";
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  if (rank < 1) rank = 1;
  return v[std::min(rank, v.size()) - 1];
}

json Summary(std::vector<double> v) {
  json s;
  s["n"] = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  auto r = [](double x) { return std::round(x * 1000) / 1000; };
  s["p50"] = r(Percentile(v, 50));
  s["p90"] = r(Percentile(v, 90));
  s["p99"] = r(Percentile(v, 99));
  s["max"] = r(v.back());
  s["mean"] = r(sum / static_cast<double>(v.size()));
  return s;
}

std::vector<std::string> ParallelFor(int n, int threads, const std::function<kube::Status(int)>& fn) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        kube::Status st = fn(i);
        for (int attempt = 0; !st.ok() && st.IsRetryable() && attempt < 5; ++attempt) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
          st = fn(i);
        }
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (errors.size() < 10) errors.push_back(st.ToString());
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return errors;
}

std::string PodStatusPatch(const std::string& uid, const std::string& ip, const std::string& node_ip,
                           bool ready) {
  std::string now = WallTimeRfc3339(std::chrono::system_clock::now()).substr(0, 19) + "Z";
  const char* r = ready ? "True" : "False";
  json conds = json::array();
  conds.push_back({{"type", "Initialized"}, {"status", "True"}, {"lastTransitionTime", now}});
  conds.push_back({{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", now}});
  conds.push_back({{"type", "ContainersReady"}, {"status", r}, {"lastTransitionTime", now}});
  conds.push_back({{"type", "Ready"}, {"status", r}, {"lastTransitionTime", now}});
  json patch = {{"metadata", {{"uid", uid}}},
                {"status",
                 {{"phase", "Running"},
                  {"podIP", ip},
                  {"podIPs", json::array({json{{"ip", ip}}})},
                  {"hostIP", node_ip},
                  {"conditions", conds}}}};
  return patch.dump();
}

}  // namespace bench
