#include "storage/keys.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hookwerk::storage {
namespace {

constexpr uint64_t max64 = std::numeric_limits<uint64_t>::max();

TEST(storage_keys, be64_round_trips_and_is_big_endian) {
  EXPECT_EQ(be64(0x0102030405060708ull), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 63, max64})
    EXPECT_EQ(get_be64(be64(v)), v);
  std::string out = "x";
  put_be64(out, 7);
  EXPECT_EQ(out.size(), 9u);
  EXPECT_EQ(get_be64(std::string_view(out).substr(1)), 7u);
}

TEST(storage_keys, byte_order_equals_numeric_order) {
  std::vector<uint64_t> values{0, 1, 2, 127, 128, 255, 256, 65535, 65536, uint64_t{1} << 32,
                               (uint64_t{1} << 56) - 1, uint64_t{1} << 56, (uint64_t{1} << 63) - 1,
                               uint64_t{1} << 63, max64 - 1, max64};
  for (auto a : values)
    for (auto b : values) {
      EXPECT_EQ(a < b, be64(a) < be64(b)) << a << " vs " << b;
      EXPECT_EQ(a < b, hook_seq_key(a, 5) < hook_seq_key(b, 0)) << a << " vs " << b;
      EXPECT_EQ(a < b, hook_seq_key(9, a) < hook_seq_key(9, b)) << a << " vs " << b;
    }
}

TEST(storage_keys, hook_seq_key_layout) {
  auto key = hook_seq_key(3, 4);
  ASSERT_EQ(key.size(), 16u);
  EXPECT_EQ(key, be64(3) + be64(4));
  EXPECT_EQ(hook_key(3), be64(3));
}

TEST(storage_keys, hook_range_covers_exactly_one_hook) {
  auto in_range = [](const std::pair<std::string, std::string>& r, const std::string& k) {
    return r.first <= k && k < r.second;
  };
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, max64 - 1, max64}) {
    auto r = hook_range(id);
    for (uint64_t seq : {uint64_t{0}, uint64_t{1}, max64})
      EXPECT_TRUE(in_range(r, hook_seq_key(id, seq))) << id << "/" << seq;
    for (uint64_t seq : {uint64_t{0}, max64}) {
      if (id > 0) {
        EXPECT_FALSE(in_range(r, hook_seq_key(id - 1, seq))) << id << "/" << seq;
      }
      if (id < max64) {
        EXPECT_FALSE(in_range(r, hook_seq_key(id + 1, seq))) << id << "/" << seq;
      }
    }
  }
}

TEST(storage_keys, idempotency_key_separates_accounts) {
  EXPECT_EQ(idempotency_key("acme", "k1"), std::string("acme\0k1", 7));
  EXPECT_NE(idempotency_key("ab", "c"), idempotency_key("a", "bc"));
  // All keys of one account share the prefix account ‖ 0x00 and sort together.
  std::vector<std::string> keys{idempotency_key("b", ""), idempotency_key("a", "zz"),
                                idempotency_key("ab", "a"), idempotency_key("a", "")};
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys[0], idempotency_key("a", ""));
  EXPECT_EQ(keys[1], idempotency_key("a", "zz"));
  EXPECT_EQ(keys[2], idempotency_key("ab", "a"));
}

TEST(storage_keys, idempotency_range_covers_exactly_one_account) {
  auto [lo, hi] = idempotency_range("ab");
  auto inside = [&](const std::string& k) { return lo <= k && k < hi; };
  EXPECT_TRUE(inside(idempotency_key("ab", "")));
  EXPECT_TRUE(inside(idempotency_key("ab", "x")));
  EXPECT_TRUE(inside(idempotency_key("ab", std::string(300, '\xff'))));
  EXPECT_FALSE(inside(idempotency_key("a", "b")));
  EXPECT_FALSE(inside(idempotency_key("a", "b\x01")));
  EXPECT_FALSE(inside(idempotency_key("abc", "")));
  EXPECT_FALSE(inside(idempotency_key("ab.", "")));
  EXPECT_FALSE(inside(idempotency_key("b", "")));
}

} // namespace
} // namespace hookwerk::storage
