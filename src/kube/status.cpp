#include "kube/status.h"

#include <cstdlib>
#include <string_view>

namespace kube {
namespace {

struct ReasonEntry {
  Reason reason;
  const char* name;
};

constexpr ReasonEntry kReasonNames[] = {
    {Reason::kOk, "OK"},
    {Reason::kNotFound, "NotFound"},
    {Reason::kAlreadyExists, "AlreadyExists"},
    {Reason::kConflict, "Conflict"},
    {Reason::kExpired, "Expired"},
    {Reason::kForbidden, "Forbidden"},
    {Reason::kUnauthorized, "Unauthorized"},
    {Reason::kInvalid, "Invalid"},
    {Reason::kBadRequest, "BadRequest"},
    {Reason::kMethodNotAllowed, "MethodNotAllowed"},
    {Reason::kNotAcceptable, "NotAcceptable"},
    {Reason::kUnsupportedMediaType, "UnsupportedMediaType"},
    {Reason::kTooManyRequests, "TooManyRequests"},
    {Reason::kServerTimeout, "ServerTimeout"},
    {Reason::kTimeout, "Timeout"},
    {Reason::kInternalError, "InternalError"},
    {Reason::kServiceUnavailable, "ServiceUnavailable"},
    {Reason::kUnknown, "Unknown"},
    {Reason::kConnectionFailed, "ConnectionFailed"},
    {Reason::kTlsError, "TlsError"},
    {Reason::kRequestTimeout, "RequestTimeout"},
    {Reason::kStalled, "Stalled"},
    {Reason::kCancelled, "Cancelled"},
    {Reason::kBadResponse, "BadResponse"},
    {Reason::kConfigError, "ConfigError"},
    {Reason::kInvalidArgument, "InvalidArgument"},
};

// metav1.StatusReason strings the apiserver sends.
std::optional<Reason> ReasonFromApi(std::string_view s) {
  if (s == "NotFound") return Reason::kNotFound;
  if (s == "AlreadyExists") return Reason::kAlreadyExists;
  if (s == "Conflict") return Reason::kConflict;
  if (s == "Gone" || s == "Expired") return Reason::kExpired;
  if (s == "Forbidden") return Reason::kForbidden;
  if (s == "Unauthorized") return Reason::kUnauthorized;
  if (s == "Invalid") return Reason::kInvalid;
  if (s == "BadRequest") return Reason::kBadRequest;
  if (s == "MethodNotAllowed") return Reason::kMethodNotAllowed;
  if (s == "NotAcceptable") return Reason::kNotAcceptable;
  if (s == "UnsupportedMediaType") return Reason::kUnsupportedMediaType;
  if (s == "TooManyRequests") return Reason::kTooManyRequests;
  if (s == "ServerTimeout") return Reason::kServerTimeout;
  if (s == "Timeout") return Reason::kTimeout;
  if (s == "InternalError") return Reason::kInternalError;
  if (s == "ServiceUnavailable") return Reason::kServiceUnavailable;
  return std::nullopt;
}

Reason ReasonFromCode(int code) {
  switch (code) {
    case 400: return Reason::kBadRequest;
    case 401: return Reason::kUnauthorized;
    case 403: return Reason::kForbidden;
    case 404: return Reason::kNotFound;
    case 405: return Reason::kMethodNotAllowed;
    case 406: return Reason::kNotAcceptable;
    case 409: return Reason::kConflict;
    case 410: return Reason::kExpired;
    case 415: return Reason::kUnsupportedMediaType;
    case 422: return Reason::kInvalid;
    case 429: return Reason::kTooManyRequests;
    case 500: return Reason::kInternalError;
    case 503: return Reason::kServiceUnavailable;
    case 504: return Reason::kTimeout;
    default: return Reason::kUnknown;
  }
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& v) {
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || n < 0) return std::nullopt;
  return std::chrono::seconds(n);
}

std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

const char* ReasonName(Reason r) {
  for (const auto& e : kReasonNames) {
    if (e.reason == r) return e.name;
  }
  return "Unknown";
}

Status Status::FromStatusObject(const nlohmann::json& status, int fallback_code) {
  if (!status.is_object()) {
    return Status(ReasonFromCode(fallback_code), "error without a Status object", fallback_code);
  }
  int code = fallback_code;
  if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
    code = it->get<int>();
  }
  std::optional<Reason> reason = ReasonFromApi(StringField(status, "reason"));
  Reason r = reason ? *reason : ReasonFromCode(code);
  std::string message = StringField(status, "message");
  if (message.empty()) message = StringField(status, "reason");
  if (message.empty()) message = "HTTP " + std::to_string(code);
  Status s(r, std::move(message), code);
  if (auto d = status.find("details"); d != status.end() && d->is_object()) {
    if (auto c = d->find("causes"); c != d->end() && c->is_array()) {
      std::vector<Cause> causes;
      for (const auto& item : *c) {
        if (!item.is_object()) continue;
        causes.push_back(Cause{StringField(item, "reason"), StringField(item, "message"),
                               StringField(item, "field")});
      }
      s.WithCauses(std::move(causes));
    }
    if (auto ra = d->find("retryAfterSeconds"); ra != d->end() && ra->is_number_integer()) {
      s.WithRetryAfter(std::chrono::seconds(ra->get<int64_t>()));
    }
  }
  return s;
}

Status Status::FromHttp(int http_code, const std::string& body,
                        const std::string& retry_after_header) {
  Status s;
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && StringField(parsed, "kind") == "Status") {
    s = FromStatusObject(parsed, http_code);
    // The HTTP code is what the server actually answered.
    s.code_ = http_code;
    if (s.reason_ == Reason::kUnknown) s.reason_ = ReasonFromCode(http_code);
  } else {
    std::string message = body.size() > 512 ? body.substr(0, 512) + "..." : body;
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.pop_back();
    }
    if (message.empty()) message = "HTTP " + std::to_string(http_code);
    s = Status(ReasonFromCode(http_code), std::move(message), http_code);
  }
  if (s.reason_ == Reason::kOk) s.reason_ = Reason::kUnknown;
  if (auto ra = ParseRetryAfter(retry_after_header)) s.retry_after_ = ra;
  return s;
}

bool Status::IsTransport() const {
  switch (reason_) {
    case Reason::kConnectionFailed:
    case Reason::kTlsError:
    case Reason::kRequestTimeout:
    case Reason::kStalled:
    case Reason::kCancelled:
      return true;
    default:
      return false;
  }
}

bool Status::IsRetryable() const {
  switch (reason_) {
    case Reason::kTooManyRequests:
    case Reason::kServerTimeout:
    case Reason::kTimeout:
    case Reason::kInternalError:
    case Reason::kServiceUnavailable:
    case Reason::kConnectionFailed:
    case Reason::kRequestTimeout:
    case Reason::kStalled:
      return true;
    case Reason::kUnknown:
      return code_ >= 500;
    default:
      return false;
  }
}

Status& Status::Annotate(const std::string& context) {
  if (!context.empty()) message_ = context + ": " + message_;
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = ReasonName(reason_);
  if (code_ != 0) out += " (" + std::to_string(code_) + ")";
  out += ": ";
  out += message_;
  if (!causes_.empty()) {
    out += "; causes:";
    bool first = true;
    for (const auto& c : causes_) {
      out += first ? " " : ", ";
      first = false;
      out += c.field.empty() ? c.type : c.field;
      out += ": ";
      out += c.message;
    }
  }
  if (retry_after_) out += "; retry after " + std::to_string(retry_after_->count()) + "s";
  return out;
}

}  // namespace kube
