#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace kube {

// Why a call failed. API reasons mirror metav1.StatusReason; the transport ones never
// come from the apiserver (the request did not complete).
enum class Reason {
  kOk,
  // API (from a Kubernetes Status body or the HTTP code)
  kNotFound,
  kAlreadyExists,
  kConflict,
  kExpired,  // 410 Gone / "Expired": a watch or list resourceVersion too old: re-list
  kForbidden,
  kUnauthorized,
  kInvalid,  // 422 with field causes
  kBadRequest,
  kMethodNotAllowed,
  kNotAcceptable,
  kUnsupportedMediaType,
  kTooManyRequests,  // 429, see retry_after
  kServerTimeout,
  kTimeout,  // 504 / reason Timeout
  kInternalError,
  kServiceUnavailable,
  kUnknown,  // any other non-2xx
  // Transport and client-side
  kConnectionFailed,
  kTlsError,
  kRequestTimeout,  // no answer within the client's per-request timeout
  kStalled,         // a watch stream delivered nothing for too long
  kCancelled,
  kBadResponse,  // the server answered something that is not what the API promises
  kConfigError,  // a kubeconfig / in-cluster config problem
  kInvalidArgument,  // a caller's mistake caught before any request
};

// One field-level cause of an Invalid error (metav1.StatusCause).
struct Cause {
  std::string type;     // e.g. FieldValueRequired
  std::string message;  // e.g. Required value
  std::string field;    // e.g. spec.members[0].name
};

// The outcome of an operation: OK, or a failure with a reason, the HTTP code (0 when
// no HTTP answer arrived) and a message naming what went wrong.
class Status {
 public:
  Status() = default;
  Status(Reason reason, std::string message, int code = 0)
      : reason_(reason), message_(std::move(message)), code_(code) {}

  static Status OK() { return Status(); }

  // Decodes a non-2xx response: a metav1.Status body when there is one, otherwise
  // the HTTP code alone decides. retry_after_header is the Retry-After value or empty.
  static Status FromHttp(int http_code, const std::string& body,
                         const std::string& retry_after_header = "");
  // Decodes a metav1.Status object (from a body or a watch ERROR event).
  static Status FromStatusObject(const nlohmann::json& status, int fallback_code = 0);

  bool ok() const { return reason_ == Reason::kOk; }
  Reason reason() const { return reason_; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<Cause>& causes() const { return causes_; }
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

  // True for failures that never reached a complete HTTP answer.
  bool IsTransport() const;
  bool IsNotFound() const { return reason_ == Reason::kNotFound; }
  bool IsConflict() const { return reason_ == Reason::kConflict; }
  bool IsAlreadyExists() const { return reason_ == Reason::kAlreadyExists; }
  bool IsExpired() const { return reason_ == Reason::kExpired; }
  bool IsForbidden() const { return reason_ == Reason::kForbidden; }
  bool IsUnauthorized() const { return reason_ == Reason::kUnauthorized; }
  bool IsInvalid() const { return reason_ == Reason::kInvalid; }
  // Worth retrying the same request later (429, 5xx, timeouts, connection failures).
  bool IsRetryable() const;

  Status& WithCauses(std::vector<Cause> c) { causes_ = std::move(c); return *this; }
  Status& WithRetryAfter(std::chrono::seconds s) { retry_after_ = s; return *this; }
  // Prefixes the message with context ("get pods/ns/name: ...").
  Status& Annotate(const std::string& context);

  // "Conflict (409): <message>; causes: field: message".
  std::string ToString() const;

 private:
  Reason reason_ = Reason::kOk;
  std::string message_;
  int code_ = 0;
  std::vector<Cause> causes_;
  std::optional<std::chrono::seconds> retry_after_;
};

const char* ReasonName(Reason r);

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The failure; Status::OK() when there is a value.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kube
