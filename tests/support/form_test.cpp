#include "actors/support/form.hpp"

#include <gtest/gtest.h>

using namespace hookwerk::support;

TEST(percent_decode, decodes_escapes_in_either_case) {
  EXPECT_EQ(percent_decode("a%20b%2fc%2F%7e", false), "a b/c/~");
  EXPECT_EQ(percent_decode("%00%ff%FF", false), std::string("\0\xff\xff", 3));
  EXPECT_EQ(percent_decode("", false), "");
}

TEST(percent_decode, plus_is_space_only_when_asked) {
  EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
  EXPECT_EQ(percent_decode("a+b%2B", false), "a+b+");
}

TEST(percent_decode, rejects_malformed_escapes) {
  for (const char* bad : {"%", "%4", "%zz", "a%", "a%4", "%g0", "%0g", "%%", "%-1", "% 1"})
    EXPECT_FALSE(percent_decode(bad, true).has_value()) << bad;
}

TEST(parse_form_urlencoded, splits_names_and_values) {
  auto f = parse_form_urlencoded("username=acme&password=s3cret&event=optin_finalized");
  ASSERT_TRUE(f.has_value());
  form_fields expected{{"username", "acme"}, {"password", "s3cret"}, {"event", "optin_finalized"}};
  EXPECT_EQ(*f, expected);
}

TEST(parse_form_urlencoded, decodes_names_and_values) {
  auto f = parse_form_urlencoded("a+b=c+d&%41%3D=%26%3d&url=https%3A%2F%2Fx.test%2Fp%3Fq%3D1");
  ASSERT_TRUE(f.has_value());
  form_fields expected{{"a b", "c d"}, {"A=", "&="}, {"url", "https://x.test/p?q=1"}};
  EXPECT_EQ(*f, expected);
}

TEST(parse_form_urlencoded, splits_on_first_equals_only) {
  auto f = parse_form_urlencoded("k=a=b==");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, (form_fields{{"k", "a=b=="}}));
}

TEST(parse_form_urlencoded, skips_empty_segments_and_keeps_empty_values) {
  auto f = parse_form_urlencoded("&&a=&b&&=v&");
  ASSERT_TRUE(f.has_value());
  form_fields expected{{"a", ""}, {"b", ""}, {"", "v"}};
  EXPECT_EQ(*f, expected);
}

TEST(parse_form_urlencoded, keeps_duplicates_in_order) {
  auto f = parse_form_urlencoded("a=1&a=2");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f, (form_fields{{"a", "1"}, {"a", "2"}}));
}

TEST(parse_form_urlencoded, empty_body_has_no_fields) {
  auto f = parse_form_urlencoded("");
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->empty());
}

TEST(parse_form_urlencoded, rejects_malformed_escape_anywhere) {
  for (const char* bad : {"username=%zz", "username=%", "username=%4", "a=1&b=%4", "%zz=1",
                          "ok=1&%"})
    EXPECT_FALSE(parse_form_urlencoded(bad).has_value()) << bad;
}

TEST(url_encode, keeps_unreserved_and_escapes_the_rest) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b+c&d=e/f?g%h"), "a%20b%2Bc%26d%3De%2Ff%3Fg%25h");
  EXPECT_EQ(url_encode(std::string("\0\xff\xc3\xa4", 4)), "%00%FF%C3%A4");
}

TEST(url_encode, round_trips_through_form_parsing) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  form_fields fields{{"name with spaces", all}, {"p", "s3cr+t&x=y"}, {"", ""}};
  auto body = form_encode(fields);
  auto back = parse_form_urlencoded(body);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, fields);
}
