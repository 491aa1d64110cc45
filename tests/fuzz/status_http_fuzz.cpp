// kube::Status::FromHttp on any code, body and Retry-After header: never OK for a
// non-2xx answer, the code kept, the message bounded, and ToString never crashes.
#include <string>

#include "common.h"
#include "kube/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  int code = 300 + in.Short() % 300;
  size_t header_len = in.Byte() % 24;
  std::string_view rest = in.Rest();
  header_len = std::min(header_len, rest.size());
  std::string retry_after(rest.substr(0, header_len));
  std::string body(rest.substr(header_len));

  kube::Status s = kube::Status::FromHttp(code, body, retry_after);
  fuzz::Check(!s.ok(), "a non-2xx answer decoded as OK");
  fuzz::Check(s.code() == code, "the HTTP code was not kept");
  if (auto ra = s.retry_after()) fuzz::Check(ra->count() >= 0, "negative Retry-After");
  (void)s.ToString();
  (void)s.IsRetryable();
  return 0;
}
