// kubectl-failover: the kubectl plugin for FailoverGroups (kubectl failover ...).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/env.h"
#include "failover/types.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "plugin/commands.h"
#include "plugin/completion.h"
#include "plugin/options.h"
#include "plugin/output.h"
#include "plugin/wait.h"
#include "version.h"

namespace plugin {
namespace {

constexpr const char* kSwitchoverAnnotation = failover::keys::kSwitchoverTo;  // the engine's key
// How often --wait reads the group.
constexpr std::chrono::milliseconds kPollInterval{500};

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
  completion bash|zsh            a shell completion script for kubectl-failover

Options:
  -n, --namespace NS             the group's namespace (default: the context's)
  -A, --all-namespaces           status: groups in every namespace
  -o, --output json|yaml         status, history: print a summary as JSON or YAML
                                 (fields: docs/plugin.md) instead of the table
      --wait                     switchover, failback, pause, resume: wait until the
                                 group's status shows the outcome
      --timeout DURATION         with --wait: how long (default: switchover and failback
                                 the group's promotion.switchTimeout plus 1m; pause and
                                 resume 1m), e.g. 30s, 2m
      --kubeconfig PATH          kubeconfig file (default: $KUBECONFIG, in-cluster,
                                 then ~/.kube/config)
      --context NAME             kubeconfig context (default: the current one)
  -h, --help                     this help
      --version                  the plugin's version

A switchover sets the annotation failover.io/switchover-to on the group; the operator
performs it and removes the annotation when done.

Exit codes:
  0  done (with --wait: the outcome observed)
  1  failed: API error, group or member not found, the request does not apply
  2  usage error: the command line is wrong; nothing was sent
  3  --wait timed out; the request stays in place
  4  --wait: the operator refused the switch or gave it up; another member is active

Examples:
  kubectl failover status -A
  kubectl failover status -A -o json | jq -r '.items[] | select(.phase != "Healthy") | .name'
  kubectl failover switchover orders-db --to site-b -n shop --wait --timeout 2m
  kubectl failover history orders-db -n shop
  kubectl failover pause orders-db -n shop --wait
)";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "error: %s\nRun 'kubectl failover --help' for usage.\n", message.c_str());
  return exit_code::kUsage;
}

int Fail(const std::string& message, int code = exit_code::kError) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

std::string Describe(const kube::Status& s) {
  if (s.reason() == kube::Reason::kForbidden || s.reason() == kube::Reason::kUnauthorized) {
    return s.message() + " (check your kubeconfig user's RBAC)";
  }
  return s.ToString();
}

std::string Str(const json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

class Plugin {
 public:
  // `env`: the clock the ages in status and history are counted on, and --wait's.
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
    }
    if (o.output != OutputFormat::kTable) {
      std::fputs(Render(StatusSummary(items), o.output).c_str(), stdout);
      return exit_code::kOk;
    }
    if (items.empty()) {
      std::printf(o.all_namespaces ? "No FailoverGroups found.\n" : "No FailoverGroups found in namespace %s.\n",
                  ns_.c_str());
      return exit_code::kOk;
    }
    std::fputs(StatusTable(items, o.all_namespaces, now).c_str(), stdout);
    return exit_code::kOk;
  }

  int History(const Options& o) {
    const std::string& name = o.args[0];
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    if (o.output != OutputFormat::kTable) {
      std::fputs(Render(HistorySummary(*g), o.output).c_str(), stdout);
      return exit_code::kOk;
    }
    std::string table = HistoryTable(*g, env_.WallNow());
    if (table.empty()) {
      std::printf("failovergroup %s/%s has no transitions yet\n", ns_.c_str(), name.c_str());
    } else {
      std::fputs(table.c_str(), stdout);
    }
    return exit_code::kOk;
  }

  // switchover (failback = false) or failback (failback = true; `member` empty: the most
  // preferred member).
  int Switchover(const Options& o, bool failback) {
    const std::string& name = o.args[0];
    const std::string ref = ns_ + "/" + name;
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    if (Str(Field(*g, "spec"), "mode") == "ActiveActive") {
      return Fail("failovergroup " + ref + " is ActiveActive: every healthy member serves, so there is nothing to " +
                  (failback ? "fail back" : "switch over") + " (only ActivePassive groups switch)");
    }
    std::string member = o.to;
    if (failback) {
      member = PreferredMember(*g);
      if (member.empty()) return Fail("failovergroup " + ref + " has no members");
    } else if (!HasMember(*g, member)) {
      return Fail("failovergroup " + ref + " has no member \"" + member + "\"; its members are: " + MemberNames(*g));
    }
    const json& status = Field(*g, "status");
    if (Str(status, "activeMember") == member && !Field(status, "switch").is_object()) {
      std::printf("failovergroup %s: %s is already the active member; nothing to do\n", ref.c_str(), member.c_str());
      return exit_code::kOk;
    }
    if (o.wait && Field(Field(*g, "spec"), "paused") == true) {
      return Fail("failovergroup " + ref + " is paused: the operator switches nothing until it is resumed " +
                  "(kubectl failover resume " + name + " -n " + ns_ + "); without --wait the request is left for then");
    }
    const auto requested_at = env_.WallNow();
    json patch = {{"metadata", {{"annotations", {{kSwitchoverAnnotation, member}}}}}};
    auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, name, kube::PatchType::kMerge, patch.dump());
    if (!r.ok()) return Fail("annotating failovergroup " + ref + ": " + Describe(r.status()));
    const char* what = failback ? "failback" : "switchover";
    if (!o.wait) {
      std::printf("failovergroup %s: %s to %s requested (%s=%s)\n"
                  "The operator switches if %s is healthy and removes the annotation when done;\n"
                  "follow it with: kubectl failover status %s -n %s\n",
                  ref.c_str(), what, member.c_str(), kSwitchoverAnnotation, member.c_str(), member.c_str(),
                  name.c_str(), ns_.c_str());
      return exit_code::kOk;
    }
    const std::chrono::milliseconds timeout = o.timeout.value_or(DefaultSwitchWait(*g));
    std::fprintf(stderr, "failovergroup %s: %s to %s requested; waiting up to %s\n", ref.c_str(), what,
                 member.c_str(), base::FormatDuration(timeout).c_str());
    return WaitForSwitch(name, member, requested_at, timeout);
  }

  int SetPaused(const Options& o, bool paused) {
    const std::string& name = o.args[0];
    const std::string ref = ns_ + "/" + name;
    auto g = GetGroup(name);
    if (!g.ok()) return Fail(g.status().message());
    json patch = {{"spec", {{"paused", paused}}}};
    auto r = client_->Patch(kube::resources::kFailoverGroups, ns_, name, kube::PatchType::kMerge, patch.dump());
    if (!r.ok()) return Fail("patching failovergroup " + ref + ": " + Describe(r.status()));
    if (!o.wait) {
      std::printf(paused ? "failovergroup %s paused: the operator observes and reports, and changes nothing\n"
                         : "failovergroup %s resumed\n",
                  ref.c_str());
      return exit_code::kOk;
    }
    const int64_t generation = Field(Field(*r, "metadata"), "generation").is_number_integer()
                                   ? Field(Field(*r, "metadata"), "generation").get<int64_t>()
                                   : 0;
    const std::chrono::milliseconds timeout = o.timeout.value_or(kDefaultPauseWait);
    const auto deadline = env_.Deadline(timeout);
    std::string last_error;
    for (;;) {
      auto now_group = GetGroup(name);
      if (now_group.ok() && PauseObserved(*now_group, generation, paused)) {
        std::printf(paused ? "failovergroup %s paused (status.phase Paused): the operator observes and reports, "
                             "and changes nothing\n"
                           : "failovergroup %s resumed (status.phase %s)\n",
                    ref.c_str(), Str(Field(*now_group, "status"), "phase").c_str());
        return exit_code::kOk;
      }
      if (!now_group.ok()) {
        if (now_group.status().IsNotFound()) return Fail(now_group.status().message());
        last_error = now_group.status().message();
      }
      if (env_.Now() >= deadline) {
        std::string seen = now_group.ok() ? "status.phase " + Str(Field(*now_group, "status"), "phase") +
                                                ", observedGeneration " +
                                                Field(Field(*now_group, "status"), "observedGeneration").dump()
                                          : "last read failed: " + last_error;
        return Fail("timed out after " + base::FormatDuration(timeout) + " waiting for the operator to report " +
                        ref + (paused ? " paused" : " resumed") + " (generation " + std::to_string(generation) +
                        "; " + seen + "); spec.paused is set to " + (paused ? "true" : "false"),
                    exit_code::kTimedOut);
      }
      env_.SleepFor(kPollInterval);
    }
  }

 private:
  // The Services of spec.services that exist (any that cannot be read is left out: the
  // status alone then tells).
  std::vector<json> Services(const json& group) {
    std::vector<json> out;
    const json& refs = Field(Field(group, "spec"), "services");
    if (!refs.is_array()) return out;
    for (const auto& ref : refs) {
      auto s = client_->Get(kube::resources::kServices, ns_, Str(ref, "name"));
      if (s.ok()) out.push_back(*s);
    }
    return out;
  }

  // The Event that explains a refusal, waited for a moment (Events follow the writes
  // they describe).
  std::string Explanation(const std::string& name, std::chrono::system_clock::time_point since) {
    kube::ListOptions opts;
    opts.field_selector = "involvedObject.kind=FailoverGroup,involvedObject.name=" + name;
    const auto deadline = env_.Deadline(std::chrono::seconds(3));
    for (;;) {
      auto events = client_->List(kube::resources::kEvents, ns_, opts);
      if (events.ok()) {
        std::string why = RefusalEvent(*events, since);
        if (!why.empty()) return why;
      }
      if (env_.Now() >= deadline) return "";
      env_.SleepFor(kPollInterval);
    }
  }

  int WaitForSwitch(const std::string& name, const std::string& member,
                    std::chrono::system_clock::time_point requested_at, std::chrono::milliseconds timeout) {
    const std::string ref = ns_ + "/" + name;
    const auto deadline = env_.Deadline(timeout);
    SwitchOutcome outcome{SwitchOutcome::Kind::kPending, "the operator to take the request"};
    for (;;) {
      auto g = GetGroup(name);
      if (!g.ok()) {
        if (g.status().IsNotFound()) return Fail(g.status().message());
        outcome.message = "a readable group (last read: " + g.status().message() + ")";
      } else {
        std::vector<json> services;
        if (NeedsServices(*g)) services = Services(*g);
        outcome = JudgeSwitch(*g, services, member);
      }
      if (outcome.kind == SwitchOutcome::Kind::kDone) {
        std::printf("failovergroup %s: %s\n", ref.c_str(), outcome.message.c_str());
        return exit_code::kOk;
      }
      if (outcome.kind == SwitchOutcome::Kind::kRefused) {
        std::string why = Explanation(name, requested_at);
        return Fail("failovergroup " + ref + ": the switch to " + member + " did not happen: " + outcome.message +
                        (why.empty() ? "" : "; " + why),
                    exit_code::kRefused);
      }
      if (env_.Now() >= deadline) {
        return Fail("timed out after " + base::FormatDuration(timeout) + " waiting for " + outcome.message + " on " +
                        "failovergroup " + ref + "; the request stays (remove it with: kubectl annotate fg " + name +
                        " -n " + ns_ + " " + kSwitchoverAnnotation + "-)",
                    exit_code::kTimedOut);
      }
      env_.SleepFor(kPollInterval);
    }
  }

  std::shared_ptr<kube::Client> client_;
  std::string ns_;
  base::Env& env_;
};

kube::Result<std::shared_ptr<kube::Client>> Connect(const std::string& kubeconfig, const std::string& context,
                                                    base::Env& env, std::string* ns) {
  auto config = kube::LoadConfig(kubeconfig, context);
  if (!config.ok()) {
    return kube::Status(config.status().reason(),
                        "loading the Kubernetes configuration: " + config.status().ToString());
  }
  config->env = &env;
  config->user_agent = std::string("kubectl-failover/") + FAILOVER_OPERATOR_VERSION;
  if (ns->empty()) *ns = config->default_namespace.empty() ? "default" : config->default_namespace;
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    return kube::Status(client.status().reason(), "creating the client: " + client.status().ToString());
  }
  return client;
}

// `kubectl failover __complete WORDS...`: Cobra's completion protocol, for
// kubectl_complete-failover and the completion scripts. Names the API cannot give (no
// cluster, forbidden) are simply not offered.
int Complete(const std::vector<std::string>& words, base::Env& env) {
  using Kind = CompletionRequest::Kind;
  const CompletionRequest r = WhatToComplete(words);
  std::vector<std::string> names;
  if (r.kind == Kind::kWords) names = r.words;
  if (r.kind == Kind::kNamespaces || r.kind == Kind::kGroups || r.kind == Kind::kMembers) {
    std::string ns = r.ns;
    auto client = Connect(r.kubeconfig, r.context, env, &ns);
    if (client.ok()) {
      kube::Result<json> found = json();
      if (r.kind == Kind::kNamespaces) {
        found = (*client)->List(kube::resources::kNamespaces, "");
      } else if (r.kind == Kind::kGroups) {
        found = (*client)->List(kube::resources::kFailoverGroups, ns);
      } else {
        found = (*client)->Get(kube::resources::kFailoverGroups, ns, r.group);
      }
      if (found.ok() && r.kind == Kind::kMembers) {
        for (const auto& m : Field(Field(*found, "spec"), "members")) names.push_back(Str(m, "name"));
      } else if (found.ok()) {
        for (const auto& item : Field(*found, "items")) names.push_back(Str(Field(item, "metadata"), "name"));
      }
    }
  }
  std::fputs(FormatCompletions(names, r.prefix, r.kind == Kind::kFiles).c_str(), stdout);
  return exit_code::kOk;
}

int Run(int argc, char** argv, base::Env& env) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "__complete") return Complete({args.begin() + 1, args.end()}, env);
  const CommandLine cl = ParseCommandLine(args);
  if (!cl.error.empty()) return UsageError(cl.error);
  if (cl.help) {
    std::fputs(kUsage, stdout);
    return exit_code::kOk;
  }
  if (cl.version) {
    std::printf("kubectl-failover %s\n", FAILOVER_OPERATOR_VERSION);
    return exit_code::kOk;
  }
  if (cl.no_command) {
    std::fputs(kUsage, stderr);
    return exit_code::kUsage;
  }
  const Options& o = cl.options;
  if (o.command == "completion") {
    std::fputs((o.args[0] == "bash" ? BashCompletionScript() : ZshCompletionScript()).c_str(), stdout);
    return exit_code::kOk;
  }

  std::string ns = o.ns;
  auto client = Connect(o.kubeconfig, o.context, env, &ns);
  if (!client.ok()) return Fail(client.status().message());
  Plugin p(*client, ns, env);
  if (o.command == "status") return p.Status(o);
  if (o.command == "history") return p.History(o);
  if (o.command == "switchover") return p.Switchover(o, false);
  if (o.command == "failback") return p.Switchover(o, true);
  if (o.command == "pause") return p.SetPaused(o, true);
  return p.SetPaused(o, false);  // resume
}

}  // namespace
}  // namespace plugin

int main(int argc, char** argv) { return plugin::Run(argc, argv, base::RealEnv()); }
