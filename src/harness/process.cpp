#include "harness/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace harness {
namespace {
int pod_netns_fd = -1;
}  // namespace

kube::Status SetPodNetworkNamespace(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "--pod-netns " + path + ": " + std::strerror(errno));
  }
  // Checked here, in the agent, rather than in every child: entering needs CAP_SYS_ADMIN.
  pid_t pid = fork();
  if (pid == 0) _exit(setns(fd, CLONE_NEWNET) == 0 ? 0 : 1);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    close(fd);
    return kube::Status(kube::Reason::kInvalidArgument,
                        "--pod-netns " + path + ": cannot enter it (setns needs root)");
  }
  if (pod_netns_fd >= 0) close(pod_netns_fd);
  pod_netns_fd = fd;
  return kube::Status::OK();
}

bool EnterPodNetworkNamespace() {
  return pod_netns_fd < 0 || setns(pod_netns_fd, CLONE_NEWNET) == 0;
}

kube::Result<pid_t> StartProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env,
                                 const std::string& log_path) {
  if (argv.empty()) return kube::Status(kube::Reason::kInvalidArgument, "empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "open " + log_path + ": " + std::strerror(errno));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(log_fd);
    return kube::Status(kube::Reason::kInternalError, std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (!EnterPodNetworkNamespace()) {
      const char msg[] = "failover-node-agent: cannot enter the pod network namespace\n";
      ssize_t ignored = write(2, msg, sizeof(msg) - 1);
      (void)ignored;
      _exit(127);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, UINT_MAX, 0U) != 0)
#endif
    {
      for (int fd = 3; fd < 4096; ++fd) close(fd);
    }
    execve(args[0], args.data(), envp.data());
    const char msg[] = "failover-node-agent: exec failed\n";
    ssize_t ignored = write(2, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
  }
  close(log_fd);
  return pid;
}

std::optional<ExitInfo> TryReap(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  ExitInfo info;
  if (r < 0) {
    info.exit_code = 255;  // not our child any more (already reaped)
    return info;
  }
  if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.exit_code = 128 + info.signal;
  }
  return info;
}

ExitInfo StopProcess(pid_t pid, std::chrono::milliseconds grace, base::Env& clock) {
  kill(pid, SIGTERM);
  const auto deadline = clock.Deadline(grace);
  while (clock.Now() < deadline) {
    if (auto info = TryReap(pid)) return *info;
    clock.SleepFor(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ExitInfo info;
  info.signal = SIGKILL;
  info.exit_code = 128 + SIGKILL;
  return info;
}

std::string ExecutableDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace harness
