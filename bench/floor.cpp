// fo-bench-floor: the least a controller can do through the apiserver. It watches the
// benchmark's pods and, when a pod's Ready condition turns False, patches the Service
// <group>-floor to select the group's other member. No cache of Services, no status, no
// events: one watch and one write per failover.
//
//   fo-bench-floor --kubeconfig K --namespace NS [--workers 4]
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace {

struct Switch {
  std::string service;
  std::string to_member;
};

class Queue {
 public:
  void Push(Switch s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(s));
    }
    cv_.notify_one();
  }
  Switch Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !items_.empty(); });
    Switch s = std::move(items_.front());
    items_.pop_front();
    return s;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Switch> items_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, ns = "default";
  int worker_count = 4;
  base::FlagSet flags;
  flags.String("--kubeconfig", &kubeconfig);
  flags.String("--namespace", &ns);
  flags.Int("--workers", &worker_count, 1);
  if (auto rc = bench::ReadFlags(flags, argc, argv, 1, "fo-bench-floor", [] {
        std::fprintf(stderr, "usage: fo-bench-floor --kubeconfig K [--namespace NS (default)] [--workers 4]\n");
      })) {
    return *rc;
  }
  auto client = bench::Connect(kubeconfig, "fo-bench-floor");
  Queue queue;
  std::vector<std::thread> workers;
  for (int i = 0; i < worker_count; ++i) {
    workers.emplace_back([&] {
      for (;;) {
        Switch s = queue.Pop();
        std::string body = bench::json{{"spec", {{"selector", {{bench::kMemberLabel, s.to_member}}}}}}.dump();
        auto r = client->Patch(kube::resources::kServices, ns, s.service, kube::PatchType::kMerge, body);
        if (!r.ok()) std::fprintf(stderr, "patch %s: %s\n", s.service.c_str(), r.status().ToString().c_str());
      }
    });
  }

  std::map<std::string, bool> ready;  // pod name -> last seen Ready
  std::string rv;
  for (;;) {
    if (rv.empty()) {
      kube::ListOptions lo;
      lo.label_selector = bench::kGroupLabel;
      auto list = client->ListAll(kube::resources::kPods, ns, lo);
      if (!list.ok()) {
        std::fprintf(stderr, "list pods: %s\n", list.status().ToString().c_str());
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      ready.clear();
      for (const auto& p : (*list)["items"]) ready[p["metadata"]["name"].get<std::string>()] = bench::PodReady(p);
      rv = (*list)["metadata"].value("resourceVersion", "");
      // The floor acts on transitions only: a pod already unready when it lists is never
      // switched. bench/run.sh waits for this line before it fails the first pod.
      std::fprintf(stderr, "fo-bench-floor: listed %zu pods\n", ready.size());
    }
    kube::WatchOptions wo;
    wo.resource_version = rv;
    wo.label_selector = bench::kGroupLabel;
    kube::Status st = client->Watch(kube::resources::kPods, ns, wo, [&](kube::WatchEvent&& ev) {
      if (ev.type == kube::WatchEvent::Type::kBookmark) {
        rv = ev.object["metadata"].value("resourceVersion", rv);
        return true;
      }
      const auto& pod = ev.object;
      rv = pod["metadata"].value("resourceVersion", rv);
      std::string name = pod["metadata"].value("name", "");
      if (ev.type == kube::WatchEvent::Type::kDeleted) {
        ready.erase(name);
        return true;
      }
      bool now_ready = bench::PodReady(pod);
      auto it = ready.find(name);
      bool was_ready = it != ready.end() && it->second;
      ready[name] = now_ready;
      if (was_ready && !now_ready) {
        std::string member = bench::Label(pod, bench::kMemberLabel);
        queue.Push({bench::Label(pod, bench::kGroupLabel) + "-floor", member == "a" ? "b" : "a"});
      }
      return true;
    });
    if (!st.ok()) {
      if (st.IsExpired()) rv.clear();
      if (!st.IsExpired()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}
