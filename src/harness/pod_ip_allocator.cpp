#include "harness/pod_ip_allocator.h"

#include <arpa/inet.h>

namespace harness {

std::optional<uint32_t> ParseIPv4(const std::string& text) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

std::string FormatIPv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

kube::Result<PodIPAllocator> PodIPAllocator::Create(const std::string& cidr,
                                                    const std::string& node_ip) {
  auto slash = cidr.find('/');
  auto bad = [&](const std::string& why) {
    return kube::Status(kube::Reason::kInvalidArgument,
                        "--pod-cidr " + cidr + ": " + why + " (want an IPv4 CIDR like 10.20.0.0/16)");
  };
  if (slash == std::string::npos) return bad("missing /prefix");
  auto base = ParseIPv4(cidr.substr(0, slash));
  if (!base) return bad("not an IPv4 address");
  int prefix = -1;
  try {
    size_t used = 0;
    prefix = std::stoi(cidr.substr(slash + 1), &used);
    if (used != cidr.size() - slash - 1) prefix = -1;
  } catch (...) {
    prefix = -1;
  }
  if (prefix < 8 || prefix > 30) return bad("prefix must be between 8 and 30");
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  uint32_t network = *base & mask;
  uint32_t last = network | ~mask;
  std::optional<uint32_t> node;
  if (!node_ip.empty()) {
    node = ParseIPv4(node_ip);
    if (!node) {
      return kube::Status(kube::Reason::kInvalidArgument,
                          "--node-ip " + node_ip + ": not an IPv4 address");
    }
  }
  PodIPAllocator a(network, last, node, cidr);
  if (a.capacity() == 0) return bad("no usable addresses");
  return a;
}

bool PodIPAllocator::Usable(uint32_t ip) const {
  if (ip < first_ || ip > last_) return false;
  uint32_t octet = ip & 0xff;
  if (octet == 0 || octet == 255) return false;
  if (node_ip_ && *node_ip_ == ip) return false;
  return true;
}

size_t PodIPAllocator::capacity() const {
  size_t n = 0;
  for (uint64_t ip = first_; ip <= last_; ++ip) {
    if (Usable(static_cast<uint32_t>(ip))) ++n;
  }
  return n;
}

kube::Result<std::string> PodIPAllocator::Allocate() {
  uint64_t span = uint64_t{last_} - first_ + 1;
  uint32_t ip = next_;
  for (uint64_t i = 0; i < span; ++i) {
    uint32_t candidate = ip;
    ip = ip == last_ ? first_ : ip + 1;
    if (Usable(candidate) && taken_.count(candidate) == 0) {
      taken_.insert(candidate);
      next_ = ip;
      return FormatIPv4(candidate);
    }
  }
  return kube::Status(kube::Reason::kInvalidArgument,
                      "pod CIDR " + cidr_ + " is exhausted (" + std::to_string(taken_.size()) +
                          " addresses in use)");
}

bool PodIPAllocator::Reserve(const std::string& text) {
  auto ip = ParseIPv4(text);
  if (!ip || !Usable(*ip)) return false;
  return taken_.insert(*ip).second;
}

void PodIPAllocator::Release(const std::string& text) {
  if (auto ip = ParseIPv4(text)) taken_.erase(*ip);
}

bool PodIPAllocator::Contains(const std::string& text) const {
  auto ip = ParseIPv4(text);
  return ip && taken_.count(*ip) > 0;
}

}  // namespace harness
