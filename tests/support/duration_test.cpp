#include "actors/support/duration.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace hookwerk::support {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(parse_duration, every_unit) {
  EXPECT_EQ(parse_duration("100ms"), milliseconds{100});
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("5d"), std::chrono::days{5});
}

TEST(parse_duration, zero_and_leading_zeros) {
  EXPECT_EQ(parse_duration("0s"), 0ms);
  EXPECT_EQ(parse_duration("0ms"), 0ms);
  EXPECT_EQ(parse_duration("007s"), 7s);
}

TEST(parse_duration, rejects_malformed_input) {
  for (const char* bad : {"", "s", "ms", "10", "10x", "10sec", "10S", "10 s", " 10s", "10s ",
                          "-5s", "+5s", "1.5s", "1,5s", "1h30m", "10ss", "10mss", "0x10s",
                          "1e3ms", "\t1s"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << '"' << bad << '"';
}

TEST(parse_duration, caps_at_about_a_hundred_years) {
  EXPECT_EQ(parse_duration("36500d"), max_duration);
  EXPECT_EQ(parse_duration("876000h"), max_duration);
  EXPECT_FALSE(parse_duration("36501d"));
  EXPECT_FALSE(parse_duration("876001h"));
  EXPECT_EQ(parse_duration("3153600000000ms"), max_duration);
  EXPECT_FALSE(parse_duration("3153600000001ms"));
  EXPECT_FALSE(parse_duration("99999999999999999999999999999s"));
  EXPECT_FALSE(parse_duration("18446744073709551616ms"));
}

TEST(parse_duration_list, parses_each_element) {
  auto list = parse_duration_list("10s,30s,2m,5m,15m,30m,1h,2h,4h,8h");
  ASSERT_TRUE(list);
  std::vector<milliseconds> expected{10s, 30s, 2min, 5min, 15min, 30min, 1h, 2h, 4h, 8h};
  EXPECT_EQ(*list, expected);
  EXPECT_EQ(parse_duration_list("250ms"), std::vector<milliseconds>{250ms});
}

TEST(parse_duration_list, rejects_empty_and_bad_elements) {
  for (const char* bad : {"", ",", "10s,", ",10s", "10s,,30s", "10s, 30s", "10s;30s", "10s,x",
                          "10s,36501d"})
    EXPECT_FALSE(parse_duration_list(bad).has_value()) << '"' << bad << '"';
}

TEST(format_duration, uses_the_largest_exact_unit) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(150ms), "150ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(10s), "10s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(36h), "36h");
  EXPECT_EQ(format_duration(std::chrono::days{5}), "5d");
  EXPECT_EQ(format_duration(-10s), "-10s");
  EXPECT_EQ(format_duration(milliseconds::min()), "-9223372036854775808ms");
}

TEST(format_duration, round_trips_through_parse) {
  const std::vector<milliseconds> samples{0ms,  1ms,  999ms, 1000ms, 59s, 60s, 61s, 3600s,
                                          86'400'000ms, milliseconds{86'400'001}, max_duration};
  for (milliseconds d : samples) {
    auto text = format_duration(d);
    EXPECT_EQ(parse_duration(text), d) << text;
  }
  for (const char* text : {"0s", "150ms", "10s", "2m", "1h", "5d", "36500d"})
    EXPECT_EQ(format_duration(*parse_duration(text)), text);
}

TEST(format_duration_list, joins_with_commas) {
  EXPECT_EQ(format_duration_list({10s, 30s, 2min, 1h}), "10s,30s,2m,1h");
  EXPECT_EQ(format_duration_list({}), "");
  auto list = parse_duration_list("100ms,2m,5d");
  ASSERT_TRUE(list);
  EXPECT_EQ(format_duration_list(*list), "100ms,2m,5d");
}

} // namespace
} // namespace hookwerk::support
