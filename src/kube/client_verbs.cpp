#include <map>
#include <string>
#include <utility>

#include "kube/client.h"
#include "kube/client_impl.h"

// The typed operations of kube::Client: each builds its path, query and body and makes one
// request through JsonCall (client_request.cpp); ListAll follows the pages.

namespace kube {
namespace internal {

Result<json> RestClient::Get(const Resource& res, const std::string& ns, const std::string& name,
                             const std::string& subresource) {
  if (name.empty()) return Status(Reason::kInvalidArgument, "get " + res.Name() + ": no name");
  return JsonCall("GET", "GET", res.Name(), res.ObjectPath(ns, name, subresource), nullptr,
                  "", "get " + res.Name() + " " + Qualified(ns, name));
}

Result<json> RestClient::List(const Resource& res, const std::string& ns,
                              const ListOptions& opts) {
  std::map<std::string, std::string> q{
      {"labelSelector", opts.label_selector},
      {"fieldSelector", opts.field_selector},
      {"continue", opts.continue_token},
      {"resourceVersion", opts.resource_version},
  };
  if (opts.limit > 0) q["limit"] = std::to_string(opts.limit);
  if (opts.timeout_seconds) q["timeoutSeconds"] = std::to_string(*opts.timeout_seconds);
  return JsonCall("LIST", "GET", res.Name(), res.CollectionPath(ns) + QueryString(q), nullptr,
                  "", "list " + res.Name() + (ns.empty() ? "" : " in " + ns));
}

Result<json> RestClient::ListAll(const Resource& res, const std::string& ns, ListOptions opts) {
  const ListOptions first_opts = opts;
  bool restarted = false;
  json merged;
  json items = json::array();
  for (;;) {
    auto page = List(res, ns, opts);
    if (!page.ok()) {
      if (page.status().IsExpired() && !opts.continue_token.empty() && !restarted) {
        restarted = true;
        opts = first_opts;
        opts.continue_token.clear();
        merged = json();
        items = json::array();
        continue;
      }
      return page.status();
    }
    json& p = *page;
    if (auto it = p.find("items"); it != p.end() && it->is_array()) {
      for (auto& item : *it) {
        if (opts.item_transform) opts.item_transform(item);
        items.push_back(std::move(item));
      }
    }
    std::string next;
    if (auto md = p.find("metadata"); md != p.end() && md->is_object()) {
      next = md->value("continue", "");
    }
    if (merged.is_null()) {
      merged = std::move(p);
      merged.erase("items");
    }
    if (next.empty()) break;
    opts.continue_token = std::move(next);
    opts.resource_version.clear();
  }
  if (auto md = merged.find("metadata"); md != merged.end() && md->is_object()) {
    md->erase("continue");
    md->erase("remainingItemCount");
  }
  merged["items"] = std::move(items);
  return merged;
}

Result<json> RestClient::Create(const Resource& res, const std::string& ns, const json& obj,
                                const CreateOptions& opts) {
  std::string n = ns.empty() ? Namespace(obj) : ns;
  std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
  if (opts.dry_run) q["dryRun"] = "All";
  std::string body = obj.dump();
  return JsonCall("POST", "POST", res.Name(), res.CollectionPath(n) + QueryString(q), &body,
                  "application/json", "create " + res.Name() + " " + Qualified(n, Name(obj)),
                  opts.deadline);
}

Result<json> RestClient::Update(const Resource& res, const std::string& ns, const json& obj,
                                const UpdateOptions& opts) {
  std::string name = Name(obj);
  if (name.empty()) {
    return Status(Reason::kInvalidArgument, "update " + res.Name() + ": no metadata.name");
  }
  std::string n = ns.empty() ? Namespace(obj) : ns;
  std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
  if (opts.dry_run) q["dryRun"] = "All";
  std::string body = obj.dump();
  return JsonCall("PUT", "PUT", res.Name(),
                  res.ObjectPath(n, name, opts.subresource) + QueryString(q), &body,
                  "application/json", "update " + res.Name() + " " + Qualified(n, name), opts.deadline);
}

Result<json> RestClient::Patch(const Resource& res, const std::string& ns, const std::string& name,
                               PatchType type, const std::string& body, const PatchOptions& opts) {
  std::string what = "patch " + res.Name() + " " + Qualified(ns, name);
  if (name.empty()) return Status(Reason::kInvalidArgument, what + ": no name");
  if (type == PatchType::kApply && opts.field_manager.empty()) {
    return Status(Reason::kInvalidArgument, what + ": server-side apply needs a field manager");
  }
  std::map<std::string, std::string> q{{"fieldManager", opts.field_manager}};
  if (opts.force && type == PatchType::kApply) q["force"] = "true";
  if (opts.dry_run) q["dryRun"] = "All";
  return JsonCall("PATCH", "PATCH", res.Name(),
                  res.ObjectPath(ns, name, opts.subresource) + QueryString(q), &body,
                  PatchContentType(type), what, opts.deadline);
}

Result<json> RestClient::Delete(const Resource& res, const std::string& ns, const std::string& name,
                                const DeleteOptions& opts) {
  std::string what = "delete " + res.Name() + " " + Qualified(ns, name);
  if (name.empty()) return Status(Reason::kInvalidArgument, what + ": no name");
  json d = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!opts.precondition_uid.empty()) d["preconditions"]["uid"] = opts.precondition_uid;
  if (!opts.precondition_resource_version.empty()) {
    d["preconditions"]["resourceVersion"] = opts.precondition_resource_version;
  }
  if (!opts.propagation_policy.empty()) d["propagationPolicy"] = opts.propagation_policy;
  if (opts.grace_period_seconds) d["gracePeriodSeconds"] = *opts.grace_period_seconds;
  std::string body = d.dump();
  return JsonCall("DELETE", "DELETE", res.Name(), res.ObjectPath(ns, name), &body,
                  "application/json", what, opts.deadline);
}

Result<std::string> RestClient::Raw(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type) {
  auto answer = Call(method, method, path, path, body.empty() ? nullptr : &body, content_type);
  if (!answer.ok()) return answer.status().Annotate(method + " " + path);
  if (answer->code < 200 || answer->code >= 300) {
    return Status::FromHttp(answer->code, answer->body, answer->retry_after)
        .Annotate(method + " " + path);
  }
  return std::move(answer->body);
}

}  // namespace internal
}  // namespace kube
