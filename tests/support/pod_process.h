#pragma once

#include <sys/types.h>

#include <string>

namespace testsupport {

// The pid of the demo app (a process whose name starts with "failover-demo") that runs
// pod ns/name, found by POD_NAMESPACE and POD_NAME in its environment; zombies are
// skipped. 0 when there is none.
pid_t find_pod_process(const std::string& ns, const std::string& name);

}  // namespace testsupport
