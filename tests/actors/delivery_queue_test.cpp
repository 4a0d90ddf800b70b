#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

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

/// A queue with its stored entries: what the hook actor keeps in RocksDB,
/// here a map from seq to the encoded entry.
struct stored_queue {
  explicit stored_queue(size_t capacity) : q(capacity) {}

  /// An entry becomes durable, then the hook hears of it.
  void add(storage::queue_entry e) {
    disk[e.seq] = e.encode();
    ::hookwerk::add(q, std::move(e));
  }

  /// Delivered or given up: gone from memory and from disk.
  void remove(uint64_t seq) {
    q.remove(seq);
    disk.erase(seq);
  }

  delivery_queue::page_result page(size_t budget = delivery_queue::page_budget) {
    ++reads;
    return q.page(reader(), budget);
  }

  /// Pages until the queue has nothing more to read.
  void page_all() {
    for (int i = 0; i < 10000 && q.wants_page(); ++i)
      page();
  }

  delivery_queue::reader reader() {
    return [this](uint64_t from, uint64_t to, const std::function<bool(std::string_view)>& fn) {
      for (auto i = disk.lower_bound(from); i != disk.end() && i->first < to; ++i) {
        ++visited;
        if (!fn(i->second))
          return;
      }
    };
  }

  /// A restart: a new window over the same stored entries.
  void restart(size_t capacity) {
    q = delivery_queue{capacity};
    q.add_backlog(disk.size());
    page_all();
  }

  delivery_queue q;
  std::map<uint64_t, std::string> disk;
  size_t reads = 0;
  size_t visited = 0;
};

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
  stored_queue s{16};
  s.add(entry(1, "a"));
  s.add(entry(2, "b"));
  s.add(entry(3, "a"));
  s.add(entry(4, std::nullopt));
  EXPECT_EQ(s.q.in_memory(), 3u) << "3 waits on disk behind the head of its key";
  EXPECT_EQ(s.q.pending(), 4u);
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{1, 2, 4}));
  // 3 waits for 1 even after 1 failed and is waiting for its retry.
  s.q.release(1, 100);
  EXPECT_FALSE(s.q.wants_page());
  EXPECT_TRUE(s.q.take_ready(50, 8).empty());
  EXPECT_EQ(s.q.next_due(), 100);
  EXPECT_EQ(seqs(s.q.take_ready(100, 8)), (std::vector<uint64_t>{1}));
  s.remove(1);
  ASSERT_TRUE(s.q.wants_page());
  s.page();
  EXPECT_EQ(seqs(s.q.take_ready(100, 8)), (std::vector<uint64_t>{3}));
}

TEST(delivery_queue, a_retrying_key_does_not_block_other_keys) {
  stored_queue s{16};
  s.add(entry(1, "a"));
  s.add(entry(2, "b"));
  ASSERT_EQ(s.q.take_ready(0, 8).size(), 2u);
  s.q.release(1, 1000);
  s.remove(2);
  s.page_all();
  s.add(entry(3, "b"));
  EXPECT_EQ(seqs(s.q.take_ready(10, 8)), (std::vector<uint64_t>{3}));
}

TEST(delivery_queue, entries_beyond_the_window_are_counted_then_paged) {
  stored_queue s{2};
  for (uint64_t i = 1; i <= 4; ++i)
    s.add(entry(i));
  EXPECT_EQ(s.q.in_memory(), 2u);
  EXPECT_EQ(s.q.backlog(), 2u);
  EXPECT_EQ(s.q.pending(), 4u);
  EXPECT_FALSE(s.q.wants_page());
  s.q.take_ready(0, 8);
  s.remove(1);
  ASSERT_TRUE(s.q.wants_page());
  EXPECT_EQ(s.q.room(), 1u);
  s.page();
  EXPECT_EQ(s.q.in_memory(), 2u);
  EXPECT_EQ(s.q.backlog(), 1u);
  EXPECT_EQ(s.q.pending(), 3u);
  EXPECT_NE(s.q.find(3), nullptr);
  // New entries keep going to disk while older ones wait there unseen.
  s.remove(2);
  s.add(entry(5));
  EXPECT_EQ(s.q.backlog(), 2u);
  EXPECT_EQ(s.q.find(5), nullptr);
  s.page_all();
  EXPECT_NE(s.q.find(4), nullptr);
  EXPECT_EQ(s.q.backlog(), 1u);
}

TEST(delivery_queue, a_failing_key_with_more_entries_than_the_window_does_not_block_other_keys) {
  // 300 entries of a key whose receiver keeps failing, then 10 of another
  // key and 5 without a key, with a window of 8: the other entries all get
  // through while the failing key holds one place.
  stored_queue s{8};
  uint64_t seq = 0;
  for (int i = 0; i < 300; ++i)
    s.add(entry(++seq, "bad"));
  for (int i = 0; i < 10; ++i)
    s.add(entry(++seq, "good"));
  for (int i = 0; i < 5; ++i)
    s.add(entry(++seq));
  EXPECT_EQ(s.q.pending(), 315u);
  std::vector<uint64_t> delivered;
  int64_t now = 0;
  for (int round = 0; round < 100; ++round) {
    s.page_all();
    ASSERT_LE(s.q.in_memory(), 8u);
    for (auto* it : s.q.take_ready(now, 4)) {
      if (it->entry.key == "bad") {
        EXPECT_EQ(it->entry.seq, 1u) << "only the head of the failing key is attempted";
        s.q.release(it->entry.seq, now + 5);
      } else {
        delivered.push_back(it->entry.seq);
        s.remove(it->entry.seq);
      }
    }
    ++now;
  }
  std::vector<uint64_t> expected;
  for (uint64_t i = 301; i <= 315; ++i)
    expected.push_back(i);
  std::sort(delivered.begin(), delivered.end());
  EXPECT_EQ(delivered, expected);
  EXPECT_EQ(s.q.pending(), 300u);
  EXPECT_EQ(s.q.in_memory(), 1u);
  EXPECT_EQ(s.q.deferred_keys(), 1u);
}

TEST(delivery_queue, the_next_entry_of_a_key_comes_in_when_its_head_leaves) {
  stored_queue s{4};
  s.add(entry(1, "a"));
  s.add(entry(2, "b"));
  s.add(entry(3, "a"));
  s.add(entry(4, "b"));
  s.add(entry(5, "a"));
  EXPECT_EQ(s.q.in_memory(), 2u);
  std::vector<uint64_t> order;
  for (int i = 0; i < 10 && s.q.pending() > 0; ++i) {
    s.page_all();
    for (auto* it : s.q.take_ready(0, 8)) {
      order.push_back(it->entry.seq);
      s.remove(it->entry.seq);
    }
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(s.q.pending(), 0u);
  s.page_all();  // finds that nothing more of "a" waits
  EXPECT_EQ(s.q.deferred_keys(), 0u);
}

TEST(delivery_queue, an_entry_already_paged_in_is_not_added_twice) {
  // page() may read an entry that is durable before the hook hears of it.
  stored_queue s{4};
  s.disk[1] = entry(1).encode();
  s.disk[2] = entry(2, "a").encode();
  s.q.add_backlog(1);
  s.page_all();
  EXPECT_EQ(s.q.in_memory(), 2u);
  add(s.q, entry(2, "a"));
  EXPECT_EQ(s.q.in_memory(), 2u);
  EXPECT_EQ(s.q.pending(), 2u);
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{1, 2}));
}

TEST(delivery_queue, a_reload_with_an_attempt_in_flight_strands_nothing) {
  stored_queue s{2};
  for (uint64_t i = 1; i <= 4; ++i)
    s.add(entry(i));
  ASSERT_EQ(seqs(s.q.take_ready(0, 1)), (std::vector<uint64_t>{1}));
  // Reloaded (as after an activation) while 1 is in flight: the stored
  // queue is counted without it, and paging passes over it.
  s.q.reset_keep_in_flight();
  s.q.add_backlog(3);
  s.page_all();
  EXPECT_EQ(s.q.pending(), 4u);
  ASSERT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{2}));
  s.remove(2);
  s.page_all();
  ASSERT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{3}));
  s.remove(1);
  s.remove(3);
  s.page_all();
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{4}));
}

TEST(delivery_queue, a_short_count_strands_nothing) {
  // Three stored entries counted as two: one was read by page() before the
  // hook heard of it, and its late add() is ignored.
  stored_queue s{1};
  for (uint64_t i = 1; i <= 3; ++i)
    s.disk[i] = entry(i).encode();
  s.q.add_backlog(2);
  std::vector<uint64_t> delivered;
  for (int i = 0; i < 10 && !s.disk.empty(); ++i) {
    s.page_all();
    for (auto* it : s.q.take_ready(0, 8)) {
      delivered.push_back(it->entry.seq);
      s.remove(it->entry.seq);
    }
  }
  EXPECT_EQ(delivered, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(delivery_queue, paging_stops_at_its_budget_and_goes_on_later) {
  // "b" at 1, 50 and 100, "a" everywhere between; "a" keeps failing.
  stored_queue s{4};
  for (uint64_t i = 1; i <= 100; ++i)
    s.add(entry(i, i == 1 || i == 50 || i == 100 ? "b" : "a"));
  EXPECT_EQ(s.q.in_memory(), 2u);
  EXPECT_EQ(s.q.pending(), 100u);
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{1, 2}));
  s.q.release(2, 1000);
  s.remove(1);
  s.page_all();
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{50}));
  s.remove(50);
  // The next "b" lies behind 49 entries of "a": found 10 entries at a time.
  int calls = 0;
  delivery_queue::page_result r;
  do {
    r = s.page(10);
    ++calls;
    ASSERT_LT(calls, 100);
  } while (r.more);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(seqs(s.q.take_ready(0, 8)), (std::vector<uint64_t>{100}));
  EXPECT_EQ(s.q.pending(), 98u);
}

TEST(delivery_queue, order_per_key_holds_with_random_failures_and_restarts) {
  std::mt19937 rng{12345};
  stored_queue s{8};
  const std::vector<std::optional<std::string>> keys{std::nullopt, "a", "b", "c", "d", "e"};
  uint64_t seq = 0;
  std::map<std::string, std::vector<uint64_t>> added, delivered;
  std::map<std::string, uint64_t> in_flight_per_key;
  int64_t now = 0;
  for (int step = 0; step < 3000; ++step) {
    auto what = rng() % 10;
    if (what < 4 && seq < 1500) {
      auto key = keys[rng() % keys.size()];
      ++seq;
      if (key)
        added[*key].push_back(seq);
      s.add(entry(seq, key));
    } else if (what == 9 && rng() % 20 == 0) {
      // A restart forgets attempts in flight: they run again.
      s.restart(8);
      in_flight_per_key.clear();
    }
    s.page_all();
    ASSERT_LE(s.q.in_memory(), 8u);
    for (auto* it : s.q.take_ready(now, 3)) {
      if (it->entry.key) {
        EXPECT_EQ(in_flight_per_key[*it->entry.key]++, 0u) << "two of one key in flight";
      }
      auto k = it->entry.key;
      auto sq = it->entry.seq;
      if (rng() % 3 == 0) {
        s.q.release(sq, now + 2);
      } else {
        if (k)
          delivered[*k].push_back(sq);
        s.remove(sq);
      }
      if (k)
        --in_flight_per_key[*k];
    }
    ++now;
  }
  for (int i = 0; i < 5000 && s.q.pending() > 0; ++i) {
    s.page_all();
    for (auto* it : s.q.take_ready(now, 8)) {
      if (it->entry.key)
        delivered[*it->entry.key].push_back(it->entry.seq);
      s.remove(it->entry.seq);
    }
    ++now;
  }
  EXPECT_EQ(s.q.pending(), 0u);
  EXPECT_TRUE(s.disk.empty());
  EXPECT_EQ(delivered, added);
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
  stored_queue s{4};
  s.disk[8] = entry(8).encode();
  s.q.add_backlog(1);
  s.page_all();
  auto loaded = s.q.find(8);
  ASSERT_NE(loaded, nullptr);
  ASSERT_TRUE(loaded->payload);
  EXPECT_EQ(*loaded->payload, "{\"n\":8}");
}


TEST(delivery_queue, entries_in_the_reference_form_are_completed_by_the_resolver) {
  // Stored as ingestion stores a fanned-out event: the entry without its event.
  std::map<uint64_t, std::string> disk;
  std::map<uint64_t, storage::event_record> events;
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    auto e = entry(seq, seq % 2 == 0 ? std::optional<std::string>{"k"} : std::nullopt);
    e.shared = true;
    disk[seq] = e.encode();
    if (seq != 3 && seq != 4)  // 3 and 4: delivered before a crash lost their removal
      events[seq] = storage::event_record{e.event_id, "optin_finalized", e.payload, {1}};
  }
  delivery_queue::reader read = [&](uint64_t from, uint64_t to,
                                    const std::function<bool(std::string_view)>& fn) {
    for (auto i = disk.lower_bound(from); i != disk.end() && i->first < to; ++i)
      if (!fn(i->second))
        return;
  };
  bool failing = true;  // the first read of event 5 fails
  delivery_queue::resolver resolve =
    [&](storage::queue_entry& e) -> std::optional<std::shared_ptr<const std::string>> {
    if (e.seq == 5 && failing) {
      failing = false;
      return std::nullopt;
    }
    auto found = events.find(e.seq);
    if (found == events.end())
      return std::shared_ptr<const std::string>{};
    e.event_id = found->second.event_id;
    e.event = found->second.event;
    return std::make_shared<const std::string>(found->second.payload);
  };

  delivery_queue q{16};
  q.add_backlog(disk.size());
  auto r = q.page(read, delivery_queue::page_budget, resolve);
  EXPECT_EQ(r.orphaned, (std::vector<uint64_t>{3}));
  EXPECT_EQ(r.unreadable, 1u) << "event 5 could not be read";
  // Key "k": 2 is its head, 4 and 6 wait on disk behind it.
  auto ready = q.take_ready(0, 10);
  ASSERT_EQ(seqs(ready), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(*ready[0]->payload, R"({"n":1})");
  EXPECT_EQ(ready[1]->entry.event_id, "evt_2");
  EXPECT_EQ(ready[1]->entry.event, "optin_finalized");
  EXPECT_TRUE(ready[1]->entry.shared);
  // Once 2 is delivered, the key's next entry with an event (6, not the orphaned 4) follows.
  q.remove(2);
  r = q.page(read, delivery_queue::page_budget, resolve);
  EXPECT_EQ(r.orphaned, (std::vector<uint64_t>{4}));
  ready = q.take_ready(0, 10);
  ASSERT_EQ(seqs(ready), (std::vector<uint64_t>{6}));
  EXPECT_EQ(*ready[0]->payload, R"({"n":6})");

  // Without a resolver such an entry cannot be read.
  delivery_queue plain{16};
  plain.add_backlog(disk.size());
  r = plain.page(read);
  EXPECT_EQ(r.unreadable, 6u);
  EXPECT_EQ(plain.in_memory(), 0u);
}

} // namespace
} // namespace hookwerk
