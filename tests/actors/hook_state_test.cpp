#include <gtest/gtest.h>

#include "actors/hook.hpp"

namespace hookwerk {
namespace {

using namespace std::chrono_literals;

TEST(hook_state, deactivates_at_the_threshold_of_consecutive_failures) {
  hook_state st;
  EXPECT_EQ(st.on_failure("HTTP 503", 503, 3), hook_state::after_failure::retry);
  EXPECT_EQ(st.on_failure("timeout", 0, 3), hook_state::after_failure::retry);
  EXPECT_EQ(st.on_failure("HTTP 500", 500, 3), hook_state::after_failure::deactivate);
  EXPECT_EQ(st.record.consecutive_failures, 3u);
  EXPECT_EQ(st.record.last_error, "HTTP 500");
}

TEST(hook_state, a_success_resets_the_count) {
  hook_state st;
  st.on_failure("HTTP 503", 503, 3);
  st.on_failure("HTTP 503", 503, 3);
  EXPECT_TRUE(st.on_success());
  EXPECT_FALSE(st.on_success());
  EXPECT_EQ(st.on_failure("HTTP 503", 503, 3), hook_state::after_failure::retry);
}

TEST(hook_state, gone_deactivates_at_once) {
  hook_state st;
  EXPECT_EQ(st.on_failure("HTTP 410", 410, 10), hook_state::after_failure::deactivate);
}

TEST(hook_state, an_inactive_hook_is_not_deactivated_again) {
  hook_state st;
  st.deactivate(1000);
  EXPECT_EQ(st.on_failure("HTTP 410", 410, 1), hook_state::after_failure::retry);
}

TEST(hook_state, buffers_within_retention_and_below_the_limit) {
  hook_state st;
  EXPECT_FALSE(st.buffers_at(0, 5s, 10));  // active hooks do not buffer
  st.deactivate(1000);
  EXPECT_TRUE(st.buffers_at(1000, 5s, 10));
  EXPECT_TRUE(st.buffers_at(5999, 5s, 10));
  EXPECT_FALSE(st.buffers_at(6000, 5s, 10));
  st.buffered = 10;
  EXPECT_FALSE(st.buffers_at(2000, 5s, 10));
}

TEST(hook_state, reactivation_clears_state) {
  hook_state st;
  st.on_failure("HTTP 503", 503, 1);
  st.deactivate(1000);
  EXPECT_TRUE(st.reactivate());
  EXPECT_TRUE(st.record.active);
  EXPECT_EQ(st.record.deactivated_at_ms, 0);
  EXPECT_EQ(st.record.consecutive_failures, 0u);
  EXPECT_FALSE(st.reactivate());
}

} // namespace
} // namespace hookwerk
