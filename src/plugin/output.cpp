#include "plugin/output.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace plugin {
namespace {

using json = nlohmann::json;

// Words some YAML reader resolves to a bool or null (YAML 1.1 and 1.2), compared lowercased.
bool Reserved(const std::string& s) {
  static const std::array<const char*, 11> kWords = {"true", "false", "yes", "no", "on", "off",
                                                     "y",    "n",     "null", "~",  ""};
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::any_of(kWords.begin(), kWords.end(), [&](const char* w) { return lower == w; });
}

// Plain only when it starts with a letter, holds letters, digits and `-_./` only, and is not
// a reserved word: such a scalar can only be read as a string (numbers and times start with
// a digit, `.inf`/`.nan` with a dot).
bool Plain(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0])) || Reserved(s)) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

std::string Scalar(const json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return Plain(s) ? s : json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);  // numbers, true, false, null: YAML reads JSON's spelling of them
}

bool Nested(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void Emit(const json& v, int indent, std::string& out);

// "key: value" lines of an object at `indent` spaces; the first line's indent is written
// by the caller when `first_inline` (a list item's "- ").
void EmitObject(const json& obj, int indent, bool first_inline, std::string& out) {
  bool first = true;
  for (const auto& [key, val] : obj.items()) {
    if (!(first && first_inline)) out += std::string(static_cast<size_t>(indent), ' ');
    first = false;
    out += Scalar(json(key)) + ":";
    if (Nested(val)) {
      out += "\n";
      // A list under a key sits at the key's indent, as kubectl writes it.
      Emit(val, val.is_array() ? indent : indent + 2, out);
    } else {
      out += " " + (val.is_object() ? std::string("{}") : val.is_array() ? std::string("[]") : Scalar(val)) + "\n";
    }
  }
}

void EmitArray(const json& arr, int indent, std::string& out) {
  for (const auto& item : arr) {
    out += std::string(static_cast<size_t>(indent), ' ') + "-";
    if (item.is_object() && !item.empty()) {
      out += " ";
      EmitObject(item, indent + 2, true, out);
    } else if (Nested(item)) {
      out += "\n";
      Emit(item, indent + 2, out);
    } else {
      out += " " + (item.is_object() ? std::string("{}") : item.is_array() ? std::string("[]") : Scalar(item)) + "\n";
    }
  }
}

void Emit(const json& v, int indent, std::string& out) {
  if (v.is_object() && !v.empty()) {
    EmitObject(v, indent, false, out);
  } else if (v.is_array() && !v.empty()) {
    EmitArray(v, indent, out);
  } else {
    out += std::string(static_cast<size_t>(indent), ' ') +
           (v.is_object() ? std::string("{}") : v.is_array() ? std::string("[]") : Scalar(v)) + "\n";
  }
}

}  // namespace

std::string ToYaml(const json& value) {
  std::string out;
  Emit(value, 0, out);
  return out;
}

std::string Render(const json& value, OutputFormat format) {
  if (format == OutputFormat::kYaml) return ToYaml(value);
  return value.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace plugin
