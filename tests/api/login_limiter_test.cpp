#include "api/login_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hookwerk::api {
namespace {

using namespace std::chrono_literals;
using time_point = login_limiter::clock::time_point;

const time_point t0{};

TEST(LoginLimiter, RefusesAPairPastItsFailuresUntilTheWindowEnds) {
  login_limiter limiter{3, 60s};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.allowed("10.0.0.1", "acme", t0 + std::chrono::seconds{i}));
    limiter.failed("10.0.0.1", "acme", t0 + std::chrono::seconds{i});
  }
  EXPECT_FALSE(limiter.allowed("10.0.0.1", "acme", t0 + 3s));
  EXPECT_FALSE(limiter.allowed("10.0.0.1", "acme", t0 + 59s));
  // The window runs from the pair's first failure.
  EXPECT_TRUE(limiter.allowed("10.0.0.1", "acme", t0 + 60s));
  EXPECT_EQ(limiter.size(), 0u);
  limiter.failed("10.0.0.1", "acme", t0 + 61s);
  EXPECT_TRUE(limiter.allowed("10.0.0.1", "acme", t0 + 61s));
}

TEST(LoginLimiter, CountsEachPairApart) {
  login_limiter limiter{2, 60s};
  limiter.failed("10.0.0.1", "acme", t0);
  limiter.failed("10.0.0.1", "acme", t0);
  EXPECT_FALSE(limiter.allowed("10.0.0.1", "acme", t0));
  EXPECT_TRUE(limiter.allowed("10.0.0.2", "acme", t0));    // the owner from elsewhere
  EXPECT_TRUE(limiter.allowed("10.0.0.1", "globex", t0));  // another account from there
  // No choice of bytes makes two pairs one.
  limiter.failed(std::string{"x\0y", 3}, "z", t0);
  limiter.failed(std::string{"x\0y", 3}, "z", t0);
  EXPECT_TRUE(limiter.allowed("x", std::string{"y\0z", 3}, t0));
}

TEST(LoginLimiter, ZeroMeansNoLimit) {
  login_limiter limiter{0, 60s};
  for (int i = 0; i < 1000; ++i)
    limiter.failed("10.0.0.1", "acme", t0);
  EXPECT_TRUE(limiter.allowed("10.0.0.1", "acme", t0));
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(LoginLimiter, ForgetsEndedWindowsAsTimePasses) {
  login_limiter limiter{5, 60s};
  for (int i = 0; i < 100; ++i)
    limiter.failed("10.0.0." + std::to_string(i), "acme", t0 + std::chrono::seconds{i / 10});
  EXPECT_EQ(limiter.size(), 100u);
  limiter.allowed("10.0.0.1", "acme", t0 + 65s);  // windows that started up to 5 s ended
  EXPECT_EQ(limiter.size(), 40u);
  limiter.allowed("10.0.0.1", "acme", t0 + 70s);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(LoginLimiter, AtTheCapThePairWhoseWindowStartedFirstGoes) {
  login_limiter limiter{1, 60s, 3};
  limiter.failed("a", "u", t0);
  limiter.failed("b", "u", t0 + 1s);
  limiter.failed("c", "u", t0 + 2s);
  limiter.failed("d", "u", t0 + 3s);
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_TRUE(limiter.allowed("a", "u", t0 + 4s));
  EXPECT_FALSE(limiter.allowed("b", "u", t0 + 4s));
  EXPECT_FALSE(limiter.allowed("c", "u", t0 + 4s));
  EXPECT_FALSE(limiter.allowed("d", "u", t0 + 4s));
  // A pair already tracked does not push anyone out.
  limiter.failed("b", "u", t0 + 5s);
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_FALSE(limiter.allowed("d", "u", t0 + 5s));
}

TEST(ClientKey, IPv4AsItIsIPv6ByItsSlash64) {
  EXPECT_EQ(client_key("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(client_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(client_key("2001:db8:1:2:aaaa::1"), "2001:0db8:0001:0002::/64");
  EXPECT_EQ(client_key("2001:db8:1:2:bbbb::9"), client_key("2001:db8:1:2::"));
  EXPECT_NE(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
  EXPECT_EQ(client_key(""), "");
}

}  // namespace
}  // namespace hookwerk::api
