#include "actors/support/address_policy.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace hookwerk::support {
namespace {

ip_address addr(const char* text) {
  const auto a = ip_address::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(ip_address{});
}

bool forbidden(const char* text) { return is_forbidden_target(addr(text)); }

std::string reason(const char* text) {
  const char* r = classify(addr(text));
  return r == nullptr ? "public" : r;
}

TEST(AddressParse, StrictNumericForms) {
  const auto a = ip_address::parse("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->v6);
  EXPECT_EQ(a->bytes[0], 192);
  EXPECT_EQ(a->bytes[3], 10);
  EXPECT_EQ(a->bytes[4], 0);
  EXPECT_EQ(a->to_string(), "192.0.2.10");

  const auto b = ip_address::parse("2001:DB8:0:0::1");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->v6);
  EXPECT_EQ(b->to_string(), "2001:db8::1");

  EXPECT_EQ(ip_address::parse("::ffff:127.0.0.1")->to_string(), "::ffff:127.0.0.1");
}

TEST(AddressParse, RejectsLegacyAndMalformed) {
  for (const char* text : {"", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "01.2.3.4",
                           "256.0.0.1", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "[::1]",
                           "fe80::1%eth0", "::g", "1:2:3:4:5:6:7:8:9", "localhost",
                           "0000000000000000000000000000000000000000000000000000000000::1"})
    EXPECT_FALSE(ip_address::parse(text)) << '"' << text << '"';
  EXPECT_FALSE(ip_address::parse(std::string_view("1.2.3.4\0", 8)));
}

TEST(AddressParse, FromSockaddr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr), 1);
  const ip_address a = ip_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin));
  EXPECT_FALSE(a.v6);
  EXPECT_EQ(a.to_string(), "198.51.100.7");
  EXPECT_EQ(a, addr("198.51.100.7"));

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
  const ip_address b = ip_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6));
  EXPECT_TRUE(b.v6);
  EXPECT_EQ(b.to_string(), "fe80::1");
}

TEST(AddressParse, FromUnknownSockaddrFailsClosed) {
  sockaddr_storage other{};
  other.ss_family = AF_UNIX;
  EXPECT_TRUE(is_forbidden_target(
      ip_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&other))));
  EXPECT_TRUE(is_forbidden_target(ip_address::from_sockaddr(nullptr)));
}

TEST(AddressPolicy, Ipv4RangeEdges) {
  struct edge {
    const char* text;
    bool forbidden;
  };
  const edge edges[] = {
      {"0.0.0.0", true},          {"0.255.255.255", true},    {"1.0.0.0", false},
      {"9.255.255.255", false},   {"10.0.0.0", true},         {"10.255.255.255", true},
      {"11.0.0.0", false},        {"100.63.255.255", false},  {"100.64.0.0", true},
      {"100.127.255.255", true},  {"100.128.0.0", false},     {"126.255.255.255", false},
      {"127.0.0.0", true},        {"127.255.255.255", true},  {"128.0.0.0", false},
      {"169.253.255.255", false}, {"169.254.0.0", true},      {"169.254.169.254", true},
      {"169.254.255.255", true},  {"169.255.0.0", false},     {"172.15.255.255", false},
      {"172.16.0.0", true},       {"172.31.255.255", true},   {"172.32.0.0", false},
      {"191.255.255.255", false}, {"192.0.0.0", true},        {"192.0.0.255", true},
      {"192.0.1.0", false},       {"192.0.2.0", false},       {"192.0.2.255", false},
      {"192.167.255.255", false}, {"192.168.0.0", true},      {"192.168.255.255", true},
      {"192.169.0.0", false},     {"198.17.255.255", false},  {"198.18.0.0", true},
      {"198.19.255.255", true},   {"198.20.0.0", false},      {"198.51.100.1", false},
      {"203.0.113.5", false},     {"223.255.255.255", false}, {"224.0.0.0", true},
      {"239.255.255.255", true},  {"240.0.0.0", true},        {"255.255.255.254", true},
      {"255.255.255.255", true},  {"8.8.8.8", false},         {"93.184.216.34", false},
  };
  for (const edge& e : edges)
    EXPECT_EQ(forbidden(e.text), e.forbidden) << e.text;
}

TEST(AddressPolicy, Ipv4Reasons) {
  EXPECT_EQ(reason("0.0.0.0"), "unspecified");
  EXPECT_EQ(reason("0.1.2.3"), "unspecified");
  EXPECT_EQ(reason("127.0.0.1"), "loopback");
  EXPECT_EQ(reason("10.1.2.3"), "private");
  EXPECT_EQ(reason("172.20.0.1"), "private");
  EXPECT_EQ(reason("192.168.1.1"), "private");
  EXPECT_EQ(reason("100.64.0.1"), "private");
  EXPECT_EQ(reason("169.254.169.254"), "link-local");
  EXPECT_EQ(reason("224.0.0.1"), "multicast");
  EXPECT_EQ(reason("192.0.0.8"), "reserved");
  EXPECT_EQ(reason("198.18.0.1"), "reserved");
  EXPECT_EQ(reason("240.0.0.1"), "reserved");
  EXPECT_EQ(reason("255.255.255.255"), "reserved");
  EXPECT_EQ(reason("192.0.2.10"), "public");
}

TEST(AddressPolicy, Ipv6Ranges) {
  EXPECT_EQ(reason("::"), "unspecified");
  EXPECT_EQ(reason("::1"), "loopback");
  EXPECT_EQ(reason("fc00::"), "private");
  EXPECT_EQ(reason("fd12:3456::1"), "private");
  EXPECT_EQ(reason("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "private");
  EXPECT_EQ(reason("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "public");
  EXPECT_EQ(reason("fe00::1"), "public");
  EXPECT_EQ(reason("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "public");
  EXPECT_EQ(reason("fe80::"), "link-local");
  EXPECT_EQ(reason("fe80::1"), "link-local");
  EXPECT_EQ(reason("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "link-local");
  EXPECT_EQ(reason("fec0::1"), "private");
  EXPECT_EQ(reason("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "private");
  EXPECT_EQ(reason("ff00::"), "multicast");
  EXPECT_EQ(reason("ff02::1"), "multicast");
  EXPECT_EQ(reason("2001:db8::1"), "public");
  EXPECT_EQ(reason("2606:4700::1111"), "public");
  EXPECT_EQ(reason("::2"), "unspecified");
}

TEST(AddressPolicy, Ipv6EmbeddedIpv4) {
  EXPECT_EQ(reason("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(reason("::ffff:7f00:1"), "loopback");
  EXPECT_EQ(reason("::ffff:10.0.0.1"), "private");
  EXPECT_EQ(reason("::ffff:169.254.169.254"), "link-local");
  EXPECT_EQ(reason("::ffff:0.0.0.0"), "unspecified");
  EXPECT_EQ(reason("::ffff:192.0.2.1"), "public");

  EXPECT_EQ(reason("::127.0.0.1"), "loopback");
  EXPECT_EQ(reason("::192.168.0.1"), "private");
  EXPECT_EQ(reason("::203.0.113.9"), "public");

  EXPECT_EQ(reason("64:ff9b::127.0.0.1"), "loopback");
  EXPECT_EQ(reason("64:ff9b::a9fe:a9fe"), "link-local");
  EXPECT_EQ(reason("64:ff9b::198.51.100.1"), "public");
  EXPECT_EQ(reason("64:ff9b:0:1::a00:1"), "public");

  EXPECT_EQ(reason("2002:7f00:1::"), "loopback");
  EXPECT_EQ(reason("2002:a00:1:1234::5"), "private");
  EXPECT_EQ(reason("2002:c000:20a::1"), "public");
  EXPECT_EQ(reason("2003:7f00:1::"), "public");
}

TEST(AddressPolicy, TranslatorsAndTunnels) {
  // 6to4 relay anycast: the relay forwards to any IPv4 host.
  EXPECT_EQ(reason("192.88.98.255"), "public");
  EXPECT_EQ(reason("192.88.99.0"), "reserved");
  EXPECT_EQ(reason("192.88.99.1"), "reserved");
  EXPECT_EQ(reason("192.88.99.255"), "reserved");
  EXPECT_EQ(reason("192.88.100.0"), "public");
  // IPv4-mapped ::ffff:0:0/96 takes the embedded address's class, public ones included.
  EXPECT_EQ(reason("::ffff:192.88.99.1"), "reserved");
  EXPECT_EQ(reason("::ffff:8.8.8.8"), "public");
  // IPv4-translated ::ffff:0:0:0/96: refused whatever it embeds.
  EXPECT_EQ(reason("::ffff:0:127.0.0.1"), "reserved");
  EXPECT_EQ(reason("::ffff:0:8.8.8.8"), "reserved");
  EXPECT_EQ(reason("::ffff:0:0:0"), "reserved");
  EXPECT_EQ(reason("::fffe:0:808:808"), "public");
  EXPECT_EQ(reason("::1:ffff:0:808:808"), "public");
  // Local-use NAT64 64:ff9b:1::/48: the embedding is the operator's choice.
  EXPECT_EQ(reason("64:ff9b:1::"), "reserved");
  EXPECT_EQ(reason("64:ff9b:1::808:808"), "reserved");
  EXPECT_EQ(reason("64:ff9b:1:ffff:ffff:ffff:ffff:ffff"), "reserved");
  EXPECT_EQ(reason("64:ff9b:2::808:808"), "public");
  EXPECT_EQ(reason("64:ff9b:0:ffff::808:808"), "public");
  // Teredo 2001::/32 (server and obfuscated client address inside).
  EXPECT_EQ(reason("2001::"), "reserved");
  EXPECT_EQ(reason("2001:0:4136:e378:8000:63bf:3fff:fdd2"), "reserved");
  EXPECT_EQ(reason("2001:0:ffff:ffff:ffff:ffff:ffff:ffff"), "reserved");
  EXPECT_EQ(reason("2001:1::1"), "public");
  EXPECT_EQ(reason("2001:4860:4860::8888"), "public");
  EXPECT_EQ(reason("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "public");
}

TEST(AddressPolicy, ForbiddenIffClassified) {
  for (const char* text : {"127.0.0.1", "8.8.8.8", "::1", "2001:db8::1", "ff02::1"})
    EXPECT_EQ(is_forbidden_target(addr(text)), classify(addr(text)) != nullptr) << text;
}

} // namespace
} // namespace hookwerk::support
