#include "runtime/fenced_client.h"

#include <algorithm>

namespace runtime {

FencedClient::FencedClient(std::shared_ptr<kube::Client> inner, std::function<bool()> may_start,
                           kube::RequestDeadline lease_end)
    : inner_(std::move(inner)), may_start_(std::move(may_start)), lease_end_(std::move(lease_end)) {}

kube::Status FencedClient::Admit(const std::string& what, kube::RequestDeadline* deadline) const {
  if (!may_start_()) {
    return kube::Status(kube::Reason::kCancelled,
                        what + ": not sent: this process does not hold the leader lease");
  }
  if (*deadline) {
    *deadline = [lease_end = lease_end_, own = *deadline] { return std::min(lease_end(), own()); };
  } else {
    *deadline = lease_end_;
  }
  return kube::Status::OK();
}

kube::Result<kube::json> FencedClient::Get(const kube::Resource& res, const std::string& ns,
                                           const std::string& name, const std::string& subresource) {
  return inner_->Get(res, ns, name, subresource);
}

kube::Result<kube::json> FencedClient::List(const kube::Resource& res, const std::string& ns,
                                            const kube::ListOptions& opts) {
  return inner_->List(res, ns, opts);
}

kube::Result<kube::json> FencedClient::ListAll(const kube::Resource& res, const std::string& ns,
                                               kube::ListOptions opts) {
  return inner_->ListAll(res, ns, std::move(opts));
}

kube::Result<kube::json> FencedClient::Create(const kube::Resource& res, const std::string& ns,
                                              const kube::json& obj, const kube::CreateOptions& opts) {
  kube::CreateOptions o = opts;
  if (auto st = Admit("create " + res.Name(), &o.deadline); !st.ok()) return st;
  return inner_->Create(res, ns, obj, o);
}

kube::Result<kube::json> FencedClient::Update(const kube::Resource& res, const std::string& ns,
                                              const kube::json& obj, const kube::UpdateOptions& opts) {
  kube::UpdateOptions o = opts;
  if (auto st = Admit("update " + res.Name(), &o.deadline); !st.ok()) return st;
  return inner_->Update(res, ns, obj, o);
}

kube::Result<kube::json> FencedClient::Patch(const kube::Resource& res, const std::string& ns,
                                             const std::string& name, kube::PatchType type,
                                             const std::string& body, const kube::PatchOptions& opts) {
  kube::PatchOptions o = opts;
  if (auto st = Admit("patch " + res.Name() + " " + name, &o.deadline); !st.ok()) return st;
  return inner_->Patch(res, ns, name, type, body, o);
}

kube::Result<kube::json> FencedClient::Delete(const kube::Resource& res, const std::string& ns,
                                              const std::string& name, const kube::DeleteOptions& opts) {
  kube::DeleteOptions o = opts;
  if (auto st = Admit("delete " + res.Name() + " " + name, &o.deadline); !st.ok()) return st;
  return inner_->Delete(res, ns, name, o);
}

kube::Status FencedClient::Watch(const kube::Resource& res, const std::string& ns,
                                 const kube::WatchOptions& opts,
                                 const std::function<bool(kube::WatchEvent&&)>& on_event,
                                 kube::WatchCancel* cancel) {
  return inner_->Watch(res, ns, opts, on_event, cancel);
}

kube::Result<std::string> FencedClient::Raw(const std::string& method, const std::string& path,
                                            const std::string& body, const std::string& content_type) {
  return inner_->Raw(method, path, body, content_type);
}

}  // namespace runtime
