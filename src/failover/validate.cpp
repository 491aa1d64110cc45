#include "failover/validate.h"

#include <set>

#include "failover/time_text.h"

namespace failover {
namespace {

constexpr size_t kMaxMembers = 16;
constexpr size_t kMaxServices = 32;
const Duration kMaxDuration = std::chrono::hours(24 * 7);
const Duration kMinSwitchTimeout = std::chrono::seconds(10);
const Duration kMaxSwitchTimeout = std::chrono::hours(1);
// One hook attempt and one probe attempt: a thread of the hook or probe pool is held that
// long at most (the CRD's schema has the same bounds).
const Duration kMaxHookTimeout = std::chrono::minutes(5);
const Duration kMaxProbeTimeout = std::chrono::seconds(60);
// detection.nodeLeaseTimeout, when not 0 (off): below 5 s it would only ever be lifted to the
// renew interval's floor (NodeLeaseBound); above an hour the NotReady path is long done.
const Duration kMinNodeLeaseTimeout = std::chrono::seconds(5);
const Duration kMaxNodeLeaseTimeout = std::chrono::hours(1);

std::string Index(const char* list, size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

void CheckDuration(std::vector<FieldError>& errors, const std::string& path, Duration d,
                   Duration min, Duration max = kMaxDuration) {
  if (d < min) {
    errors.push_back({path, "must be at least " + FormatDuration(min)});
  } else if (d > max) {
    errors.push_back({path, "must be at most " + FormatDuration(max)});
  }
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A label value: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending with [A-Za-z0-9].
bool IsLabelValue(const std::string& value) {
  if (value.empty()) return true;
  if (value.size() > 63 || !IsAlnum(value.front()) || !IsAlnum(value.back())) return false;
  for (char c : value) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// A DNS-1123 subdomain: dot-separated DNS labels, at most 253 characters.
bool IsDnsSubdomain(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    if (!IsDnsLabel(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}


std::string LabelValueRule(const std::string& value) {
  return "\"" + value + "\" is not a valid label value (it could never match a pod): at most 63 "
         "letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
}

void CheckHook(std::vector<FieldError>& errors, const std::string& path, const Hook& hook) {
  const size_t scheme = hook.url.find("://");
  const std::string prefix = scheme == std::string::npos ? "" : hook.url.substr(0, scheme);
  if (prefix != "http" && prefix != "https") {
    errors.push_back({path + ".url", "must be an http:// or https:// URL, not \"" + hook.url + "\""});
  } else if (scheme + 3 >= hook.url.size() || hook.url[scheme + 3] == '/' || hook.url[scheme + 3] == ':') {
    errors.push_back({path + ".url", "\"" + hook.url + "\" names no host"});
  }
  CheckDuration(errors, path + ".timeout", hook.timeout, std::chrono::milliseconds(1), kMaxHookTimeout);
  if (hook.retries < 0 || hook.retries > 10) {
    errors.push_back({path + ".retries", "must be between 0 and 10"});
  }
}

}  // namespace

// A label key: [prefix/]name, the prefix a DNS subdomain, the name a non-empty label value.
bool IsLabelKey(const std::string& key) {
  auto slash = key.find('/');
  std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (slash != std::string::npos && !IsDnsSubdomain(key.substr(0, slash))) return false;
  return !name.empty() && IsLabelValue(name);
}

std::string CheckLabelSelector(const std::string& text) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  auto trim = [&](std::string v) {
    while (!v.empty() && space(v.front())) v.erase(v.begin());
    while (!v.empty() && space(v.back())) v.pop_back();
    return v;
  };
  auto key_error = [](const std::string& key, const std::string& req) -> std::string {
    if (IsLabelKey(key)) return "";
    return "\"" + key + "\" in \"" + req + "\" is not a label key ([prefix/]name: the name at most 63 "
           "letters, digits, '-', '_' and '.', starting and ending with a letter or digit)";
  };
  // Split on commas outside parentheses.
  std::vector<std::string> requirements;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') depth++;
    if (c == ')' && --depth < 0) return "unbalanced ')' in \"" + text + "\"";
    if (c == ',' && depth == 0) {
      requirements.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0) return "unbalanced '(' in \"" + text + "\"";
  requirements.push_back(current);
  if (requirements.size() == 1 && trim(requirements[0]).empty()) return "";
  for (const std::string& raw : requirements) {
    const std::string req = trim(raw);
    if (req.empty()) return "an empty requirement in \"" + text + "\" (two commas, or one at an end)";
    if (req.front() == '!') {
      return key_error(trim(req.substr(1)), req);
    }
    // Set-based: key in (...) / key notin (...).
    const size_t open = req.find('(');
    if (open != std::string::npos) {
      if (req.back() != ')') return "\"" + req + "\": text after ')'";
      std::string head = trim(req.substr(0, open));
      std::string op;
      for (const char* candidate : {" notin", " in"}) {
        const std::string o = candidate;
        if (head.size() > o.size() && head.compare(head.size() - o.size(), o.size(), o) == 0) {
          op = o.substr(1);
          head = trim(head.substr(0, head.size() - o.size()));
          break;
        }
      }
      if (op.empty()) return "\"" + req + "\": a '(' list needs 'in' or 'notin' before it";
      if (std::string e = key_error(head, req); !e.empty()) return e;
      const std::string list = req.substr(open + 1, req.size() - open - 2);
      size_t start = 0;
      while (true) {
        const size_t comma = list.find(',', start);
        const std::string value = trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!IsLabelValue(value)) return "in \"" + req + "\": " + LabelValueRule(value);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      continue;
    }
    const size_t op_at = req.find_first_of("=!<>");
    if (op_at == std::string::npos) {
      if (std::string e = key_error(req, req); !e.empty()) return e;
      continue;
    }
    const std::string key = trim(req.substr(0, op_at));
    std::string op = req.substr(op_at, 1);
    if (req.compare(op_at, 2, "==") == 0 || req.compare(op_at, 2, "!=") == 0) op = req.substr(op_at, 2);
    if (op == "!") return "\"" + req + "\": '!' must start a requirement or come before '='";
    const std::string value = trim(req.substr(op_at + op.size()));
    if (std::string e = key_error(key, req); !e.empty()) return e;
    if (op == "<" || op == ">") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return "\"" + req + "\": '" + op + "' needs a whole number";
      }
      continue;
    }
    if (value.find_first_of("=!<>") != std::string::npos || !IsLabelValue(value)) {
      return "in \"" + req + "\": " + LabelValueRule(value);
    }
  }
  return "";
}

bool IsDnsLabel(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

std::vector<FieldError> Validate(const Spec& spec) {
  std::vector<FieldError> errors;
  if (spec.members.empty()) {
    errors.push_back({"spec.members", "must list at least one member"});
  } else if (spec.mode == Mode::kActivePassive && spec.members.size() < 2) {
    errors.push_back({"spec.members",
                      "ActivePassive needs at least 2 members (an active one and a standby), got 1"});
  }
  if (spec.members.size() > kMaxMembers) {
    errors.push_back({"spec.members", "must list at most " + std::to_string(kMaxMembers) +
                                          " members, got " + std::to_string(spec.members.size())});
  }
  std::set<std::string> names;
  for (size_t i = 0; i < spec.members.size(); ++i) {
    const Member& m = spec.members[i];
    std::string p = "spec." + Index("members", i);
    if (!IsDnsLabel(m.name)) {
      errors.push_back({p + ".name", "\"" + m.name +
                                         "\" is not a DNS label: lower-case letters, digits and '-', "
                                         "starting and ending with a letter or digit, at most 63 characters"});
    } else if (!names.insert(m.name).second) {
      errors.push_back({p + ".name", "duplicate member name \"" + m.name + "\": names must be unique"});
    }
    if (m.selector.Empty()) {
      errors.push_back({p + ".selector",
                        "must not be empty (it would select every pod in the namespace): "
                        "give matchLabels or matchExpressions"});
    }
    for (const auto& [key, value] : m.selector.match_labels) {
      if (!IsLabelKey(key)) {
        errors.push_back({p + ".selector.matchLabels", "\"" + key + "\" is not a valid label key"});
      } else if (!IsLabelValue(value)) {
        errors.push_back({p + ".selector.matchLabels." + key, LabelValueRule(value)});
      }
    }
    for (size_t j = 0; j < m.selector.match_expressions.size(); ++j) {
      const auto& e = m.selector.match_expressions[j];
      std::string ep = p + ".selector." + Index("matchExpressions", j);
      if (!IsLabelKey(e.key)) {
        errors.push_back({ep + ".key", "\"" + e.key + "\" is not a valid label key"});
      }
      bool set_op = e.op == SelectorOperator::kIn || e.op == SelectorOperator::kNotIn;
      if (set_op && e.values.empty()) {
        errors.push_back({ep + ".values", std::string("must be non-empty when operator is ") +
                                              OperatorName(e.op)});
      } else if (!set_op && !e.values.empty()) {
        errors.push_back({ep + ".values", std::string("must be empty when operator is ") +
                                              OperatorName(e.op)});
      }
      for (size_t k = 0; k < e.values.size(); ++k) {
        if (!IsLabelValue(e.values[k])) errors.push_back({ep + "." + Index("values", k), LabelValueRule(e.values[k])});
      }
    }
    if (m.min_ready < 1 || m.min_ready > 10000) {
      errors.push_back({p + ".minReady", "must be between 1 and 10000, got " + std::to_string(m.min_ready)});
    }
    if (m.priority && (*m.priority < -1000 || *m.priority > 1000)) {
      errors.push_back({p + ".priority", "must be between -1000 and 1000, got " + std::to_string(*m.priority)});
    }
  }
  for (size_t i = 0; i < spec.members.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const auto& a = spec.members[j].selector;
      const auto& b = spec.members[i].selector;
      if (!b.Empty() && a.match_labels == b.match_labels && a.match_expressions.empty() &&
          b.match_expressions.empty()) {
        errors.push_back({"spec." + Index("members", i) + ".selector",
                          "selects the same pods as spec." + Index("members", j) +
                              ".selector: each member needs its own pods"});
      }
    }
  }

  if (spec.services.size() > kMaxServices) {
    errors.push_back({"spec.services", "must list at most " + std::to_string(kMaxServices) + " Services"});
  }
  std::set<std::string> services;
  for (size_t i = 0; i < spec.services.size(); ++i) {
    const std::string& n = spec.services[i].name;
    std::string p = "spec." + Index("services", i) + ".name";
    if (!IsDnsLabel(n) || (n.front() >= '0' && n.front() <= '9')) {
      errors.push_back({p, "\"" + n + "\" is not a valid Service name (a DNS label starting with a letter)"});
    } else if (!services.insert(n).second) {
      errors.push_back({p, "duplicate Service \"" + n + "\": each Service may be listed once"});
    }
  }

  CheckDuration(errors, "spec.detection.unhealthyFor", spec.detection.unhealthy_for, Duration{0});
  CheckDuration(errors, "spec.detection.healthyFor", spec.detection.healthy_for, Duration{0});
  if (spec.detection.initial_wait > std::chrono::minutes(10)) {
    errors.push_back({"spec.detection.initialWait", "must be at most 10m"});
  } else {
    CheckDuration(errors, "spec.detection.initialWait", spec.detection.initial_wait, Duration{0});
  }
  if (spec.detection.node_lease_timeout != Duration{0}) {
    CheckDuration(errors, "spec.detection.nodeLeaseTimeout", spec.detection.node_lease_timeout,
                  kMinNodeLeaseTimeout, kMaxNodeLeaseTimeout);
  }
  HealthSource source = spec.detection.EffectiveSource();
  if (spec.detection.probe) {
    const Probe& pr = *spec.detection.probe;
    if (pr.http.has_value() == pr.tcp.has_value()) {
      errors.push_back({"spec.detection.probe", "must set exactly one of http, tcp"});
    }
    if (pr.http && (pr.http->port < 1 || pr.http->port > 65535)) {
      errors.push_back({"spec.detection.probe.http.port", "must be between 1 and 65535"});
    }
    if (pr.http && (pr.http->path.empty() || pr.http->path.front() != '/')) {
      errors.push_back({"spec.detection.probe.http.path", "must start with '/'"});
    }
    if (pr.tcp && (pr.tcp->port < 1 || pr.tcp->port > 65535)) {
      errors.push_back({"spec.detection.probe.tcp.port", "must be between 1 and 65535"});
    }
    CheckDuration(errors, "spec.detection.probe.period", pr.period, std::chrono::milliseconds(100));
    CheckDuration(errors, "spec.detection.probe.timeout", pr.timeout, std::chrono::milliseconds(10),
                  kMaxProbeTimeout);
    if (pr.timeout > pr.period) {
      errors.push_back({"spec.detection.probe.timeout", "must not be longer than period (" +
                                                            FormatDuration(pr.period) + ")"});
    }
    if (pr.failure_threshold < 1 || pr.failure_threshold > 100) {
      errors.push_back({"spec.detection.probe.failureThreshold", "must be between 1 and 100"});
    }
  } else if (source != HealthSource::kReadiness) {
    errors.push_back({"spec.detection.source", std::string("\"") + HealthSourceName(source) +
                                                   "\" needs spec.detection.probe; without a probe "
                                                   "only \"Readiness\" is allowed"});
  }
  CheckDuration(errors, "spec.failback.stabilizationWindow", spec.failback.stabilization_window, Duration{0});
  if (spec.anti_flap.max_failovers < 1 || spec.anti_flap.max_failovers > 1000) {
    errors.push_back({"spec.antiFlap.maxFailovers", "must be between 1 and 1000"});
  }
  CheckDuration(errors, "spec.antiFlap.window", spec.anti_flap.window, std::chrono::seconds(1));
  if (spec.max_lag) {
    if (!spec.max_lag->seconds && !spec.max_lag->bytes) {
      errors.push_back({"spec.promotion.maxLag", "must set seconds, bytes or both"});
    }
    if (spec.max_lag->seconds && *spec.max_lag->seconds < 0) {
      errors.push_back({"spec.promotion.maxLag.seconds", "must not be negative"});
    }
    if (spec.max_lag->bytes && *spec.max_lag->bytes < 0) {
      errors.push_back({"spec.promotion.maxLag.bytes", "must not be negative"});
    }
  }
  if (spec.switch_timeout < kMinSwitchTimeout) {
    errors.push_back({"spec.promotion.switchTimeout", "must be at least " + FormatDuration(kMinSwitchTimeout)});
  } else if (spec.switch_timeout > kMaxSwitchTimeout) {
    errors.push_back({"spec.promotion.switchTimeout", "must be at most " + FormatDuration(kMaxSwitchTimeout)});
  } else {
    // A switch must have time for its hooks: each may take (retries + 1) x timeout.
    Duration hooks{0};
    for (const auto& h : {spec.pre_promote, spec.post_promote}) {
      if (h && h->retries >= 0 && h->retries <= 10 && h->timeout <= kMaxDuration) hooks += h->timeout * (h->retries + 1);
    }
    if (hooks >= spec.switch_timeout) {
      errors.push_back({"spec.promotion.switchTimeout",
                        "must be longer than the hooks may take ((retries + 1) x timeout of prePromote and "
                        "postPromote: " + FormatDuration(hooks) + ")"});
    }
  }
  if (spec.pre_promote) CheckHook(errors, "spec.hooks.prePromote", *spec.pre_promote);
  if (spec.post_promote) CheckHook(errors, "spec.hooks.postPromote", *spec.post_promote);
  return errors;
}

std::vector<FieldError> ValidateServiceClaims(const Spec& spec, const std::vector<ServiceObservation>& services,
                                              const std::string& group) {
  std::vector<FieldError> errors;
  for (size_t i = 0; i < spec.services.size(); ++i) {
    for (const auto& seen : services) {
      if (!seen.exists || seen.name != spec.services[i].name) continue;
      auto owner = seen.selector.find(keys::kGroup);
      if (owner == seen.selector.end() || owner->second == group) continue;
      errors.push_back({"spec." + Index("services", i) + ".name",
                        "Service " + seen.name + " already follows FailoverGroup " + owner->second +
                            " (its selector has " + keys::kGroup + "=" + owner->second +
                            "); a Service can follow one group only (if that group is gone, remove " +
                            keys::kGroup + " from the Service's selector)"});
    }
  }
  return errors;
}

}  // namespace failover
