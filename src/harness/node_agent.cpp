#include "harness/node_agent.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness/list_watch_options.h"
#include "harness/process.h"
#include "harness/scheduler.h"

namespace harness {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// One log line; each "%s" in fmt takes the next argument.
void Log(const std::string& fmt, const std::string& a = "", const std::string& b = "",
         const std::string& c = "") {
  const std::string* args[] = {&a, &b, &c};
  std::string line = NowRfc3339() + " node-agent: ";
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

std::string Repository(const std::string& image) {
  std::string repo = image;
  auto at = repo.find('@');
  if (at != std::string::npos) repo = repo.substr(0, at);
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  return repo;
}

}  // namespace

ImageKind ClassifyImage(const std::string& image) {
  const std::string repo = Repository(image);
  if (repo == "failover.io/virtual") return ImageKind::kVirtual;
  const std::string demo = "failover-demo-app";
  if (repo.size() >= demo.size() && repo.compare(repo.size() - demo.size(), demo.size(), demo) == 0 &&
      (repo.size() == demo.size() || repo[repo.size() - demo.size() - 1] == '/')) {
    return ImageKind::kDemoApp;
  }
  return ImageKind::kUnsupported;
}

PodSpec ParsePod(const json& pod) {
  PodSpec p;
  const json& meta = pod.value("metadata", json::object());
  const json& spec = pod.value("spec", json::object());
  const json& status = pod.value("status", json::object());
  p.uid = meta.value("uid", "");
  p.ns = meta.value("namespace", "");
  p.name = meta.value("name", "");
  p.restart_policy = spec.value("restartPolicy", "Always");
  if (spec.contains("terminationGracePeriodSeconds") &&
      spec["terminationGracePeriodSeconds"].is_number_integer()) {
    p.termination_grace_seconds = spec["terminationGracePeriodSeconds"].get<int64_t>();
  }
  p.deleting = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  if (meta.contains("deletionGracePeriodSeconds") &&
      meta["deletionGracePeriodSeconds"].is_number_integer()) {
    p.deletion_grace_seconds = meta["deletionGracePeriodSeconds"].get<int64_t>();
  }
  const json& ann = meta.value("annotations", json::object());
  if (ann.contains(kReadyAnnotation) && ann[kReadyAnnotation].is_string()) {
    p.ready_annotation = ann[kReadyAnnotation].get<std::string>();
  }
  for (const auto& c : spec.value("containers", json::array())) {
    ContainerSpec cs;
    cs.name = c.value("name", "");
    cs.image = c.value("image", "");
    cs.kind = ClassifyImage(cs.image);
    for (const auto& a : c.value("args", json::array())) {
      if (a.is_string()) cs.args.push_back(a.get<std::string>());
    }
    for (const auto& e : c.value("env", json::array())) {
      cs.env.emplace_back(e.value("name", ""), e);
    }
    const json& ports = c.value("ports", json::array());
    if (!ports.empty() && ports[0].contains("containerPort")) {
      cs.port = ports[0].value("containerPort", 8080);
    }
    std::string err;
    cs.readiness = ParseProbe(c, "readinessProbe", &err);
    if (!err.empty()) cs.probe_error = err;
    err.clear();
    cs.liveness = ParseProbe(c, "livenessProbe", &err);
    if (!err.empty()) cs.probe_error = err;
    p.containers.push_back(std::move(cs));
  }
  for (const auto& cs : status.value("containerStatuses", json::array())) {
    for (auto& c : p.containers) {
      if (c.name == cs.value("name", "") && cs.value("started", false)) {
        c.status_restart_count = cs.value("restartCount", 0);
      }
    }
  }
  p.status_pod_ip = status.value("podIP", "");
  p.status_start_time = status.value("startTime", "");
  p.status_phase = status.value("phase", "");
  p.status_conditions = status.value("conditions", json::array());
  return p;
}

std::vector<std::string> ContainerEnv(const PodSpec& pod, const ContainerSpec& c,
                                      const std::string& pod_ip, const std::string& host_ip,
                                      const std::string& node_name) {
  std::vector<std::string> env;
  const char* path = std::getenv("PATH");
  env.push_back(std::string("PATH=") + (path ? path : "/usr/local/bin:/usr/bin:/bin"));
  env.push_back("HOSTNAME=" + pod.name);
  env.push_back("POD_NAME=" + pod.name);
  env.push_back("POD_NAMESPACE=" + pod.ns);
  env.push_back("POD_IP=" + pod_ip);
  env.push_back("PORT=" + std::to_string(c.port));
  for (const auto& [name, var] : c.env) {
    if (name.empty()) continue;
    if (var.contains("value") && var["value"].is_string()) {
      env.push_back(name + "=" + var["value"].get<std::string>());
      continue;
    }
    std::string field = var.value("valueFrom", json::object())
                            .value("fieldRef", json::object())
                            .value("fieldPath", "");
    std::string value;
    if (field == "metadata.name") value = pod.name;
    else if (field == "metadata.namespace") value = pod.ns;
    else if (field == "metadata.uid") value = pod.uid;
    else if (field == "status.podIP") value = pod_ip;
    else if (field == "status.hostIP") value = host_ip;
    else if (field == "spec.nodeName") value = node_name;
    else if (var.contains("value")) value = "";
    else continue;
    env.push_back(name + "=" + value);
  }
  return env;
}

// One pod bound to this node. spec/gone are written by the watch thread under mu.
struct NodeAgent::PodRecord {
  std::mutex mu;
  std::condition_variable cv;
  PodSpec spec;
  bool gone = false;      // the apiserver no longer has it
  bool finished = false;  // its worker is done; the sync loop may forget it
  bool process_pod = false;
  bool terminal = false;  // found Succeeded/Failed: never run again, only finish deletion
  std::string pod_ip;
  std::string ip_error;
  std::string start_time;
  ConditionClock clock;
  std::string last_written;  // the status JSON last written
  Clock::time_point retry_at{};
  std::thread worker;
  std::string ns, name, uid;
  Clock::time_point delete_sent{};
};

// A demo-app container's process and probe state.
struct NodeAgent::ContainerRuntime {
  ContainerView view;
  pid_t pid = 0;
  Clock::time_point started{};
  Clock::time_point next_start{};
  Clock::time_point next_readiness{};
  Clock::time_point next_liveness{};
  int crashes = 0;
  bool ever_started = false;
  std::optional<ProbeTracker> readiness;
  std::optional<ProbeTracker> liveness;
};

NodeAgent::NodeAgent(std::shared_ptr<kube::Client> client, NodeAgentOptions options,
                     PodIPAllocator allocator)
    : client_(std::move(client)), options_(std::move(options)), allocator_(std::move(allocator)) {
  kube::ListWatchHandlers pods;
  pods.on_list = [this](json& items, const std::string&) { OnPodsListed(items); };
  pods.on_event = [this](kube::WatchEvent& ev) {
    if (ev.type == kube::WatchEvent::Type::kDeleted) {
      OnPodGone(ev.object["metadata"].value("uid", ""));
    } else {
      OnPod(ev.object);
    }
  };
  pods.on_error = [](const kube::ListWatchError& e) {
    if (auto line = ListWatchErrorLine("pods", e)) Log("%s", *line);
  };
  pod_watch_ = std::make_unique<kube::ListWatch>(
      client_, HarnessListWatch(kube::resources::kPods, "spec.nodeName=" + options_.node_name),
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
  if (options_.register_node) heartbeat = std::thread([this] { HeartbeatLoop(); });
  Scheduler scheduler(client_, options_.node_name);
  std::thread scheduling;
  if (options_.schedule) scheduling = std::thread([&scheduler] { scheduler.Run(); });
  pod_watch_->Run();
  stopping_ = true;
  cv_.notify_all();
  scheduler.Stop();
  if (scheduling.joinable()) scheduling.join();
  sync.join();
  if (heartbeat.joinable()) heartbeat.join();
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
  Log("stopped; all workload processes ended");
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
  rec->start_time = spec.status_start_time.empty() ? NowRfc3339() : spec.status_start_time;
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
    Log("pod %s/%s: starting worker (podIP %s)", rec->ns, rec->name, rec->pod_ip);
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

bool NodeAgent::WriteStatus(PodRecord& rec, const PodView& view) {
  json status = RenderPodStatus(view, &rec.clock, NowRfc3339());
  std::string text = status.dump();
  if (text == rec.last_written) return true;
  if (Clock::now() < rec.retry_at) return false;
  kube::PatchOptions po;
  po.subresource = "status";
  auto res = client_->Patch(kube::resources::kPods, rec.ns, rec.name, kube::PatchType::kMerge,
                            StatusPatch(rec.uid, status).dump(), po);
  if (!res.ok()) {
    if (!res.status().IsNotFound() && !res.status().IsConflict()) {
      Log("pod %s/%s: status write failed: %s", rec.ns, rec.name, res.status().ToString());
    }
    rec.retry_at = Clock::now() + milliseconds(500);
    return false;
  }
  rec.last_written = std::move(text);
  return true;
}

bool NodeAgent::FinishDeletion(PodRecord& rec) {
  if (Clock::now() - rec.delete_sent < seconds(2)) return false;
  rec.delete_sent = Clock::now();
  kube::DeleteOptions opts;
  opts.grace_period_seconds = 0;
  opts.precondition_uid = rec.uid;
  auto res = client_->Delete(kube::resources::kPods, rec.ns, rec.name, opts);
  if (res.ok() || res.status().IsNotFound() || res.status().IsConflict()) return true;
  Log("pod %s/%s: delete failed: %s", rec.ns, rec.name, res.status().ToString());
  return false;
}

void NodeAgent::SyncStaticPod(PodRecord& rec) {
  PodSpec spec;
  bool gone;
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    spec = rec.spec;
    gone = rec.gone;
  }
  if (gone) return;
  if (spec.deleting) {
    FinishDeletion(rec);
    return;
  }
  if (rec.terminal) return;
  PodView view;
  view.pod_ip = rec.pod_ip;
  view.host_ip = options_.node_ip;
  view.start_time = rec.start_time;
  std::string unsupported;
  for (const auto& c : spec.containers) {
    if (c.kind == ImageKind::kUnsupported) unsupported += (unsupported.empty() ? "" : ", ") + c.image;
  }
  bool virtual_ready = spec.ready_annotation != "false";
  for (const auto& c : spec.containers) {
    ContainerView cv;
    cv.name = c.name;
    cv.image = c.image;
    if (!rec.ip_error.empty() || !unsupported.empty()) {
      cv.state = ContainerView::State::kWaiting;
      cv.reason = rec.ip_error.empty() ? "UnsupportedImage" : "PodIPUnavailable";
      cv.message = rec.ip_error.empty()
                       ? "image " + c.image +
                             ": this node runs only failover-demo-app and failover.io/virtual images"
                       : rec.ip_error;
    } else {
      cv.state = ContainerView::State::kRunning;
      cv.started_at = rec.start_time;
      cv.started = true;
      cv.ready = virtual_ready;
    }
    view.containers.push_back(std::move(cv));
  }
  if (!rec.ip_error.empty()) {
    view.phase = "Failed";
    view.reason = "PodIPUnavailable";
    view.message = rec.ip_error;
    view.pod_ip.clear();
  } else if (!unsupported.empty()) {
    view.phase = "Failed";
    view.reason = "UnsupportedImage";
    view.message = "this node runs only failover-demo-app and failover.io/virtual images, not " +
                   unsupported;
  } else {
    view.phase = "Running";
  }
  if (!WriteStatus(rec, view)) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.push_back(rec.uid);
  }
}

void NodeAgent::SyncLoop() {
  while (true) {
    std::vector<std::string> batch;
    std::vector<std::shared_ptr<PodRecord>> done;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, milliseconds(500), [this] { return stopping_.load() || !dirty_.empty(); });
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
      if (Clock::now() < rec->retry_at) retry_pending = true;
    }
    if (retry_pending) std::this_thread::sleep_for(milliseconds(200));
  }
}

namespace {

milliseconds CrashBackoff(int crashes) {
  if (crashes <= 1) return milliseconds(0);
  int64_t ms = 500LL << std::min(crashes - 2, 6);
  return milliseconds(std::min<int64_t>(ms, 16000));
}

void WritePidFile(const std::string& path, pid_t pid) {
  std::ofstream f(path, std::ios::trunc);
  f << pid << "\n";
}

}  // namespace

void NodeAgent::PodWorker(std::shared_ptr<PodRecord> rec) {
  const std::string dir = PodDir(*rec);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  PodSpec spec;
  {
    std::lock_guard<std::mutex> lock(rec->mu);
    spec = rec->spec;
  }
  std::vector<ContainerRuntime> containers(spec.containers.size());
  for (size_t i = 0; i < containers.size(); ++i) {
    auto& c = containers[i];
    c.view.name = spec.containers[i].name;
    c.view.image = spec.containers[i].image;
    c.view.reason = "ContainerCreating";
    if (auto prior = spec.containers[i].status_restart_count) {
      c.view.restart_count = *prior;
      c.ever_started = true;
    }
  }
  auto stop_all = [&](milliseconds grace, const char* why) {
    for (auto& c : containers) {
      if (c.pid <= 0) continue;
      Log("pod %s/%s: stopping container (%s)", rec->ns, rec->name, why);
      ExitInfo info = StopProcess(c.pid, grace);
      c.pid = 0;
      c.view.state = ContainerView::State::kTerminated;
      c.view.exit_code = info.exit_code;
      c.view.reason = info.exit_code == 0 ? "Completed" : "Error";
      c.view.finished_at = NowRfc3339();
      c.view.ready = false;
      c.view.started = false;
      std::filesystem::remove(dir + "/" + c.view.name + ".pid", ec);
    }
  };
  auto handle_exit = [&](ContainerRuntime& c, const ContainerSpec& cs, const ExitInfo& info,
                         const std::string& why) {
    c.pid = 0;
    std::filesystem::remove(dir + "/" + cs.name + ".pid", ec);
    json term = {{"exitCode", info.exit_code},
                 {"reason", why.empty() ? (info.exit_code == 0 ? "Completed" : "Error") : why},
                 {"startedAt", c.view.started_at},
                 {"finishedAt", NowRfc3339()}};
    c.view.ready = false;
    c.view.started = false;
    if (c.readiness) c.readiness->Reset();
    if (c.liveness) c.liveness->Reset();
    bool restart = spec.restart_policy == "Always" ||
                   (spec.restart_policy == "OnFailure" && info.exit_code != 0);
    if (Clock::now() - c.started >= seconds(30)) c.crashes = 0;
    ++c.crashes;
    Log("pod %s/%s: container exited with code %s", rec->ns, rec->name,
        std::to_string(info.exit_code));
    if (restart) {
      milliseconds delay = CrashBackoff(c.crashes);
      c.view.state = ContainerView::State::kWaiting;
      c.view.reason = delay.count() > 0 ? "CrashLoopBackOff" : "ContainerCreating";
      c.view.message = delay.count() > 0 ? "back-off " + std::to_string(delay.count()) +
                                               "ms restarting failed container=" + cs.name +
                                               " pod=" + rec->name + "_" + rec->ns
                                         : "";
      c.view.last_state = json{{"terminated", term}};
      c.next_start = Clock::now() + delay;
    } else {
      c.view.state = ContainerView::State::kTerminated;
      c.view.exit_code = info.exit_code;
      c.view.reason = term["reason"].get<std::string>();
      c.view.finished_at = term["finishedAt"].get<std::string>();
    }
  };

  bool deletion_done = false;
  while (true) {
    bool gone;
    {
      std::lock_guard<std::mutex> lock(rec->mu);
      spec = rec->spec;
      gone = rec->gone;
    }
    if (stopping_) {
      stop_all(milliseconds(2000), "node agent stopping");
      break;
    }
    if (gone) {
      stop_all(milliseconds(2000), "pod deleted");
      break;
    }
    if (spec.deleting && !deletion_done) {
      int64_t grace = spec.deletion_grace_seconds.value_or(spec.termination_grace_seconds);
      grace = std::max<int64_t>(0, std::min(grace, spec.termination_grace_seconds));
      stop_all(milliseconds(grace * 1000), "pod deletion");
      for (auto& c : containers) {
        if (c.view.state != ContainerView::State::kTerminated) {
          c.view.state = ContainerView::State::kTerminated;
          c.view.exit_code = 0;
          c.view.reason = "Completed";
          c.view.finished_at = NowRfc3339();
          c.view.ready = false;
        }
      }
      deletion_done = true;
    }
    auto now = Clock::now();
    Clock::time_point wake = now + milliseconds(100);
    if (!spec.deleting) {
      for (size_t i = 0; i < containers.size() && i < spec.containers.size(); ++i) {
        auto& c = containers[i];
        const ContainerSpec& cs = spec.containers[i];
        if (cs.kind == ImageKind::kVirtual) {
          c.view.state = ContainerView::State::kRunning;
          c.view.started_at = rec->start_time;
          c.view.started = true;
          c.view.ready = spec.ready_annotation != "false";
          c.view.reason.clear();
          continue;
        }
        if (c.pid > 0) {
          if (auto info = TryReap(c.pid)) {
            handle_exit(c, cs, *info, "");
            continue;
          }
          if (cs.liveness && now >= c.next_liveness) {
            if (!c.liveness) c.liveness.emplace(cs.liveness->success_threshold, cs.liveness->failure_threshold, true);
            auto env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
            ProbeOutcome out = RunProbe(*cs.liveness, rec->pod_ip, env);
            c.next_liveness = Clock::now() + seconds(cs.liveness->period_seconds);
            if (c.liveness->Observe(out.success) && !c.liveness->result()) {
              Log("pod %s/%s: liveness probe failed (%s); restarting", rec->ns, rec->name, out.message);
              int64_t grace = std::max<int64_t>(0, spec.termination_grace_seconds);
              ExitInfo info = StopProcess(c.pid, milliseconds(grace * 1000));
              handle_exit(c, cs, info, "Error");
              continue;
            }
          }
          if (cs.readiness && now >= c.next_readiness) {
            if (!c.readiness) c.readiness.emplace(cs.readiness->success_threshold, cs.readiness->failure_threshold, false);
            auto env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
            ProbeOutcome out = RunProbe(*cs.readiness, rec->pod_ip, env);
            c.next_readiness = Clock::now() + seconds(cs.readiness->period_seconds);
            if (c.readiness->Observe(out.success)) {
              Log("pod %s/%s: readiness now %s", rec->ns, rec->name,
                  c.readiness->result() ? "true" : "false (" + out.message + ")");
            }
          }
          c.view.ready = cs.readiness ? (c.readiness && c.readiness->result()) : true;
          if (cs.readiness) wake = std::min(wake, c.next_readiness);
          if (cs.liveness) wake = std::min(wake, c.next_liveness);
          continue;
        }
        if (c.view.state == ContainerView::State::kWaiting && now >= c.next_start) {
          std::vector<std::string> argv{options_.demo_app_path};
          argv.insert(argv.end(), cs.args.begin(), cs.args.end());
          auto env = ContainerEnv(spec, cs, rec->pod_ip, options_.node_ip, options_.node_name);
          auto pid = StartProcess(argv, env, dir + "/" + cs.name + ".log");
          if (!pid.ok()) {
            c.view.reason = "RunContainerError";
            c.view.message = pid.status().message();
            ++c.crashes;
            c.next_start = now + std::max(CrashBackoff(c.crashes), milliseconds(1000));
            continue;
          }
          c.pid = *pid;
          WritePidFile(dir + "/" + cs.name + ".pid", c.pid);
          if (c.ever_started) ++c.view.restart_count;
          c.ever_started = true;
          c.started = Clock::now();
          c.view.state = ContainerView::State::kRunning;
          c.view.started_at = NowRfc3339();
          c.view.started = true;
          c.view.reason.clear();
          c.view.message.clear();
          c.view.ready = !cs.readiness;
          if (cs.readiness) c.next_readiness = c.started + seconds(cs.readiness->initial_delay_seconds);
          if (cs.liveness) c.next_liveness = c.started + seconds(cs.liveness->initial_delay_seconds);
          Log("pod %s/%s: started pid %s", rec->ns, rec->name, std::to_string(c.pid));
          wake = std::min(wake, now + milliseconds(50));
        } else if (c.view.state == ContainerView::State::kWaiting) {
          wake = std::min(wake, c.next_start);
        }
      }
    }
    PodView view;
    view.pod_ip = rec->pod_ip;
    view.host_ip = options_.node_ip;
    view.start_time = rec->start_time;
    for (const auto& c : containers) view.containers.push_back(c.view);
    view.phase = PodPhase(view.containers, spec.restart_policy);
    if (spec.deleting) {
      bool failed = false;
      for (const auto& c : containers) failed = failed || c.view.exit_code != 0;
      view.phase = failed ? "Failed" : "Succeeded";
    }
    if (!spec.containers.empty() && !containers.empty() &&
        spec.containers[0].probe_error.size() > 0) {
      view.message = spec.containers[0].probe_error;
    }
    bool written = WriteStatus(*rec, view);
    if (spec.deleting && written) FinishDeletion(*rec);
    std::unique_lock<std::mutex> lock(rec->mu);
    rec->cv.wait_until(lock, std::max(wake, Clock::now() + milliseconds(10)),
                       [&] { return rec->gone || stopping_.load(); });
  }
  std::lock_guard<std::mutex> lock(mu_);
  rec->finished = true;
  cv_.notify_all();
}

void NodeAgent::HeartbeatLoop() {
  const auto& node = options_.node_name;
  bool logged = false;
  // A kubelet reports its own version, which matches the control plane's in a cluster
  // of one release: report the apiserver's, marked as the harness.
  std::string kubelet_version = "v0.0.0-failover-harness";
  if (auto v = client_->Raw("GET", "/version"); v.ok()) {
    json doc = json::parse(*v, nullptr, false);
    if (doc.is_object() && doc.contains("gitVersion") && doc["gitVersion"].is_string()) {
      kubelet_version = doc["gitVersion"].get<std::string>() + "-failover-harness";
    }
  }
  while (!stopping_) {
    auto got = client_->Get(kube::resources::kNodes, "", node);
    if (!got.ok() && got.status().IsNotFound()) {
      json obj = {{"apiVersion", "v1"},
                  {"kind", "Node"},
                  {"metadata",
                   {{"name", node},
                    {"labels", {{"kubernetes.io/hostname", node}, {"kubernetes.io/os", "linux"}}}}},
                  {"spec", {{"podCIDR", options_.pod_cidr}, {"podCIDRs", {options_.pod_cidr}}}}};
      auto created = client_->Create(kube::resources::kNodes, "", obj);
      if (!created.ok() && !created.status().IsAlreadyExists()) {
        Log("create node %s: %s", node, created.status().ToString());
      }
    }
    const std::string now = NowRfc3339();
    std::string since = now;
    if (got.ok()) {
      for (const auto& c : (*got).value("status", json::object()).value("conditions", json::array())) {
        if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
          since = c.value("lastTransitionTime", now);
        }
      }
    }
    json status = {
        {"conditions",
         json::array({{{"type", "Ready"},
                       {"status", "True"},
                       {"reason", "KubeletReady"},
                       {"message", "failover-node-agent is posting ready status"},
                       {"lastHeartbeatTime", now},
                       {"lastTransitionTime", since}}})},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", options_.node_ip}},
                                   {{"type", "Hostname"}, {"address", node}}})},
        {"capacity", {{"pods", "100000"}, {"cpu", "64"}, {"memory", "256Gi"}}},
        {"allocatable", {{"pods", "100000"}, {"cpu", "64"}, {"memory", "256Gi"}}},
        {"nodeInfo",
         {{"kubeletVersion", kubelet_version},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"},
          {"containerRuntimeVersion", "failover-node-agent://1"},
          {"kernelVersion", ""},
          {"osImage", ""},
          {"machineID", ""},
          {"systemUUID", ""},
          {"bootID", ""}}}};
    kube::PatchOptions po;
    po.subresource = "status";
    auto res = client_->Patch(kube::resources::kNodes, "", node, kube::PatchType::kMerge,
                              json{{"status", status}}.dump(), po);
    if (!res.ok() && !logged) {
      Log("node %s status: %s", node, res.status().ToString());
      logged = true;
    }
    // The apiserver taints a new Node not-ready; the node lifecycle controller, which does
    // not run here, lifts the taint once the Node is Ready. This node is, so lift it.
    if (got.ok() && res.ok()) {
      json kept = json::array();
      bool tainted = false;
      for (const auto& t : (*got).value("spec", json::object()).value("taints", json::array())) {
        if (t.value("key", "") == "node.kubernetes.io/not-ready" && t.value("effect", "") == "NoSchedule") {
          tainted = true;
        } else {
          kept.push_back(t);
        }
      }
      if (tainted) {
        json patch = {{"metadata", {{"resourceVersion", (*res)["metadata"].value("resourceVersion", "")}}},
                      {"spec", {{"taints", kept.empty() ? json(nullptr) : kept}}}};
        auto lifted = client_->Patch(kube::resources::kNodes, "", node, kube::PatchType::kMerge, patch.dump());
        if (lifted.ok()) {
          Log("node %s: lifted the node.kubernetes.io/not-ready taint (the node is Ready)", node);
        } else if (!lifted.status().IsConflict()) {
          Log("node %s: lifting the not-ready taint: %s", node, lifted.status().ToString());
        }
      }
    }
    // The node Lease is what the node lifecycle controller watches for liveness.
    json renew = {{"spec",
                   {{"holderIdentity", node},
                    {"leaseDurationSeconds", 40},
                    {"renewTime", now.substr(0, now.size() - 1) + ".000000Z"}}}};
    auto lease = client_->Patch(kube::resources::kLeases, "kube-node-lease", node,
                                kube::PatchType::kMerge, renew.dump());
    if (!lease.ok() && lease.status().IsNotFound()) {
      json obj = renew;
      obj["apiVersion"] = "coordination.k8s.io/v1";
      obj["kind"] = "Lease";
      obj["metadata"] = {{"name", node}, {"namespace", "kube-node-lease"}};
      client_->Create(kube::resources::kLeases, "kube-node-lease", obj);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, seconds(10), [this] { return stopping_.load(); });
  }
}

}  // namespace harness
