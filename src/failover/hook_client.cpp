#include "failover/hook_client.h"

#include <algorithm>

#include <httplib.h>

#include "runtime/logger.h"

namespace failover {
namespace {

// Splits "http://host:port/path?q" into "http://host:port" and "/path?q". Other schemes
// are refused here: httplib throws on them.
bool SplitUrl(const std::string& url, std::string* base, std::string* path) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  auto slash = url.find('/', scheme_end + 3);
  *base = slash == std::string::npos ? url : url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return base->size() > scheme_end + 3;
}

void SetTimeouts(httplib::Client& cli, std::chrono::milliseconds t) {
  const auto sec = static_cast<time_t>(t.count() / 1000);
  const auto usec = static_cast<time_t>((t.count() % 1000) * 1000);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
}

}  // namespace

std::string SwitchId(const std::string& group_uid, const std::string& to, const std::string& started_at) {
  return group_uid + "/" + to + "/" + started_at;
}

HookClient::HookClient() : HookClient(Options{}) {}
HookClient::HookClient(Options options) : options_(options) {}

bool HookClient::Admit(const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = breakers_.find(url);
  if (it == breakers_.end()) return true;
  Breaker& b = it->second;
  if (b.failures < options_.breaker_threshold) return true;
  if (options_.env->Now() < b.open_until || b.trial_running) return false;
  b.trial_running = true;  // half-open: one trial call
  return true;
}

void HookClient::Record(const std::string& url, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ok) {
    breakers_.erase(url);  // closed with no failure: the same as none
    return;
  }
  if (breakers_.size() >= next_sweep_) SweepLocked();
  Breaker& b = breakers_[url];
  b.trial_running = false;
  b.last_failure = options_.env->Now();
  if (++b.failures >= options_.breaker_threshold) {
    b.open_until = options_.env->Now() + options_.breaker_open;
  }
}

void HookClient::SweepLocked() {
  const auto now = options_.env->Now();
  for (auto it = breakers_.begin(); it != breakers_.end();) {
    const Breaker& b = it->second;
    if (!b.trial_running && now - b.last_failure > 10 * options_.breaker_open) {
      it = breakers_.erase(it);
    } else {
      ++it;
    }
  }
  next_sweep_ = std::max<size_t>(64, 2 * breakers_.size());
}

size_t HookClient::breakers() {
  std::lock_guard<std::mutex> lock(mu_);
  return breakers_.size();
}

HookOutcome HookClient::Call(const Hook& hook, const nlohmann::json& body) {
  HookCall call;
  call.body = body;
  return CallWith(hook, call);
}

HookOutcome HookClient::CallWith(const Hook& hook, const HookCall& call) {
  HookOutcome out;
  // Asked before each attempt; true = the call ends here, dropped.
  auto dropped = [&] {
    if (!call.stale) return false;
    const std::string why = call.stale();
    if (why.empty()) return false;
    const std::string last = out.message;
    out.dropped = true;
    out.message = "dropped before attempt " + std::to_string(out.attempts + 1) + ": " + why;
    if (!last.empty()) out.message += " (the last attempt: " + last + ")";
    return true;
  };
  if (dropped()) return out;
  if (!Admit(hook.url)) {
    out.message = "circuit breaker open for " + hook.url + " after repeated failures";
    return out;
  }
  std::string base, path;
  if (!SplitUrl(hook.url, &base, &path)) {
    out.message = "not an http(s) URL: " + hook.url;
    Record(hook.url, false);
    return out;
  }
  const std::string payload = call.body.dump();
  httplib::Headers headers;
  for (const auto& [k, v] : call.headers) headers.emplace(k, v);
  auto backoff = options_.backoff_initial;
  for (int attempt = 0; attempt <= std::max(0, hook.retries); ++attempt) {
    if (attempt > 0) {
      options_.env->SleepFor(backoff);
      backoff = std::min(options_.backoff_max, backoff * 2);
      if (dropped()) break;  // the attempts so far failed: recorded as such below
    }
    ++out.attempts;
    httplib::Client cli(base);
    if (!cli.is_valid()) {
      out.message = "cannot call " + hook.url;
      break;
    }
    SetTimeouts(cli, hook.timeout);
    auto res = cli.Post(path, headers, payload, "application/json");
    if (!res) {
      out.message = "POST " + hook.url + ": " + httplib::to_string(res.error()) + " (timeout " +
                    std::to_string(hook.timeout.count()) + "ms)";
      continue;
    }
    if (res->status >= 200 && res->status < 300) {
      out.ok = true;
      out.message.clear();
      break;
    }
    out.message = "POST " + hook.url + ": HTTP " + std::to_string(res->status);
  }
  Record(hook.url, out.ok);
  return out;
}

HookRunner::HookRunner(HookClient* client, runtime::WorkerPool* pool,
                       std::function<void(const std::string&)> on_done, std::chrono::milliseconds keep,
                       base::Env* env, int per_group, std::function<bool()> may_call)
    : client_(client),
      pool_(pool),
      on_done_(std::move(on_done)),
      keep_(keep),
      env_(env),
      per_group_(static_cast<size_t>(std::max(0, per_group))),
      may_call_(std::move(may_call)) {}

HookRunner::~HookRunner() { Stop(); }

void HookRunner::Stop() { scope_.Close(); }

HookRunner::State HookRunner::Run(const std::string& key, const std::string& group_key, const CallHook& call,
                                  const nlohmann::json& body, HookOutcome* outcome, const std::string& switch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = env_->Now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.state != State::kPending && now - it->second.finished > keep_) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.state != State::kDropped) {
    if (outcome) *outcome = it->second.outcome;
    return it->second.state;
  }
  entries_[key] = Entry{};
  auto job = scope_.Wrap([this, key, group_key, hook = call.hook, body, switch_id] {
    Call(key, group_key, hook, body, switch_id);
    Release(group_key);
  });
  if (scope_.closed() || !SubmitLocked(group_key, std::move(job))) {
    // Shutting down: nothing will run the call; the next Run (after a restart) asks again.
    entries_.erase(key);
  }
  return State::kPending;
}

bool HookRunner::SubmitLocked(const std::string& group_key, std::function<void()> job) {
  GroupCalls& g = groups_[group_key];
  if (per_group_ > 0 && g.in_flight >= per_group_) {
    g.waiting.push_back(std::move(job));
    return true;
  }
  if (!pool_->Submit(std::move(job))) {
    if (g.in_flight == 0 && g.waiting.empty()) groups_.erase(group_key);
    return false;
  }
  ++g.in_flight;
  return true;
}

void HookRunner::Release(const std::string& group_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(group_key);
  if (it == groups_.end()) return;
  GroupCalls& g = it->second;
  while (!g.waiting.empty()) {
    std::function<void()> next = std::move(g.waiting.front());
    g.waiting.pop_front();
    if (!scope_.closed() && pool_->Submit(std::move(next))) return;  // takes the ended call's place
  }
  if (--g.in_flight == 0) groups_.erase(it);
}

void HookRunner::SetCurrentSwitch(const std::string& group_key, const std::string& switch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (switch_id.empty()) {
    current_.erase(group_key);
  } else {
    current_[group_key] = switch_id;
  }
}

std::string HookRunner::Stale(const std::string& group_key, const std::string& switch_id) {
  if (may_call_ && !may_call_()) return "this process no longer leads";
  if (switch_id.empty()) return "";
  std::lock_guard<std::mutex> lock(mu_);
  auto it = current_.find(group_key);
  if (it == current_.end()) return "switch " + switch_id + " is no longer in progress (the group has none)";
  if (it->second != switch_id) {
    return "switch " + switch_id + " is no longer in progress (the group's switch is " + it->second + ")";
  }
  return "";
}

std::optional<HookRunner::State> HookRunner::Peek(const std::string& key, HookOutcome* outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (outcome) *outcome = it->second.outcome;
  return it->second.state;
}

size_t HookRunner::in_flight(const std::string& group_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(group_key);
  return it == groups_.end() ? 0 : it->second.in_flight;
}

size_t HookRunner::waiting(const std::string& group_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(group_key);
  return it == groups_.end() ? 0 : it->second.waiting.size();
}

void HookRunner::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.state != State::kPending) entries_.erase(it);
}

void HookRunner::Call(const std::string& key, const std::string& group_key, const Hook& hook,
                      const nlohmann::json& body, const std::string& switch_id) {
  HookCall call;
  call.body = body;
  if (!switch_id.empty()) call.headers[kSwitchIdHeader] = switch_id;
  call.stale = [this, group_key, switch_id] { return Stale(group_key, switch_id); };
  HookOutcome out = client_->CallWith(hook, call);
  if (out.dropped) {
    runtime::Logger("hooks").Info("hook call dropped, its switch is stale",
                                  {{"group", group_key}, {"url", hook.url}, {"reason", out.message}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[key];
    e.state = out.dropped ? State::kDropped : out.ok ? State::kSucceeded : State::kFailed;
    e.outcome = out;
    e.finished = env_->Now();
  }
  if (on_done_ && !scope_.closed()) on_done_(group_key);
}

}  // namespace failover
