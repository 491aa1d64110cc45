#include "failover/spec_parse.h"

#include <array>
#include <cmath>
#include <limits>
#include <optional>

#include "failover/time_text.h"

namespace failover {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string JsonTypeName(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

// Reads typed fields of one object, recording a FieldError for each wrong one.
class Reader {
 public:
  explicit Reader(std::vector<FieldError>* errors) : errors_(errors) {}

  void Error(const std::string& path, const std::string& message) {
    errors_->push_back({path, message});
  }

  // The member `key` of obj, or nullptr when absent or null.
  static const json* Find(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json* Object(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (v && !v->is_object()) {
      Error(path, "must be an object, not " + JsonTypeName(*v));
      return nullptr;
    }
    return v;
  }

  const json* Array(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (v && !v->is_array()) {
      Error(path, "must be a list, not " + JsonTypeName(*v));
      return nullptr;
    }
    return v;
  }

  std::optional<std::string> String(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      Error(path, "must be a string, not " + JsonTypeName(*v));
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  std::optional<int64_t> Integer(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer() || v->is_number_unsigned()) return v->get<int64_t>();
    if (v->is_number_float()) {
      double d = v->get<double>();
      if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    }
    Error(path, "must be an integer, not " + JsonTypeName(*v));
    return std::nullopt;
  }

  std::optional<int> Int(const json& obj, const char* key, const std::string& path) {
    auto v = Integer(obj, key, path);
    if (!v) return std::nullopt;
    if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
      Error(path, "out of range: " + std::to_string(*v));
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  std::optional<double> Number(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      Error(path, "must be a number, not " + JsonTypeName(*v));
      return std::nullopt;
    }
    return v->get<double>();
  }

  std::optional<bool> Bool(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      Error(path, "must be true or false, not " + JsonTypeName(*v));
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<Duration> DurationField(const json& obj, const char* key, const std::string& path) {
    auto s = String(obj, key, path);
    if (!s) return std::nullopt;
    auto d = ParseDuration(*s);
    if (!d) {
      Error(path, "invalid duration " + Quote(*s) +
                      ": use a number with a unit (ms, s, m, h), e.g. \"500ms\", \"5s\", \"1m30s\"");
    }
    return d;
  }

  // An enum field: names[i] maps to values[i].
  template <typename E, size_t N>
  std::optional<E> Enum(const json& obj, const char* key, const std::string& path,
                        const std::array<std::pair<const char*, E>, N>& table) {
    auto s = String(obj, key, path);
    if (!s) return std::nullopt;
    for (const auto& [name, value] : table) {
      if (*s == name) return value;
    }
    std::string allowed;
    for (const auto& [name, value] : table) {
      (void)value;
      if (!allowed.empty()) allowed += ", ";
      allowed += Quote(name);
    }
    Error(path, "unsupported value " + Quote(*s) + ": supported values: " + allowed);
    return std::nullopt;
  }

  std::optional<Labels> StringMap(const json& obj, const char* key, const std::string& path) {
    const json* v = Find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_object()) {
      Error(path, "must be a map of string keys to string values, not " + JsonTypeName(*v));
      return std::nullopt;
    }
    Labels out;
    bool ok = true;
    for (const auto& [k, val] : v->items()) {
      if (!val.is_string()) {
        Error(path + "." + k, "must be a string, not " + JsonTypeName(val));
        ok = false;
        continue;
      }
      out[k] = val.get<std::string>();
    }
    if (!ok) return std::nullopt;
    return out;
  }

 private:
  std::vector<FieldError>* errors_;
};

const std::array<std::pair<const char*, Mode>, 2> kModes{{
    {"ActivePassive", Mode::kActivePassive}, {"ActiveActive", Mode::kActiveActive}}};
const std::array<std::pair<const char*, SelectorOperator>, 4> kOperators{{
    {"In", SelectorOperator::kIn},
    {"NotIn", SelectorOperator::kNotIn},
    {"Exists", SelectorOperator::kExists},
    {"DoesNotExist", SelectorOperator::kDoesNotExist}}};
const std::array<std::pair<const char*, HealthSource>, 3> kSources{{
    {"Readiness", HealthSource::kReadiness},
    {"Probe", HealthSource::kProbe},
    {"ReadinessAndProbe", HealthSource::kReadinessAndProbe}}};
const std::array<std::pair<const char*, SwitchStrategy>, 2> kStrategies{{
    {"BreakBeforeMake", SwitchStrategy::kBreakBeforeMake},
    {"MakeBeforeBreak", SwitchStrategy::kMakeBeforeBreak}}};
const std::array<std::pair<const char*, FailbackPolicy>, 2> kFailbacks{{
    {"Manual", FailbackPolicy::kManual}, {"Automatic", FailbackPolicy::kAutomatic}}};
const std::array<std::pair<const char*, FencingPolicy>, 3> kFencings{{
    {"None", FencingPolicy::kNone},
    {"Label", FencingPolicy::kLabel},
    {"DeletePods", FencingPolicy::kDeletePods}}};
const std::array<std::pair<const char*, HookFailurePolicy>, 2> kHookPolicies{{
    {"Abort", HookFailurePolicy::kAbort}, {"Ignore", HookFailurePolicy::kIgnore}}};
const std::array<std::pair<const char*, std::string>, 2> kSchemes{{
    {"HTTP", "HTTP"}, {"HTTPS", "HTTPS"}}};

LabelSelector ParseSelector(Reader& r, const json& sel, const std::string& path) {
  LabelSelector out;
  if (auto ml = r.StringMap(sel, "matchLabels", path + ".matchLabels")) out.match_labels = *ml;
  if (const json* exprs = r.Array(sel, "matchExpressions", path + ".matchExpressions")) {
    for (size_t i = 0; i < exprs->size(); ++i) {
      const json& e = (*exprs)[i];
      std::string ep = path + ".matchExpressions[" + std::to_string(i) + "]";
      if (!e.is_object()) {
        r.Error(ep, "must be an object with key, operator and values, not " + JsonTypeName(e));
        continue;
      }
      SelectorRequirement req;
      if (auto k = r.String(e, "key", ep + ".key")) {
        req.key = *k;
      } else if (!Reader::Find(e, "key")) {
        r.Error(ep + ".key", "required");
      }
      if (auto op = r.Enum(e, "operator", ep + ".operator", kOperators)) {
        req.op = *op;
      } else if (!Reader::Find(e, "operator")) {
        r.Error(ep + ".operator",
                "required: supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
      }
      if (const json* vals = r.Array(e, "values", ep + ".values")) {
        for (size_t j = 0; j < vals->size(); ++j) {
          if (!(*vals)[j].is_string()) {
            r.Error(ep + ".values[" + std::to_string(j) + "]",
                    "must be a string, not " + JsonTypeName((*vals)[j]));
          } else {
            req.values.push_back((*vals)[j].get<std::string>());
          }
        }
      }
      out.match_expressions.push_back(std::move(req));
    }
  }
  return out;
}

std::optional<Hook> ParseHook(Reader& r, const json& spec_hooks, const char* key,
                              const std::string& path) {
  const json* h = r.Object(spec_hooks, key, path);
  if (!h) return std::nullopt;
  Hook hook;
  if (auto url = r.String(*h, "url", path + ".url")) {
    hook.url = *url;
  } else if (!Reader::Find(*h, "url")) {
    r.Error(path + ".url", "required");
  }
  if (auto d = r.DurationField(*h, "timeout", path + ".timeout")) hook.timeout = *d;
  if (auto n = r.Int(*h, "retries", path + ".retries")) hook.retries = *n;
  if (auto p = r.Enum(*h, "failurePolicy", path + ".failurePolicy", kHookPolicies)) {
    hook.failure_policy = *p;
  }
  return hook;
}

}  // namespace

SpecParse ParseSpec(const json& spec) {
  SpecParse out;
  Reader r(&out.errors);
  Spec& s = out.spec;
  if (!spec.is_object()) {
    r.Error("spec", spec.is_null() ? "required" : "must be an object, not " + JsonTypeName(spec));
    return out;
  }
  if (auto m = r.Enum(spec, "mode", "spec.mode", kModes)) s.mode = *m;

  const json* members = r.Array(spec, "members", "spec.members");
  if (!members && !Reader::Find(spec, "members")) r.Error("spec.members", "required: at least one member");
  if (members) {
    for (size_t i = 0; i < members->size(); ++i) {
      const json& mj = (*members)[i];
      std::string mp = "spec.members[" + std::to_string(i) + "]";
      Member m;
      if (!mj.is_object()) {
        r.Error(mp, "must be an object with name and selector, not " + JsonTypeName(mj));
        continue;
      }
      if (auto name = r.String(mj, "name", mp + ".name")) {
        m.name = *name;
      } else if (!Reader::Find(mj, "name")) {
        r.Error(mp + ".name", "required");
      }
      if (const json* sel = r.Object(mj, "selector", mp + ".selector")) {
        m.selector = ParseSelector(r, *sel, mp + ".selector");
      } else if (!Reader::Find(mj, "selector")) {
        r.Error(mp + ".selector", "required: a label selector (matchLabels and/or matchExpressions)");
      }
      if (auto n = r.Int(mj, "minReady", mp + ".minReady")) m.min_ready = *n;
      if (auto p = r.Int(mj, "priority", mp + ".priority")) m.priority = *p;
      s.members.push_back(std::move(m));
    }
  }

  if (const json* services = r.Array(spec, "services", "spec.services")) {
    for (size_t i = 0; i < services->size(); ++i) {
      const json& sj = (*services)[i];
      std::string sp = "spec.services[" + std::to_string(i) + "]";
      if (!sj.is_object()) {
        r.Error(sp, "must be an object with a name, not " + JsonTypeName(sj));
        continue;
      }
      ServiceRef ref;
      if (auto name = r.String(sj, "name", sp + ".name")) {
        ref.name = *name;
      } else if (!Reader::Find(sj, "name")) {
        r.Error(sp + ".name", "required");
      }
      s.services.push_back(std::move(ref));
    }
  }

  if (const json* det = r.Object(spec, "detection", "spec.detection")) {
    if (auto d = r.DurationField(*det, "unhealthyFor", "spec.detection.unhealthyFor")) {
      s.detection.unhealthy_for = *d;
    }
    if (auto d = r.DurationField(*det, "healthyFor", "spec.detection.healthyFor")) {
      s.detection.healthy_for = *d;
    }
    if (auto d = r.DurationField(*det, "initialWait", "spec.detection.initialWait")) {
      s.detection.initial_wait = *d;
    }
    if (auto d = r.DurationField(*det, "nodeLeaseTimeout", "spec.detection.nodeLeaseTimeout")) {
      s.detection.node_lease_timeout = *d;
    }
    if (auto src = r.Enum(*det, "source", "spec.detection.source", kSources)) s.detection.source = *src;
    if (const json* pj = r.Object(*det, "probe", "spec.detection.probe")) {
      Probe p;
      if (const json* hj = r.Object(*pj, "http", "spec.detection.probe.http")) {
        HttpProbe http;
        if (auto path = r.String(*hj, "path", "spec.detection.probe.http.path")) http.path = *path;
        if (auto port = r.Int(*hj, "port", "spec.detection.probe.http.port")) {
          http.port = *port;
        } else if (!Reader::Find(*hj, "port")) {
          r.Error("spec.detection.probe.http.port", "required");
        }
        if (auto scheme = r.Enum(*hj, "scheme", "spec.detection.probe.http.scheme", kSchemes)) {
          http.scheme = *scheme;
        }
        p.http = http;
      }
      if (const json* tj = r.Object(*pj, "tcp", "spec.detection.probe.tcp")) {
        TcpProbe tcp;
        if (auto port = r.Int(*tj, "port", "spec.detection.probe.tcp.port")) {
          tcp.port = *port;
        } else if (!Reader::Find(*tj, "port")) {
          r.Error("spec.detection.probe.tcp.port", "required");
        }
        p.tcp = tcp;
      }
      if (auto d = r.DurationField(*pj, "period", "spec.detection.probe.period")) p.period = *d;
      if (auto d = r.DurationField(*pj, "timeout", "spec.detection.probe.timeout")) p.timeout = *d;
      if (auto n = r.Int(*pj, "failureThreshold", "spec.detection.probe.failureThreshold")) {
        p.failure_threshold = *n;
      }
      s.detection.probe = p;
    }
  }

  if (const json* sw = r.Object(spec, "switchover", "spec.switchover")) {
    if (auto st = r.Enum(*sw, "strategy", "spec.switchover.strategy", kStrategies)) s.strategy = *st;
  }
  if (const json* fb = r.Object(spec, "failback", "spec.failback")) {
    if (auto p = r.Enum(*fb, "policy", "spec.failback.policy", kFailbacks)) s.failback.policy = *p;
    if (auto d = r.DurationField(*fb, "stabilizationWindow", "spec.failback.stabilizationWindow")) {
      s.failback.stabilization_window = *d;
    }
  }
  if (const json* af = r.Object(spec, "antiFlap", "spec.antiFlap")) {
    if (auto n = r.Int(*af, "maxFailovers", "spec.antiFlap.maxFailovers")) s.anti_flap.max_failovers = *n;
    if (auto d = r.DurationField(*af, "window", "spec.antiFlap.window")) s.anti_flap.window = *d;
  }
  if (const json* fe = r.Object(spec, "fencing", "spec.fencing")) {
    if (auto p = r.Enum(*fe, "policy", "spec.fencing.policy", kFencings)) s.fencing = *p;
  }
  if (const json* pr = r.Object(spec, "promotion", "spec.promotion")) {
    if (const json* ml = r.Object(*pr, "maxLag", "spec.promotion.maxLag")) {
      MaxLag lag;
      lag.seconds = r.Number(*ml, "seconds", "spec.promotion.maxLag.seconds");
      lag.bytes = r.Integer(*ml, "bytes", "spec.promotion.maxLag.bytes");
      s.max_lag = lag;
    }
    if (auto d = r.DurationField(*pr, "switchTimeout", "spec.promotion.switchTimeout")) s.switch_timeout = *d;
  }
  if (const json* hooks = r.Object(spec, "hooks", "spec.hooks")) {
    s.pre_promote = ParseHook(r, *hooks, "prePromote", "spec.hooks.prePromote");
    s.post_promote = ParseHook(r, *hooks, "postPromote", "spec.hooks.postPromote");
  }
  if (auto b = r.Bool(spec, "paused", "spec.paused")) s.paused = *b;
  if (auto b = r.Bool(spec, "dryRun", "spec.dryRun")) s.dry_run = *b;
  return out;
}

}  // namespace failover
