#include <gtest/gtest.h>

#include "kube/status.h"

namespace kube {
namespace {

TEST(StatusTest, NotFoundFromRealBody) {
  const char* body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"configmaps \"x\" not found","reason":"NotFound",
    "details":{"name":"x","kind":"configmaps"},"code":404})";
  Status s = Status::FromHttp(404, body);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.code(), 404);
  EXPECT_EQ(s.message(), "configmaps \"x\" not found");
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_FALSE(s.IsTransport());
}

TEST(StatusTest, AlreadyExistsIsNotAPlainConflict) {
  const char* body = R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"configmaps \"x\" already exists","reason":"AlreadyExists","code":409})";
  Status s = Status::FromHttp(409, body);
  EXPECT_TRUE(s.IsAlreadyExists());
  EXPECT_FALSE(s.IsConflict());
  Status c = Status::FromHttp(409, R"({"kind":"Status","status":"Failure","reason":"Conflict",
    "message":"Operation cannot be fulfilled on configmaps \"x\": the object has been modified","code":409})");
  EXPECT_TRUE(c.IsConflict());
}

TEST(StatusTest, InvalidCarriesFieldCauses) {
  const char* body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"",
    "reason":"Invalid","details":{"name":"Bad_Name","kind":"ConfigMap","causes":[
      {"reason":"FieldValueInvalid","message":"Invalid value: \"Bad_Name\"","field":"metadata.name"},
      {"reason":"FieldValueRequired","message":"Required value","field":"data.x"}]},"code":422})";
  Status s = Status::FromHttp(422, body);
  ASSERT_TRUE(s.IsInvalid());
  ASSERT_EQ(s.causes().size(), 2u);
  EXPECT_EQ(s.causes()[0].type, "FieldValueInvalid");
  EXPECT_EQ(s.causes()[0].field, "metadata.name");
  EXPECT_EQ(s.causes()[1].message, "Required value");
  EXPECT_NE(s.ToString().find("metadata.name: Invalid value"), std::string::npos);
  EXPECT_EQ(s.ToString().rfind("Invalid (422): ", 0), 0u);
}

TEST(StatusTest, TooManyRequestsRetryAfterFromHeaderAndDetails) {
  const char* body = R"({"kind":"Status","status":"Failure","message":"too many requests",
    "reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429})";
  Status from_details = Status::FromHttp(429, body);
  EXPECT_EQ(from_details.reason(), Reason::kTooManyRequests);
  ASSERT_TRUE(from_details.retry_after().has_value());
  EXPECT_EQ(from_details.retry_after()->count(), 3);
  EXPECT_TRUE(from_details.IsRetryable());
  Status from_header = Status::FromHttp(429, body, "7");
  EXPECT_EQ(from_header.retry_after()->count(), 7);
  Status bad_header = Status::FromHttp(429, "", "soon");
  EXPECT_FALSE(bad_header.retry_after().has_value());
}

TEST(StatusTest, ExpiredFromWatchErrorObject) {
  nlohmann::json obj = nlohmann::json::parse(R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"too old resource version: 5 (27)","reason":"Expired","code":410})j");
  Status s = Status::FromStatusObject(obj);
  EXPECT_TRUE(s.IsExpired());
  EXPECT_EQ(s.code(), 410);
  Status gone = Status::FromStatusObject(nlohmann::json::parse(
      R"({"kind":"Status","status":"Failure","message":"gone","reason":"Gone","code":410})"));
  EXPECT_TRUE(gone.IsExpired());
  Status code_only = Status::FromStatusObject(nlohmann::json::parse(R"({"code":410})"));
  EXPECT_TRUE(code_only.IsExpired());
}

TEST(StatusTest, ForbiddenUnauthorizedAndServerErrors) {
  EXPECT_TRUE(Status::FromHttp(403, R"({"kind":"Status","status":"Failure","message":"configmaps is forbidden: User \"system:serviceaccount:a:b\" cannot list resource","reason":"Forbidden","code":403})").IsForbidden());
  EXPECT_TRUE(Status::FromHttp(401, R"({"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})").IsUnauthorized());
  Status timeout = Status::FromHttp(504, R"j({"kind":"Status","status":"Failure","message":"Timeout: request did not complete within 1m0s","reason":"Timeout","details":{},"code":504})j");
  EXPECT_EQ(timeout.reason(), Reason::kTimeout);
  EXPECT_TRUE(timeout.IsRetryable());
  Status internal = Status::FromHttp(500, R"({"kind":"Status","status":"Failure","message":"boom","reason":"InternalError","code":500})");
  EXPECT_EQ(internal.reason(), Reason::kInternalError);
  Status server_timeout = Status::FromHttp(500, R"({"kind":"Status","status":"Failure","message":"x","reason":"ServerTimeout","code":500})");
  EXPECT_EQ(server_timeout.reason(), Reason::kServerTimeout);
}

TEST(StatusTest, NonStatusBodiesFallBackToTheCode) {
  Status s = Status::FromHttp(503, "upstream connect error\n");
  EXPECT_EQ(s.reason(), Reason::kServiceUnavailable);
  EXPECT_EQ(s.message(), "upstream connect error");
  Status unknown = Status::FromHttp(418, "");
  EXPECT_EQ(unknown.reason(), Reason::kUnknown);
  EXPECT_EQ(unknown.message(), "HTTP 418");
  Status empty_reason = Status::FromHttp(404, R"({"kind":"Status","status":"Failure","message":"the server could not find the requested resource","code":404})");
  EXPECT_TRUE(empty_reason.IsNotFound());
  Status json_not_status = Status::FromHttp(400, R"({"error":"x"})");
  EXPECT_EQ(json_not_status.reason(), Reason::kBadRequest);
}

TEST(StatusTest, AnnotateAndTransport) {
  Status s(Reason::kConnectionFailed, "connection refused");
  s.Annotate("get pods ns/a");
  EXPECT_EQ(s.message(), "get pods ns/a: connection refused");
  EXPECT_TRUE(s.IsTransport());
  EXPECT_TRUE(s.IsRetryable());
  EXPECT_FALSE(Status(Reason::kTlsError, "x").IsRetryable());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  EXPECT_STREQ(ReasonName(Reason::kExpired), "Expired");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> v = 5;
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  EXPECT_TRUE(v.status().ok());
  Result<int> e = Status(Reason::kNotFound, "nope", 404);
  EXPECT_FALSE(e);
  EXPECT_TRUE(e.status().IsNotFound());
  Result<std::string> moved = std::string("abc");
  std::string out = std::move(moved).value();
  EXPECT_EQ(out, "abc");
}

}  // namespace
}  // namespace kube
