#pragma once
// A kube::Client for unit tests of code that writes: it answers Patch and Delete from a
// script (a failure per object, else success with a fresh resourceVersion) and records
// every request in order. Nothing else is served. Thread-safe, as the real client is.
// Integration tests use the real client against the real apiserver; this is for the
// order, the stopping and the fencing of writes, which a real server cannot be made to
// fail on cue.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"

namespace testsupport {

class RecordingClient : public kube::Client {
 public:
  struct Call {
    std::string verb;         // PATCH | DELETE
    std::string resource;     // pods, services, failovergroups
    std::string name;
    std::string subresource;  // "status" or ""
    nlohmann::json body;      // the patch (PATCH) or {"uid": precondition} (DELETE)
  };

  // The next write to resource/name fails with this status (once, or always).
  void FailNext(const std::string& resource, const std::string& name, kube::Status status, bool always = false) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_[resource + "/" + name] = {std::move(status), always};
  }
  // GET failovergroups/name answers {metadata: name, resourceVersion: rv} (every other GET
  // is unserved); a PATCH of it moves the served resourceVersion.
  void ServeGroup(const std::string& name, const std::string& rv) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_[name] = rv;
  }
  // GET services/name answers {metadata: name, resourceVersion: rv}.
  void ServeService(const std::string& name, const std::string& rv) {
    std::lock_guard<std::mutex> lock(mu_);
    services_[name] = rv;
  }
  // GET resource/name answers `obj` (until served again); FailNext("GET " + resource, name, ...)
  // makes the next GET of it fail instead.
  void ServeObject(const std::string& resource, const std::string& name, nlohmann::json obj) {
    std::lock_guard<std::mutex> lock(mu_);
    objects_[resource + "/" + name] = std::move(obj);
  }
  void ClearCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  kube::Result<nlohmann::json> Patch(const kube::Resource& res, const std::string& ns, const std::string& name,
                                     kube::PatchType, const std::string& body,
                                     const kube::PatchOptions& opts = {}) override {
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({"PATCH", res.resource, name, opts.subresource, parsed});
    if (auto st = TakeFailureLocked(res.resource + "/" + name); !st.ok()) return st;
    nlohmann::json obj = parsed.is_object() ? parsed : nlohmann::json::object();
    obj["metadata"]["name"] = name;
    obj["metadata"]["namespace"] = ns;
    obj["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    if (res.resource == "failovergroups" && groups_.contains(name)) groups_[name] = std::to_string(resource_version_);
    return obj;
  }
  kube::Result<nlohmann::json> Delete(const kube::Resource& res, const std::string& ns, const std::string& name,
                                      const kube::DeleteOptions& opts = {}) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({"DELETE", res.resource, name, "", {{"uid", opts.precondition_uid}}});
    if (auto st = TakeFailureLocked(res.resource + "/" + name); !st.ok()) return st;
    return nlohmann::json{{"kind", "Status"}, {"status", "Success"}, {"metadata", {{"namespace", ns}}}};
  }

  kube::Result<nlohmann::json> Get(const kube::Resource& res, const std::string& ns, const std::string& name,
                                   const std::string& = "") override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = groups_.find(name);
      if (res.resource == "failovergroups" && it != groups_.end()) {
        calls_.push_back({"GET", res.resource, name, "", nullptr});
        if (auto st = TakeFailureLocked("GET " + res.resource + "/" + name); !st.ok()) return st;
        return nlohmann::json{{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", it->second}}}};
      }
      if (auto obj = objects_.find(res.resource + "/" + name); obj != objects_.end()) {
        calls_.push_back({"GET", res.resource, name, "", nullptr});
        if (auto st = TakeFailureLocked("GET " + res.resource + "/" + name); !st.ok()) return st;
        return obj->second;
      }
      auto svc = services_.find(name);
      if (res.resource == "services" && svc != services_.end()) {
        calls_.push_back({"GET", res.resource, name, "", nullptr});
        return nlohmann::json{{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", svc->second}}}};
      }
    }
    return Unserved("GET", res, name);
  }
  kube::Result<nlohmann::json> List(const kube::Resource& res, const std::string&,
                                    const kube::ListOptions& = {}) override {
    return Unserved("LIST", res, "");
  }
  kube::Result<nlohmann::json> ListAll(const kube::Resource& res, const std::string&,
                                       kube::ListOptions = {}) override {
    return Unserved("LIST", res, "");
  }
  kube::Result<nlohmann::json> Create(const kube::Resource& res, const std::string&, const nlohmann::json&,
                                      const kube::CreateOptions& = {}) override {
    return Unserved("POST", res, "");
  }
  kube::Result<nlohmann::json> Update(const kube::Resource& res, const std::string&, const nlohmann::json&,
                                      const kube::UpdateOptions& = {}) override {
    return Unserved("PUT", res, "");
  }
  kube::Status Watch(const kube::Resource& res, const std::string&, const kube::WatchOptions&,
                     const std::function<bool(kube::WatchEvent&&)>&, kube::WatchCancel* = nullptr) override {
    return Unserved("WATCH", res, "").status();
  }
  kube::Result<std::string> Raw(const std::string& method, const std::string& path, const std::string& = "",
                                const std::string& = "") override {
    return kube::Status(kube::Reason::kInvalidArgument, "RecordingClient serves no " + method + " " + path);
  }
  const kube::RestConfig& config() const override { return config_; }
  void SetObserver(std::shared_ptr<kube::RequestObserver>) override {}

 private:
  struct Failure {
    kube::Status status;
    bool always = false;
  };
  kube::Status TakeFailureLocked(const std::string& key) {
    auto it = failures_.find(key);
    if (it == failures_.end()) return kube::Status::OK();
    kube::Status st = it->second.status;
    if (!it->second.always) failures_.erase(it);
    return st;
  }
  kube::Result<nlohmann::json> Unserved(const char* verb, const kube::Resource& res, const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({verb, res.resource, name, "", nullptr});
    return kube::Status(kube::Reason::kInvalidArgument, std::string("RecordingClient serves no ") + verb);
  }

  mutable std::mutex mu_;
  std::vector<Call> calls_;
  std::map<std::string, Failure> failures_;
  std::map<std::string, std::string> groups_;  // name -> resourceVersion served
  std::map<std::string, std::string> services_;  // name -> resourceVersion served
  std::map<std::string, nlohmann::json> objects_;  // resource/name -> object served
  int64_t resource_version_ = 100;
  kube::RestConfig config_;
};

}  // namespace testsupport
