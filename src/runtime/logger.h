#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"

namespace runtime {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kJson, kText };

// key=value pairs attached to a record ("namespace", "name", "reconcileID", ...).
using LogFields = std::vector<std::pair<std::string, nlohmann::json>>;

// Parses "debug|info|warn|error" / "json|text"; false when the word is unknown.
bool ParseLogLevel(const std::string& word, LogLevel* out);
bool ParseLogFormat(const std::string& word, LogFormat* out);

// Process-wide logging setup. The sink receives one complete line (no newline) per
// record; the default sink writes to stderr. Thread-safe.
void ConfigureLogging(LogFormat format, LogLevel level);
void SetLogSink(std::function<void(const std::string& line)> sink);  // nullptr = stderr
// The clock records are stamped with (its WallNow()): the process's (base::RealEnv())
// until set; main sets the one it hands to the rest. `env` outlives the logging.
void SetLogClock(base::Env& env);
LogLevel CurrentLogLevel();

// Replaces credential material (field names like token/key/password/secret, PEM
// blocks, "Bearer ..." values) by "[redacted]".
nlohmann::json RedactValue(const std::string& key, const nlohmann::json& value);

// Formats one record, stamped `at`, the way the sink will receive it.
std::string FormatLogRecord(LogFormat format, LogLevel level, const std::string& logger,
                            const std::string& msg, const LogFields& fields, base::Env::WallTime at);

// A named logger carrying fixed fields; cheap to copy. Each call emits one line.
class Logger {
 public:
  explicit Logger(std::string name = "", LogFields fields = {})
      : name_(std::move(name)), fields_(std::move(fields)) {}

  // A copy with more fixed fields.
  Logger WithValues(const LogFields& more) const;
  Logger WithName(const std::string& sub) const;

  void Debug(const std::string& msg, const LogFields& fields = {}) const;
  void Info(const std::string& msg, const LogFields& fields = {}) const;
  void Warn(const std::string& msg, const LogFields& fields = {}) const;
  void Error(const std::string& msg, const LogFields& fields = {}) const;
  void Log(LogLevel level, const std::string& msg, const LogFields& fields) const;
  bool Enabled(LogLevel level) const;

 private:
  std::string name_;
  LogFields fields_;
};

}  // namespace runtime
