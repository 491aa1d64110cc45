// kubectl-failover: the kubectl plugin for FailoverGroups (kubectl failover ...).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/flags.h"
#include "failover/types.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "plugin/commands.h"
#include "version.h"

namespace plugin {
namespace {

constexpr const char* kSwitchoverAnnotation = failover::keys::kSwitchoverTo;  // the engine's key

constexpr const char* kUsage = R"(kubectl failover: inspect and drive FailoverGroups (failover.io/v1alpha1).

Usage:
  kubectl failover COMMAND [GROUP] [options]

Commands:
  status [GROUP]                 mode, active member, healthy members, phase and last
                                 transition of one group or of every group
  switchover GROUP --to MEMBER   ask the operator to make MEMBER active (graceful; it
                                 refuses an unhealthy MEMBER and says so in an Event)
  failback GROUP                 switch back to the most preferred member (highest
                                 priority, then first in spec.members)
  pause GROUP                    set spec.paused: the operator observes and reports,
                                 and changes nothing
  resume GROUP                   clear spec.paused
  history GROUP                  past transitions, newest first

Options:
  -n, --namespace NS             the group's namespace (default: the context's)
  -A, --all-namespaces           status: groups in every namespace
      --kubeconfig PATH          kubeconfig file (default: $KUBECONFIG, in-cluster,
                                 then ~/.kube/config)
      --context NAME             kubeconfig context (default: the current one)
  -h, --help                     this help
      --version                  the plugin's version

A switchover sets the annotation failover.io/switchover-to on the group; the operator
performs it and removes the annotation when done.

Examples:
  kubectl failover status -A
  kubectl failover switchover orders-db --to site-b -n shop
  kubectl failover history orders-db -n shop
  kubectl failover pause orders-db -n shop
)";

struct Options {
  std::string command;
  std::vector<std::string> args;
  std::string ns;
  bool all_namespaces = false;
  std::string kubeconfig;
  std::string context;
  std::string to;
};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "error: %s\nRun 'kubectl failover --help' for usage.\n", message.c_str());
  return 2;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

// Returns -1 when parsing succeeded, otherwise the exit code.
int Parse(int argc, char** argv, Options* o) {
  bool help = false;
  bool version = false;
  base::FlagSet flags;
  flags.String("--namespace", &o->ns);
  flags.Alias("-n", "--namespace");
  flags.String("--kubeconfig", &o->kubeconfig);
  flags.String("--context", &o->context);
  flags.String("--to", &o->to);
  flags.Bool("--all-namespaces", &o->all_namespaces);
  flags.Alias("-A", "--all-namespaces");
  flags.Bool("--help", &help);
  flags.Alias("-h", "--help");
  flags.Bool("--version", &version);
  auto parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) return UsageError(parsed.error);
  if (help || (!parsed.rest.empty() && parsed.rest[0] == "help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (version) {
    std::printf("kubectl-failover %s\n", FAILOVER_OPERATOR_VERSION);
    return 0;
  }
  if (parsed.rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  o->command = parsed.rest[0];
  o->args.assign(parsed.rest.begin() + 1, parsed.rest.end());
  return -1;
}

std::string Describe(const kube::Status& s) {
  if (s.reason() == kube::Reason::kForbidden || s.reason() == kube::Reason::kUnauthorized) {
    return s.message() + " (check your kubeconfig user's RBAC)";
  }
  return s.ToString();
}

class Plugin {
 public:
  // `env`: the clock the ages in status and history are counted on.
  Plugin(std::shared_ptr<kube::Client> client, std::string ns, base::Env& env)
      : client_(std::move(client)), ns_(std::move(ns)), env_(env) {}

  kube::Result<json> GetGroup(const std::string& name) {
    auto g = client_->Get(kube::resources::kFailoverGroups, ns_, name);
    if (!g.ok()) {
      if (g.status().IsNotFound()) {
        return kube::Status(g.status().reason(),
                            "failovergroup \"" + name + "\" not found in namespace \"" + ns_ +
                                "\" (kubectl failover status -A lists every group)",
                            g.status().code());
      }
      return kube::Status(g.status().reason(), Describe(g.status()), g.status().code());
    }
    return g;
  }

  int Status(const Options& o) {
    const auto now = env_.WallNow();
    if (o.args.size() > 1) return UsageError("status takes at most one GROUP");
    json items = json::array();
    if (o.args.size() == 1) {
      auto g = GetGroup(o.args[0]);
      if (!g.ok()) return Fail(g.status().message());
      items.push_back(*g);
    } else {
      auto list = client_->ListAll(kube::resources::kFailoverGroups, o.all_namespaces ? "" : ns_);
      if (!list.ok()) {
        if (list.status().IsNotFound()) {
          return Fail("the FailoverGroup API (failover.io/v1alpha1) is not installed: apply crds/ first");
        }
        return Fail("listing failovergroups: " + Describe(list.status()));
      }
      items = (*list)["items"];
      if (items.empty()) {
        std::printf(o.all_namespaces ? "No FailoverGroups found.\n"
                                     : "No FailoverGroups found in namespace %s.\n",
                    ns_.c_str());
        return 0;
      }
    }
    std::fputs(StatusTable(items, o.all_namespaces, now).c_str(), stdout);
    return 0;
  }

  int Switchover(const std::string& name, const std::string& member, bool failback) {
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    if (!HasMember(*g, member)) {
      return Fail("failovergroup " + ns_ + "/" + name + " has no member \"" + member +
                  "\"; its members are: " + MemberNames(*g));
    }
    std::string active;
    if (auto st = g->find("status"); st != g->end() && st->is_object()) {
      active = st->value("activeMember", "");
    }
    if (active == member) {
      std::printf("failovergroup %s/%s: %s is already the active member; nothing to do\n",
                  ns_.c_str(), name.c_str(), member.c_str());
      return 0;
    }
    json patch = {{"metadata", {{"annotations", {{kSwitchoverAnnotation, member}}}}}};
    auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, name, kube::PatchType::kMerge,
                            patch.dump());
    if (!r.ok()) return Fail("annotating failovergroup " + ns_ + "/" + name + ": " + Describe(r.status()));
    std::printf("failovergroup %s/%s: %s to %s requested (%s=%s)\n"
                "The operator switches if %s is healthy and removes the annotation when done;\n"
                "follow it with: kubectl failover status %s -n %s\n",
                ns_.c_str(), name.c_str(), failback ? "failback" : "switchover", member.c_str(),
                kSwitchoverAnnotation, member.c_str(), member.c_str(), name.c_str(), ns_.c_str());
    return 0;
  }

  int SetPaused(const std::string& name, bool paused) {
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    json patch = {{"spec", {{"paused", paused}}}};
    auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, name, kube::PatchType::kMerge,
                            patch.dump());
    if (!r.ok()) return Fail("patching failovergroup " + ns_ + "/" + name + ": " + Describe(r.status()));
    std::printf(paused ? "failovergroup %s/%s paused: the operator observes and reports, and changes nothing\n"
                       : "failovergroup %s/%s resumed\n",
                ns_.c_str(), name.c_str());
    return 0;
  }

  int History(const std::string& name) {
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    std::string table = HistoryTable(*g, env_.WallNow());
    if (table.empty()) {
      std::printf("failovergroup %s/%s has no transitions yet\n", ns_.c_str(), name.c_str());
    } else {
      std::fputs(table.c_str(), stdout);
    }
    return 0;
  }

 private:
  std::shared_ptr<kube::Client> client_;
  std::string ns_;
  base::Env& env_;
};

int Run(int argc, char** argv, base::Env& env) {
  Options o;
  if (int r = Parse(argc, argv, &o); r >= 0) return r;
  static const std::vector<std::string> kCommands = {"status", "switchover", "failback",
                                                     "pause", "resume", "history"};
  if (std::find(kCommands.begin(), kCommands.end(), o.command) == kCommands.end()) {
    return UsageError("unknown command \"" + o.command +
                      "\" (commands: status, switchover, failback, pause, resume, history)");
  }
  if (o.command != "status") {
    if (o.all_namespaces) return UsageError("-A only applies to status");
    if (o.args.size() != 1) return UsageError(o.command + " needs exactly one GROUP");
  }
  if (o.command == "switchover" && o.to.empty()) return UsageError("switchover needs --to MEMBER");
  if (o.command != "switchover" && !o.to.empty()) return UsageError("--to only applies to switchover");

  auto config = kube::LoadConfig(o.kubeconfig, o.context);
  if (!config.ok()) return Fail("loading the Kubernetes configuration: " + config.status().ToString());
  config->env = &env;
  config->user_agent = std::string("kubectl-failover/") + FAILOVER_OPERATOR_VERSION;
  auto client = kube::Client::Create(*config);
  if (!client.ok()) return Fail("creating the client: " + client.status().ToString());
  std::string ns = o.ns.empty() ? config->default_namespace : o.ns;
  Plugin p(*client, ns.empty() ? "default" : ns, env);

  if (o.command == "status") return p.Status(o);
  const std::string& group = o.args[0];
  if (o.command == "switchover") return p.Switchover(group, o.to, false);
  if (o.command == "history") return p.History(group);
  if (o.command == "pause") return p.SetPaused(group, true);
  if (o.command == "resume") return p.SetPaused(group, false);
  // failback
  auto g = p.GetGroup(group);
  if (!g.ok()) return Fail(g.status().message());
  std::string preferred = PreferredMember(*g);
  if (preferred.empty()) return Fail("failovergroup " + ns + "/" + group + " has no members");
  return p.Switchover(group, preferred, true);
}

}  // namespace
}  // namespace plugin

int main(int argc, char** argv) { return plugin::Run(argc, argv, base::RealEnv()); }
