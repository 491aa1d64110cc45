#include "support/pod_process.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace testsupport {
namespace {

std::string ReadProcFile(const std::string& pid, const char* file) {
  std::ifstream in("/proc/" + pid + "/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The NUL-separated KEY=VALUE entries of /proc/<pid>/environ.
std::set<std::string> Environment(const std::string& pid) {
  const std::string all = ReadProcFile(pid, "environ");
  std::set<std::string> vars;
  size_t start = 0;
  for (size_t i = 0; i <= all.size(); ++i) {
    if (i == all.size() || all[i] == '\0') {
      if (i > start) vars.insert(all.substr(start, i - start));
      start = i + 1;
    }
  }
  return vars;
}

bool Zombie(const std::string& pid) {
  const std::string stat = ReadProcFile(pid, "stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
}

}  // namespace

pid_t find_pod_process(const std::string& ns, const std::string& name) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  pid_t found = 0;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const std::string id = e->d_name;
    if (ReadProcFile(id, "comm").rfind("failover-demo", 0) != 0) continue;
    const auto vars = Environment(id);
    if (vars.count("POD_NAME=" + name) == 0 || vars.count("POD_NAMESPACE=" + ns) == 0) continue;
    if (Zombie(id)) continue;
    found = static_cast<pid_t>(pid);
    break;
  }
  closedir(proc);
  return found;
}

}  // namespace testsupport
