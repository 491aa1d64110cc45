#pragma once

#include <string>
#include <vector>

namespace plugin {

// What to offer at the cursor of `kubectl failover __complete WORDS...` (the protocol of
// Cobra's hidden __complete command, which kubectl 1.26+ speaks to a plugin through an
// executable kubectl_complete-<plugin> on PATH). The last word is the one being completed
// ("" after a space).
struct CompletionRequest {
  enum class Kind {
    kNone,        // nothing to offer (a free value such as --timeout, or too many arguments)
    kWords,       // the fixed `words` (commands, flags, output formats, shells)
    kNamespaces,  // namespace names (needs the API)
    kGroups,      // FailoverGroup names in `ns` (needs the API)
    kMembers,     // member names of `group` in `ns` (needs the API)
    kFiles,       // a path (--kubeconfig): the shell's own file completion
  };
  Kind kind = Kind::kNone;
  std::vector<std::string> words;  // kWords: "word" or "word\tdescription"
  std::string prefix;              // the word being completed
  // From the words before the cursor, for the API calls.
  std::string ns, group, kubeconfig, context;
};

CompletionRequest WhatToComplete(const std::vector<std::string>& words);

// Cobra's output: one candidate a line (those starting with `prefix`), then ":<directive>"
// (4, no file completion; 0 for kFiles, letting the shell complete paths).
std::string FormatCompletions(const std::vector<std::string>& candidates, const std::string& prefix,
                              bool files = false);

// The scripts `kubectl failover completion bash|zsh` prints: completion of the
// kubectl-failover executable itself, through its __complete command.
std::string BashCompletionScript();
std::string ZshCompletionScript();

}  // namespace plugin
