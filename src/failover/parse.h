#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "failover/observed.h"
#include "failover/types.h"

namespace failover {

using json = nlohmann::json;

// A problem with one field of a user's object: "spec.members[1].minReady", "must be ...".
struct FieldError {
  std::string path;
  std::string message;

  std::string ToString() const { return path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};

// "1h2m3.5s", "500ms", "0". Go's time.ParseDuration units ms, s, m, h; no sign.
// nullopt when the text is not such a duration.
std::optional<Duration> ParseDuration(std::string_view text);
// The shortest text ParseDuration reads back as d: "1m30s", "500ms", "0s".
std::string FormatDuration(Duration d);

// RFC 3339 UTC ("2026-01-02T03:04:05Z", fractional seconds and offsets accepted).
std::optional<Time> ParseTime(std::string_view text);
// "2026-01-02T03:04:05Z", or "...05.250Z" when there are milliseconds.
std::string FormatTime(Time t);

// spec (the object's .spec) -> Spec. Defaults apply to absent fields exactly as the CRD
// schema defaults them; every wrong field gives one FieldError and parsing continues.
struct SpecParse {
  Spec spec;
  std::vector<FieldError> errors;
  bool ok() const { return errors.empty(); }
};
SpecParse ParseSpec(const json& spec);

// Status <-> JSON. StatusToJson writes every key it owns (null when empty), so a merge
// patch {"status": StatusToJson(s)} replaces the whole status. ParseStatus is lenient:
// a field it cannot read is left at its zero value (status is the operator's own).
json StatusToJson(const Status& status);
Status ParseStatus(const json& status);

json SelectorToJson(const LabelSelector& selector);

// Observations from API objects as the apiserver returns them.
PodObservation PodFromObject(const json& pod);
ServiceObservation ServiceFromObject(const json& service);
GroupMeta GroupMetaFromObject(const json& group);

}  // namespace failover
