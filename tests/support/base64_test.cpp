#include "actors/support/base64.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace hookwerk::support;

TEST(base64, encodes_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(base64, decodes_rfc4648_vectors) {
  EXPECT_EQ(base64_decode(""), std::string{});
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(base64, uses_standard_alphabet_for_high_bits) {
  std::string bytes{"\xfb\xff\xbf", 3};
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), bytes);
}

TEST(base64, round_trips_all_byte_values) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t len = 0; len <= all.size(); ++len) {
    auto part = all.substr(0, len);
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << len;
  }
}

TEST(base64, rejects_malformed_input) {
  for (const char* bad : {"Zg", "Zg=", "Zm9", "Z", "Zg===", "Z===", "====", "=Zg=", "Zg=a",
                          "Zm9v\n", " Zm9v", "Zm 9v", "Zm9-", "Zm9_", "Zm9v*AAA", "Zm==Zm9v"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(base64, rejects_non_zero_trailing_bits) {
  EXPECT_FALSE(base64_decode("Zh==").has_value());
  EXPECT_FALSE(base64_decode("Zm9=").has_value());
  EXPECT_TRUE(base64_decode("Zm8=").has_value());
}

TEST(base64, rejects_non_ascii_and_nul) {
  EXPECT_FALSE(base64_decode(std::string("Zm9\0", 4)).has_value());
  EXPECT_FALSE(base64_decode("Zm9\xc3").has_value());
}

TEST(base64url, encodes_without_padding_with_url_alphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode(std::string{"\xfb\xff\xbf", 3}), "-_-_");
}
