#include "actors/support/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace hookwerk::support {
namespace {

using v4_bytes = std::array<uint8_t, 4>;

bool in_v4_prefix(const v4_bytes& a, uint32_t network, unsigned prefix_length) {
  const uint32_t value = (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) |
                         (uint32_t{a[2]} << 8) | uint32_t{a[3]};
  const uint32_t mask = prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
  return (value & mask) == (network & mask);
}

constexpr uint32_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | uint32_t{d};
}

const char* classify_v4(const v4_bytes& a) {
  struct range {
    uint32_t network;
    unsigned prefix_length;
    const char* reason;
  };
  static constexpr range ranges[] = {
      {v4(0, 0, 0, 0), 8, "unspecified"},
      {v4(10, 0, 0, 0), 8, "private"},
      {v4(100, 64, 0, 0), 10, "private"},
      {v4(127, 0, 0, 0), 8, "loopback"},
      {v4(169, 254, 0, 0), 16, "link-local"},
      {v4(172, 16, 0, 0), 12, "private"},
      {v4(192, 0, 0, 0), 24, "reserved"},
      {v4(192, 88, 99, 0), 24, "reserved"},
      {v4(192, 168, 0, 0), 16, "private"},
      {v4(198, 18, 0, 0), 15, "reserved"},
      {v4(224, 0, 0, 0), 4, "multicast"},
      {v4(240, 0, 0, 0), 4, "reserved"},
  };
  for (const range& r : ranges)
    if (in_v4_prefix(a, r.network, r.prefix_length))
      return r.reason;
  return nullptr;
}

bool starts_with(const std::array<uint8_t, 16>& bytes, std::initializer_list<uint8_t> prefix) {
  std::size_t i = 0;
  for (uint8_t b : prefix)
    if (bytes[i++] != b)
      return false;
  return true;
}

v4_bytes v4_at(const std::array<uint8_t, 16>& bytes, std::size_t offset) {
  return {bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]};
}

const char* classify_v6(const std::array<uint8_t, 16>& b) {
  static constexpr std::array<uint8_t, 16> unspecified{};
  static constexpr std::array<uint8_t, 16> loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
  if (b == unspecified)
    return "unspecified";
  if (b == loopback)
    return "loopback";
  if (b[0] == 0xff)
    return "multicast";
  if ((b[0] & 0xfe) == 0xfc)
    return "private";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
    return "private";
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}))
    return classify_v4(v4_at(b, 12));
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
    return classify_v4(v4_at(b, 12));
  if (starts_with(b, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}))
    return classify_v4(v4_at(b, 12));
  if (starts_with(b, {0x20, 0x02}))
    return classify_v4(v4_at(b, 2));
  // Reach IPv4 hosts through translators or tunnels whose target cannot be
  // read off the address alone: IPv4-translated ::ffff:0:0:0/96, local-use
  // NAT64 64:ff9b:1::/48 (any embedding), Teredo 2001::/32.
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}))
    return "reserved";
  if (starts_with(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}))
    return "reserved";
  if (starts_with(b, {0x20, 0x01, 0x00, 0x00}))
    return "reserved";
  return nullptr;
}

} // namespace

std::optional<ip_address> ip_address::parse(std::string_view numeric) {
  char text[INET6_ADDRSTRLEN + 1];
  if (numeric.empty() || numeric.size() >= sizeof(text))
    return std::nullopt;
  std::memcpy(text, numeric.data(), numeric.size());
  text[numeric.size()] = '\0';
  if (std::memchr(text, '\0', numeric.size()) != nullptr)
    return std::nullopt;

  ip_address out;
  if (numeric.find(':') == std::string_view::npos) {
    in_addr a4{};
    if (inet_pton(AF_INET, text, &a4) != 1)
      return std::nullopt;
    std::memcpy(out.bytes.data(), &a4, 4);
    return out;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, text, &a6) != 1)
    return std::nullopt;
  out.v6 = true;
  std::memcpy(out.bytes.data(), &a6, 16);
  return out;
}

ip_address ip_address::from_sockaddr(const sockaddr* address) {
  ip_address out;
  if (address == nullptr)
    return out;
  if (address->sa_family == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, address, sizeof(sin));
    std::memcpy(out.bytes.data(), &sin.sin_addr, 4);
  } else if (address->sa_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, address, sizeof(sin6));
    out.v6 = true;
    std::memcpy(out.bytes.data(), &sin6.sin6_addr, 16);
  }
  return out;
}

std::string ip_address::to_string() const {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof(text)) == nullptr)
    return {};
  return text;
}

const char* classify(const ip_address& address) {
  if (address.v6)
    return classify_v6(address.bytes);
  return classify_v4(v4_at(address.bytes, 0));
}

bool is_forbidden_target(const ip_address& address) { return classify(address) != nullptr; }

} // namespace hookwerk::support
