// Watch stream splitting and event decoding: any bytes, cut at any chunk boundaries.
// Properties: the lines do not depend on where the chunks were cut; a decoded event has a
// known type and an object; nothing crashes on any input.
#include <string>
#include <string_view>
#include <vector>

#include "common.h"
#include "kube/client.h"

namespace {

std::vector<std::string> Split(std::string_view stream, const std::vector<size_t>& cuts,
                               size_t stop_after) {
  kube::EventSplitter splitter;
  std::vector<std::string> lines;
  size_t pos = 0;
  size_t cut = 0;
  auto on_line = [&](std::string_view line) {
    lines.emplace_back(line);
    // Early stops (a watch consumer returning false) must not lose or duplicate lines.
    return stop_after == 0 || lines.size() % stop_after != 0;
  };
  while (pos < stream.size()) {
    size_t n = cuts.empty() ? stream.size() : cuts[cut++ % cuts.size()];
    n = std::min(n, stream.size() - pos);
    splitter.Feed(stream.substr(pos, n), on_line);
    pos += n;
  }
  // Drain lines held back by an early stop.
  while (splitter.pending() > 0 && !splitter.Feed("", on_line)) {
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  std::vector<size_t> cuts;
  size_t ncuts = in.Byte() % 8;
  for (size_t i = 0; i < ncuts; ++i) cuts.push_back(1 + in.Byte() % 64);
  size_t stop_after = in.Byte() % 4;
  std::string_view stream = in.Rest();

  std::vector<std::string> whole = Split(stream, {}, 0);
  std::vector<std::string> chunked = Split(stream, cuts, stop_after);
  fuzz::Check(whole == chunked, "lines depend on chunk boundaries or early stops");

  for (const std::string& line : whole) {
    fuzz::Check(!line.empty() && line.find('\n') == std::string::npos,
                "splitter emitted an empty line or one holding a newline");
    auto ev = kube::DecodeWatchEvent(line);
    if (ev.ok()) {
      fuzz::Check(ev->object.is_object(), "decoded event without an object");
      std::string_view name = kube::WatchEventTypeName(ev->type);
      fuzz::Check(name != "UNKNOWN", "decoded event with an unknown type");
    } else {
      fuzz::Check(ev.status().reason() == kube::Reason::kBadResponse,
                  "a bad line gave a reason other than kBadResponse");
    }
  }
  return 0;
}
