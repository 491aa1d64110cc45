#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace plugin {

// The plugin's exit codes (docs/plugin.md). Scripts may rely on them.
namespace exit_code {
inline constexpr int kOk = 0;
// The command failed: the API refused or could not be reached, the group does not exist,
// the request makes no sense for this group (no such member, ActiveActive). Nothing was
// requested, or the request failed.
inline constexpr int kError = 1;
// The command line is wrong (unknown command or flag, missing GROUP or --to, a flag that
// does not apply to the command). Nothing was sent to the apiserver.
inline constexpr int kUsage = 2;
// --wait: the outcome was not observed within --timeout. The request stays in place (the
// operator may still act on it).
inline constexpr int kTimedOut = 3;
// --wait: the operator refused the request or gave the switch up (SwitchoverRefused,
// SwitchCancelled, SwitchRedirected, SwitchTimedOut, or an invalid group); another member
// is active.
inline constexpr int kRefused = 4;
}  // namespace exit_code

enum class OutputFormat { kTable, kJson, kYaml };

// The command line, read and checked (ParseCommandLine).
struct Options {
  std::string command;            // status, switchover, ..., completion
  std::vector<std::string> args;  // positional arguments after the command
  std::string ns;                 // -n; empty = the context's namespace
  bool all_namespaces = false;
  std::string kubeconfig;
  std::string context;
  std::string to;
  OutputFormat output = OutputFormat::kTable;
  bool wait = false;
  // --timeout; unset = the command's default (WaitTimeout in wait.h).
  std::optional<std::chrono::milliseconds> timeout;
};

struct CommandLine {
  Options options;
  // Non-empty: the command line is wrong; print it with the usage hint, exit kUsage.
  std::string error;
  bool help = false;     // print the usage on stdout, exit kOk
  bool version = false;  // print the version, exit kOk
  bool no_command = false;  // print the usage on stderr, exit kUsage
};

// The commands, in the order --help lists them.
const std::vector<std::string>& Commands();

// Reads argv[1..] (without the program name) and checks what applies to which command.
// Every error names the flag or argument and what is allowed.
CommandLine ParseCommandLine(const std::vector<std::string>& args);

}  // namespace plugin
