// failover-invariant-checker: watches FailoverGroups, Pods and Services in one namespace
// with its own informers (src/kube only; none of the operator's or the engine's code) and
// checks, throughout a drill:
//   1. ActivePassive: never a listed Service the operator has taken over (it carries the
//      failover.io/active-member annotation) whose selector selects ready pods of two members
//      (whatever the strategy: the selector names one member); with BreakBeforeMake, also
//      never pods labelled failover.io/role=active in two members;
//   2. no listed Service left without a healthy member behind it for longer than
//      unhealthyFor + slack while some member has been healthy for longer than slack
//      (groups that are paused, dry-run, held by the failover budget or with maxLag are
//      exempt: a rule may forbid the switch there);
//   3. no pod keeps a failover.io/role label for longer than slack while no member of any
//      group selects it.
// The timed checks (2, 3) count only time the checker saw: while one of its watches has lost
// the apiserver (a restart, an outage) they pause, and their clocks start again from the
// re-list; the checker judges what it observed, not what it could not see.
// Events of the three watches are applied in resourceVersion order (etcd revisions are
// global; the checker relies on that, the operator does not) after an ordering delay.
// On a violation it prints it and the timeline and exits 1; on SIGTERM/SIGINT or at
// --duration it exits 0 when nothing was violated.
//
//   failover-invariant-checker --kubeconfig F --namespace NS [--slack 10s]
//       [--order-delay-ms 800] [--timeline FILE] [--duration SECONDS]
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Labels = std::map<std::string, std::string>;
constexpr const char* kRole = "failover.io/role";

std::atomic<bool> g_stop{false};

// Go-style durations as the CRD accepts them: "5s", "1m30s", "500ms", "0".
double Seconds(const std::string& text, double fallback) {
  if (text.empty()) return fallback;
  if (text == "0") return 0;
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) return fallback;
    double n = std::stod(text.substr(start, i - start));
    std::string unit;
    while (i < text.size() && isalpha(static_cast<unsigned char>(text[i]))) unit += text[i++];
    if (unit == "ms") total += n / 1000;
    else if (unit == "s") total += n;
    else if (unit == "m") total += n * 60;
    else if (unit == "h") total += n * 3600;
    else return fallback;
  }
  return total;
}

Labels LabelsOf(const json& obj) {
  Labels out;
  if (obj.is_object()) {
    for (const auto& [k, v] : obj.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

// metav1.LabelSelector semantics; an empty selector selects nothing here (members and
// Services with empty selectors are not what the drills create).
bool Selects(const json& selector, const Labels& labels) {
  if (!selector.is_object()) return false;
  bool any = false;
  for (const auto& [k, v] : LabelsOf(selector.value("matchLabels", json::object()))) {
    any = true;
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& req : selector.value("matchExpressions", json::array())) {
    any = true;
    std::string key = req.value("key", ""), op = req.value("operator", "");
    std::set<std::string> values;
    for (const auto& v : req.value("values", json::array())) {
      if (v.is_string()) values.insert(v.get<std::string>());
    }
    auto it = labels.find(key);
    bool has = it != labels.end();
    if (op == "In" && !(has && values.count(it->second))) return false;
    if (op == "NotIn" && has && values.count(it->second)) return false;
    if (op == "Exists" && !has) return false;
    if (op == "DoesNotExist" && has) return false;
  }
  return any;
}

bool SelectsFlat(const Labels& selector, const Labels& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

struct Pod {
  Labels labels;
  bool ready = false;
  bool terminating = false;
};

// One change from one watch, waiting to be applied in resourceVersion order.
struct Change {
  uint64_t rv = 0;
  uint64_t seq = 0;
  Clock::time_point received;
  std::string kind;  // pods | services | failovergroups
  bool replace = false;  // a (re)list: objects is the whole set
  bool deleted = false;
  std::vector<json> objects;
};

uint64_t Rv(const json& obj) {
  try {
    return std::stoull(obj["metadata"].value("resourceVersion", "0"));
  } catch (...) {
    return 0;
  }
}

class Checker {
 public:
  Checker(double slack, std::chrono::milliseconds order_delay, std::string timeline_path)
      : slack_(slack), order_delay_(order_delay), timeline_file_(timeline_path) {
    start_ = Clock::now();
  }

  void Push(Change c) {
    std::lock_guard<std::mutex> lock(mu_);
    c.seq = seq_++;
    c.received = Clock::now();
    pending_.push_back(std::move(c));
  }

  // Applies what has waited long enough, in resourceVersion order, checking after each.
  // Returns a violation message or "".
  std::string Step() {
    std::map<std::pair<uint64_t, uint64_t>, Change> ready;  // (rv, arrival) order
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto cutoff = Clock::now() - order_delay_;
      std::vector<Change> keep;
      for (auto& c : pending_) {
        if (c.received <= cutoff) {
          auto key = std::make_pair(c.rv, c.seq);
          ready.emplace(key, std::move(c));
        } else {
          keep.push_back(std::move(c));
        }
      }
      pending_.swap(keep);
    }
    for (auto& [key, c] : ready) {
      if (c.rv != 0 && c.rv < last_rv_ && !c.replace) {
        Note("note: " + c.kind + " rv " + std::to_string(c.rv) + " arrived after rv " +
             std::to_string(last_rv_) + " was applied (ordering delay exceeded)");
      }
      if (c.rv > last_rv_) last_rv_ = c.rv;
      Apply(c);
      std::string v = CheckNow();
      if (!v.empty()) return v;
    }
    return CheckTimed();
  }

  // The watch of `kind` lost its connection; cleared when its re-list is applied.
  void SetBlind(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mu_);
    blind_.insert(kind);
  }

  void Note(const std::string& line) {
    double t = std::chrono::duration<double>(Clock::now() - start_).count();
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(3);
    s << "[" << t << "s] " << line;
    timeline_.push_back(s.str());
    if (timeline_.size() > 5000) timeline_.erase(timeline_.begin());
    if (!timeline_file_.empty()) std::ofstream(timeline_file_, std::ios::app) << s.str() << "\n";
  }

  void PrintTimeline(std::ostream& out) const {
    out << "---- timeline (last " << timeline_.size() << " entries) ----\n";
    for (const auto& l : timeline_) out << l << "\n";
  }

  size_t applied() const { return applied_; }

 private:
  void Apply(const Change& c) {
    applied_++;
    if (c.replace) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        blind_.erase(c.kind);
      }
      if (c.kind == "pods") {
        std::set<std::string> seen;
        for (const auto& o : c.objects) seen.insert(SetPod(o));
        for (auto it = pods_.begin(); it != pods_.end();) {
          if (seen.count(it->first)) {
            ++it;
          } else {
            Note("pod " + it->first + " gone (relist)");
            it = pods_.erase(it);
          }
        }
      } else if (c.kind == "services") {
        services_.clear();
        managed_.clear();
        for (const auto& o : c.objects) SetService(o);
      } else {
        groups_.clear();
        for (const auto& o : c.objects) SetGroup(o);
      }
      Note("relist " + c.kind + " at rv " + std::to_string(c.rv) + ": " +
           std::to_string(c.objects.size()) + " objects");
      return;
    }
    const json& o = c.objects.front();
    std::string name = o["metadata"].value("name", "");
    if (c.kind == "pods") {
      if (c.deleted) {
        pods_.erase(name);
        Note("pod " + name + " deleted");
      } else {
        SetPod(o);
      }
    } else if (c.kind == "services") {
      if (c.deleted) {
        services_.erase(name);
        managed_.erase(name);
      } else {
        SetService(o);
      }
    } else {
      if (c.deleted) groups_.erase(name);
      else SetGroup(o);
    }
  }

  std::string SetPod(const json& o) {
    std::string name = o["metadata"].value("name", "");
    Pod p;
    p.labels = LabelsOf(o["metadata"].value("labels", json::object()));
    p.terminating = o["metadata"].contains("deletionTimestamp") &&
                    !o["metadata"]["deletionTimestamp"].is_null();
    for (const auto& c : o.value("status", json::object()).value("conditions", json::array())) {
      if (c.value("type", "") == "Ready") p.ready = c.value("status", "") == "True";
    }
    auto old = pods_.find(name);
    auto role = [](const Pod& x) {
      auto it = x.labels.find(kRole);
      return it == x.labels.end() ? std::string("-") : it->second;
    };
    if (old == pods_.end() || role(old->second) != role(p) || old->second.ready != p.ready ||
        old->second.terminating != p.terminating) {
      Note("pod " + name + " role=" + role(p) + " ready=" + (p.ready ? "1" : "0") +
           (p.terminating ? " terminating" : ""));
    }
    pods_[name] = p;
    return name;
  }

  void SetService(const json& o) {
    std::string name = o["metadata"].value("name", "");
    Labels sel = LabelsOf(o.value("spec", json::object()).value("selector", json::object()));
    auto old = services_.find(name);
    if (old == services_.end() || old->second != sel) {
      std::string text;
      for (const auto& [k, v] : sel) text += (text.empty() ? "" : ",") + k + "=" + v;
      Note("service " + name + " selector {" + text + "}");
    }
    services_[name] = sel;
    // A Service is the operator's once it has annotated it; before that its selector is
    // whatever the user created it with (often every pod of the app).
    auto ann = o["metadata"].value("annotations", json::object());
    if (ann.contains("failover.io/active-member")) managed_.insert(name);
    else managed_.erase(name);
  }

  void SetGroup(const json& o) {
    std::string name = o["metadata"].value("name", "");
    const json status = o.value("status", json::object());
    std::string summary = status.value("phase", "") + " active=" +
                          (status.contains("activeMember") && status["activeMember"].is_string()
                               ? status["activeMember"].get<std::string>() : std::string("-")) +
                          " failovers=" + std::to_string(status.value("failoverCount", 0));
    auto old = group_summary_.find(name);
    if (old == group_summary_.end() || old->second != summary) {
      Note("group " + name + " " + summary);
      group_summary_[name] = summary;
    }
    groups_[name] = o;
  }

  // Members (by name) that select this pod.
  std::vector<std::string> MembersOf(const json& spec, const Labels& labels) const {
    std::vector<std::string> out;
    for (const auto& m : spec.value("members", json::array())) {
      if (Selects(m.value("selector", json::object()), labels)) out.push_back(m.value("name", ""));
    }
    return out;
  }

  static bool ActivePassive(const json& spec) { return spec.value("mode", "ActivePassive") == "ActivePassive"; }
  static bool BreakBeforeMake(const json& spec) {
    return spec.value("switchover", json::object()).value("strategy", "BreakBeforeMake") == "BreakBeforeMake";
  }

  std::string CheckNow() {
    for (const auto& [gname, g] : groups_) {
      const json spec = g.value("spec", json::object());
      if (!ActivePassive(spec)) continue;
      std::map<std::string, std::string> active;  // member -> a pod
      for (const auto& [pname, p] : pods_) {
        auto r = p.labels.find(kRole);
        if (p.terminating || r == p.labels.end() || r->second != "active") continue;
        for (const auto& m : MembersOf(spec, p.labels)) active[m] = pname;
      }
      if (BreakBeforeMake(spec) && active.size() > 1) {
        std::string list;
        for (const auto& [m, p] : active) list += " " + m + "(" + p + ")";
        return "group " + gname + ": pods labelled role=active in two members:" + list;
      }
      for (const auto& ref : spec.value("services", json::array())) {
        std::string sname = ref.value("name", "");
        auto s = services_.find(sname);
        if (s == services_.end() || !managed_.count(sname)) continue;
        std::map<std::string, std::string> serving;
        for (const auto& [pname, p] : pods_) {
          if (!p.ready || p.terminating || !SelectsFlat(s->second, p.labels)) continue;
          for (const auto& m : MembersOf(spec, p.labels)) serving[m] = pname;
        }
        if (serving.size() > 1) {
          std::string list;
          for (const auto& [m, p] : serving) list += " " + m + "(" + p + ")";
          return "group " + gname + ": Service " + sname + " selects ready pods of two members:" + list;
        }
      }
    }
    return "";
  }

  std::string CheckTimed() {
    bool blind = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blind = !blind_.empty();
    }
    if (blind) {
      if (!was_blind_) Note("a watch lost the apiserver: timed checks paused until it re-lists");
      was_blind_ = true;
      healthy_since_.clear();
      unserving_since_.clear();
      outside_since_.clear();
      return "";
    }
    if (was_blind_) Note("every watch re-listed: timed checks resume, their clocks from now");
    was_blind_ = false;
    auto now = Clock::now();
    auto age = [&](const std::optional<Clock::time_point>& since) {
      return since ? std::chrono::duration<double>(now - *since).count() : 0.0;
    };
    std::set<std::string> keep_members, keep_services, keep_pods;
    for (const auto& [gname, g] : groups_) {
      const json spec = g.value("spec", json::object());
      const json status = g.value("status", json::object());
      bool held = false;
      for (const auto& c : status.value("conditions", json::array())) {
        if (c.value("type", "") == "Degraded" && c.value("status", "") == "True" &&
            c.value("reason", "") == "FailoverBudgetExhausted") held = true;
      }
      bool exempt = spec.value("paused", false) || spec.value("dryRun", false) || held ||
                    spec.value("promotion", json::object()).contains("maxLag");
      double unhealthy_for = Seconds(spec.value("detection", json::object()).value("unhealthyFor", "0"), 0);
      // Healthy members and how long they have been.
      std::map<std::string, int> min_ready;
      double longest_healthy = -1;
      std::string healthy_name;
      for (const auto& m : spec.value("members", json::array())) {
        std::string mname = m.value("name", "");
        min_ready[mname] = m.value("minReady", 1);
        int ready = 0;
        for (const auto& [pname, p] : pods_) {
          if (p.ready && !p.terminating && Selects(m.value("selector", json::object()), p.labels)) ready++;
        }
        std::string key = gname + "/" + mname;
        keep_members.insert(key);
        if (ready >= min_ready[mname]) {
          if (!healthy_since_[key]) healthy_since_[key] = now;
          if (age(healthy_since_[key]) > longest_healthy) {
            longest_healthy = age(healthy_since_[key]);
            healthy_name = mname;
          }
        } else {
          healthy_since_[key].reset();
        }
      }
      for (const auto& ref : spec.value("services", json::array())) {
        std::string sname = ref.value("name", "");
        auto s = services_.find(sname);
        if (s == services_.end()) continue;
        std::map<std::string, int> selected_ready;
        for (const auto& [pname, p] : pods_) {
          if (!p.ready || p.terminating || !SelectsFlat(s->second, p.labels)) continue;
          for (const auto& m : MembersOf(spec, p.labels)) selected_ready[m]++;
        }
        bool serving = false;
        for (const auto& [m, n] : selected_ready) serving = serving || n >= min_ready[m];
        std::string key = gname + "/" + sname;
        keep_services.insert(key);
        if (serving || exempt) {
          unserving_since_[key].reset();
          continue;
        }
        if (!unserving_since_[key]) unserving_since_[key] = now;
        if (age(unserving_since_[key]) > unhealthy_for + slack_ && longest_healthy > slack_) {
          return "group " + gname + ": Service " + sname + " has had no healthy member behind it for " +
                 std::to_string(age(unserving_since_[key])) + "s (unhealthyFor " +
                 std::to_string(unhealthy_for) + "s + slack " + std::to_string(slack_) +
                 "s) while member " + healthy_name + " has been healthy for " +
                 std::to_string(longest_healthy) + "s";
        }
      }
    }
    for (const auto& [pname, p] : pods_) {
      if (!p.labels.count(kRole) || p.terminating) continue;
      bool inside = false;
      for (const auto& [gname, g] : groups_) {
        inside = inside || !MembersOf(g.value("spec", json::object()), p.labels).empty();
      }
      if (inside) continue;
      keep_pods.insert(pname);
      if (!outside_since_[pname]) outside_since_[pname] = now;
      if (age(outside_since_[pname]) > slack_) {
        return "pod " + pname + " has carried " + kRole + "=" + p.labels.at(kRole) + " for " +
               std::to_string(age(outside_since_[pname])) + "s while no member of any group selects it";
      }
    }
    Prune(healthy_since_, keep_members);
    Prune(unserving_since_, keep_services);
    Prune(outside_since_, keep_pods);
    return "";
  }

  static void Prune(std::map<std::string, std::optional<Clock::time_point>>& m,
                    const std::set<std::string>& keep) {
    for (auto it = m.begin(); it != m.end();) it = keep.count(it->first) ? std::next(it) : m.erase(it);
  }

  double slack_;
  std::chrono::milliseconds order_delay_;
  std::string timeline_file_;
  Clock::time_point start_;
  std::mutex mu_;
  std::vector<Change> pending_;
  uint64_t seq_ = 0;
  uint64_t last_rv_ = 0;
  size_t applied_ = 0;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Labels> services_;
  std::set<std::string> managed_;  // Services the operator has taken over
  std::map<std::string, json> groups_;
  std::map<std::string, std::string> group_summary_;
  std::map<std::string, std::optional<Clock::time_point>> healthy_since_, unserving_since_,
      outside_since_;
  std::vector<std::string> timeline_;
  std::set<std::string> blind_;  // kinds whose watch has lost the apiserver (under mu_)
  bool was_blind_ = false;
};

// List, then watch from the list's resourceVersion; re-list on 410 and after failures.
void Follow(kube::Client& client, const kube::Resource& res, const std::string& kind,
            const std::string& ns, Checker& checker, kube::WatchCancel& cancel) {
  while (!g_stop) {
    auto list = client.ListAll(res, ns);
    if (!list.ok()) {
      std::cerr << "invariant-checker: list " << kind << ": " << list.status().ToString() << "\n";
      checker.SetBlind(kind);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    Change c;
    c.kind = kind;
    c.replace = true;
    std::string rv = list->value("metadata", json::object()).value("resourceVersion", "0");
    try {
      c.rv = std::stoull(rv);
    } catch (...) {
    }
    for (const auto& item : list->value("items", json::array())) c.objects.push_back(item);
    checker.Push(std::move(c));
    while (!g_stop) {
      kube::WatchOptions opts;
      opts.resource_version = rv;
      opts.timeout_seconds = 300;
      kube::Status s = client.Watch(res, ns, opts, [&](kube::WatchEvent&& ev) {
        uint64_t erv = Rv(ev.object);
        if (erv) rv = std::to_string(erv);
        if (ev.type == kube::WatchEvent::Type::kBookmark) return true;
        Change ch;
        ch.kind = kind;
        ch.rv = erv;
        ch.deleted = ev.type == kube::WatchEvent::Type::kDeleted;
        ch.objects.push_back(std::move(ev.object));
        checker.Push(std::move(ch));
        return !g_stop.load();
      }, &cancel);
      if (g_stop) return;
      if (s.ok()) continue;
      if (!s.IsExpired()) {
        std::cerr << "invariant-checker: watch " << kind << ": " << s.ToString() << "\n";
        checker.SetBlind(kind);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
      break;  // re-list
    }
  }
}

int Usage() {
  std::cerr << "usage: failover-invariant-checker --kubeconfig F --namespace NS [--slack 10s]\n"
               "       [--order-delay-ms 800] [--timeline FILE] [--duration SECONDS]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, ns, timeline;
  double slack = 10, duration = 0;
  int order_delay_ms = 800;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--kubeconfig") kubeconfig = v;
    else if (a == "--namespace") ns = v;
    else if (a == "--slack") slack = Seconds(v, -1);
    else if (a == "--order-delay-ms") order_delay_ms = std::atoi(v.c_str());
    else if (a == "--timeline") timeline = v;
    else if (a == "--duration") duration = std::atof(v.c_str());
    else return Usage();
    ++i;
  }
  if (kubeconfig.empty() || ns.empty() || slack < 0) return Usage();
  auto cfg = kube::LoadKubeconfig({kubeconfig});
  if (!cfg.ok()) {
    std::cerr << "invariant-checker: " << cfg.status().ToString() << "\n";
    return 2;
  }
  auto client = kube::Client::Create(*cfg);
  if (!client.ok()) {
    std::cerr << "invariant-checker: " << client.status().ToString() << "\n";
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });

  Checker checker(slack, std::chrono::milliseconds(order_delay_ms), timeline);
  kube::WatchCancel c1, c2, c3;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { Follow(**client, kube::resources::kFailoverGroups, "failovergroups", ns, checker, c1); });
  threads.emplace_back([&] { Follow(**client, kube::resources::kPods, "pods", ns, checker, c2); });
  threads.emplace_back([&] { Follow(**client, kube::resources::kServices, "services", ns, checker, c3); });
  std::cerr << "invariant-checker: watching namespace " << ns << " (slack " << slack << "s)\n";

  auto start = Clock::now();
  int rc = 0;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string violation = checker.Step();
    if (!violation.empty()) {
      checker.Note("VIOLATION: " + violation);
      std::cerr << "invariant-checker: VIOLATION: " << violation << "\n";
      checker.PrintTimeline(std::cerr);
      rc = 1;
      break;
    }
    if (duration > 0 && std::chrono::duration<double>(Clock::now() - start).count() > duration) break;
  }
  if (rc == 0) {
    // Apply what is still waiting so a violation at the very end is not missed.
    std::this_thread::sleep_for(std::chrono::milliseconds(order_delay_ms + 50));
    std::string violation = checker.Step();
    if (!violation.empty()) {
      std::cerr << "invariant-checker: VIOLATION: " << violation << "\n";
      checker.PrintTimeline(std::cerr);
      rc = 1;
    } else {
      std::cerr << "invariant-checker: no violation (" << checker.applied() << " changes applied)\n";
    }
  }
  g_stop = true;
  c1.Cancel();
  c2.Cancel();
  c3.Cancel();
  for (auto& t : threads) t.join();
  return rc;
}
