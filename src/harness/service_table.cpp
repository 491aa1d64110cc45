#include "harness/service_table.h"

#include <algorithm>

namespace harness {

using nlohmann::json;

void ServiceTable::UpsertService(const json& service) {
  const json& meta = service.value("metadata", json::object());
  const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
  const json& spec = service.value("spec", json::object());
  const std::string type = spec.value("type", "ClusterIP");
  ServiceInfo info;
  if (type == "NodePort" || type == "LoadBalancer") {
    for (const auto& p : spec.value("ports", json::array())) {
      ServicePort sp;
      sp.name = p.value("name", "");
      sp.port = p.value("port", 0);
      sp.node_port = p.value("nodePort", 0);
      sp.protocol = p.value("protocol", "TCP");
      if (sp.node_port > 0 && sp.protocol == "TCP") info.ports.push_back(sp);
    }
  }
  if (info.ports.empty()) {
    services_.erase(key);
  } else {
    services_[key] = std::move(info);
  }
}

void ServiceTable::RemoveService(const std::string& ns, const std::string& name) {
  services_.erase(ns + "/" + name);
}

void ServiceTable::UpsertSlice(const json& slice) {
  const json& meta = slice.value("metadata", json::object());
  const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
  const json& labels = meta.value("labels", json::object());
  auto svc = labels.find("kubernetes.io/service-name");
  if (svc == labels.end() || !svc->is_string() || slice.value("addressType", "IPv4") != "IPv4") {
    slices_.erase(key);
    return;
  }
  SliceInfo info;
  info.service = meta.value("namespace", "") + "/" + svc->get<std::string>();
  const json& ports = slice.contains("ports") && slice["ports"].is_array() ? slice["ports"] : json::array();
  for (const auto& p : ports) {
    if (p.value("protocol", "TCP") != "TCP" || !p.contains("port") || !p["port"].is_number_integer()) continue;
    std::string name = p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>() : "";
    info.ports.emplace_back(name, p["port"].get<int>());
  }
  const json& endpoints =
      slice.contains("endpoints") && slice["endpoints"].is_array() ? slice["endpoints"] : json::array();
  for (const auto& e : endpoints) {
    const json& cond = e.value("conditions", json::object());
    // discovery.k8s.io/v1: an unset ready condition is unknown, and consumers take it as ready.
    if (cond.contains("ready") && cond["ready"].is_boolean() && !cond["ready"].get<bool>()) continue;
    std::string pod;
    if (e.contains("targetRef") && e["targetRef"].is_object()) {
      pod = e["targetRef"].value("namespace", "") + "/" + e["targetRef"].value("name", "");
    }
    for (const auto& a : e.value("addresses", json::array())) {
      if (a.is_string()) info.ready.push_back(Backend{a.get<std::string>(), 0, pod});
    }
  }
  slices_[key] = std::move(info);
}

void ServiceTable::RemoveSlice(const std::string& ns, const std::string& name) {
  slices_.erase(ns + "/" + name);
}

std::map<int, Route> ServiceTable::Routes() const {
  std::map<int, Route> routes;
  for (const auto& [key, svc] : services_) {
    for (const auto& sp : svc.ports) {
      Route r;
      r.service = key;
      r.port_name = sp.name;
      r.node_port = sp.node_port;
      r.service_port = sp.port;
      for (const auto& [skey, slice] : slices_) {
        if (slice.service != key) continue;
        for (const auto& [pname, pnum] : slice.ports) {
          if (pname != sp.name) continue;
          for (const auto& b : slice.ready) {
            Backend be = b;
            be.port = pnum;
            if (std::find(r.backends.begin(), r.backends.end(), be) == r.backends.end()) {
              r.backends.push_back(be);
            }
          }
        }
      }
      std::sort(r.backends.begin(), r.backends.end(), [](const Backend& a, const Backend& b) {
        return a.ip != b.ip ? a.ip < b.ip : a.port < b.port;
      });
      routes.emplace(sp.node_port, std::move(r));
    }
  }
  return routes;
}

}  // namespace harness
