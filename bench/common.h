#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/flags.h"
#include "kube/client.h"

namespace bench {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Label keys the benchmark objects carry (never the operator's failover.io/ labels).
inline const char* const kGroupLabel = "bench.failover.io/group";
inline const char* const kMemberLabel = "bench.failover.io/member";
inline const char* const kRoleLabel = "failover.io/role";
inline const char* const kEligibleLabel = "failover.io/eligible";
inline const char* const kOperatorMemberLabel = "failover.io/member";

// Reads a program's flags, declared on `flags` (base::FlagSet, as every program of the
// project): argv[first] onwards (fo-bench's subcommand sits before its flags). Declares
// --help and -h. nullopt: the program runs on; otherwise the exit code (2 after an error,
// which is printed with `usage`; 0 after --help).
std::optional<int> ReadFlags(base::FlagSet& flags, int argc, char** argv, int first, const std::string& program,
                             const std::function<void()>& usage);

// A client for the kubeconfig at `path` with no client-side rate limit.
std::shared_ptr<kube::Client> Connect(const std::string& path, const std::string& user_agent);

// Names of the objects of group `index` (g-00042) and of its pods (g-00042-a-0).
std::string GroupName(int index);
std::string PodName(const std::string& group, const std::string& member, int ordinal);
// A unique non-loopback pod IP for pod number n (10.200.x.y).
std::string PodIp(int n);

// RFC 3339 UTC with microseconds, for the audit-log window.
std::string WallTimeRfc3339(std::chrono::system_clock::time_point t);
// Parses what WallTimeRfc3339 and the apiserver write (fraction optional); 0 on failure.
int64_t ParseRfc3339Micros(const std::string& text);

// The Ready condition of a pod object ("True" -> true).
bool PodReady(const json& pod);
// labels[key] or "".
std::string Label(const json& obj, const std::string& key);

// Percentile (nearest rank) of `v` in milliseconds; v is sorted in place.
double Percentile(std::vector<double>& v, double p);
// {n, p50, p90, p99, max, mean} in milliseconds.
json Summary(std::vector<double> v);

// Runs fn(i) for i in [0, n) on `threads` threads; returns the failures' messages (at most 10).
std::vector<std::string> ParallelFor(int n, int threads, const std::function<kube::Status(int)>& fn);

// Builds the JSON merge patch for a pod's status: Running, IP, and every readiness condition.
std::string PodStatusPatch(const std::string& uid, const std::string& ip, const std::string& node_ip,
                           bool ready);

}  // namespace bench
