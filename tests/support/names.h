#pragma once

#include <string>
#include <string_view>

namespace testsupport {

// A namespace name no other test (in this or another process) uses: the prefix
// (lowercased, trimmed to fit) plus the pid, a counter and random hex; a valid DNS-1123 label.
std::string unique_namespace(std::string_view prefix);

}  // namespace testsupport
