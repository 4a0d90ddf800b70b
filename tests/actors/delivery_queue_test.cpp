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

/// Adds `e` as the registry routes it: the payload apart, shared.
void add(delivery_queue& q, storage::queue_entry e) {
  auto payload = std::make_shared<const std::string>(e.payload);
  q.add(std::move(e), std::move(payload));
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
    add(q, entry(i));
  EXPECT_EQ(seqs(q.take_ready(0, 3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(q.in_flight(), 3u);
  EXPECT_EQ(seqs(q.take_ready(0, 8)), (std::vector<uint64_t>{4, 5}));
  EXPECT_TRUE(q.take_ready(0, 8).empty());
}

TEST(delivery_queue, one_key_goes_one_at_a_time_in_order) {
  delivery_queue q{16};
  add(q, entry(1, "a"));
  add(q, entry(2, "b"));
  add(q, entry(3, "a"));
  add(q, entry(4, std::nullopt));
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
  add(q, entry(1, "a"));
  add(q, entry(2, "b"));
  ASSERT_EQ(q.take_ready(0, 8).size(), 2u);
  q.release(1, 1000);
  q.remove(2);
  add(q, entry(3, "b"));
  EXPECT_EQ(seqs(q.take_ready(10, 8)), (std::vector<uint64_t>{3}));
}

TEST(delivery_queue, entries_beyond_the_window_are_counted_then_paged) {
  delivery_queue q{2};
  add(q, entry(1));
  add(q, entry(2));
  add(q, entry(3));
  add(q, entry(4));
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
  add(q, entry(5));
  EXPECT_EQ(q.backlog(), 2u);
  EXPECT_EQ(q.page_from(), 4u);
}

TEST(delivery_queue, next_due_ignores_keys_blocked_behind_others) {
  delivery_queue q{16};
  add(q, entry(1, "a"));
  add(q, entry(2, "a"));
  q.take_ready(0, 8);
  q.release(1, 500);
  EXPECT_EQ(q.next_due(), 500);
  q.remove(1);
  EXPECT_EQ(q.next_due(), std::nullopt);  // 2 is ready now, not waiting on a time
}

TEST(delivery_queue, next_due_follows_retries_through_take_release_remove_and_reset) {
  delivery_queue q{16};
  for (uint64_t i = 1; i <= 3; ++i)
    add(q, entry(i));
  EXPECT_EQ(q.next_due(), std::nullopt);
  q.take_ready(0, 8);
  q.release(1, 300);
  q.release(2, 200);
  EXPECT_EQ(q.next_due(), 200);
  EXPECT_EQ(seqs(q.take_ready(250, 8)), (std::vector<uint64_t>{2}));
  EXPECT_EQ(q.next_due(), 300);  // 2 is in flight again
  q.release(2, 400);             // failed again
  q.remove(1);                   // 1 given up
  EXPECT_EQ(q.next_due(), 400);
  q.remove(3);
  q.remove(2);
  EXPECT_EQ(q.next_due(), std::nullopt);
  add(q, entry(4));
  q.take_ready(0, 8);
  q.release(4, 100);
  q.reset_keep_in_flight();
  EXPECT_EQ(q.next_due(), std::nullopt);
  add(q, entry(5));
  q.take_ready(0, 8);
  q.release(5, 700);
  EXPECT_EQ(q.next_due(), 700);
  q.reset();
  EXPECT_EQ(q.next_due(), std::nullopt);
}

TEST(delivery_queue, payload_is_shared_and_kept) {
  delivery_queue q{4};
  auto payload = std::make_shared<const std::string>("{\"n\":7}");
  auto e = entry(7);
  e.payload = "ignored: the shared payload counts";
  q.add(std::move(e), payload);
  auto ready = q.take_ready(0, 1);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]->payload, payload) << "shared, not copied";
  EXPECT_TRUE(ready[0]->entry.payload.empty());
  // Entries read from disk bring their own payload.
  q.load(entry(8));
  auto loaded = q.find(8);
  ASSERT_NE(loaded, nullptr);
  ASSERT_TRUE(loaded->payload);
  EXPECT_EQ(*loaded->payload, "{\"n\":8}");
}

} // namespace
} // namespace hookwerk
