#include "plugin/completion.h"

#include <algorithm>
#include <set>

#include "plugin/options.h"

namespace plugin {
namespace {

// Cobra's ShellCompDirective values.
constexpr int kDirectiveDefault = 0;       // the shell may complete files
constexpr int kDirectiveNoFileComp = 4;

const std::vector<std::string>& CommandWords() {
  static const std::vector<std::string> kWords = {
      "status\tmode, active member, health and phase of groups",
      "switchover\tmake a member active",
      "failback\tswitch back to the most preferred member",
      "pause\tstop the operator acting on a group",
      "resume\tlet the operator act again",
      "history\tpast transitions of a group",
      "completion\tshell completion script (bash, zsh)",
  };
  return kWords;
}

// Flags that take a value (the next word unless written --flag=value).
const std::set<std::string>& ValuedFlags() {
  static const std::set<std::string> kFlags = {"-n", "--namespace", "--kubeconfig", "--context",
                                               "--to", "-o", "--output", "--timeout"};
  return kFlags;
}

std::vector<std::string> FlagsOf(const std::string& command) {
  std::vector<std::string> flags = {"--namespace", "--kubeconfig", "--context", "--help"};
  if (command.empty()) flags.push_back("--version");
  if (command.empty() || command == "status") flags.push_back("--all-namespaces");
  if (command == "status" || command == "history") flags.push_back("--output");
  if (command == "switchover") flags.push_back("--to");
  if (command == "switchover" || command == "failback" || command == "pause" || command == "resume") {
    flags.push_back("--wait");
    flags.push_back("--timeout");
  }
  return flags;
}

}  // namespace

CompletionRequest WhatToComplete(const std::vector<std::string>& words) {
  using Kind = CompletionRequest::Kind;
  CompletionRequest r;
  if (words.empty()) return r;
  r.prefix = words.back();
  std::vector<std::string> positional;
  std::string pending_flag;  // a valued flag whose value is the next word
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    if (!pending_flag.empty()) {
      if (pending_flag == "-n" || pending_flag == "--namespace") r.ns = w;
      if (pending_flag == "--kubeconfig") r.kubeconfig = w;
      if (pending_flag == "--context") r.context = w;
      pending_flag.clear();
      continue;
    }
    if (w.size() > 1 && w[0] == '-') {
      const size_t eq = w.find('=');
      const std::string name = w.substr(0, eq);
      if (eq == std::string::npos) {
        if (ValuedFlags().count(name)) pending_flag = name;
      } else {
        const std::string value = w.substr(eq + 1);
        if (name == "-n" || name == "--namespace") r.ns = value;
        if (name == "--kubeconfig") r.kubeconfig = value;
        if (name == "--context") r.context = value;
      }
      continue;
    }
    positional.push_back(w);
  }
  const std::string command = positional.empty() ? "" : positional[0];
  if (positional.size() >= 2) r.group = positional[1];

  if (!pending_flag.empty()) {
    if (pending_flag == "-n" || pending_flag == "--namespace") {
      r.kind = Kind::kNamespaces;
    } else if (pending_flag == "--kubeconfig") {
      r.kind = Kind::kFiles;
    } else if (pending_flag == "-o" || pending_flag == "--output") {
      r.kind = Kind::kWords;
      r.words = {"json", "yaml"};
    } else if (pending_flag == "--to" && !r.group.empty()) {
      r.kind = Kind::kMembers;
    }
    return r;  // --context, --timeout, --to before GROUP: a free value
  }
  if (!r.prefix.empty() && r.prefix[0] == '-') {
    r.kind = Kind::kWords;
    r.words = FlagsOf(command);
    return r;
  }
  if (command.empty()) {
    r.kind = Kind::kWords;
    r.words = CommandWords();
    return r;
  }
  if (std::find(Commands().begin(), Commands().end(), command) == Commands().end()) return r;
  if (positional.size() == 1) {
    if (command == "completion") {
      r.kind = Kind::kWords;
      r.words = {"bash", "zsh"};
    } else {
      r.kind = Kind::kGroups;
    }
  }
  return r;
}

std::string FormatCompletions(const std::vector<std::string>& candidates, const std::string& prefix, bool files) {
  std::string out;
  for (const auto& c : candidates) {
    if (c.compare(0, prefix.size(), prefix) == 0) out += c + "\n";
  }
  out += ":" + std::to_string(files ? kDirectiveDefault : kDirectiveNoFileComp) + "\n";
  return out;
}

std::string BashCompletionScript() {
  return R"SH(# bash completion for kubectl-failover: source <(kubectl failover completion bash)
# (`kubectl failover <TAB>` is completed by kubectl itself through kubectl_complete-failover.)
_kubectl_failover() {
  local cur="${COMP_WORDS[COMP_CWORD]}" out line directive=0
  out="$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" || return 0
  COMPREPLY=()
  while IFS= read -r line; do
    case "$line" in
      :*) directive="${line#:}" ;;
      *) line="${line%%$'\t'*}"; [[ -n "$line" && "$line" == "$cur"* ]] && COMPREPLY+=("$line") ;;
    esac
  done <<<"$out"
  if (( ${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
    compopt -o default 2>/dev/null
  fi
  return 0
}
complete -F _kubectl_failover kubectl-failover
)SH";
}

std::string ZshCompletionScript() {
  return R"SH(#compdef kubectl-failover
# zsh completion for kubectl-failover: source <(kubectl failover completion zsh)
# (`kubectl failover <TAB>` is completed by kubectl itself through kubectl_complete-failover.)
_kubectl_failover() {
  local -a lines candidates
  local line name desc directive=0
  lines=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "${lines[@]}"; do
    if [[ "$line" == :* ]]; then directive="${line#:}"; continue; fi
    [[ -z "$line" ]] && continue
    name="${line%%$'\t'*}"; desc=""
    [[ "$line" == *$'\t'* ]] && desc="${line#*$'\t'}"
    candidates+=("${name//:/\\:}${desc:+:$desc}")
  done
  if (( ${#candidates} == 0 && (directive & 4) == 0 )); then
    _files
    return
  fi
  _describe -t values 'kubectl failover' candidates
}
if [[ "$funcstack[1]" == "_kubectl_failover" ]]; then
  _kubectl_failover "$@"
else
  compdef _kubectl_failover kubectl-failover
fi
)SH";
}

}  // namespace plugin
