#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "kube/status.h"

namespace harness {

// An IPv4 address as a host-order integer, and its dotted form.
std::optional<uint32_t> ParseIPv4(const std::string& text);
std::string FormatIPv4(uint32_t ip);

// Hands out unique pod IPs from one node's pod CIDR (e.g. 127.0.1.0/24), skipping
// addresses whose last octet is 0 or 255 and the node's own IP. Allocation is next-fit
// (a released address is reused only after the rest of the range), so a stale endpoint
// rarely points at a new pod. Not thread-safe.
class PodIPAllocator {
 public:
  static kube::Result<PodIPAllocator> Create(const std::string& cidr, const std::string& node_ip);

  // A free address, or kInvalidArgument naming the CIDR when it is exhausted.
  kube::Result<std::string> Allocate();
  // Marks a known address as taken (a pod that already has a podIP); false when it is
  // outside the range, reserved, or already taken.
  bool Reserve(const std::string& ip);
  void Release(const std::string& ip);
  bool Contains(const std::string& ip) const;
  size_t allocated() const { return taken_.size(); }
  // How many addresses the range can hand out in total.
  size_t capacity() const;

 private:
  PodIPAllocator(uint32_t first, uint32_t last, std::optional<uint32_t> node_ip, std::string cidr)
      : first_(first), last_(last), node_ip_(node_ip), cidr_(std::move(cidr)), next_(first) {}
  bool Usable(uint32_t ip) const;

  uint32_t first_;
  uint32_t last_;
  std::optional<uint32_t> node_ip_;
  std::string cidr_;
  uint32_t next_;
  std::set<uint32_t> taken_;
};

}  // namespace harness
