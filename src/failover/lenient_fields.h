#pragma once
// Lenient reads of one field of a JSON object, shared by the status decoder and the
// observations: an absent field, or one of another type, reads as the fallback. (The
// user's spec is read strictly instead, by ParseSpec, which names each wrong field.)

#include <string>

#include <nlohmann/json.hpp>

#include "failover/time_text.h"
#include "failover/types.h"

namespace failover::lenient {

// obj[key] when it is an object (or, for ArrayOr, a list), else an empty one.
inline const nlohmann::json& ObjectOr(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}
inline const nlohmann::json& ArrayOr(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : kEmpty;
}

// True when obj[key] is there and not null ("deletionTimestamp").
inline bool Present(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null();
}

inline std::string StringOr(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

inline Time TimeOr(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return Time{};
  return ParseTime(it->get<std::string>()).value_or(Time{});
}

template <typename T>
T NumberOr(const nlohmann::json& obj, const char* key, T fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return fallback;
  return it->get<T>();
}

inline bool BoolOr(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

// The string values of the map obj[key] ("labels", "annotations", "selector").
inline Labels StringMapOr(const nlohmann::json& obj, const char* key) {
  Labels out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace failover::lenient
