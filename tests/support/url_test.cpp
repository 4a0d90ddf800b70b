#include "actors/support/url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hookwerk::support {
namespace {

TEST(UrlParse, PlainHttp) {
  const auto u = parse_hook_url("http://example.com/hook");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/hook");
  EXPECT_FALSE(u->host_is_ip_literal);
}

TEST(UrlParse, HttpsDefaultPort) {
  const auto u = parse_hook_url("https://hooks.example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
}

TEST(UrlParse, CaseFoldsSchemeAndHostButNotPathAndDropsFragment) {
  const auto u = parse_hook_url("HTTPS://Example.COM/Path?q=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/Path?q=1");
}

TEST(UrlParse, ExplicitPort) {
  const auto u = parse_hook_url("http://203.0.113.5:8443/a/b");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->host, "203.0.113.5");
  EXPECT_TRUE(u->host_is_ip_literal);
  EXPECT_EQ(u->target, "/a/b");
}

TEST(UrlParse, PortBounds) {
  ASSERT_TRUE(parse_hook_url("http://host:1/"));
  EXPECT_EQ(parse_hook_url("http://host:1/")->port, 1);
  ASSERT_TRUE(parse_hook_url("http://host:65535/"));
  EXPECT_EQ(parse_hook_url("http://host:65535/")->port, 65535);
  ASSERT_TRUE(parse_hook_url("http://host:0080/"));
  EXPECT_EQ(parse_hook_url("http://host:0080/")->port, 80);
  EXPECT_FALSE(parse_hook_url("http://host:0/"));
  EXPECT_FALSE(parse_hook_url("http://host:65536/"));
  EXPECT_FALSE(parse_hook_url("http://host:99999/"));
  EXPECT_FALSE(parse_hook_url("http://host:4294967377/"));
  EXPECT_FALSE(parse_hook_url("http://host:abc/"));
  EXPECT_FALSE(parse_hook_url("http://host:-1/"));
  EXPECT_FALSE(parse_hook_url("http://host:/"));
}

TEST(UrlParse, Ipv6Literal) {
  const auto u = parse_hook_url("http://[::1]/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_TRUE(u->host_is_ip_literal);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");

  const auto v = parse_hook_url("https://[2001:DB8::1]:8443?x=y");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "2001:db8::1");
  EXPECT_EQ(v->port, 8443);
  EXPECT_EQ(v->target, "/?x=y");

  const auto m = parse_hook_url("http://[::ffff:127.0.0.1]/x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->host, "::ffff:127.0.0.1");
  EXPECT_TRUE(m->host_is_ip_literal);
}

TEST(UrlParse, LegacyNumericHostsAreNames) {
  for (const char* url : {"http://127.1/", "http://0x7f000001/", "http://2130706433/",
                          "http://0177.0.0.1/"}) {
    const auto u = parse_hook_url(url);
    ASSERT_TRUE(u) << url;
    EXPECT_FALSE(u->host_is_ip_literal) << url;
  }
}

TEST(UrlParse, TargetKeepsQueryAndEncoding) {
  EXPECT_EQ(parse_hook_url("http://h?a=1&b=2")->target, "/?a=1&b=2");
  EXPECT_EQ(parse_hook_url("http://h/p%20q?x=%2F")->target, "/p%20q?x=%2F");
  EXPECT_EQ(parse_hook_url("http://h#only-fragment")->target, "/");
  EXPECT_EQ(parse_hook_url("http://h:81#f")->target, "/");
  EXPECT_EQ(parse_hook_url("http://h//double")->target, "//double");
  EXPECT_EQ(parse_hook_url("http://h/?")->target, "/?");
}

TEST(UrlParse, RejectsOtherSchemes) {
  for (const char* url : {"ftp://example.com/", "file:///etc/passwd", "gopher://h/",
                          "ws://h/", "httpx://h/", "mailto:a@example.com", "javascript:alert(1)"})
    EXPECT_FALSE(parse_hook_url(url)) << url;
}

TEST(UrlParse, RejectsMissingPieces) {
  for (const char* url : {"", "http://", "http:///x", "//host", "//host/path", "/path",
                          "host/path", "http:host", "http:/host", "https://:443/", "http://?q",
                          "http://#f"})
    EXPECT_FALSE(parse_hook_url(url)) << '"' << url << '"';
}

TEST(UrlParse, RejectsUserinfo) {
  for (const char* url : {"http://user:pw@host/", "http://user@host/", "http://@host/",
                          "http://:@host/"})
    EXPECT_FALSE(parse_hook_url(url)) << url;
}

TEST(UrlParse, RejectsWhitespaceAndControls) {
  for (const char* url : {"http://ho st/", "http://host/a b", " http://host/", "http://host/ ",
                          "http://host/\t", "http://host/\r\nX: y", "http://host/\x7f",
                          "http://host/\x01"})
    EXPECT_FALSE(parse_hook_url(url)) << url;
  EXPECT_FALSE(parse_hook_url(std::string("http://host/\0x", 14)));
  EXPECT_FALSE(parse_hook_url("http://h\xc3\xa9.example/"));
}

TEST(UrlParse, RejectsOddHosts) {
  for (const char* url : {"http://[v1.abc]/", "http://[::1/", "http://::1/", "http://[::1]x/",
                          "http://[fe80::1%25eth0]/", "http://exa%6dple.com/", "http://a;b/",
                          "http://a,b/", "http://h\\x/", "http://[1.2.3.4]/"})
    EXPECT_FALSE(parse_hook_url(url)) << url;
}

TEST(UrlParse, LengthLimit) {
  const std::string prefix = "http://example.com/";
  std::string at_limit = prefix + std::string(max_hook_url_length - prefix.size(), 'a');
  ASSERT_EQ(at_limit.size(), 2048u);
  EXPECT_TRUE(parse_hook_url(at_limit));
  const std::string over = at_limit + "a";
  ASSERT_EQ(over.size(), 2049u);
  EXPECT_FALSE(parse_hook_url(over));
}

} // namespace
} // namespace hookwerk::support
