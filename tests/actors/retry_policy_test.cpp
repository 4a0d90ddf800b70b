#include <gtest/gtest.h>

#include "actors/retry_policy.hpp"

namespace hookwerk {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

const std::vector<ms> schedule{10s, 30s, 2min};

TEST(retry_policy, follows_the_schedule_then_repeats_the_last) {
  EXPECT_EQ(retry_delay(schedule, 1, 0.0, std::nullopt), 10s);
  EXPECT_EQ(retry_delay(schedule, 2, 0.0, std::nullopt), 30s);
  EXPECT_EQ(retry_delay(schedule, 3, 0.0, std::nullopt), 2min);
  EXPECT_EQ(retry_delay(schedule, 9, 0.0, std::nullopt), 2min);
}

TEST(retry_policy, jitter_is_plus_minus_ten_percent) {
  EXPECT_EQ(retry_delay(schedule, 1, 1.0, std::nullopt), 11s);
  EXPECT_EQ(retry_delay(schedule, 1, -1.0, std::nullopt), 9s);
  EXPECT_EQ(retry_delay(schedule, 1, 5.0, std::nullopt), 11s);  // clamped
}

TEST(retry_policy, retry_after_extends_but_is_capped_by_the_longest_delay) {
  EXPECT_EQ(retry_delay(schedule, 1, 0.0, std::chrono::seconds{20}), 20s);
  EXPECT_EQ(retry_delay(schedule, 1, 0.0, std::chrono::seconds{5}), 10s);
  EXPECT_EQ(retry_delay(schedule, 1, 0.0, std::chrono::seconds{3600}), 2min);
}

} // namespace
} // namespace hookwerk

namespace hookwerk {
namespace {

TEST(retry_policy, local_failures_wait_the_first_delay_whatever_the_attempt) {
  const std::vector<std::chrono::milliseconds> schedule{std::chrono::seconds{10},
                                                        std::chrono::minutes{2}};
  EXPECT_EQ(local_retry_delay(schedule, 0.0), std::chrono::seconds{10});
  EXPECT_EQ(local_retry_delay(schedule, 1.0), std::chrono::seconds{11});
  EXPECT_EQ(local_retry_delay(schedule, -1.0), std::chrono::seconds{9});
  EXPECT_EQ(local_retry_delay({}, 0.0), std::chrono::milliseconds{0});
}

} // namespace
} // namespace hookwerk
