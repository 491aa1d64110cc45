#include "support/cluster_env.h"

#include <cstdlib>
#include <fstream>

namespace testsupport {

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

std::optional<std::string> cluster_value(std::string_view key) {
  const std::string name(key);
  if (const char* set = std::getenv(name.c_str()); set != nullptr && *set != '\0') return std::string(set);
  const char* dir = std::getenv("FO_CLUSTER_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  const auto values = read_env_file(std::string(dir) + "/cluster.env");
  if (const auto it = values.find(name); it != values.end()) return it->second;
  return std::nullopt;
}

std::string kubeconfig_path() {
  if (auto path = cluster_value("FO_KUBECONFIG")) return *path;
  const char* dir = std::getenv("FO_CLUSTER_DIR");
  if (dir == nullptr || *dir == '\0') return {};
  const auto values = read_env_file(std::string(dir) + "/cluster.env");
  if (const auto it = values.find("KUBECONFIG"); it != values.end()) return it->second;
  return {};
}

std::string kubectl_path() { return cluster_value("FO_KUBECTL").value_or(""); }

}  // namespace testsupport
