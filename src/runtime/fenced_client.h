#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kube/client.h"

namespace runtime {

// The write fence of leader election: a kube::Client that passes reads (Get, List,
// ListAll, Watch, Raw) straight to the client it wraps, and lets a write (Create, Update,
// Patch, Delete) through only while the lease is this process's, with the lease's end as
// the request's deadline (kube::RequestDeadline):
//   - no write starts unless may_start() (the elector's IsLeader: the last renewal started
//     less than renewDeadline ago); it fails with kCancelled, nothing sent;
//   - a write that waits for the QPS limiter, is retried, or is still unanswered when
//     lease_end() (LeaderElector::LeaseDeadline) is reached is not sent, or abandoned and
//     its connection closed, at that point: before another replica can hold the lease.
// A deadline the caller set in the options is kept when it is earlier. The Manager hands
// this client to everything it wires (client()) when leader election is on.
class FencedClient : public kube::Client {
 public:
  FencedClient(std::shared_ptr<kube::Client> inner, std::function<bool()> may_start,
               kube::RequestDeadline lease_end);

  kube::Result<kube::json> Get(const kube::Resource& res, const std::string& ns, const std::string& name,
                               const std::string& subresource = "") override;
  kube::Result<kube::json> List(const kube::Resource& res, const std::string& ns,
                                const kube::ListOptions& opts = {}) override;
  kube::Result<kube::json> ListAll(const kube::Resource& res, const std::string& ns,
                                   kube::ListOptions opts = {}) override;
  kube::Result<kube::json> Create(const kube::Resource& res, const std::string& ns, const kube::json& obj,
                                  const kube::CreateOptions& opts = {}) override;
  kube::Result<kube::json> Update(const kube::Resource& res, const std::string& ns, const kube::json& obj,
                                  const kube::UpdateOptions& opts = {}) override;
  kube::Result<kube::json> Patch(const kube::Resource& res, const std::string& ns, const std::string& name,
                                 kube::PatchType type, const std::string& body,
                                 const kube::PatchOptions& opts = {}) override;
  kube::Result<kube::json> Delete(const kube::Resource& res, const std::string& ns, const std::string& name,
                                  const kube::DeleteOptions& opts = {}) override;
  kube::Status Watch(const kube::Resource& res, const std::string& ns, const kube::WatchOptions& opts,
                     const std::function<bool(kube::WatchEvent&&)>& on_event,
                     kube::WatchCancel* cancel = nullptr) override;
  kube::Result<std::string> Raw(const std::string& method, const std::string& path,
                                const std::string& body = "",
                                const std::string& content_type = "application/json") override;
  const kube::RestConfig& config() const override { return inner_->config(); }
  void SetObserver(std::shared_ptr<kube::RequestObserver> observer) override {
    inner_->SetObserver(std::move(observer));
  }
  // The wrapped client's: informers on this client wake with its reconnects.
  std::shared_ptr<kube::ReconnectSignal> reconnect_signal() const override { return inner_->reconnect_signal(); }

  const std::shared_ptr<kube::Client>& inner() const { return inner_; }

 private:
  // OK when a write may start; `deadline` becomes the lease's end (or the caller's, when
  // earlier).
  kube::Status Admit(const std::string& what, kube::RequestDeadline* deadline) const;

  std::shared_ptr<kube::Client> inner_;
  std::function<bool()> may_start_;
  kube::RequestDeadline lease_end_;
};

}  // namespace runtime
