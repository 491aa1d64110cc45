#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace testsupport {

// What a finished (or killed) command left behind.
struct CommandResult {
  int exit_code = -1;       // the exit status; -1 if it could not start or was killed by a signal
  int signal = 0;           // the signal that ended it, 0 if it exited
  bool timed_out = false;   // true if it ran past the timeout and was killed
  std::string out;          // everything it wrote to stdout
  std::string err;          // everything it wrote to stderr (or why it could not start)

  bool ok() const { return exit_code == 0; }
};

// Runs argv (argv[0] looked up in PATH) with no stdin, capturing stdout and stderr;
// kills it with SIGKILL after `timeout`. Never throws for a failing command.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs the cluster's kubectl with --kubeconfig set to the test cluster's admin kubeconfig.
CommandResult kubectl(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Waits (up to `timeout`) until the CustomResourceDefinition `name` is Established.
// `kubectl wait --for condition=established` errors out instead of waiting while a
// just-created CRD's status.conditions is still null (kubectl 1.3x), so it is retried.
CommandResult wait_crd_established(const std::string& name,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace testsupport
