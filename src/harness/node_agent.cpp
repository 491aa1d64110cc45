#include "harness/node_agent.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "harness/list_watch_options.h"
#include "harness/node_agent_internal.h"
#include "harness/scheduler.h"

// The pod table, the watch on this node's pods and the agent's threads. A process pod
// gets a worker (node_agent_worker.cpp); the others are synced by SyncLoop here, which
// writes their status with SyncStaticPod (node_agent_status.cpp).

namespace harness {

using nlohmann::json;
using std::chrono::milliseconds;
using node_agent_internal::Log;

namespace node_agent_internal {

void Log(const base::Env& env, const std::string& fmt, const std::string& a, const std::string& b,
         const std::string& c) {
  const std::string* args[] = {&a, &b, &c};
  std::string line = NowRfc3339(env) + " node-agent: ";
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '%' && i + 1 < fmt.size() && fmt[i + 1] == 's' && next < 3) {
      line += *args[next++];
      ++i;
    } else {
      line += fmt[i];
    }
  }
  line += "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace node_agent_internal

NodeAgent::NodeAgent(std::shared_ptr<kube::Client> client, NodeAgentOptions options,
                     PodIPAllocator allocator, base::Env& env)
    : client_(std::move(client)), options_(std::move(options)), env_(env), allocator_(std::move(allocator)) {
  kube::ListWatchHandlers pods;
  pods.on_list = [this](json& items, const std::string&) { OnPodsListed(items); };
  pods.on_event = [this](kube::WatchEvent& ev) {
    if (ev.type == kube::WatchEvent::Type::kDeleted) {
      OnPodGone(ev.object["metadata"].value("uid", ""));
    } else {
      OnPod(ev.object);
    }
  };
  pods.on_error = [this](const kube::ListWatchError& e) {
    if (auto line = ListWatchErrorLine("pods", e)) Log(env_, "%s", *line);
  };
  pod_watch_ = std::make_unique<kube::ListWatch>(
      client_, HarnessListWatch(kube::resources::kPods, env_, "spec.nodeName=" + options_.node_name),
      std::move(pods));
}

NodeAgent::~NodeAgent() { Stop(); }

void NodeAgent::Stop() {
  stopping_ = true;
  pod_watch_->Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [uid, rec] : pods_) rec->cv.notify_all();
  }
  cv_.notify_all();
}

std::string NodeAgent::PodDir(const PodRecord& rec) const {
  return options_.state_dir + "/pods/" + rec.ns + "_" + rec.name + "_" + rec.uid;
}

void NodeAgent::Run() {
  std::filesystem::create_directories(options_.state_dir + "/pods");
  std::thread sync([this] { SyncLoop(); });
  std::thread heartbeat;
  std::thread lease;
  if (options_.register_node) {
    heartbeat = std::thread([this] { HeartbeatLoop(); });
    lease = std::thread([this] { LeaseLoop(); });
  }
  Scheduler scheduler(client_, options_.node_name, env_);
  std::thread scheduling;
  if (options_.schedule) scheduling = std::thread([&scheduler] { scheduler.Run(); });
  pod_watch_->Run();
  stopping_ = true;
  cv_.notify_all();
  scheduler.Stop();
  if (scheduling.joinable()) scheduling.join();
  sync.join();
  if (heartbeat.joinable()) heartbeat.join();
  if (lease.joinable()) lease.join();
  std::vector<std::shared_ptr<PodRecord>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [uid, rec] : pods_) all.push_back(rec);
  }
  for (auto& rec : all) {
    rec->cv.notify_all();
    if (rec->worker.joinable()) rec->worker.join();
    std::error_code ec;
    std::filesystem::remove_all(PodDir(*rec), ec);
  }
  std::error_code ec;
  std::filesystem::remove(options_.state_dir + "/pods", ec);  // only when empty
  std::filesystem::remove(options_.state_dir, ec);
  Log(env_, "stopped; all workload processes ended");
}

void NodeAgent::OnPodsListed(const json& items) {
  std::set<std::string> present;
  for (const auto& pod : items) {
    present.insert(pod["metadata"].value("uid", ""));
    OnPod(pod);
  }
  std::vector<std::string> vanished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [uid, rec] : pods_) {
      if (present.count(uid) == 0) vanished.push_back(uid);
    }
  }
  for (const auto& uid : vanished) OnPodGone(uid);
}

void NodeAgent::OnPod(const json& pod) {
  PodSpec spec = ParsePod(pod);
  if (spec.uid.empty()) return;
  std::unique_lock<std::mutex> lock(mu_);
  auto it = pods_.find(spec.uid);
  if (it != pods_.end()) {
    auto& rec = it->second;
    spec.status_conditions = nullptr;
    {
      std::lock_guard<std::mutex> rl(rec->mu);
      rec->spec = std::move(spec);
    }
    rec->cv.notify_all();
    if (!rec->process_pod) {
      dirty_.push_back(rec->uid);
      cv_.notify_all();
    }
    return;
  }
  auto rec = std::make_shared<PodRecord>();
  rec->uid = spec.uid;
  rec->ns = spec.ns;
  rec->name = spec.name;
  if (!spec.status_pod_ip.empty() && allocator_.Reserve(spec.status_pod_ip)) {
    rec->pod_ip = spec.status_pod_ip;
  } else {
    auto ip = allocator_.Allocate();
    if (ip.ok()) rec->pod_ip = *ip;
    else rec->ip_error = ip.status().message();
  }
  rec->start_time = spec.status_start_time.empty() ? NowRfc3339(env_) : spec.status_start_time;
  rec->clock.Seed(spec.status_conditions);
  spec.status_conditions = nullptr;
  rec->terminal = spec.status_phase == "Succeeded" || spec.status_phase == "Failed";
  bool runnable = rec->ip_error.empty() && !spec.deleting && !rec->terminal;
  bool has_demo = false;
  for (const auto& c : spec.containers) {
    if (c.kind == ImageKind::kUnsupported) runnable = false;
    if (c.kind == ImageKind::kDemoApp) has_demo = true;
  }
  rec->process_pod = runnable && has_demo;
  rec->spec = std::move(spec);
  pods_[rec->uid] = rec;
  if (rec->process_pod) {
    Log(env_, "pod %s/%s: starting worker (podIP %s)", rec->ns, rec->name, rec->pod_ip);
    rec->worker = std::thread([this, rec] { PodWorker(rec); });
  } else {
    dirty_.push_back(rec->uid);
    cv_.notify_all();
  }
}

void NodeAgent::OnPodGone(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  {
    std::lock_guard<std::mutex> rl(it->second->mu);
    it->second->gone = true;
  }
  it->second->cv.notify_all();
  if (!it->second->process_pod) it->second->finished = true;
  cv_.notify_all();
}

void NodeAgent::SyncLoop() {
  while (true) {
    std::vector<std::string> batch;
    std::vector<std::shared_ptr<PodRecord>> done;
    {
      std::unique_lock<std::mutex> lock(mu_);
      env_.WaitFor(lock, cv_, milliseconds(500), [this] { return stopping_.load() || !dirty_.empty(); });
      if (stopping_) return;
      batch.swap(dirty_);
      for (auto it = pods_.begin(); it != pods_.end();) {
        if (it->second->finished) {
          done.push_back(it->second);
          if (!it->second->pod_ip.empty()) allocator_.Release(it->second->pod_ip);
          it = pods_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& rec : done) {
      if (rec->worker.joinable()) rec->worker.join();
      std::error_code ec;
      std::filesystem::remove_all(PodDir(*rec), ec);
    }
    std::sort(batch.begin(), batch.end());
    batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
    bool retry_pending = false;
    for (const auto& uid : batch) {
      std::shared_ptr<PodRecord> rec;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = pods_.find(uid);
        if (it == pods_.end() || it->second->process_pod) continue;
        rec = it->second;
      }
      SyncStaticPod(*rec);
      if (stopping_) return;
      if (env_.Now() < rec->retry_at) retry_pending = true;
    }
    if (retry_pending) env_.SleepFor(milliseconds(200));
  }
}

}  // namespace harness
