#include <gtest/gtest.h>

#include "actors/delivery_queue.hpp"

namespace hookwerk {
namespace {

storage::queue_entry entry(uint64_t seq, std::optional<std::string> key = std::nullopt) {
  storage::queue_entry e;
  e.seq = seq;
  e.event_id = "evt_" + std::to_string(seq);
  e.payload = "{\"n\":" + std::to_string(seq) + "}";
  e.key = std::move(key);
  return e;
}

std::vector<uint64_t> seqs(const std::vector<delivery_queue::item*>& items) {
  std::vector<uint64_t> out;
  for (auto* it : items)
    out.push_back(it->entry.seq);
  return out;
}

TEST(delivery_queue, keyless_entries_go_in_parallel_up_to_the_limit) {
  delivery_queue q{16};
  for (uint64_t i = 1; i <= 5; ++i)
    q.add(entry(i));
  EXPECT_EQ(seqs(q.take_ready(0, 3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(q.in_flight(), 3u);
  EXPECT_EQ(seqs(q.take_ready(0, 8)), (std::vector<uint64_t>{4, 5}));
  EXPECT_TRUE(q.take_ready(0, 8).empty());
}

TEST(delivery_queue, one_key_goes_one_at_a_time_in_order) {
  delivery_queue q{16};
  q.add(entry(1, "a"));
  q.add(entry(2, "b"));
  q.add(entry(3, "a"));
  q.add(entry(4, std::nullopt));
  EXPECT_EQ(seqs(q.take_ready(0, 8)), (std::vector<uint64_t>{1, 2, 4}));
  // 3 waits for 1 even after 1 failed and is waiting for its retry.
  q.release(1, 100);
  EXPECT_TRUE(q.take_ready(50, 8).empty());
  EXPECT_EQ(q.next_due(), 100);
  EXPECT_EQ(seqs(q.take_ready(100, 8)), (std::vector<uint64_t>{1}));
  q.remove(1);
  EXPECT_EQ(seqs(q.take_ready(100, 8)), (std::vector<uint64_t>{3}));
}

TEST(delivery_queue, a_retrying_key_does_not_block_other_keys) {
  delivery_queue q{16};
  q.add(entry(1, "a"));
  q.add(entry(2, "b"));
  ASSERT_EQ(q.take_ready(0, 8).size(), 2u);
  q.release(1, 1000);
  q.remove(2);
  q.add(entry(3, "b"));
  EXPECT_EQ(seqs(q.take_ready(10, 8)), (std::vector<uint64_t>{3}));
}

TEST(delivery_queue, entries_beyond_the_window_are_counted_then_paged) {
  delivery_queue q{2};
  q.add(entry(1));
  q.add(entry(2));
  q.add(entry(3));
  q.add(entry(4));
  EXPECT_EQ(q.in_memory(), 2u);
  EXPECT_EQ(q.backlog(), 2u);
  EXPECT_EQ(q.pending(), 4u);
  EXPECT_FALSE(q.wants_page());
  q.take_ready(0, 8);
  q.remove(1);
  ASSERT_TRUE(q.wants_page());
  EXPECT_EQ(q.page_from(), 3u);
  EXPECT_EQ(q.room(), 1u);
  q.load(entry(3));
  q.paged(1);
  EXPECT_EQ(q.backlog(), 1u);
  EXPECT_EQ(q.pending(), 3u);
  // New entries keep going to disk while older ones wait there.
  q.remove(2);
  q.add(entry(5));
  EXPECT_EQ(q.backlog(), 2u);
  EXPECT_EQ(q.page_from(), 4u);
}

TEST(delivery_queue, next_due_ignores_keys_blocked_behind_others) {
  delivery_queue q{16};
  q.add(entry(1, "a"));
  q.add(entry(2, "a"));
  q.take_ready(0, 8);
  q.release(1, 500);
  EXPECT_EQ(q.next_due(), 500);
  q.remove(1);
  EXPECT_EQ(q.next_due(), std::nullopt);  // 2 is ready now, not waiting on a time
}

TEST(delivery_queue, payload_is_shared_and_kept) {
  delivery_queue q{4};
  q.add(entry(7));
  auto ready = q.take_ready(0, 1);
  ASSERT_EQ(ready.size(), 1u);
  ASSERT_TRUE(ready[0]->payload);
  EXPECT_EQ(*ready[0]->payload, "{\"n\":7}");
}

} // namespace
} // namespace hookwerk
