// failover-loadgen: sends GET /?format=text to HOST:PORT continuously (a new connection
// per request, 1 s timeout) and writes one line per request until SIGTERM:
//   <unix-ms-sent> <latency-ms> <ok|fail> <pod or error>
//   failover-loadgen --target HOST:PORT --out FILE [--interval-ms 10]
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <httplib.h>

namespace {
std::atomic<bool> g_stop{false};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::string target, out;
  int interval_ms = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--target") target = argv[i + 1];
    else if (a == "--out") out = argv[i + 1];
    else if (a == "--interval-ms") interval_ms = std::atoi(argv[i + 1]);
  }
  auto colon = target.rfind(':');
  if (colon == std::string::npos || out.empty()) {
    std::fprintf(stderr, "usage: failover-loadgen --target HOST:PORT --out FILE [--interval-ms N]\n");
    return 2;
  }
  std::string host = target.substr(0, colon);
  int port = std::atoi(target.c_str() + colon + 1);
  std::FILE* f = std::fopen(out.c_str(), "w");
  if (f == nullptr) return 2;
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  while (!g_stop) {
    int64_t sent = NowMs();
    httplib::Client cli(host, port);
    cli.set_connection_timeout(1, 0);
    cli.set_read_timeout(1, 0);
    auto res = cli.Get("/?format=text");
    int64_t latency = NowMs() - sent;
    if (res && res->status == 200) {
      std::string body = res->body;
      std::string pod = "?";
      if (auto p = body.find("pod="); p != std::string::npos) {
        pod = body.substr(p + 4, body.find(' ', p) - p - 4);
      }
      std::fprintf(f, "%lld %lld ok %s\n", static_cast<long long>(sent),
                   static_cast<long long>(latency), pod.c_str());
    } else {
      std::string why = res ? "http-" + std::to_string(res->status) : httplib::to_string(res.error());
      for (char& c : why) c = c == ' ' ? '-' : c;
      std::fprintf(f, "%lld %lld fail %s\n", static_cast<long long>(sent),
                   static_cast<long long>(latency), why.c_str());
    }
    std::fflush(f);
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  std::fclose(f);
  return 0;
}
