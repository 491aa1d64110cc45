#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plugin/options.h"

namespace plugin {

// `value` as YAML (block style, as kubectl -o yaml prints it). A string is written plain
// only when no YAML 1.1 or 1.2 reader could take it for anything else (a number, a bool,
// null, a time, a flow or block indicator); otherwise double-quoted with JSON's escapes,
// which YAML reads the same. So any YAML reader gives back exactly `value`.
std::string ToYaml(const nlohmann::json& value);

// `value` in `format`: JSON indented by 2 (kJson) or ToYaml (kYaml), ending in a newline.
// kTable is not a rendering of a value: the caller prints its table.
std::string Render(const nlohmann::json& value, OutputFormat format);

}  // namespace plugin
