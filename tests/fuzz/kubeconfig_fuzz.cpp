// The kubeconfig parser on any text: it returns a config or a kConfigError, never crashes.
// A parsed config always names a server.
#include <string>
#include <string_view>

#include "common.h"
#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // File references are read as they would be for a user; device and kernel files
  // (an endless /dev/zero) are not the parser's business, so such inputs are skipped.
  for (std::string_view skip : {"/dev", "/proc", "/sys"}) {
    if (text.find(skip) != std::string::npos) return 0;
  }
  auto cfg = kube::ParseKubeconfig(text, "/nonexistent-fuzz-dir/kubeconfig");
  if (cfg.ok()) {
    fuzz::Check(!cfg->server.empty(), "a parsed kubeconfig without a server");
  } else {
    fuzz::Check(cfg.status().reason() == kube::Reason::kConfigError,
                "a bad kubeconfig gave a reason other than kConfigError");
  }
  // An explicit context exercises the lookup path as well.
  (void)kube::ParseKubeconfig(text, "/nonexistent-fuzz-dir/kubeconfig", "fuzz");
  return 0;
}
