#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "kube/client.h"
#include "kube/client_impl.h"

// Request building and response decoding: query strings, patch content types, JSON
// answers and their errors, the apiserver's Warning headers.

namespace kube {
namespace internal {

void ReportWarnings(const httplib::Response& res) {
  size_t n = res.get_header_value_count("Warning");
  if (n == 0) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    for (auto& text : ParseWarningHeader(res.get_header_value("Warning", i))) {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() < 1000 && seen.insert(text).second) {
        std::fprintf(stderr, "warning: kube-apiserver: %s\n", text.c_str());
      }
    }
  }
}

const char* PatchContentType(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

Result<json> ParseJson(const std::string& body, const std::string& what) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status(Reason::kBadResponse, what + ": the answer is not JSON: " + body.substr(0, 200));
  }
  return doc;
}

Result<json> RestClient::JsonCall(const std::string& verb, const std::string& method,
                                  const std::string& resource, const std::string& path,
                                  const std::string* body, const std::string& content_type,
                                  const std::string& what, const RequestDeadline& deadline) {
  auto answer = Call(verb, method, resource, path, body, content_type, deadline);
  if (!answer.ok()) return answer.status().Annotate(what);
  if (answer->code < 200 || answer->code >= 300) {
    return Status::FromHttp(answer->code, answer->body, answer->retry_after).Annotate(what);
  }
  return ParseJson(answer->body, what);
}

}  // namespace internal

namespace {

char HexDigit(unsigned v) { return static_cast<char>(v < 10 ? '0' + v : 'A' + v - 10); }

void PercentEncode(std::string_view s, std::string& out) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(HexDigit(c >> 4));
      out.push_back(HexDigit(c & 15));
    }
  }
}

}  // namespace

std::vector<std::string> ParseWarningHeader(const std::string& value) {
  std::vector<std::string> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
  };
  while (i < value.size()) {
    skip_space();
    size_t start = i;
    // warn-code SP warn-agent SP quoted-text [SP warn-date], comma-separated.
    size_t code_end = value.find(' ', i);
    size_t agent_end = code_end == std::string::npos ? code_end : value.find(' ', code_end + 1);
    if (agent_end == std::string::npos || agent_end + 1 >= value.size() ||
        value[agent_end + 1] != '"') {
      std::string rest = value.substr(start);
      if (!rest.empty()) out.push_back(rest);
      break;
    }
    i = agent_end + 2;
    std::string text;
    bool closed = false;
    while (i < value.size()) {
      char c = value[i++];
      if (c == '\\' && i < value.size()) {
        text += value[i++];
      } else if (c == '"') {
        closed = true;
        break;
      } else {
        text += c;
      }
    }
    if (!closed) {
      out.push_back(value.substr(start));
      break;
    }
    out.push_back(text);
    // An optional quoted date, then a comma before the next warning.
    size_t comma = value.find(',', i);
    size_t quote = value.find('"', i);
    if (quote != std::string::npos && (comma == std::string::npos || quote < comma)) {
      size_t end = value.find('"', quote + 1);
      comma = end == std::string::npos ? std::string::npos : value.find(',', end);
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return out;
}

std::string QueryString(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out.push_back(out.empty() ? '?' : '&');
    PercentEncode(k, out);
    out.push_back('=');
    PercentEncode(v, out);
  }
  return out;
}

}  // namespace kube
