#include "plugin/options.h"

#include <algorithm>

#include "base/duration.h"
#include "base/flags.h"

namespace plugin {
namespace {

bool Is(const std::string& command, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return command == n; });
}

std::string List(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The checks that need the whole command line: which flag applies to which command, and
// how many arguments each takes. Returns the first error, or "".
std::string Check(const Options& o, bool timeout_given) {
  const std::string& c = o.command;
  if (std::find(Commands().begin(), Commands().end(), c) == Commands().end()) {
    return "unknown command \"" + c + "\" (commands: " + List(Commands()) + ")";
  }
  if (c == "status") {
    if (o.args.size() > 1) return "status takes at most one GROUP";
  } else if (c == "completion") {
    if (o.args.size() != 1 || (o.args[0] != "bash" && o.args[0] != "zsh")) {
      return "completion needs one SHELL: bash or zsh";
    }
  } else if (o.args.size() != 1) {
    return c + " needs exactly one GROUP";
  }
  if (o.all_namespaces && c != "status") return "-A only applies to status";
  if (c == "switchover" && o.to.empty()) return "switchover needs --to MEMBER";
  if (c != "switchover" && !o.to.empty()) return "--to only applies to switchover";
  if (o.output != OutputFormat::kTable && !Is(c, {"status", "history"})) {
    return "-o only applies to status and history";
  }
  if (o.wait && !Is(c, {"switchover", "failback", "pause", "resume"})) {
    return "--wait only applies to switchover, failback, pause and resume";
  }
  if (timeout_given && !o.wait) return "--timeout only applies with --wait";
  return "";
}

// kubectl's short forms "-ojson" and "-oyaml" as "-o" "json".
std::vector<std::string> SplitShortOutput(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a == "--") break;
    if (a.size() > 2 && a.rfind("-o", 0) == 0 && a[2] != '=') {
      out.push_back("-o");
      out.push_back(a.substr(2));
    } else {
      out.push_back(a);
    }
  }
  auto dashes = std::find(args.begin(), args.end(), "--");
  out.insert(out.end(), dashes, args.end());
  return out;
}

}  // namespace

const std::vector<std::string>& Commands() {
  static const std::vector<std::string> kCommands = {"status", "switchover", "failback", "pause",
                                                     "resume", "history",    "completion"};
  return kCommands;
}

CommandLine ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine cl;
  Options& o = cl.options;
  bool timeout_given = false;
  base::FlagSet flags;
  flags.String("--namespace", &o.ns);
  flags.Alias("-n", "--namespace");
  flags.String("--kubeconfig", &o.kubeconfig);
  flags.String("--context", &o.context);
  flags.String("--to", &o.to);
  flags.Bool("--all-namespaces", &o.all_namespaces);
  flags.Alias("-A", "--all-namespaces");
  flags.Value("--output", [&o](const std::string& v) {
    if (v == "json") {
      o.output = OutputFormat::kJson;
    } else if (v == "yaml") {
      o.output = OutputFormat::kYaml;
    } else {
      return "\"" + v + "\" is not an output format: json or yaml (the table is the default)";
    }
    return std::string();
  });
  flags.Alias("-o", "--output");
  flags.Bool("--wait", &o.wait);
  flags.Value("--timeout", [&o, &timeout_given](const std::string& v) {
    auto d = base::ParseDuration(v);
    if (!d) return "\"" + v + "\" is not a duration: a number with a unit (ms, s, m, h), e.g. 30s, 5m";
    if (d->count() <= 0) return "\"" + v + "\" is not above zero";
    o.timeout = *d;
    timeout_given = true;
    return std::string();
  });
  flags.Bool("--help", &cl.help);
  flags.Alias("-h", "--help");
  flags.Bool("--version", &cl.version);

  auto parsed = flags.Parse(SplitShortOutput(args));
  if (!parsed.ok()) {
    cl.error = parsed.error;
    return cl;
  }
  if (!parsed.rest.empty() && parsed.rest[0] == "help") cl.help = true;
  if (cl.help || cl.version) return cl;
  if (parsed.rest.empty()) {
    cl.no_command = true;
    return cl;
  }
  o.command = parsed.rest[0];
  o.args.assign(parsed.rest.begin() + 1, parsed.rest.end());
  cl.error = Check(o, timeout_given);
  return cl;
}

}  // namespace plugin
