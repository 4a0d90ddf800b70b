#include "storage/codec.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace hookwerk::storage {
namespace {

std::string sample() {
  encoder e;
  e.u8(0xab);
  e.u32(0xdeadbeef);
  e.u64(std::numeric_limits<uint64_t>::max());
  e.i64(-42);
  e.boolean(true);
  e.str("");
  e.str(std::string(300, 'x'));
  e.str(std::string("a\0b", 3));
  return std::move(e.data());
}

// Decodes the sample; false on the first failing field.
bool decode_sample(std::string_view in) {
  decoder d(in);
  uint8_t a;
  uint32_t b;
  uint64_t c;
  int64_t e;
  bool f;
  std::string g, h, i;
  return d.u8(a) && d.u32(b) && d.u64(c) && d.i64(e) && d.boolean(f) && d.str(g) && d.str(h)
         && d.str(i) && d.at_end();
}

TEST(storage_codec, round_trip) {
  auto data = sample();
  decoder d(data);
  uint8_t a = 0;
  uint32_t b = 0;
  uint64_t c = 0;
  int64_t e = 0;
  bool f = false;
  std::string g = "junk", h, i;
  ASSERT_TRUE(d.u8(a));
  ASSERT_TRUE(d.u32(b));
  ASSERT_TRUE(d.u64(c));
  ASSERT_TRUE(d.i64(e));
  ASSERT_TRUE(d.boolean(f));
  ASSERT_TRUE(d.str(g));
  ASSERT_TRUE(d.str(h));
  ASSERT_TRUE(d.str(i));
  EXPECT_TRUE(d.at_end());
  EXPECT_EQ(a, 0xab);
  EXPECT_EQ(b, 0xdeadbeef);
  EXPECT_EQ(c, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(e, -42);
  EXPECT_TRUE(f);
  EXPECT_EQ(g, "");
  EXPECT_EQ(h, std::string(300, 'x'));
  EXPECT_EQ(i, std::string("a\0b", 3));
}

TEST(storage_codec, every_truncation_fails_safely) {
  auto data = sample();
  ASSERT_TRUE(decode_sample(data));
  for (std::size_t n = 0; n < data.size(); ++n) {
    // A heap copy of exactly n bytes, so an overread is visible to sanitizers.
    std::string prefix = data.substr(0, n);
    EXPECT_FALSE(decode_sample(prefix)) << "prefix length " << n;
  }
}

TEST(storage_codec, failed_read_consumes_nothing) {
  std::string data("\x05" "abc", 4);  // length 5, only 3 bytes follow
  decoder d(data);
  std::string s = "keep";
  EXPECT_FALSE(d.str(s));
  EXPECT_EQ(s, "keep");
  EXPECT_EQ(d.remaining(), 4u);
  uint32_t v = 7;
  EXPECT_TRUE(d.u32(v));
  EXPECT_EQ(v, 0x05616263u);
  uint64_t w = 9;
  EXPECT_FALSE(d.u64(w));
  EXPECT_EQ(w, 9u);
}

TEST(storage_codec, rejects_malformed_values) {
  bool b = false;
  std::string two("\x02", 1);
  EXPECT_FALSE(decoder(two).boolean(b));

  std::string s;
  // Eleven continuation bytes: longer than any 64-bit varint.
  std::string long_varint(11, '\x80');
  EXPECT_FALSE(decoder(long_varint).str(s));
  // A varint overflowing 64 bits.
  std::string overflow(9, '\xff');
  overflow.push_back('\x7f');
  EXPECT_FALSE(decoder(overflow).str(s));
  // A huge length with few bytes behind it.
  std::string huge(9, '\xff');
  huge.push_back('\x01');
  huge += "abc";
  EXPECT_FALSE(decoder(huge).str(s));
}


TEST(storage_codec, varints_round_trip_and_stay_small) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, 1'765'000'000'000, UINT64_MAX};
  encoder e;
  for (auto v : values)
    e.varint(v);
  std::string bytes = e.data();
  EXPECT_EQ(bytes.size(), 1u + 1 + 1 + 2 + 2 + 3 + 6 + 10);
  decoder d(bytes);
  for (auto v : values) {
    uint64_t out = 0;
    ASSERT_TRUE(d.varint(out));
    EXPECT_EQ(out, v);
  }
  EXPECT_TRUE(d.at_end());
  // Eleven bytes, or bits beyond 64, or a cut: rejected, nothing consumed.
  for (auto bad : {std::string(10, '\xff') + "\x01", std::string(9, '\xff') + "\x02",
                   std::string("\x80")}) {
    decoder bd(bad);
    uint64_t out = 7;
    EXPECT_FALSE(bd.varint(out));
    EXPECT_EQ(out, 7u);
    EXPECT_EQ(bd.remaining(), bad.size());
  }
}

} // namespace
} // namespace hookwerk::storage
