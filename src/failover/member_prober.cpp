#include "failover/member_prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <httplib.h>

namespace failover {
namespace {

bool TcpConnect(const std::string& ip, int port, std::chrono::milliseconds timeout) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  if (rc == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
      int err = 0;
      socklen_t elen = sizeof err;
      ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0;
    }
  }
  close(fd);
  return ok;
}

bool HttpGet(const HttpProbe& http, const std::string& ip, std::chrono::milliseconds timeout) {
  const bool v6 = ip.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + ip + "]" : ip;
  const std::string scheme = http.scheme == "HTTPS" ? "https" : "http";
  httplib::Client cli(scheme + "://" + host + ":" + std::to_string(http.port));
  if (!cli.is_valid()) return false;
  if (scheme == "https") cli.enable_server_certificate_verification(false);
  const auto sec = static_cast<time_t>(timeout.count() / 1000);
  const auto usec = static_cast<time_t>((timeout.count() % 1000) * 1000);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
  auto res = cli.Get(http.path.empty() ? "/" : http.path);
  return res && res->status >= 200 && res->status < 400;
}

}  // namespace

bool ProbeOnce(const Probe& probe, const std::string& ip) {
  if (ip.empty()) return false;
  if (probe.http) return HttpGet(*probe.http, ip, probe.timeout);
  if (probe.tcp) return TcpConnect(ip, probe.tcp->port, probe.timeout);
  return false;
}

MemberProber::MemberProber(runtime::WorkerPool* pool, std::function<void(const std::string&)> on_change,
                           base::Env* env, ProbeFunc probe, int per_group)
    : pool_(pool),
      on_change_(std::move(on_change)),
      env_(env),
      probe_(std::move(probe)),
      per_group_(static_cast<size_t>(std::max(0, per_group))) {
  scheduler_ = std::thread([this] { Scheduler(); });
}

MemberProber::~MemberProber() { Stop(); }

void MemberProber::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  sched_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  scope_.Close();
}

void MemberProber::SetTargets(const std::string& group_key, const std::optional<Probe>& probe,
                              const std::vector<Target>& targets) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!probe || targets.empty()) {
    groups_.erase(group_key);
    return;
  }
  GroupState& g = groups_[group_key];
  const bool probe_changed = g.probe.period != probe->period || g.probe.timeout != probe->timeout ||
                             g.probe.failure_threshold != probe->failure_threshold ||
                             g.probe.http.has_value() != probe->http.has_value() ||
                             (g.probe.http && (g.probe.http->port != probe->http->port ||
                                               g.probe.http->path != probe->http->path ||
                                               g.probe.http->scheme != probe->http->scheme)) ||
                             (g.probe.tcp && probe->tcp && g.probe.tcp->port != probe->tcp->port);
  g.probe = *probe;
  std::map<std::string, PodState> next;
  bool added = false;
  for (const auto& t : targets) {
    auto it = g.pods.find(t.uid);
    if (it != g.pods.end() && it->second.ip == t.ip && !probe_changed) {
      next[t.uid] = it->second;
      continue;
    }
    PodState s;
    s.ip = t.ip;
    s.next = env_->Now();
    s.generation = next_generation_++;
    next[t.uid] = s;
    added = true;
  }
  g.pods = std::move(next);
  if (added) sched_cv_.notify_all();
}

std::optional<bool> MemberProber::Verdict(const std::string& group_key, const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = groups_.find(group_key);
  if (g == groups_.end()) return std::nullopt;
  auto p = g->second.pods.find(uid);
  if (p == g->second.pods.end()) return std::nullopt;
  return p->second.verdict;
}

std::optional<bool> MemberProber::LastAttempt(const std::string& group_key, const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = groups_.find(group_key);
  if (g == groups_.end()) return std::nullopt;
  auto p = g->second.pods.find(uid);
  if (p == g->second.pods.end()) return std::nullopt;
  return p->second.last_ok;
}

void MemberProber::Scheduler() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = env_->Now();
    auto wake = now + std::chrono::seconds(1);
    for (auto& [gk, g] : groups_) {
      // The group's due pods, the longest overdue first.
      std::vector<std::pair<std::chrono::steady_clock::time_point, PodState*>> due;
      std::vector<const std::string*> uids;
      for (auto& [uid, p] : g.pods) {
        if (p.running) continue;
        if (p.next <= now) {
          due.push_back({p.next, &p});
          uids.push_back(&uid);
        } else {
          wake = std::min(wake, p.next);
        }
      }
      std::vector<size_t> order(due.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return due[a].first < due[b].first; });
      for (size_t i : order) {
        size_t& in_flight = in_flight_[gk];
        // At the group's bound: the rest wait for one of its probes to end (Finish wakes us).
        if (per_group_ > 0 && in_flight >= per_group_) break;
        PodState& p = *due[i].second;
        Job job{gk, *uids[i], p.ip, g.probe, p.generation};
        // Refused only while the pool stops: the pod stays not running, tried next round.
        if (!pool_->Submit(scope_.Wrap([this, job] { Finish(job, probe_(job.probe, job.ip)); }))) continue;
        ++in_flight;
        p.running = true;
        p.next = now + g.probe.period;
      }
      auto f = in_flight_.find(gk);
      if (f != in_flight_.end() && f->second == 0) in_flight_.erase(f);
    }
    env_->WaitUntil(lock, sched_cv_, wake);
  }
}

void MemberProber::Finish(const Job& job, bool ok) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto f = in_flight_.find(job.group_key); f != in_flight_.end() && --f->second == 0) in_flight_.erase(f);
    sched_cv_.notify_all();  // the group may start its next due probe
    auto g = groups_.find(job.group_key);
    if (g == groups_.end()) return;
    auto p = g->second.pods.find(job.uid);
    if (p == g->second.pods.end() || p->second.generation != job.generation) return;
    PodState& s = p->second;
    s.running = false;
    std::optional<bool> verdict = s.verdict;
    if (ok) {
      s.failures = 0;
      verdict = true;
    } else if (++s.failures >= std::max(1, job.probe.failure_threshold)) {
      verdict = false;
    }
    changed = verdict != s.verdict || s.last_ok != ok;
    s.verdict = verdict;
    s.last_ok = ok;
    sched_cv_.notify_all();
  }
  if (changed && on_change_) on_change_(job.group_key);
}

}  // namespace failover
