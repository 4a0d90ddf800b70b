#include <gtest/gtest.h>

#include "actors/sender.hpp"

namespace hookwerk {
namespace {

TEST(delivery_target, parses_once_into_pool_key_and_host_header) {
  auto t = delivery_target::make("HTTPS://Hooks.Example.com/in?x=1");
  ASSERT_TRUE(t->parts.has_value());
  EXPECT_EQ(t->url, "HTTPS://Hooks.Example.com/in?x=1");
  EXPECT_EQ(t->parts->target, "/in?x=1");
  EXPECT_EQ(t->pool_key, "https://hooks.example.com:443");
  EXPECT_EQ(t->host_header, "hooks.example.com");
}

TEST(delivery_target, host_header_names_a_port_other_than_the_default_and_brackets_ipv6) {
  EXPECT_EQ(delivery_target::make("http://127.0.0.1:8080/")->host_header, "127.0.0.1:8080");
  EXPECT_EQ(delivery_target::make("http://example.com:443/")->host_header, "example.com:443");
  EXPECT_EQ(delivery_target::make("https://example.com:443/")->host_header, "example.com");
  auto v6 = delivery_target::make("http://[2001:db8::1]:81/h");
  EXPECT_EQ(v6->host_header, "[2001:db8::1]:81");
  EXPECT_EQ(v6->pool_key, "http://2001:db8::1:81");
}

TEST(delivery_target, an_invalid_url_has_no_parts) {
  auto t = delivery_target::make("ftp://example.com/");
  EXPECT_FALSE(t->parts.has_value());
  EXPECT_TRUE(t->pool_key.empty());
  EXPECT_FALSE(delivery_target::make("")->parts.has_value());
}

} // namespace
} // namespace hookwerk
