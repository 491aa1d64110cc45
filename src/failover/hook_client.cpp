#include "failover/hook_client.h"

#include <algorithm>

#include <httplib.h>

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
  HookOutcome out;
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
  const std::string payload = body.dump();
  auto backoff = options_.backoff_initial;
  for (int attempt = 0; attempt <= std::max(0, hook.retries); ++attempt) {
    if (attempt > 0) {
      options_.env->SleepFor(backoff);
      backoff = std::min(options_.backoff_max, backoff * 2);
    }
    ++out.attempts;
    httplib::Client cli(base);
    if (!cli.is_valid()) {
      out.message = "cannot call " + hook.url;
      break;
    }
    SetTimeouts(cli, hook.timeout);
    auto res = cli.Post(path, payload, "application/json");
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
                       base::Env* env)
    : client_(client), pool_(pool), on_done_(std::move(on_done)), keep_(keep), env_(env) {}

HookRunner::~HookRunner() { Stop(); }

void HookRunner::Stop() { scope_.Close(); }

HookRunner::State HookRunner::Run(const std::string& key, const std::string& group_key,
                                  const CallHook& call, const nlohmann::json& body, HookOutcome* outcome) {
  {
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
    if (it != entries_.end()) {
      if (outcome) *outcome = it->second.outcome;
      return it->second.state;
    }
    entries_[key] = Entry{};
  }
  const bool queued = !scope_.closed() &&
                      pool_->Submit(scope_.Wrap([this, key, group_key, hook = call.hook, body] {
                        Call(key, group_key, hook, body);
                      }));
  if (!queued) {
    // Shutting down: nothing will run the call; the next Run (after a restart) asks again.
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(key);
  }
  return State::kPending;
}

void HookRunner::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.state != State::kPending) entries_.erase(it);
}

void HookRunner::Call(const std::string& key, const std::string& group_key, const Hook& hook,
                      const nlohmann::json& body) {
  HookOutcome out = client_->Call(hook, body);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[key];
    e.state = out.ok ? State::kSucceeded : State::kFailed;
    e.outcome = out;
    e.finished = env_->Now();
  }
  if (on_done_ && !scope_.closed()) on_done_(group_key);
}

}  // namespace failover
