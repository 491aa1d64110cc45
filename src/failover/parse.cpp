#include "failover/parse.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace failover {
namespace {

constexpr int64_t kMaxDurationMs = int64_t{1} << 50;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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

Time TimeOr(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return Time{};
  return ParseTime(it->get<std::string>()).value_or(Time{});
}

std::string StringOr(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

template <typename T>
T NumberOr(const json& obj, const char* key, T fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return fallback;
  return it->get<T>();
}

bool BoolOr(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

json TransitionToJson(const Transition& t) {
  return {{"from", t.from}, {"to", t.to}, {"reason", t.reason},
          {"detectedAt", FormatTime(t.detected_at)}, {"completedAt", FormatTime(t.completed_at)}};
}

Transition TransitionFromJson(const json& j) {
  Transition t;
  if (!j.is_object()) return t;
  t.from = StringOr(j, "from");
  t.to = StringOr(j, "to");
  t.reason = StringOr(j, "reason");
  t.detected_at = TimeOr(j, "detectedAt");
  t.completed_at = TimeOr(j, "completedAt");
  return t;
}

// The apiserver (seen on 1.20) reads "" in a merge patch as null and rejects it for a string field:
// empty strings become null (= remove) in objects the patch merges, and are left out of
// objects inside lists (a list is replaced whole, so leaving out is exact).
void DropEmptyStrings(json& j, bool in_list) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_string() && it->get_ref<const std::string&>().empty()) {
        if (in_list) {
          it = j.erase(it);
          continue;
        }
        *it = nullptr;
      } else {
        DropEmptyStrings(*it, false);
      }
      ++it;
    }
  } else if (j.is_array()) {
    for (auto& item : j) DropEmptyStrings(item, true);
  }
}

Labels LabelsOf(const json& obj, const char* key) {
  Labels out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start) return std::nullopt;
    double value = 0;
    for (size_t k = start; k < i; ++k) value = value * 10 + (text[k] - '0');
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t frac_start = i;
      double scale = 0.1;
      while (i < text.size() && IsDigit(text[i])) {
        value += (text[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == frac_start) return std::nullopt;
    }
    double unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit_ms = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit_ms = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit_ms = 3'600'000;
      ++i;
    } else {
      return std::nullopt;
    }
    total_ms += value * unit_ms;
    if (total_ms > static_cast<double>(kMaxDurationMs)) return std::nullopt;
  }
  return Duration{static_cast<int64_t>(std::llround(total_ms))};
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t h = ms / 3'600'000;
  ms %= 3'600'000;
  int64_t m = ms / 60'000;
  ms %= 60'000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (ms) {
    out += std::to_string(ms / 1000);
    if (ms % 1000) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
      std::string f = frac;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "s";
  }
  return out;
}

std::optional<Time> ParseTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    if (pos + len > s.size()) return std::nullopt;
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      if (!IsDigit(s[k])) return std::nullopt;
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
                                  std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 3; ++k) ms *= 10;
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || i + 3 >= s.size() || s[i + 3] != ':') return std::nullopt;
    offset_min = (*oh * 60 + *om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  auto days = std::chrono::sys_days(ymd);
  Time t = std::chrono::time_point_cast<Duration>(days) + std::chrono::hours(*h) +
           std::chrono::minutes(*mi) + std::chrono::seconds(*se) + Duration(ms) -
           std::chrono::minutes(offset_min);
  return t;
}

std::string FormatTime(Time t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(days);
  auto rest = t - days;
  int64_t ms = rest.count();
  int h = static_cast<int>(ms / 3'600'000);
  int mi = static_cast<int>(ms / 60'000 % 60);
  int se = static_cast<int>(ms / 1000 % 60);
  int frac = static_cast<int>(ms % 1000);
  char buf[40];
  if (frac) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), h, mi, se, frac);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), h, mi, se);
  }
  return buf;
}

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
  }
  if (const json* hooks = r.Object(spec, "hooks", "spec.hooks")) {
    s.pre_promote = ParseHook(r, *hooks, "prePromote", "spec.hooks.prePromote");
    s.post_promote = ParseHook(r, *hooks, "postPromote", "spec.hooks.postPromote");
  }
  if (auto b = r.Bool(spec, "paused", "spec.paused")) s.paused = *b;
  if (auto b = r.Bool(spec, "dryRun", "spec.dryRun")) s.dry_run = *b;
  return out;
}

json SelectorToJson(const LabelSelector& selector) {
  json out = json::object();
  if (!selector.match_labels.empty()) out["matchLabels"] = selector.match_labels;
  if (!selector.match_expressions.empty()) {
    json exprs = json::array();
    for (const auto& e : selector.match_expressions) {
      json ej = {{"key", e.key}, {"operator", OperatorName(e.op)}};
      if (!e.values.empty()) ej["values"] = e.values;
      exprs.push_back(ej);
    }
    out["matchExpressions"] = exprs;
  }
  return out;
}

json StatusToJson(const Status& s) {
  json j;
  j["phase"] = s.phase.empty() ? json(nullptr) : json(s.phase);
  j["activeMember"] = s.active_member.empty() ? json(nullptr) : json(s.active_member);
  j["activeMembers"] = s.active_members.empty() ? json(nullptr) : json(s.active_members);
  j["healthy"] = s.healthy.empty() ? json(nullptr) : json(s.healthy);
  j["healthyMembers"] = s.healthy_members;
  j["observedGeneration"] = s.observed_generation;
  j["failoverCount"] = s.failover_count;
  json members = json::array();
  for (const auto& m : s.members) {
    json mj = {{"name", m.name},           {"role", RoleName(m.role)}, {"healthy", m.healthy},
               {"readyPods", m.ready_pods}, {"pods", m.pods},          {"since", FormatTime(m.since)},
               {"eligible", m.eligible}};
    if (m.lag_seconds) mj["lagSeconds"] = *m.lag_seconds;
    if (m.lag_bytes) mj["lagBytes"] = *m.lag_bytes;
    if (!m.message.empty()) mj["message"] = m.message;
    members.push_back(mj);
  }
  j["members"] = members.empty() ? json(nullptr) : members;
  json services = json::array();
  for (const auto& sv : s.services) {
    services.push_back({{"name", sv.name}, {"exists", sv.exists}, {"member", sv.member},
                        {"inSync", sv.in_sync}});
  }
  j["services"] = services.empty() ? json(nullptr) : services;
  if (s.switch_record) {
    const auto& w = *s.switch_record;
    j["switch"] = {{"from", w.from},
                   {"to", w.to},
                   {"reason", w.reason},
                   {"step", w.step},
                   {"detectedAt", FormatTime(w.detected_at)},
                   {"startedAt", FormatTime(w.started_at)}};
  } else {
    j["switch"] = nullptr;
  }
  j["lastTransition"] = s.last_transition ? TransitionToJson(*s.last_transition) : json(nullptr);
  json history = json::array();
  for (const auto& t : s.history) history.push_back(TransitionToJson(t));
  j["history"] = history.empty() ? json(nullptr) : history;
  json recent = json::array();
  for (const auto& t : s.recent_failovers) recent.push_back(FormatTime(t));
  j["recentFailovers"] = recent.empty() ? json(nullptr) : recent;
  j["plannedActions"] = s.planned_actions.empty() ? json(nullptr) : json(s.planned_actions);
  json conditions = json::array();
  for (const auto& c : s.conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", c.status},
                          {"reason", c.reason},
                          {"message", c.message},
                          {"lastTransitionTime", FormatTime(c.last_transition_time)},
                          {"observedGeneration", c.observed_generation}});
  }
  j["conditions"] = conditions.empty() ? json(nullptr) : conditions;
  DropEmptyStrings(j, false);
  return j;
}

Status ParseStatus(const json& j) {
  Status s;
  if (!j.is_object()) return s;
  s.phase = StringOr(j, "phase");
  s.active_member = StringOr(j, "activeMember");
  if (auto it = j.find("activeMembers"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) s.active_members.push_back(v.get<std::string>());
    }
  }
  s.healthy = StringOr(j, "healthy");
  s.healthy_members = NumberOr<int>(j, "healthyMembers", 0);
  s.observed_generation = NumberOr<int64_t>(j, "observedGeneration", 0);
  s.failover_count = NumberOr<int64_t>(j, "failoverCount", 0);
  if (auto it = j.find("members"); it != j.end() && it->is_array()) {
    for (const auto& mj : *it) {
      if (!mj.is_object()) continue;
      MemberStatus m;
      m.name = StringOr(mj, "name");
      std::string role = StringOr(mj, "role");
      m.role = role == "Active" ? Role::kActive : role == "Fenced" ? Role::kFenced : Role::kStandby;
      m.healthy = BoolOr(mj, "healthy");
      m.ready_pods = NumberOr<int>(mj, "readyPods", 0);
      m.pods = NumberOr<int>(mj, "pods", 0);
      m.since = TimeOr(mj, "since");
      if (auto l = mj.find("lagSeconds"); l != mj.end() && l->is_number()) m.lag_seconds = l->get<double>();
      if (auto l = mj.find("lagBytes"); l != mj.end() && l->is_number()) m.lag_bytes = l->get<int64_t>();
      m.eligible = BoolOr(mj, "eligible");
      m.message = StringOr(mj, "message");
      s.members.push_back(std::move(m));
    }
  }
  if (auto it = j.find("services"); it != j.end() && it->is_array()) {
    for (const auto& sj : *it) {
      if (!sj.is_object()) continue;
      s.services.push_back({StringOr(sj, "name"), BoolOr(sj, "exists"), StringOr(sj, "member"),
                            BoolOr(sj, "inSync")});
    }
  }
  if (auto it = j.find("switch"); it != j.end() && it->is_object()) {
    SwitchRecord w;
    w.from = StringOr(*it, "from");
    w.to = StringOr(*it, "to");
    w.reason = StringOr(*it, "reason");
    w.step = StringOr(*it, "step");
    w.detected_at = TimeOr(*it, "detectedAt");
    w.started_at = TimeOr(*it, "startedAt");
    s.switch_record = w;
  }
  if (auto it = j.find("lastTransition"); it != j.end() && it->is_object()) {
    s.last_transition = TransitionFromJson(*it);
  }
  if (auto it = j.find("history"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) s.history.push_back(TransitionFromJson(t));
  }
  if (auto it = j.find("recentFailovers"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) {
        if (auto parsed = ParseTime(t.get<std::string>())) s.recent_failovers.push_back(*parsed);
      }
    }
  }
  if (auto it = j.find("plannedActions"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) s.planned_actions.push_back(a.get<std::string>());
    }
  }
  if (auto it = j.find("conditions"); it != j.end() && it->is_array()) {
    for (const auto& cj : *it) {
      if (!cj.is_object()) continue;
      Condition c;
      c.type = StringOr(cj, "type");
      c.status = StringOr(cj, "status");
      c.reason = StringOr(cj, "reason");
      c.message = StringOr(cj, "message");
      c.last_transition_time = TimeOr(cj, "lastTransitionTime");
      c.observed_generation = NumberOr<int64_t>(cj, "observedGeneration", 0);
      s.conditions.push_back(std::move(c));
    }
  }
  return s;
}

PodObservation PodFromObject(const json& pod) {
  PodObservation p;
  const json& meta = pod.contains("metadata") ? pod["metadata"] : json::object();
  p.name = StringOr(meta, "name");
  p.uid = StringOr(meta, "uid");
  p.labels = LabelsOf(meta, "labels");
  p.annotations = LabelsOf(meta, "annotations");
  p.terminating = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  p.created_at = TimeOr(meta, "creationTimestamp");
  if (auto st = pod.find("status"); st != pod.end() && st->is_object()) {
    p.pod_ip = StringOr(*st, "podIP");
    if (auto conds = st->find("conditions"); conds != st->end() && conds->is_array()) {
      for (const auto& c : *conds) {
        if (c.is_object() && StringOr(c, "type") == "Ready") p.ready = StringOr(c, "status") == "True";
      }
    }
  }
  return p;
}

ServiceObservation ServiceFromObject(const json& service) {
  ServiceObservation s;
  const json& meta = service.contains("metadata") ? service["metadata"] : json::object();
  s.name = StringOr(meta, "name");
  s.exists = true;
  s.annotations = LabelsOf(meta, "annotations");
  if (auto spec = service.find("spec"); spec != service.end() && spec->is_object()) {
    s.selector = LabelsOf(*spec, "selector");
  }
  return s;
}

GroupMeta GroupMetaFromObject(const json& group) {
  GroupMeta g;
  const json& meta = group.contains("metadata") ? group["metadata"] : json::object();
  g.name = StringOr(meta, "name");
  g.namespace_ = StringOr(meta, "namespace");
  g.uid = StringOr(meta, "uid");
  g.resource_version = StringOr(meta, "resourceVersion");
  g.generation = NumberOr<int64_t>(meta, "generation", 0);
  g.annotations = LabelsOf(meta, "annotations");
  if (auto f = meta.find("finalizers"); f != meta.end() && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string()) g.finalizers.push_back(v.get<std::string>());
    }
  }
  g.deleting = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  return g;
}

}  // namespace failover
