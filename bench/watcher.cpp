#include "watcher.h"

#include <cstdio>

namespace bench {

Watcher::Watcher(std::shared_ptr<kube::Client> client, std::string ns)
    : client_(std::move(client)), ns_(std::move(ns)) {}

Watcher::~Watcher() { Stop(); }

bool Watcher::Start(std::chrono::seconds timeout) {
  threads_.emplace_back([this] {
    Run(kube::resources::kPods, kGroupLabel, [this](const json& o, bool d) { ApplyPod(o, d); });
  });
  threads_.emplace_back([this] {
    Run(kube::resources::kServices, kGroupLabel, [this](const json& o, bool d) { ApplyService(o, d); });
  });
  threads_.emplace_back([this] {
    Run(kube::resources::kEndpointSlices, "kubernetes.io/service-name",
        [this](const json& o, bool d) { ApplySlice(o, d); });
  });
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return listed_ >= 3; });
}

void Watcher::Stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    for (auto* c : cancels_) c->Cancel();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Watcher::Run(const kube::Resource& res, const std::string& selector,
                  const std::function<void(const json&, bool)>& apply) {
  std::string rv;
  bool counted = false;
  while (!stop_) {
    if (rv.empty()) {
      kube::ListOptions lo;
      lo.label_selector = selector;
      auto list = client_->ListAll(res, ns_, lo);
      if (!list.ok()) {
        std::fprintf(stderr, "watcher: list %s: %s\n", res.Name().c_str(), list.status().ToString().c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      for (const auto& item : (*list)["items"]) apply(item, false);
      rv = (*list)["metadata"].value("resourceVersion", "");
      if (!counted) {
        counted = true;
        std::lock_guard<std::mutex> lock(mu_);
        ++listed_;
        cv_.notify_all();
      }
    }
    kube::WatchCancel cancel;
    {
      std::lock_guard<std::mutex> lock(cancel_mu_);
      if (stop_) break;
      cancels_.push_back(&cancel);
    }
    kube::WatchOptions wo;
    wo.resource_version = rv;
    wo.label_selector = selector;
    kube::Status st = client_->Watch(res, ns_, wo, [&](kube::WatchEvent&& ev) {
      if (ev.object.contains("metadata")) rv = ev.object["metadata"].value("resourceVersion", rv);
      if (ev.type == kube::WatchEvent::Type::kBookmark) return true;
      ++events_;
      apply(ev.object, ev.type == kube::WatchEvent::Type::kDeleted);
      return true;
    }, &cancel);
    {
      std::lock_guard<std::mutex> lock(cancel_mu_);
      std::erase(cancels_, &cancel);
    }
    if (!st.ok() && !stop_) {
      if (st.IsExpired()) {
        rv.clear();
      } else {
        std::fprintf(stderr, "watcher: watch %s: %s\n", res.Name().c_str(), st.ToString().c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
}

void Watcher::ApplyPod(const json& pod, bool deleted) {
  auto now = Clock::now();
  std::string name = pod["metadata"].value("name", "");
  std::lock_guard<std::mutex> lock(mu_);
  if (deleted) {
    pods_.erase(name);
    cv_.notify_all();
    return;
  }
  auto [it, fresh] = pods_.try_emplace(name);
  PodState& p = it->second;
  p.uid = pod["metadata"].value("uid", "");
  if (pod.contains("status")) p.ip = pod["status"].value("podIP", "");
  bool ready = PodReady(pod);
  if (fresh || ready != p.ready) {
    p.ready = ready;
    p.ready_changed = now;
  }
  std::string role = Label(pod, kRoleLabel);
  if (fresh || role != p.role) {
    p.role = role;
    p.role_changed = now;
  }
  std::string eligible = Label(pod, kEligibleLabel);
  if (fresh || eligible != p.eligible) {
    p.eligible = eligible;
    p.eligible_changed = now;
  }
  cv_.notify_all();
}

void Watcher::ApplyService(const json& svc, bool deleted) {
  auto now = Clock::now();
  std::string name = svc["metadata"].value("name", "");
  std::string member;
  if (svc.contains("spec") && svc["spec"].contains("selector") && svc["spec"]["selector"].is_object()) {
    const auto& sel = svc["spec"]["selector"];
    member = sel.value(kOperatorMemberLabel, sel.value(kMemberLabel, ""));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (deleted) {
    services_.erase(name);
    cv_.notify_all();
    return;
  }
  auto [it, fresh] = services_.try_emplace(name);
  if (fresh || it->second.member != member) {
    it->second.member = member;
    it->second.changed = now;
  }
  cv_.notify_all();
}

void Watcher::ApplySlice(const json& slice, bool deleted) {
  if (deleted) return;
  auto now = Clock::now();
  std::string service = Label(slice, "kubernetes.io/service-name");
  if (!slice.contains("endpoints") || !slice["endpoints"].is_array()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto& eps = endpoints_[service];
  for (const auto& ep : slice["endpoints"]) {
    if (!ep.contains("targetRef")) continue;
    std::string pod = ep["targetRef"].value("name", "");
    bool ready = true;
    if (ep.contains("conditions") && ep["conditions"].contains("ready") && ep["conditions"]["ready"].is_boolean()) {
      ready = ep["conditions"]["ready"].get<bool>();
    }
    auto [it, fresh] = eps.try_emplace(pod);
    if (fresh || it->second.ready != ready) {
      it->second.ready = ready;
      it->second.changed = now;
    }
  }
  cv_.notify_all();
}

const Watcher::PodState* Watcher::Pod(const std::string& name) const {
  auto it = pods_.find(name);
  return it == pods_.end() ? nullptr : &it->second;
}

const Watcher::ServiceState* Watcher::Service(const std::string& name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

const Watcher::EndpointState* Watcher::Endpoint(const std::string& service, const std::string& pod) const {
  auto it = endpoints_.find(service);
  if (it == endpoints_.end()) return nullptr;
  auto jt = it->second.find(pod);
  return jt == it->second.end() ? nullptr : &jt->second;
}

}  // namespace bench
