#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace harness {

// One ready endpoint of a Service port.
struct Backend {
  std::string ip;
  int port = 0;
  std::string pod;  // "namespace/name" from targetRef, may be empty

  std::string Address() const { return ip + ":" + std::to_string(port); }
  bool operator==(const Backend& o) const { return ip == o.ip && port == o.port && pod == o.pod; }
};

// What a node port forwards to.
struct Route {
  std::string service;    // "namespace/name"
  std::string port_name;  // the Service port's name ("" when unnamed)
  int node_port = 0;
  int service_port = 0;
  std::vector<Backend> backends;  // ready endpoints only, in a stable order
};

// The proxy's view of Services and EndpointSlices: fed with watch objects, it answers
// which ready endpoints each NodePort forwards to. Pure (no I/O); not thread-safe.
class ServiceTable {
 public:
  void UpsertService(const nlohmann::json& service);
  void RemoveService(const std::string& ns, const std::string& name);
  // Slices without the kubernetes.io/service-name label are ignored.
  void UpsertSlice(const nlohmann::json& slice);
  void RemoveSlice(const std::string& ns, const std::string& name);
  // Forgets everything of one kind (before a re-list replaces it).
  void ClearServices() { services_.clear(); }
  void ClearSlices() { slices_.clear(); }

  // Node port -> route, for every port of every NodePort/LoadBalancer Service.
  std::map<int, Route> Routes() const;

 private:
  struct ServicePort {
    std::string name;
    int port = 0;
    int node_port = 0;
    std::string protocol;
  };
  struct ServiceInfo {
    std::vector<ServicePort> ports;
  };
  struct SliceInfo {
    std::string service;  // "namespace/name"
    std::vector<std::pair<std::string, int>> ports;  // name -> port (TCP only)
    std::vector<Backend> ready;                      // port left 0; pod set
  };
  std::map<std::string, ServiceInfo> services_;  // "namespace/name"
  std::map<std::string, SliceInfo> slices_;      // "namespace/slicename"
};

}  // namespace harness
