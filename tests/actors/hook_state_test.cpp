#include <gtest/gtest.h>

#include "actors/hook.hpp"

namespace hookwerk {
namespace {

using namespace std::chrono_literals;
using after = hook_state::after_failure;

/// The count alone (--failure-window 0s).
constexpr failure_policy count_only(uint32_t threshold) { return {threshold, 0ms}; }

/// A receiver's failure at `now`.
after fail(hook_state& st, int64_t now, failure_policy policy, unsigned status = 503) {
  return st.on_failure("HTTP " + std::to_string(status), status, fault::receiver, now, policy);
}

TEST(hook_state, deactivates_at_the_threshold_of_consecutive_failures) {
  hook_state st;
  EXPECT_EQ(st.on_failure("HTTP 503", 503, fault::receiver, 1000, count_only(3)), after::retry);
  EXPECT_EQ(st.on_failure("timeout", 0, fault::receiver, 2000, count_only(3)), after::retry);
  EXPECT_EQ(st.on_failure("HTTP 500", 500, fault::receiver, 3000, count_only(3)), after::deactivate);
  EXPECT_EQ(st.record.consecutive_failures, 3u);
  EXPECT_EQ(st.record.last_error, "HTTP 500");
  EXPECT_EQ(st.record.failures_since_ms, 1000);
}

TEST(hook_state, a_zero_window_is_the_count_alone) {
  hook_state st;
  // Failures in the same millisecond: the threshold alone decides.
  EXPECT_EQ(fail(st, 5000, count_only(2)), after::retry);
  EXPECT_EQ(fail(st, 5000, count_only(2)), after::deactivate);
}

TEST(hook_state, a_failure_without_fault_counts_as_the_receivers) {
  hook_state st;
  EXPECT_EQ(st.on_failure("connection refused", 0, fault::none, 1, count_only(1)), after::deactivate);
}

TEST(hook_state, local_failures_neither_count_nor_reset_the_streak) {
  hook_state st;
  const failure_policy policy = count_only(2);
  EXPECT_EQ(fail(st, 1000, policy), after::retry);
  auto before = st.record;
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(st.on_failure("dns: DNS server returned general failure", 0, fault::local,
                            2000 + i, policy),
              after::retry_local);
  // Nothing changed: not the count, not the streak's start, not the last error.
  EXPECT_EQ(st.record, before);
  EXPECT_EQ(st.record.consecutive_failures, 1u);
  EXPECT_EQ(st.record.last_error, "HTTP 503");
  // The streak goes on where it was: the next receiver failure reaches the threshold.
  EXPECT_EQ(fail(st, 3000, policy), after::deactivate);
  EXPECT_EQ(st.record.failures_since_ms, 1000);
}

TEST(hook_state, local_failures_alone_never_deactivate) {
  hook_state st;
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(st.on_failure("too many open files", 0, fault::local, i * 1000, count_only(1)),
              after::retry_local);
  EXPECT_TRUE(st.record.active);
  EXPECT_EQ(st.record.consecutive_failures, 0u);
  EXPECT_EQ(st.record.failures_since_ms, 0);
  EXPECT_FALSE(st.record.last_error);
}

TEST(hook_state, the_window_must_pass_since_the_first_failure_of_the_streak) {
  hook_state st;
  const failure_policy policy{3, 10s};
  EXPECT_EQ(fail(st, 100'000, policy), after::retry);
  EXPECT_EQ(fail(st, 101'000, policy), after::retry);
  // The threshold is reached, the window not: the hook keeps trying.
  EXPECT_EQ(fail(st, 102'000, policy), after::retry);
  EXPECT_EQ(fail(st, 109'999, policy), after::retry);
  EXPECT_EQ(st.record.consecutive_failures, 4u);
  EXPECT_TRUE(st.record.active);
  // 10 s after the first failure of the streak.
  EXPECT_EQ(fail(st, 110'000, policy), after::deactivate);
}

TEST(hook_state, the_window_alone_does_not_deactivate) {
  hook_state st;
  const failure_policy policy{3, 10s};
  EXPECT_EQ(fail(st, 1000, policy), after::retry);
  EXPECT_EQ(fail(st, 60'000, policy), after::retry);  // old enough, but only two
  EXPECT_EQ(fail(st, 60'001, policy), after::deactivate);
}

TEST(hook_state, a_success_resets_the_count_and_the_window) {
  hook_state st;
  const failure_policy policy{3, 10s};
  fail(st, 1000, policy);
  fail(st, 2000, policy);
  EXPECT_TRUE(st.on_success());
  EXPECT_EQ(st.record.consecutive_failures, 0u);
  EXPECT_EQ(st.record.failures_since_ms, 0);
  EXPECT_FALSE(st.on_success());
  // A new streak: its window starts at its own first failure.
  EXPECT_EQ(fail(st, 20'000, policy), after::retry);
  EXPECT_EQ(fail(st, 21'000, policy), after::retry);
  EXPECT_EQ(fail(st, 22'000, policy), after::retry);  // 2 s into the new streak
  EXPECT_EQ(st.record.failures_since_ms, 20'000);
  EXPECT_EQ(fail(st, 30'000, policy), after::deactivate);
}

TEST(hook_state, gone_deactivates_at_once_whatever_the_window) {
  hook_state st;
  EXPECT_EQ(fail(st, 1000, {10, 5min}, 410), after::deactivate);
  hook_state other;
  EXPECT_EQ(fail(other, 1000, {10, 5min}), after::retry);
  EXPECT_EQ(fail(other, 1001, {10, 5min}, 410), after::deactivate);
}

TEST(hook_state, a_streak_without_a_stored_start_starts_its_window_at_the_next_failure) {
  hook_state st;
  st.record.consecutive_failures = 5;  // a record written before the window was kept
  st.record.failures_since_ms = 0;
  EXPECT_EQ(fail(st, 50'000, {3, 10s}), after::retry);
  EXPECT_EQ(st.record.failures_since_ms, 50'000);
  EXPECT_EQ(fail(st, 60'000, {3, 10s}), after::deactivate);
}

TEST(hook_state, an_inactive_hook_is_not_deactivated_again) {
  hook_state st;
  st.deactivate(1000);
  EXPECT_EQ(fail(st, 2000, count_only(1), 410), after::retry);
  EXPECT_EQ(st.on_failure("dns: Timeout", 0, fault::local, 3000, count_only(1)), after::retry_local);
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
  fail(st, 500, count_only(1));
  st.deactivate(1000);
  EXPECT_TRUE(st.reactivate());
  EXPECT_TRUE(st.record.active);
  EXPECT_EQ(st.record.deactivated_at_ms, 0);
  EXPECT_EQ(st.record.consecutive_failures, 0u);
  EXPECT_EQ(st.record.failures_since_ms, 0);
  EXPECT_FALSE(st.reactivate());
}

// ---- the log of dropped events --------------------------------------------------------

TEST(drop_log, the_first_drop_is_written_at_once_later_ones_once_a_minute_with_their_count) {
  drop_log log;
  EXPECT_EQ(log.add(1, "buffer full", 1000), "1 event(s) dropped (buffer full)");
  EXPECT_FALSE(log.due());
  for (int i = 0; i < 500; ++i)
    EXPECT_FALSE(log.add(1, "buffer full", 2000 + i));
  EXPECT_EQ(log.waiting(), 500u);
  EXPECT_EQ(log.due(), 61'000);
  EXPECT_FALSE(log.flush(60'999));
  EXPECT_EQ(log.flush(61'000), "500 event(s) dropped (buffer full)");
  EXPECT_EQ(log.waiting(), 0u);
  EXPECT_FALSE(log.flush(200'000));  // nothing waits
  // Quiet for more than a minute: the next drop is written at once again.
  EXPECT_EQ(log.add(3, "buffer full", 200'000), "3 event(s) dropped (buffer full)");
}

TEST(drop_log, reasons_are_counted_apart_in_one_line) {
  drop_log log;
  ASSERT_TRUE(log.add(1, "buffer full", 0));
  EXPECT_FALSE(log.add(2, "buffer full", 10));
  EXPECT_FALSE(log.add(7, "after --buffer-retention", 20));
  EXPECT_FALSE(log.add(1, "buffer full", 30));
  EXPECT_EQ(log.flush(60'000), "10 event(s) dropped (buffer full: 3, after --buffer-retention: 7)");
}

TEST(drop_log, a_forced_flush_writes_what_waits_at_once) {
  drop_log log;
  ASSERT_TRUE(log.add(1, "buffer full", 0));
  EXPECT_FALSE(log.add(4, "buffer full", 1));
  EXPECT_EQ(log.flush(2, true), "4 event(s) dropped (buffer full)");
  EXPECT_FALSE(log.flush(3, true));
}

} // namespace
} // namespace hookwerk

namespace hookwerk {
namespace {

using namespace std::chrono_literals;

/// An active hook with one entry (seq 1) in its window, nothing attempted.
void one_pending(hook_state& st) {
  storage::queue_entry e;
  e.seq = 1;
  e.event_id = "evt_1";
  e.event = "optin_finalized";
  st.queue.add(e, std::make_shared<const std::string>("{}"));
  ASSERT_EQ(st.queue.pending(), 1u);
}

constexpr auto deadline = 25s;

TEST(hook_state_self_check, pending_with_nothing_in_flight_or_armed_is_stuck) {
  hook_state st;
  one_pending(st);
  auto v = st.check_stuck(1000, deadline);
  EXPECT_TRUE(v.idle);
  EXPECT_TRUE(v.overdue.empty());
  EXPECT_TRUE(st.stuck(1000, deadline));
}

TEST(hook_state_self_check, nothing_pending_is_fine) {
  hook_state st;
  EXPECT_FALSE(st.stuck(1000, deadline));
}

TEST(hook_state_self_check, an_attempt_in_flight_is_fine_until_its_deadline) {
  hook_state st;
  one_pending(st);
  ASSERT_EQ(st.queue.take_ready(1000, 1).size(), 1u);
  st.attempt_started[1] = 1000;
  EXPECT_FALSE(st.stuck(1000, deadline));
  EXPECT_FALSE(st.stuck(1000 + 25'000, deadline));
  // Past the deadline its outcome is overdue, whatever else holds.
  auto v = st.check_stuck(1000 + 25'001, deadline);
  EXPECT_FALSE(v.idle);
  EXPECT_EQ(v.overdue, std::vector<uint64_t>{1});
  st.deactivate(2000);
  EXPECT_EQ(st.check_stuck(1000 + 25'001, deadline).overdue, std::vector<uint64_t>{1});
}

TEST(hook_state_self_check, a_start_time_of_an_entry_no_longer_in_flight_is_ignored) {
  hook_state st;
  one_pending(st);
  st.attempt_started[7] = 0;  // not in the window
  EXPECT_TRUE(st.check_stuck(100'000, deadline).overdue.empty());
}

TEST(hook_state_self_check, an_armed_wake_up_or_paging_is_fine) {
  hook_state st;
  one_pending(st);
  st.wake_at = 5000;
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.wake_at.reset();
  st.paging = true;
  EXPECT_FALSE(st.stuck(1000, deadline));
}

TEST(hook_state_self_check, an_inactive_or_deleted_hook_is_fine) {
  hook_state st;
  one_pending(st);
  st.deactivate(1000);
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.reactivate();
  st.deleting = true;
  EXPECT_FALSE(st.stuck(1000, deadline));
}

TEST(hook_state_self_check, moves_replays_and_activations_under_way_are_fine) {
  hook_state st;
  one_pending(st);
  st.move = hook_state::moving::to_queue;
  st.activating = true;
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.activating = false;
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.move = hook_state::moving::to_buffer;
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.move = hook_state::moving::none;
  st.after_move.push_back([] {});
  EXPECT_FALSE(st.stuck(1000, deadline));
  st.after_move.clear();
  EXPECT_TRUE(st.stuck(1000, deadline));
}

} // namespace
} // namespace hookwerk
