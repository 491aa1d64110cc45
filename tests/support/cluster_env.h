#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace testsupport {

// KEY=VALUE lines of a file such as $FO_CLUSTER_DIR/cluster.env; blank lines and
// lines starting with '#' are skipped. Empty when the file cannot be read.
std::map<std::string, std::string> read_env_file(const std::string& path);

// A fact about the test cluster: the environment variable KEY if set, else KEY from
// $FO_CLUSTER_DIR/cluster.env, else nothing.
std::optional<std::string> cluster_value(std::string_view key);

// The admin kubeconfig of the test cluster: $FO_KUBECONFIG, else KUBECONFIG from
// cluster.env. Empty when neither is known.
std::string kubeconfig_path();

// The built kubectl (FO_KUBECTL from cluster.env). Empty when unknown.
std::string kubectl_path();

}  // namespace testsupport
