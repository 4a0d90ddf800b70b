#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

/// Which network addresses a webhook may be delivered to. Classification only; no DNS.
/// Pure functions; safe from any thread.
namespace hookwerk::support {

/// An IPv4 or IPv6 address in network byte order.
struct ip_address {
  bool v6 = false;
  /// IPv6 uses all 16 bytes; IPv4 uses the first 4 and leaves the rest zero.
  std::array<uint8_t, 16> bytes{};

  /// Parses a strict numeric address: a dotted quad without leading zeros ("10.0.0.1")
  /// or an IPv6 address without brackets or zone ("::1", "::ffff:10.0.0.1").
  /// Legacy forms ("127.1", "0x7f000001") are not accepted here.
  static std::optional<ip_address> parse(std::string_view numeric);

  /// Reads an AF_INET or AF_INET6 socket address. A null pointer or any other family
  /// yields 0.0.0.0, which `is_forbidden_target` rejects.
  static ip_address from_sockaddr(const sockaddr* address);

  /// Dotted quad, or the RFC 5952 text form for IPv6.
  std::string to_string() const;

  friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// True when a webhook must not be delivered to `address` (unless private targets are
/// allowed): unspecified, loopback, private, shared (CGNAT), link-local, multicast,
/// reserved and broadcast ranges (with the 6to4 relay anycast 192.88.99.0/24), IPv6
/// forms that embed such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64
/// 64:ff9b::/96, 6to4), and every address of IPv4-translated ::ffff:0:0:0/96, local-use
/// NAT64 64:ff9b:1::/48 and Teredo 2001::/32. Documentation ranges are not forbidden.
bool is_forbidden_target(const ip_address& address);

/// Why `address` is forbidden: "unspecified", "loopback", "private", "link-local",
/// "multicast" or "reserved"; nullptr when it is an allowed (public) address.
/// The string is static. `is_forbidden_target(a)` is `classify(a) != nullptr`.
const char* classify(const ip_address& address);

} // namespace hookwerk::support
