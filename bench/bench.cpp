// fo-bench: drives and observes the benchmarks (see docs/benchmarks.md).
//
//   fo-bench populate    --kubeconfig K --namespace NS --groups N [--pods-per-group 2]
//                        [--extra-services] [--strategy BreakBeforeMake] [--threads 16]
//                        [--node fo-bench-node] [--node-ip 10.199.0.1]
//   fo-bench latency     --kubeconfig K --namespace NS --groups N --failovers M [--no-operator]
//   fo-bench storm       --kubeconfig K --namespace NS --groups N [--no-operator] [--no-peer]
//                        [--no-floor] [--make-ready]
//   fo-bench make-ready  (storm's flags): storm's --make-ready and settling, not the storm
//   fo-bench blast       --kubeconfig K --namespace NS --groups N --concurrency W
//   fo-bench wait-synced --kubeconfig K --namespace NS --groups N [--timeout 1800]
//   fo-bench audit       --log FILE --since T --until T --users a,b
//   fo-bench churn-round --kubeconfig K --namespace NS --first F --groups N
//   fo-bench takeover    --kubeconfig K --namespace NS --group G --kill-pid PID [--fail-after-ms 1000]
// Every flag with its default: Usage() below (base::FlagSet reads them; an unknown flag
// is an error). Every subcommand prints one JSON document on stdout; progress goes to stderr.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common.h"
#include "watcher.h"

namespace bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string Other(const std::string& member) { return member == "a" ? "b" : "a"; }

json ServiceObject(const std::string& name, const json& selector, const std::string& group) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"labels", {{kGroupLabel, group}}}}},
          {"spec",
           {{"selector", selector},
            {"ports", json::array({json{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}})}}}};
}

json GroupObject(const std::string& group, const std::string& strategy) {
  json members = json::array();
  for (const char* m : {"a", "b"}) {
    members.push_back({{"name", m},
                       {"selector", {{"matchLabels", {{kGroupLabel, group}, {kMemberLabel, m}}}}},
                       {"minReady", 1}});
  }
  return {{"apiVersion", "failover.io/v1alpha1"},
          {"kind", "FailoverGroup"},
          {"metadata", {{"name", group}}},
          {"spec",
           {{"mode", "ActivePassive"},
            {"members", members},
            {"services", json::array({json{{"name", group}}})},
            {"detection", {{"unhealthyFor", "0"}}},
            {"switchover", {{"strategy", strategy}}},
            {"failback", {{"policy", "Manual"}}},
            {"antiFlap", {{"maxFailovers", 1000}, {"window", "1s"}}},
            {"fencing", {{"policy", "None"}}}}}};
}

void Usage() {
  std::fprintf(stderr,
               "usage: fo-bench populate    --kubeconfig K --namespace NS --groups N (10) [--first 0]\n"
               "                            [--pods-per-group 2] [--extra-services] [--no-groups]\n"
               "                            [--strategy BreakBeforeMake] [--threads 16]\n"
               "                            [--node fo-bench-node] [--node-ip 10.199.0.1]\n"
               "       fo-bench latency     --kubeconfig K --namespace NS --groups N (10) [--failovers 200]\n"
               "                            [--no-operator] [--no-peer] [--no-floor] [--node-ip 10.199.0.1]\n"
               "                            [--timeout-ms 15000] [--pause-ms 20]\n"
               "       fo-bench storm       --kubeconfig K --namespace NS --groups N (1000) [--no-operator]\n"
               "                            [--no-peer] [--no-floor] [--make-ready] [--node-ip 10.199.0.1]\n"
               "                            [--threads 32] [--timeout 300 (s)] [--tail-seconds 5]\n"
               "       fo-bench make-ready  (storm's flags): makes the a pods ready, waits until settled, no storm\n"
               "       fo-bench blast       --kubeconfig K --namespace NS --groups N (1000) --concurrency W (4)\n"
               "                            [--service-suffix \"\"] [--to b]\n"
               "       fo-bench wait-synced --kubeconfig K --namespace NS --groups N (10) [--timeout 1800 (s)]\n"
               "       fo-bench audit       --log FILE --since T --until T --users a,b\n"
               "       fo-bench churn-round --kubeconfig K --namespace NS --first F (0) --groups N (100)\n"
               "                            [--threads 16] [--timeout 300 (s)] [--node-ip 10.199.0.1]\n"
               "       fo-bench takeover    --kubeconfig K --namespace NS --group G (0) --kill-pid PID\n"
               "                            [--fail-after-ms 1000] [--timeout 120 (s)] [--node-ip 10.199.0.1]\n");
}

// The flags of the subcommands that talk to the cluster.
struct ClusterFlags {
  std::string kubeconfig;
  std::string ns;
  void Declare(base::FlagSet& f) {
    f.String("--kubeconfig", &kubeconfig);
    f.String("--namespace", &ns);
  }
};

kube::Status Ok(const kube::Result<json>& r) {
  if (r.ok() || r.status().IsAlreadyExists()) return kube::Status::OK();
  return r.status();
}

int Populate(int argc, char** argv) {
  ClusterFlags c;
  int groups = 10, first = 0, per_group = 2, threads = 16;
  bool extra = false, no_groups = false;
  std::string strategy = "BreakBeforeMake", node = "fo-bench-node", node_ip = "10.199.0.1";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--groups", &groups, 0);
  f.Int("--first", &first, 0);
  f.Int("--pods-per-group", &per_group, 1);
  f.Bool("--extra-services", &extra);
  f.Bool("--no-groups", &no_groups);
  f.String("--strategy", &strategy);
  f.String("--node", &node);
  f.String("--node-ip", &node_ip);
  f.Int("--threads", &threads, 1);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench populate", Usage)) return *rc;
  auto client = Connect(c.kubeconfig, "fo-bench-populate");
  const std::string& ns = c.ns;
  const bool fgs = !no_groups;

  auto t0 = Clock::now();
  auto st = Ok(client->Create(kube::resources::kNamespaces, "",
                              json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}));
  if (!st.ok()) {
    std::fprintf(stderr, "namespace %s: %s\n", ns.c_str(), st.ToString().c_str());
    return 1;
  }
  st = Ok(client->Create(kube::resources::kNodes, "",
                         json{{"apiVersion", "v1"},
                              {"kind", "Node"},
                              {"metadata", {{"name", node}, {"labels", {{"kubernetes.io/hostname", node}}}}}}));
  if (st.ok()) {
    std::string now = WallTimeRfc3339(std::chrono::system_clock::now()).substr(0, 19) + "Z";
    json ns_patch = {{"status",
                      {{"addresses", json::array({json{{"type", "InternalIP"}, {"address", node_ip}}})},
                       {"capacity", {{"pods", "100000"}}},
                       {"allocatable", {{"pods", "100000"}}},
                       {"conditions", json::array({json{{"type", "Ready"},
                                                        {"status", "True"},
                                                        {"reason", "FailoverBench"},
                                                        {"lastHeartbeatTime", now},
                                                        {"lastTransitionTime", now}}})}}}};
    st = client->Patch(kube::resources::kNodes, "", node, kube::PatchType::kMerge, ns_patch.dump(), {"", false, "status"}).status();
  }
  if (!st.ok()) {
    std::fprintf(stderr, "node %s: %s\n", node.c_str(), st.ToString().c_str());
    return 1;
  }

  std::atomic<int> done{0};
  auto errors = ParallelFor(groups, threads, [&](int i) -> kube::Status {
    const int gi = first + i;
    const std::string g = GroupName(gi);
    kube::Status s = Ok(client->Create(kube::resources::kServices, ns,
                                       ServiceObject(g, {{kGroupLabel, g}, {kMemberLabel, "a"}}, g)));
    if (!s.ok()) return s;
    if (extra) {
      s = Ok(client->Create(kube::resources::kServices, ns, ServiceObject(g + "-peer", {{kGroupLabel, g}}, g)));
      if (!s.ok()) return s;
      s = Ok(client->Create(kube::resources::kServices, ns,
                            ServiceObject(g + "-floor", {{kGroupLabel, g}, {kMemberLabel, "a"}}, g)));
      if (!s.ok()) return s;
    }
    for (int p = 0; p < per_group; ++p) {
      const std::string member = p < per_group - 1 ? "a" : "b";
      const int ordinal = member == "a" ? p : 0;
      const std::string name = PodName(g, member, ordinal);
      json pod = {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata", {{"name", name}, {"labels", {{kGroupLabel, g}, {kMemberLabel, member}}}}},
                  {"spec",
                   {{"nodeName", node},
                    {"terminationGracePeriodSeconds", 0},
                    {"containers", json::array({json{{"name", "app"},
                                                     {"image", "failover.io/virtual"},
                                                     {"ports", json::array({json{{"containerPort", 8080}}})}}})}}}};
      auto created = client->Create(kube::resources::kPods, ns, pod);
      std::string uid;
      if (created.ok()) {
        uid = (*created)["metadata"].value("uid", "");
      } else if (created.status().IsAlreadyExists()) {
        auto got = client->Get(kube::resources::kPods, ns, name);
        if (!got.ok()) return got.status();
        uid = (*got)["metadata"].value("uid", "");
      } else {
        return created.status();
      }
      auto patched = client->Patch(kube::resources::kPods, ns, name, kube::PatchType::kMerge,
                                   PodStatusPatch(uid, PodIp(gi * per_group + p), node_ip, true),
                                   {"", false, "status"});
      if (!patched.ok()) return patched.status();
    }
    if (fgs) {
      s = Ok(client->Create(kube::resources::kFailoverGroups, ns, GroupObject(g, strategy)));
      if (!s.ok()) return s;
    }
    int n = ++done;
    if (n % 1000 == 0) std::fprintf(stderr, "populate: %d/%d groups\n", n, groups);
    return kube::Status::OK();
  });
  double secs = Ms(Clock::now() - t0) / 1000;
  for (const auto& e : errors) std::fprintf(stderr, "populate: %s\n", e.c_str());
  const int objects_per_group = 1 + (extra ? 2 : 0) + 2 * per_group + (fgs ? 1 : 0);
  json out = {{"groups", groups},
              {"pods", groups * per_group},
              {"writes", groups * objects_per_group},
              {"seconds", secs},
              {"writes_per_second", static_cast<double>(groups * objects_per_group) / secs},
              {"errors", errors.size()}};
  std::printf("%s\n", out.dump().c_str());
  return errors.empty() ? 0 : 1;
}

struct Expect {
  bool op = true;
  bool peer = true;
  bool floor = true;
};

// One failover's observations, in ms after the watcher saw the Ready=False.
struct Sample {
  std::string group, from, to;
  bool seen = false;
  Clock::time_point t0;
  std::optional<double> op, op_service, op_role, peer, floor;
};

// The state of one failover of `g` from `from`: fills what has been observed so far.
void Observe(const Watcher& w, Sample& s) {
  const auto* pod = w.Pod(PodName(s.group, s.from, 0));
  if (pod == nullptr || pod->ready) return;
  s.seen = true;
  s.t0 = pod->ready_changed;
  const auto* svc = w.Service(s.group);
  const auto* to_pod = w.Pod(PodName(s.group, s.to, 0));
  // Traffic moved: the Service names the new member and its pod carries what the selector
  // needs (eligible=true, there ahead of the switch). The roles are done once the pod is
  // role=active too (reported apart: traffic does not wait for it).
  if (svc != nullptr && svc->member == s.to && to_pod != nullptr && to_pod->eligible == "true") {
    s.op_service = Ms(svc->changed - s.t0);
    s.op = std::max(*s.op_service, Ms(to_pod->eligible_changed - s.t0));
  }
  if (s.op && to_pod->role == "active") s.op_role = Ms(to_pod->role_changed - s.t0);
  if (const auto* ep = w.Endpoint(s.group + "-peer", PodName(s.group, s.from, 0)); ep != nullptr && !ep->ready) {
    s.peer = Ms(ep->changed - s.t0);
  }
  if (const auto* fl = w.Service(s.group + "-floor"); fl != nullptr && fl->member == s.to) {
    s.floor = Ms(fl->changed - s.t0);
  }
}

Sample NewSample(const std::string& group, const std::string& from) {
  Sample s;
  s.group = group;
  s.from = from;
  s.to = Other(from);
  return s;
}

bool Complete(const Sample& s, const Expect& e) {
  return s.seen && (!e.op || (s.op && s.op_role)) && (!e.peer || s.peer) && (!e.floor || s.floor);
}

// True when group g serves from `active` everywhere and both pods are ready.
bool Settled(const Watcher& w, const std::string& g, const std::string& active, const Expect& e) {
  for (const char* m : {"a", "b"}) {
    const auto* p = w.Pod(PodName(g, m, 0));
    if (p == nullptr || !p->ready) return false;
    if (const auto* ep = w.Endpoint(g + "-peer", PodName(g, m, 0)); e.peer && (ep == nullptr || !ep->ready)) return false;
  }
  if (e.op) {
    const auto* svc = w.Service(g);
    const auto* p = w.Pod(PodName(g, active, 0));
    if (svc == nullptr || svc->member != active || p == nullptr || p->role != "active") return false;
  }
  if (e.floor) {
    const auto* fl = w.Service(g + "-floor");
    if (fl == nullptr || fl->member != active) return false;
  }
  return true;
}

kube::Status SetReady(kube::Client& client, const Watcher& w, const std::string& ns, const std::string& pod,
                      bool ready, const std::string& node_ip) {
  auto [uid, ip] = const_cast<Watcher&>(w).With([&](Watcher& ww) {
    const auto* p = ww.Pod(pod);
    return p == nullptr ? std::pair<std::string, std::string>{} : std::pair{p->uid, p->ip};
  });
  if (uid.empty()) return kube::Status(kube::Reason::kNotFound, "pod " + pod + " not seen by the watcher");
  return client.Patch(kube::resources::kPods, ns, pod, kube::PatchType::kMerge,
                      PodStatusPatch(uid, ip, node_ip, ready), {"", false, "status"})
      .status();
}

json SamplesJson(const std::vector<Sample>& samples) {
  std::vector<double> op, peer, floor, op_service, op_role;
  int missing_op = 0, missing_peer = 0, missing_floor = 0, unseen = 0;
  for (const auto& s : samples) {
    if (!s.seen) ++unseen;
    if (s.op) op.push_back(*s.op), op_service.push_back(*s.op_service);
    else ++missing_op;
    if (s.op_role) op_role.push_back(*s.op_role);
    if (s.peer) peer.push_back(*s.peer); else ++missing_peer;
    if (s.floor) floor.push_back(*s.floor); else ++missing_floor;
  }
  json out = {{"failovers", samples.size()},
              {"unseen", unseen},
              {"operator", Summary(op)},
              {"operator_service", Summary(op_service)},
              {"operator_role", Summary(op_role)},
              {"peer", Summary(peer)},
              {"floor", Summary(floor)},
              {"missing", {{"operator", missing_op}, {"peer", missing_peer}, {"floor", missing_floor}}}};
  json raw = json::array();
  for (const auto& s : samples) {
    raw.push_back({{"group", s.group},
                   {"from", s.from},
                   {"operator", s.op ? json(*s.op) : json()},
                   {"peer", s.peer ? json(*s.peer) : json()},
                   {"floor", s.floor ? json(*s.floor) : json()}});
  }
  out["samples"] = raw;
  return out;
}

// --no-operator, --no-peer, --no-floor: that reaction is not expected (nothing runs it).
struct NoFlags {
  bool op = false, peer = false, floor = false;
};
void DeclareExpect(base::FlagSet& f, NoFlags* no) {
  f.Bool("--no-operator", &no->op);
  f.Bool("--no-peer", &no->peer);
  f.Bool("--no-floor", &no->floor);
}

Expect ExpectFrom(const NoFlags& no) {
  Expect e;
  e.op = !no.op;
  e.peer = !no.peer;
  e.floor = !no.floor;
  return e;
}

// The parties a run expects, for its JSON ("operator", "peer", "floor").
json PartiesJson(const Expect& e) {
  json p = json::array();
  if (e.op) p.push_back("operator");
  if (e.peer) p.push_back("peer");
  if (e.floor) p.push_back("floor");
  return p;
}

// Waits until every group serves from its active member; returns false on timeout.
bool WaitSettled(Watcher& w, int groups, const std::map<std::string, std::string>& active, const Expect& e,
                 seconds timeout) {
  bool ok = w.WaitFor(timeout, [&](const Watcher& ww) {
    for (int i = 0; i < groups; ++i) {
      if (!Settled(ww, GroupName(i), active.at(GroupName(i)), e)) return false;
    }
    return true;
  });
  if (!ok) {
    w.With([&](Watcher& ww) {
      for (int i = 0; i < groups; ++i) {
        if (!Settled(ww, GroupName(i), active.at(GroupName(i)), e)) {
          const auto* svc = ww.Service(GroupName(i));
          std::fprintf(stderr, "not settled: %s (service member %s)\n", GroupName(i).c_str(),
                       svc ? svc->member.c_str() : "?");
          break;
        }
      }
      return 0;
    });
  }
  return ok;
}

int Latency(int argc, char** argv) {
  ClusterFlags c;
  int groups = 10, failovers = 200, timeout_ms = 15000, pause_ms = 20;
  NoFlags no;
  std::string node_ip = "10.199.0.1";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--groups", &groups, 1);
  f.Int("--failovers", &failovers, 0);
  f.String("--node-ip", &node_ip);
  f.Int("--timeout-ms", &timeout_ms, 0);
  f.Int("--pause-ms", &pause_ms, 0);
  DeclareExpect(f, &no);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench latency", Usage)) return *rc;
  auto client = Connect(c.kubeconfig, "fo-bench-driver");
  auto watch_client = Connect(c.kubeconfig, "fo-bench-watcher");
  const std::string& ns = c.ns;
  const auto timeout = milliseconds(timeout_ms);
  Expect e = ExpectFrom(no);
  Watcher w(watch_client, ns);
  if (!w.Start(seconds(60))) {
    std::fprintf(stderr, "latency: the watches did not list within 60 s\n");
    return 1;
  }
  std::map<std::string, std::string> active;
  for (int i = 0; i < groups; ++i) active[GroupName(i)] = "a";
  if (!WaitSettled(w, groups, active, e, seconds(120))) {
    std::fprintf(stderr, "latency: groups not settled on member a within 120 s\n");
    return 1;
  }
  std::vector<Sample> samples;
  auto wall_start = std::chrono::system_clock::now();
  for (int n = 0; n < failovers; ++n) {
    const std::string g = GroupName(n % groups);
    Sample s = NewSample(g, active[g]);
    auto st = SetReady(*client, w, ns, PodName(g, s.from, 0), false, node_ip);
    if (!st.ok()) {
      std::fprintf(stderr, "latency: %s\n", st.ToString().c_str());
      return 1;
    }
    w.WaitFor(timeout, [&](const Watcher& ww) {
      Observe(ww, s);
      return Complete(s, e);
    });
    w.With([&](Watcher& ww) { Observe(ww, s); return 0; });
    if (!Complete(s, e)) {
      std::fprintf(stderr, "latency: failover %d (%s %s->%s) incomplete: seen=%d operator=%d peer=%d floor=%d\n", n,
                   g.c_str(), s.from.c_str(), s.to.c_str(), s.seen, s.op.has_value(), s.peer.has_value(),
                   s.floor.has_value());
    }
    if (s.op || !e.op) active[g] = s.to;
    samples.push_back(s);
    st = SetReady(*client, w, ns, PodName(g, s.from, 0), true, node_ip);
    if (!st.ok()) {
      std::fprintf(stderr, "latency: %s\n", st.ToString().c_str());
      return 1;
    }
    w.WaitFor(timeout, [&](const Watcher& ww) { return Settled(ww, g, active[g], e); });
    std::this_thread::sleep_for(milliseconds(pause_ms));
    if ((n + 1) % 50 == 0) std::fprintf(stderr, "latency: %d/%d failovers\n", n + 1, failovers);
  }
  auto wall_end = std::chrono::system_clock::now();
  json out = SamplesJson(samples);
  out["groups"] = groups;
  out["since"] = WallTimeRfc3339(wall_start);
  out["until"] = WallTimeRfc3339(wall_end);
  std::printf("%s\n", out.dump().c_str());
  w.Stop();
  return 0;
}

// A storm: every group's member-a pod turns unready at once; the time until each expected
// party (--no-* leaves one out) has reacted for every group. The benchmark runs one party
// per storm (bench/run.sh): the operator alone, then the controller-manager's endpoint
// controllers, then the floor, on the same groups. --make-ready first makes every group's
// a pod ready again (the previous storm left it unready). Before the storm it waits until
// the expected parties have settled on member a.
// `fo-bench make-ready` (only_ready) does the same and stops there, before the storm: the
// script then waits for the party to go quiet.
int Storm(int argc, char** argv, bool only_ready) {
  ClusterFlags c;
  int groups = 1000, threads = 32, timeout_s = 300, tail_seconds = 5;
  NoFlags no;
  bool make_ready = false;
  std::string node_ip = "10.199.0.1";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--groups", &groups, 1);
  f.String("--node-ip", &node_ip);
  f.Int("--threads", &threads, 1);
  f.Int("--timeout", &timeout_s, 0);
  f.Int("--tail-seconds", &tail_seconds, 0);
  f.Bool("--make-ready", &make_ready);
  DeclareExpect(f, &no);
  if (auto rc = ReadFlags(f, argc, argv, 2, only_ready ? "fo-bench make-ready" : "fo-bench storm", Usage)) return *rc;
  if (only_ready) make_ready = true;
  auto client = Connect(c.kubeconfig, "fo-bench-driver");
  auto watch_client = Connect(c.kubeconfig, "fo-bench-watcher");
  const std::string& ns = c.ns;
  const auto timeout = seconds(timeout_s);
  Expect e = ExpectFrom(no);
  Watcher w(watch_client, ns);
  if (!w.Start(seconds(120))) {
    std::fprintf(stderr, "storm: the watches did not list within 120 s\n");
    return 1;
  }
  if (make_ready) {
    std::vector<std::string> unready;
    w.With([&](Watcher& ww) {
      for (int i = 0; i < groups; ++i) {
        const auto* p = ww.Pod(PodName(GroupName(i), "a", 0));
        if (p != nullptr && !p->ready) unready.push_back(PodName(GroupName(i), "a", 0));
      }
      return 0;
    });
    auto errs = ParallelFor(static_cast<int>(unready.size()), threads, [&](int i) {
      return SetReady(*client, w, ns, unready[static_cast<size_t>(i)], true, node_ip);
    });
    for (const auto& err : errs) std::fprintf(stderr, "storm: make ready: %s\n", err.c_str());
    std::fprintf(stderr, "storm: made %zu pods of member a ready again\n", unready.size());
  }
  std::map<std::string, std::string> active;
  for (int i = 0; i < groups; ++i) active[GroupName(i)] = "a";
  if (!WaitSettled(w, groups, active, e, seconds(600))) {
    std::fprintf(stderr, "storm: groups not settled on member a within 600 s\n");
    return 1;
  }
  if (only_ready) {
    std::printf("%s\n", json{{"groups", groups}, {"parties", PartiesJson(e)}, {"settled", true}}.dump().c_str());
    w.Stop();
    return 0;
  }
  std::vector<Sample> samples;
  for (int i = 0; i < groups; ++i) samples.push_back(NewSample(GroupName(i), "a"));
  auto wall_start = std::chrono::system_clock::now();
  auto t_start = Clock::now();
  auto errors = ParallelFor(groups, threads, [&](int i) {
    return SetReady(*client, w, ns, PodName(GroupName(i), "a", 0), false, node_ip);
  });
  auto t_written = Clock::now();
  for (const auto& err : errors) std::fprintf(stderr, "storm: %s\n", err.c_str());
  w.WaitFor(timeout, [&](const Watcher& ww) {
    for (auto& s : samples) {
      if (!Complete(s, e)) Observe(ww, s);
      if (!Complete(s, e)) return false;
    }
    return true;
  });
  w.With([&](Watcher& ww) {
    for (auto& s : samples) Observe(ww, s);
    return 0;
  });
  // Writes that follow the traffic switch (status, history) belong to the failover too.
  std::this_thread::sleep_for(seconds(tail_seconds));
  auto wall_end = std::chrono::system_clock::now();
  json out = SamplesJson(samples);
  out.erase("samples");
  auto first_seen = t_written;
  for (const auto& s : samples) if (s.seen) first_seen = std::min(first_seen, s.t0);
  // The storm's own spread: the last Ready=False the watcher saw, after the first. No party
  // can be done before it.
  auto last_seen = first_seen;
  for (const auto& s : samples) if (s.seen) last_seen = std::max(last_seen, s.t0);
  auto all_done = [&](auto field) -> json {
    double worst = 0;
    for (const auto& s : samples) {
      if (!s.seen || !(s.*field)) return json();
      worst = std::max(worst, Ms(s.t0 - first_seen) + *(s.*field));
    }
    return std::round(worst * 1000) / 1000;
  };
  out["groups"] = groups;
  out["parties"] = PartiesJson(e);
  out["write_ms"] = Ms(t_written - t_start);
  out["unready_spread_ms"] = std::round(Ms(last_seen - first_seen) * 1000) / 1000;
  out["all_switched_ms"] = {{"operator", all_done(&Sample::op)},
                            {"peer", all_done(&Sample::peer)},
                            {"floor", all_done(&Sample::floor)}};
  out["since"] = WallTimeRfc3339(wall_start);
  out["until"] = WallTimeRfc3339(wall_end);
  out["write_errors"] = errors.size();
  std::printf("%s\n", out.dump().c_str());
  w.Stop();
  return 0;
}

// The blaster: the limit of a storm's Service writes through this apiserver. One JSON merge
// patch per group, of the kind the operator makes when it switches a group (spec.selector
// and the active-member annotations of the Service <g><suffix>), from `concurrency` threads
// (the operator's --workers), each taking the next group as soon as its previous patch is
// answered: as fast as the apiserver takes them. A throttled answer (429, 5xx) is retried at
// once (after its Retry-After, at most 1 s) and counted. Its wall time, from the first
// patch sent to the last answer, is what the operator's storm is compared with. The client's
// connections are opened before the clock starts, as a running operator's are.
int Blast(int argc, char** argv) {
  ClusterFlags c;
  int groups = 1000, concurrency = 4, max_attempts = 20;
  std::string suffix, to = "b";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--groups", &groups, 1);
  f.Int("--concurrency", &concurrency, 1);
  f.String("--service-suffix", &suffix);
  f.String("--to", &to);
  f.Int("--max-attempts", &max_attempts, 1);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench blast", Usage)) return *rc;
  auto client = Connect(c.kubeconfig, "fo-bench-blaster");
  const std::string& ns = c.ns;
  const int threads = std::min(concurrency, groups);

  // Warm-up: one GET per thread, all at once, so the pool holds `threads` open connections.
  std::vector<std::string> warm_errors = ParallelFor(threads, threads, [&](int i) {
    return client->Get(kube::resources::kServices, ns, GroupName(i) + suffix).status();
  });
  for (const auto& err : warm_errors) std::fprintf(stderr, "blast: warm-up: %s\n", err.c_str());

  const std::string since = WallTimeRfc3339(std::chrono::system_clock::now());
  const std::string now = since.substr(0, 19) + "Z";
  std::vector<double> latency(static_cast<size_t>(groups), 0);
  std::atomic<int> next{0}, retries{0}, throttled{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::atomic<int> failed{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  Clock::time_point t_start;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      ++ready;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = next++; i < groups; i = next++) {
        const std::string g = GroupName(i);
        const json body = {{"metadata",
                            {{"annotations",
                              {{"failover.io/active-member", to}, {"failover.io/active-since", now}}}}},
                           {"spec", {{"selector", {{kGroupLabel, g}, {kMemberLabel, to}}}}}};
        const std::string text = body.dump();
        const auto t0 = Clock::now();
        kube::Status st = kube::Status::OK();
        for (int attempt = 1; attempt <= max_attempts; ++attempt) {
          st = client->Patch(kube::resources::kServices, ns, g + suffix, kube::PatchType::kMerge, text).status();
          if (st.ok() || !st.IsRetryable() || attempt == max_attempts) break;
          ++retries;
          if (st.reason() == kube::Reason::kTooManyRequests) ++throttled;
          auto wait = st.retry_after().value_or(seconds(0));
          std::this_thread::sleep_for(std::min<Clock::duration>(wait, seconds(1)));
        }
        latency[static_cast<size_t>(i)] = Ms(Clock::now() - t0);
        if (!st.ok()) {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          if (errors.size() < 10) errors.push_back(g + suffix + ": " + st.ToString());
        }
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  t_start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  const auto t_end = Clock::now();
  for (const auto& err : errors) std::fprintf(stderr, "blast: %s\n", err.c_str());
  const double wall_ms = Ms(t_end - t_start);
  json out = {{"groups", groups},
              {"patches", groups},
              {"concurrency", threads},
              {"service_suffix", suffix},
              {"wall_ms", std::round(wall_ms * 1000) / 1000},
              {"patches_per_second", std::round(groups / (wall_ms / 1000) * 10) / 10},
              {"per_patch", Summary(latency)},
              {"retries", retries.load()},
              {"throttled", throttled.load()},
              {"errors", failed.load()},
              {"since", since},
              {"until", WallTimeRfc3339(std::chrono::system_clock::now())}};
  std::printf("%s\n", out.dump().c_str());
  return failed.load() == 0 ? 0 : 1;
}

int WaitSynced(int argc, char** argv) {
  ClusterFlags c;
  int group_count = 10, timeout_s = 1800;
  base::FlagSet f;
  c.Declare(f);
  f.Int("--groups", &group_count, 0);
  f.Int("--timeout", &timeout_s, 0);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench wait-synced", Usage)) return *rc;
  auto client = Connect(c.kubeconfig, "fo-bench-watcher");
  const std::string& ns = c.ns;
  const size_t groups = static_cast<size_t>(group_count);
  const auto deadline = Clock::now() + seconds(timeout_s);
  const auto t0 = Clock::now();
  std::set<std::string> healthy;
  std::string rv;
  size_t last_report = 0;
  auto apply = [&](const json& fg, bool deleted) {
    std::string name = fg["metadata"].value("name", "");
    bool ok = !deleted && fg.contains("status") && fg["status"].value("phase", "") == "Healthy" &&
              !fg["status"].value("activeMember", "").empty();
    if (ok) healthy.insert(name); else healthy.erase(name);
  };
  while (healthy.size() < groups && Clock::now() < deadline) {
    if (rv.empty()) {
      auto list = client->ListAll(kube::resources::kFailoverGroups, ns);
      if (!list.ok()) {
        std::this_thread::sleep_for(milliseconds(500));
        continue;
      }
      healthy.clear();
      for (const auto& item : (*list)["items"]) apply(item, false);
      rv = (*list)["metadata"].value("resourceVersion", "");
      // Already there: a watch would wait its whole timeout for an event that never comes.
      if (healthy.size() >= groups) break;
    }
    kube::WatchOptions wo;
    wo.resource_version = rv;
    wo.timeout_seconds = 30;
    auto st = client->Watch(kube::resources::kFailoverGroups, ns, wo, [&](kube::WatchEvent&& ev) {
      if (ev.object.contains("metadata")) rv = ev.object["metadata"].value("resourceVersion", rv);
      if (ev.type != kube::WatchEvent::Type::kBookmark) apply(ev.object, ev.type == kube::WatchEvent::Type::kDeleted);
      if (healthy.size() >= last_report + 1000) {
        last_report = healthy.size();
        std::fprintf(stderr, "wait-synced: %zu/%zu groups Healthy after %.1f s\n", healthy.size(), groups,
                     Ms(Clock::now() - t0) / 1000);
      }
      return healthy.size() < groups && Clock::now() < deadline;
    });
    if (!st.ok() && st.IsExpired()) rv.clear();
  }
  json out = {{"groups", groups}, {"healthy", healthy.size()}, {"seconds", Ms(Clock::now() - t0) / 1000},
              {"until", WallTimeRfc3339(std::chrono::system_clock::now())}};
  std::printf("%s\n", out.dump().c_str());
  return healthy.size() >= groups ? 0 : 1;
}

// One round of the churn benchmark on groups first..first+groups-1, which `populate`
// created (2 pods each, one Service): waits until each is active on member a, fails each
// over (a's pod NotReady) and waits until b is active, deletes the groups and waits until
// the operator let them go (its finalizer removed, the object gone), then deletes their
// pods and Services. Prints the counts of each step and its duration.
int ChurnRound(int argc, char** argv) {
  ClusterFlags c;
  int first = 0, groups = 100, threads = 16, timeout_s = 300;
  std::string node_ip = "10.199.0.1";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--first", &first, 0);
  f.Int("--groups", &groups, 1);
  f.Int("--threads", &threads, 1);
  f.Int("--timeout", &timeout_s, 1);
  f.String("--node-ip", &node_ip);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench churn-round", Usage)) return *rc;
  auto client = Connect(c.kubeconfig, "fo-bench-driver");
  auto watch_client = Connect(c.kubeconfig, "fo-bench-watcher");
  const std::string& ns = c.ns;
  const auto timeout = seconds(timeout_s);
  std::vector<std::string> names;
  for (int i = 0; i < groups; ++i) names.push_back(GroupName(first + i));
  Watcher w(watch_client, ns);
  if (!w.Start(seconds(120))) {
    std::fprintf(stderr, "churn: the watches did not list within 120 s\n");
    return 1;
  }
  Expect e;
  e.peer = false;
  e.floor = false;
  auto count = [&](const std::function<bool(const Watcher&, const std::string&)>& done) {
    return w.With([&](Watcher& ww) {
      int n = 0;
      for (const auto& g : names) n += done(ww, g) ? 1 : 0;
      return n;
    });
  };
  auto wait_all = [&](const std::function<bool(const Watcher&, const std::string&)>& done) {
    w.WaitFor(timeout, [&](const Watcher& ww) {
      for (const auto& g : names) {
        if (!done(ww, g)) return false;
      }
      return true;
    });
    return count(done);
  };
  json out = {{"first", first}, {"groups", groups}};
  std::vector<std::string> errors;
  auto note = [&](const std::vector<std::string>& errs) {
    for (const auto& err : errs) {
      std::fprintf(stderr, "churn: %s\n", err.c_str());
      if (errors.size() < 10) errors.push_back(err);
    }
  };

  // 1. Each group active on member a.
  auto t = Clock::now();
  out["active"] = wait_all([&](const Watcher& ww, const std::string& g) { return Settled(ww, g, "a", e); });
  out["active_seconds"] = Ms(Clock::now() - t) / 1000;

  // 2. Fail each over: a's pod NotReady, then b serves and holds the role.
  t = Clock::now();
  note(ParallelFor(groups, threads, [&](int i) {
    return SetReady(*client, w, ns, PodName(names[i], "a", 0), false, node_ip);
  }));
  out["failed_over"] = wait_all([&](const Watcher& ww, const std::string& g) {
    const auto* svc = ww.Service(g);
    const auto* p = ww.Pod(PodName(g, "b", 0));
    return svc != nullptr && svc->member == "b" && p != nullptr && p->role == "active";
  });
  out["failover_seconds"] = Ms(Clock::now() - t) / 1000;

  // 3. Delete the groups; the operator releases each (finalizer) and forgets it.
  t = Clock::now();
  note(ParallelFor(groups, threads, [&](int i) {
    auto r = client->Delete(kube::resources::kFailoverGroups, ns, names[i]);
    return r.ok() || r.status().IsNotFound() ? kube::Status::OK() : r.status();
  }));
  std::set<std::string> mine(names.begin(), names.end());
  int remaining = groups;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto list = client->ListAll(kube::resources::kFailoverGroups, ns);
    if (list.ok()) {
      remaining = 0;
      for (const auto& item : (*list)["items"]) remaining += mine.count(item["metadata"].value("name", "")) ? 1 : 0;
      if (remaining == 0) break;
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
  out["forgotten"] = groups - remaining;
  out["forget_seconds"] = Ms(Clock::now() - t) / 1000;

  // 4. Their pods and Services.
  t = Clock::now();
  kube::DeleteOptions now;
  now.grace_period_seconds = 0;
  note(ParallelFor(groups, threads, [&](int i) -> kube::Status {
    for (const char* m : {"a", "b"}) {
      auto r = client->Delete(kube::resources::kPods, ns, PodName(names[i], m, 0), now);
      if (!r.ok() && !r.status().IsNotFound()) return r.status();
    }
    auto r = client->Delete(kube::resources::kServices, ns, names[i]);
    return r.ok() || r.status().IsNotFound() ? kube::Status::OK() : r.status();
  }));
  out["objects_deleted"] = wait_all([&](const Watcher& ww, const std::string& g) {
    return ww.Service(g) == nullptr && ww.Pod(PodName(g, "a", 0)) == nullptr && ww.Pod(PodName(g, "b", 0)) == nullptr;
  });
  out["delete_objects_seconds"] = Ms(Clock::now() - t) / 1000;
  out["errors"] = errors;
  w.Stop();
  std::printf("%s\n", out.dump().c_str());
  const bool complete = out["active"] == groups && out["failed_over"] == groups && out["forgotten"] == groups &&
                        out["objects_deleted"] == groups;
  if (!complete) std::fprintf(stderr, "churn: incomplete round: %s\n", out.dump().c_str());
  return complete && errors.empty() ? 0 : 1;
}

int Audit(int argc, char** argv) {
  std::string log, since_text, until_text, user_list;
  base::FlagSet f;
  f.String("--log", &log);
  f.String("--since", &since_text);
  f.String("--until", &until_text);
  f.String("--users", &user_list);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench audit", Usage)) return *rc;
  std::ifstream in(log);
  if (!in) {
    std::fprintf(stderr, "audit: cannot read %s\n", log.c_str());
    return 1;
  }
  const int64_t since = ParseRfc3339Micros(since_text);
  const int64_t until = ParseRfc3339Micros(until_text);
  std::set<std::string> users;
  std::stringstream ss(user_list);
  for (std::string u; std::getline(ss, u, ',');) users.insert(u);
  static const std::set<std::string> kWrites = {"create", "update", "patch", "delete", "deletecollection"};
  json out = json::object();
  for (const auto& u : users) out[u] = {{"requests", 0}, {"writes", 0}, {"watches", 0}, {"by", json::object()}};
  std::set<std::string> seen_ids;
  for (std::string line; std::getline(in, line);) {
    json ev = json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.contains("user")) continue;
    std::string user = ev["user"].value("username", "");
    if (!users.count(user)) continue;
    int64_t t = ParseRfc3339Micros(ev.value("requestReceivedTimestamp", ""));
    if (t < since || t > until) continue;
    if (!seen_ids.insert(ev.value("auditID", "")).second) continue;
    std::string verb = ev.value("verb", "");
    std::string resource;
    if (ev.contains("objectRef")) {
      resource = ev["objectRef"].value("resource", "");
      if (ev["objectRef"].contains("subresource")) resource += "/" + ev["objectRef"].value("subresource", "");
    }
    auto& u = out[user];
    u["requests"] = u["requests"].get<int>() + 1;
    if (kWrites.count(verb)) u["writes"] = u["writes"].get<int>() + 1;
    if (verb == "watch") u["watches"] = u["watches"].get<int>() + 1;
    std::string key = verb + " " + resource;
    u["by"][key] = u["by"].value(key, 0) + 1;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}


// A takeover (issue 16 item 4): the leading replica (--kill-pid) is killed with SIGKILL,
// and --fail-after-ms later group G's active member's pods turn unready, while the dead
// leader still holds the lease. The time from the kill to the traffic moving (the Service
// names the standby, whose pod is eligible) is what a user waits for; the target is
// within the lease duration + 5 s. The watcher lists the namespace before the kill, so
// its list costs nothing.
int Takeover(int argc, char** argv) {
  ClusterFlags c;
  int group = 0, kill_pid = 0, fail_after_ms = 1000, timeout_s = 120;
  std::string node_ip = "10.199.0.1";
  base::FlagSet f;
  c.Declare(f);
  f.Int("--group", &group, 0);
  f.Int("--kill-pid", &kill_pid, 1);
  f.Int("--fail-after-ms", &fail_after_ms, 0);
  f.Int("--timeout", &timeout_s, 1);
  f.String("--node-ip", &node_ip);
  if (auto rc = ReadFlags(f, argc, argv, 2, "fo-bench takeover", Usage)) return *rc;
  if (kill_pid <= 1) {
    std::fprintf(stderr, "takeover: --kill-pid names the leading replica's process\n");
    return 2;
  }
  auto client = Connect(c.kubeconfig, "fo-bench-driver");
  auto watch_client = Connect(c.kubeconfig, "fo-bench-watcher");
  const std::string& ns = c.ns;
  const std::string g = GroupName(group);
  Watcher w(watch_client, ns);
  if (!w.Start(seconds(600))) {
    std::fprintf(stderr, "takeover: the watches did not list within 600 s\n");
    return 1;
  }
  const std::string from = w.With([&](Watcher& ww) {
    const auto* svc = ww.Service(g);
    return svc == nullptr ? std::string() : svc->member;
  });
  Expect e;
  e.peer = e.floor = false;
  if (from.empty() || !w.WaitFor(seconds(30), [&](const Watcher& ww) { return Settled(ww, g, from, e); })) {
    std::fprintf(stderr, "takeover: group %s is not settled (Service member '%s')\n", g.c_str(), from.c_str());
    return 1;
  }
  Sample s = NewSample(g, from);
  const auto wall_kill = std::chrono::system_clock::now();
  const auto t_kill = Clock::now();
  if (::kill(static_cast<pid_t>(kill_pid), SIGKILL) != 0) {
    std::fprintf(stderr, "takeover: kill %d: %s\n", kill_pid, std::strerror(errno));
    return 1;
  }
  std::this_thread::sleep_for(milliseconds(fail_after_ms));
  // Every pod of the active member (a scale group's has two, and minReady 1), its pod 0
  // last: the member is down once pod 0 is, the moment the samples are timed from.
  std::vector<std::string> member_pods;
  w.With([&](Watcher& ww) {
    for (int i = 0; ww.Pod(PodName(g, from, i)) != nullptr; ++i) member_pods.push_back(PodName(g, from, i));
    return 0;
  });
  for (auto it = member_pods.rbegin(); it != member_pods.rend(); ++it) {
    auto st = SetReady(*client, w, ns, *it, false, node_ip);
    if (!st.ok()) {
      std::fprintf(stderr, "takeover: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  w.WaitFor(seconds(timeout_s), [&](const Watcher& ww) {
    Observe(ww, s);
    return s.op.has_value();
  });
  w.With([&](Watcher& ww) { Observe(ww, s); return 0; });
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };
  json out = {{"group", g},
              {"from", s.from},
              {"to", s.to},
              {"killed_at", WallTimeRfc3339(wall_kill)},
              {"fail_after_ms", fail_after_ms},
              {"unready_seen_ms", s.seen ? json(r3(Ms(s.t0 - t_kill))) : json()},
              {"traffic_moved_ms", s.seen && s.op ? json(r3(Ms(s.t0 - t_kill) + *s.op)) : json()},
              {"roles_done_ms", s.seen && s.op_role ? json(r3(Ms(s.t0 - t_kill) + *s.op_role)) : json()},
              {"after_unready_ms", s.op ? json(r3(*s.op)) : json()}};
  std::printf("%s\n", out.dump().c_str());
  w.Stop();
  return s.op ? 0 : 1;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  if (argc < 2) {
    bench::Usage();
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "populate") return bench::Populate(argc, argv);
  if (cmd == "latency") return bench::Latency(argc, argv);
  if (cmd == "storm") return bench::Storm(argc, argv, false);
  if (cmd == "make-ready") return bench::Storm(argc, argv, true);
  if (cmd == "blast") return bench::Blast(argc, argv);
  if (cmd == "wait-synced") return bench::WaitSynced(argc, argv);
  if (cmd == "audit") return bench::Audit(argc, argv);
  if (cmd == "churn-round") return bench::ChurnRound(argc, argv);
  if (cmd == "takeover") return bench::Takeover(argc, argv);
  if (cmd == "--help" || cmd == "-h") {
    bench::Usage();
    return 0;
  }
  std::fprintf(stderr, "fo-bench: unknown subcommand %s\n", cmd.c_str());
  bench::Usage();
  return 2;
}
