#include "actors/support/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace hookwerk::support {
namespace {

target_check check(const char* url, bool allow_private = false) {
  const auto parsed = parse_hook_url(url);
  EXPECT_TRUE(parsed) << url;
  if (!parsed)
    return {target_verdict::allowed, "unparsable"};
  return check_target(*parsed, allow_private);
}

TEST(ResolverResolve, LegacyNumericFormsMapToLoopback) {
  for (const char* host : {"127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.1"}) {
    const resolve_result r = resolve_host(host);
    ASSERT_TRUE(r.resolved) << host << ": " << r.error;
    ASSERT_EQ(r.addresses.size(), 1u) << host;
    EXPECT_EQ(r.addresses[0].to_string(), "127.0.0.1") << host;
  }
}

TEST(ResolverResolve, Ipv6Literal) {
  const resolve_result r = resolve_host("::1");
  ASSERT_TRUE(r.resolved) << r.error;
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_TRUE(r.addresses[0].v6);
  EXPECT_EQ(r.addresses[0].to_string(), "::1");
}

TEST(ResolverResolve, AddressesAreUnique) {
  const resolve_result r = resolve_host("localhost");
  if (!r.resolved)
    GTEST_SKIP() << "localhost does not resolve here: " << r.error;
  for (std::size_t i = 0; i < r.addresses.size(); ++i)
    for (std::size_t j = i + 1; j < r.addresses.size(); ++j)
      EXPECT_FALSE(r.addresses[i] == r.addresses[j]) << r.addresses[i].to_string();
}

TEST(ResolverResolve, FailureIsReported) {
  const resolve_result r = resolve_host("nothing-here.invalid");
  EXPECT_FALSE(r.resolved);
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_FALSE(r.error.empty());

  const resolve_result empty = resolve_host("");
  EXPECT_FALSE(empty.resolved);
  EXPECT_FALSE(empty.error.empty());

  EXPECT_FALSE(resolve_host(std::string("127.0.0.1\0.invalid", 18)).resolved);
}

TEST(ResolverCheckTarget, ForbiddenTargets) {
  for (const char* url :
       {"http://127.1/", "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/",
        "http://[::ffff:127.0.0.1]/", "http://[::1]/", "http://10.0.0.1/",
        "http://169.254.169.254/", "http://localhost/", "http://0.0.0.0/", "http://[fe80::1]/",
        "http://224.0.0.1/", "http://192.168.1.1:8080/x", "http://LOCALHOST./",
        "http://api.localhost/", "http://[64:ff9b::10.0.0.1]/", "http://[2002:a9fe:a9fe::]/",
        "http://100.64.0.1/", "http://255.255.255.255/", "http://[fd00::1]/",
        "http://[::]/", "https://127.0.0.1:443/"}) {
    const target_check c = check(url);
    EXPECT_EQ(c.verdict, target_verdict::forbidden) << url << ": " << c.detail;
    EXPECT_FALSE(c.detail.empty()) << url;
  }
}

TEST(ResolverCheckTarget, DetailNamesAddressAndClass) {
  EXPECT_EQ(check("http://10.0.0.1/").detail, "10.0.0.1 is private");
  EXPECT_EQ(check("http://[::1]/").detail, "::1 is loopback");
  const target_check legacy = check("http://2130706433/");
  EXPECT_NE(legacy.detail.find("127.0.0.1 is loopback"), std::string::npos) << legacy.detail;
  EXPECT_NE(check("http://169.254.169.254/").detail.find("link-local"), std::string::npos);
}

TEST(ResolverCheckTarget, PublicTargetsAllowed) {
  for (const char* url : {"http://192.0.2.10/", "http://[2001:db8::1]/",
                          "https://203.0.113.5:8443/", "http://198.51.100.1/x?y=z",
                          "http://[::ffff:192.0.2.1]/"}) {
    const target_check c = check(url);
    EXPECT_EQ(c.verdict, target_verdict::allowed) << url << ": " << c.detail;
  }
}

TEST(ResolverCheckTarget, UnresolvableNameAllowed) {
  const target_check c = check("http://nothing-here.invalid/");
  EXPECT_EQ(c.verdict, target_verdict::allowed);
  EXPECT_NE(c.detail.find("nothing-here.invalid"), std::string::npos) << c.detail;
}

TEST(ResolverCheckTarget, AllowPrivate) {
  EXPECT_EQ(check("http://127.0.0.1/", true).verdict, target_verdict::allowed);
  EXPECT_EQ(check("http://localhost:9000/", true).verdict, target_verdict::allowed);
  EXPECT_EQ(check("http://[::1]/", true).verdict, target_verdict::allowed);
}

TEST(ResolverCheckAddresses, AnyForbiddenAddressForbidsAll) {
  const ip_address pub = *ip_address::parse("192.0.2.1");
  const ip_address loop = *ip_address::parse("127.0.0.1");
  const ip_address both[] = {pub, loop};
  const target_check c = check_addresses(both, false);
  EXPECT_EQ(c.verdict, target_verdict::forbidden);
  EXPECT_EQ(c.detail, "127.0.0.1 is loopback");
  EXPECT_EQ(check_addresses(both, true).verdict, target_verdict::allowed);

  const ip_address only_public[] = {pub, *ip_address::parse("2001:db8::5")};
  EXPECT_EQ(check_addresses(only_public, false).verdict, target_verdict::allowed);
  EXPECT_EQ(check_addresses({}, false).verdict, target_verdict::allowed);
}

} // namespace
} // namespace hookwerk::support
