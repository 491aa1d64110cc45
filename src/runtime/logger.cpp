#include "runtime/logger.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "base/rfc3339.h"

namespace runtime {
namespace {

struct LogState {
  std::mutex mu;
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  std::atomic<int> format{static_cast<int>(LogFormat::kJson)};
  std::function<void(const std::string&)> sink;
  std::atomic<base::Env*> clock{&base::RealEnv()};
};

LogState& State() {
  static LogState* state = new LogState();  // never destroyed: threads may log at exit
  return *state;
}

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool SecretKey(const std::string& key) {
  const std::string k = Lower(key);
  static const char* const kWords[] = {"token", "password", "secret", "authorization",
                                       "bearer", "privatekey", "private_key", "key_pem",
                                       "client_key", "clientkey", "client-key", "keydata",
                                       "key-data", "key_data", "credential", "apikey",
                                       "api_key"};
  for (const char* w : kWords) {
    if (k.find(w) != std::string::npos) return true;
  }
  return false;
}

bool SecretText(const std::string& v) {
  return v.find("-----BEGIN") != std::string::npos || v.find("Bearer ") != std::string::npos ||
         v.find("bearer ") != std::string::npos;
}

std::string Timestamp(base::Env::WallTime at) {
  return base::FormatRfc3339(std::chrono::floor<std::chrono::microseconds>(at), base::Fraction::kMicros);
}

std::string TextValue(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const bool plain = !s.empty() && std::none_of(s.begin(), s.end(), [](unsigned char c) {
      return c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f;
    });
    return plain ? s : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool ParseLogLevel(const std::string& word, LogLevel* out) {
  const std::string w = Lower(word);
  if (w == "debug") *out = LogLevel::kDebug;
  else if (w == "info") *out = LogLevel::kInfo;
  else if (w == "warn" || w == "warning") *out = LogLevel::kWarn;
  else if (w == "error") *out = LogLevel::kError;
  else return false;
  return true;
}

bool ParseLogFormat(const std::string& word, LogFormat* out) {
  const std::string w = Lower(word);
  if (w == "json") *out = LogFormat::kJson;
  else if (w == "text") *out = LogFormat::kText;
  else return false;
  return true;
}

void ConfigureLogging(LogFormat format, LogLevel level) {
  State().format.store(static_cast<int>(format));
  State().level.store(static_cast<int>(level));
}

void SetLogSink(std::function<void(const std::string& line)> sink) {
  std::lock_guard<std::mutex> lock(State().mu);
  State().sink = std::move(sink);
}

void SetLogClock(base::Env& env) { State().clock.store(&env); }

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(State().level.load()); }

nlohmann::json RedactValue(const std::string& key, const nlohmann::json& value) {
  if (SecretKey(key)) return "[redacted]";
  if (value.is_string() && SecretText(value.get_ref<const std::string&>())) return "[redacted]";
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) out[it.key()] = RedactValue(it.key(), *it);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(RedactValue("", v));
    return out;
  }
  return value;
}

std::string FormatLogRecord(LogFormat format, LogLevel level, const std::string& logger,
                            const std::string& msg, const LogFields& fields, base::Env::WallTime at) {
  const std::string safe_msg = SecretText(msg) ? "[redacted]" : msg;
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json rec;
    rec["ts"] = Timestamp(at);
    rec["level"] = LevelName(level);
    if (!logger.empty()) rec["logger"] = logger;
    rec["msg"] = safe_msg;
    for (const auto& [k, v] : fields) {
      if (k == "ts" || k == "level" || k == "logger" || k == "msg") continue;
      rec[k] = RedactValue(k, v);
    }
    return rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = Timestamp(at);
  line += ' ';
  line += LevelName(level);
  if (!logger.empty()) {
    line += ' ';
    line += logger;
  }
  line += ' ';
  line += TextValue(nlohmann::json(safe_msg));
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += TextValue(RedactValue(k, v));
  }
  return line;
}

Logger Logger::WithValues(const LogFields& more) const {
  LogFields f = fields_;
  f.insert(f.end(), more.begin(), more.end());
  return Logger(name_, std::move(f));
}

Logger Logger::WithName(const std::string& sub) const {
  return Logger(name_.empty() ? sub : name_ + "." + sub, fields_);
}

bool Logger::Enabled(LogLevel level) const {
  return static_cast<int>(level) >= State().level.load();
}

void Logger::Debug(const std::string& msg, const LogFields& fields) const { Log(LogLevel::kDebug, msg, fields); }
void Logger::Info(const std::string& msg, const LogFields& fields) const { Log(LogLevel::kInfo, msg, fields); }
void Logger::Warn(const std::string& msg, const LogFields& fields) const { Log(LogLevel::kWarn, msg, fields); }
void Logger::Error(const std::string& msg, const LogFields& fields) const { Log(LogLevel::kError, msg, fields); }

void Logger::Log(LogLevel level, const std::string& msg, const LogFields& fields) const {
  if (!Enabled(level)) return;
  LogFields all = fields_;
  all.insert(all.end(), fields.begin(), fields.end());
  LogState& s = State();
  const std::string line = FormatLogRecord(static_cast<LogFormat>(s.format.load()), level, name_, msg, all,
                                           s.clock.load()->WallNow());
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.sink) {
    s.sink(line);
  } else {
    std::fputs(line.c_str(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }
}

}  // namespace runtime
