#include "storage/writer.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "common/temp_dir.hpp"

namespace hookwerk::storage {
namespace {

using namespace std::chrono_literals;
using test::temp_dir;

constexpr auto deadline = 30s;

std::unique_ptr<store> open_ok(const std::string& dir) {
  auto db = store::open(dir);
  EXPECT_TRUE(db) << (db ? "" : db.error().message());
  return db ? std::move(db).value() : nullptr;
}

batch one_put(cf family, std::string key, std::string value) {
  batch b;
  b.put(family, std::move(key), std::move(value));
  return b;
}

/// Records callback outcomes in the order they arrive.
class outcomes {
public:
  writer::callback track(int id) {
    return [this, id](status st) {
      std::lock_guard lock{mutex_};
      order_.push_back(id);
      results_.push_back(std::move(st));
      changed_.notify_all();
    };
  }

  bool wait_for(std::size_t n) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] { return results_.size() >= n; });
  }

  std::vector<int> order() {
    std::lock_guard lock{mutex_};
    return order_;
  }

  std::size_t failures() {
    std::lock_guard lock{mutex_};
    std::size_t n = 0;
    for (const auto& st : results_)
      n += st ? 0 : 1;
    return n;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> order_;
  std::vector<status> results_;
};

/// Holds the writer thread inside a callback until released, so that the
/// batches submitted meanwhile are all pending when it returns.
class gate {
public:
  writer::callback callback() {
    return [this](status) {
      entered_.set_value();
      release_future_.wait_for(deadline);
    };
  }
  bool wait_entered() { return entered_future_.wait_for(deadline) == std::future_status::ready; }
  void release() {
    if (!released_) {
      released_ = true;
      release_.set_value();
    }
  }
  ~gate() { release(); }

private:
  std::promise<void> entered_;
  std::future<void> entered_future_ = entered_.get_future();
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
  bool released_ = false;
};

TEST(storage_writer, concurrent_submits_are_all_durable) {
  temp_dir tmp;
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  {
    auto db = open_ok(tmp.path());
    ASSERT_TRUE(db);
    writer w(*db);
    outcomes seen;
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t)
      submitters.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          int id = t * per_thread + i;
          w.submit(one_put(cf::queue, be64(id), "payload " + std::to_string(id)), seen.track(id));
        }
      });
    for (auto& s : submitters)
      s.join();
    ASSERT_TRUE(seen.wait_for(threads * per_thread));
    EXPECT_EQ(seen.failures(), 0u);
    auto stats = w.stats();
    EXPECT_EQ(stats.batches, uint64_t{threads * per_thread});
    EXPECT_GE(stats.groups, 1u);
    EXPECT_LE(stats.groups, stats.batches);
    EXPECT_EQ(stats.failed_groups, 0u);
  }
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  for (int id = 0; id < threads * per_thread; ++id) {
    auto v = db->get(cf::queue, be64(id));
    ASSERT_TRUE(v);
    ASSERT_TRUE(v->has_value()) << id;
    EXPECT_EQ(**v, "payload " + std::to_string(id));
  }
}

TEST(storage_writer, takes_everything_pending_as_one_group) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  gate held;
  outcomes seen;
  w.submit(one_put(cf::meta, "first", "1"), held.callback());
  ASSERT_TRUE(held.wait_entered());
  for (int i = 0; i < 99; ++i)
    w.submit(one_put(cf::meta, "same-key", std::to_string(i)), seen.track(i));
  held.release();
  ASSERT_TRUE(seen.wait_for(99));
  EXPECT_EQ(seen.failures(), 0u);
  auto order = seen.order();
  for (int i = 0; i < 99; ++i)
    EXPECT_EQ(order[i], i);
  auto stats = w.stats();
  EXPECT_EQ(stats.batches, 100u);
  EXPECT_EQ(stats.groups, 2u);
  auto v = db->get(cf::meta, "same-key");
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "98");  // applied in submission order
}

TEST(storage_writer, max_group_bytes_splits_groups) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db, writer_options{.max_group_bytes = 1000});
  gate held;
  outcomes seen;
  w.submit(one_put(cf::queue, "held", "x"), held.callback());
  ASSERT_TRUE(held.wait_entered());
  for (int i = 0; i < 100; ++i)
    w.submit(one_put(cf::queue, be64(i), std::string(92, 'v')), seen.track(i));  // 100 bytes
  w.submit(one_put(cf::queue, "big", std::string(5000, 'b')), seen.track(100));
  held.release();
  ASSERT_TRUE(seen.wait_for(101));
  EXPECT_EQ(seen.failures(), 0u);
  auto stats = w.stats();
  EXPECT_EQ(stats.batches, 102u);
  EXPECT_EQ(stats.groups, 1u + 10u + 1u);  // the held one, 10 × 1000 bytes, the oversized one
}

TEST(storage_writer, stop_drains_then_refuses) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  gate held;
  outcomes seen;
  w.submit(one_put(cf::hooks, "held", "x"), held.callback());
  ASSERT_TRUE(held.wait_entered());
  for (int i = 0; i < 20; ++i)
    w.submit(one_put(cf::hooks, be64(i), "h"), seen.track(i));
  held.release();
  w.stop();
  // stop() returned: every queued batch has been written and reported.
  EXPECT_EQ(seen.order().size(), 20u);
  EXPECT_EQ(seen.failures(), 0u);
  for (int i = 0; i < 20; ++i) {
    auto v = db->get(cf::hooks, be64(i));
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->has_value()) << i;
  }

  std::optional<status> late;
  w.submit(one_put(cf::hooks, "late", "x"), [&](status st) { late = std::move(st); });
  ASSERT_TRUE(late.has_value());  // called at once, on this thread
  EXPECT_EQ(late->code(), errc::shutting_down);
  auto v = db->get(cf::hooks, "late");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->has_value());
  w.stop();  // idempotent
}

TEST(storage_writer, empty_batch_and_empty_callback_are_fine) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  outcomes seen;
  w.submit(one_put(cf::queue, "a", "1"), {});
  w.submit(batch{}, seen.track(0));
  ASSERT_TRUE(seen.wait_for(1));
  EXPECT_EQ(seen.failures(), 0u);
  // Groups are written in order, so the empty batch completing means "a" is durable.
  auto v = db->get(cf::queue, "a");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->has_value());
}

TEST(storage_writer, stats_report_the_largest_batch_submitted) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  outcomes seen;
  batch three;
  three.put(cf::queue, "a", "12345");
  three.put(cf::queue, "b", "1");
  three.erase(cf::queue, "c");
  w.submit(one_put(cf::queue, "x", std::string(100, 'v')), seen.track(0));
  w.submit(std::move(three), seen.track(1));
  ASSERT_TRUE(seen.wait_for(2));
  auto stats = w.stats();
  EXPECT_EQ(stats.largest_batch_ops, 3u);
  EXPECT_EQ(stats.largest_batch_bytes, 101u);
}

batch relaxed_put(cf family, std::string key, std::string value) {
  auto b = one_put(family, std::move(key), std::move(value));
  b.set_durability(batch::durability::relaxed);
  return b;
}

TEST(storage_writer, a_group_is_synced_unless_every_batch_in_it_is_relaxed) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  outcomes seen;
  w.submit(relaxed_put(cf::queue, "a", "1"), seen.track(0));
  ASSERT_TRUE(seen.wait_for(1));
  EXPECT_EQ(w.stats().groups, 1u);
  EXPECT_EQ(w.stats().synced_groups, 0u);

  w.submit(one_put(cf::queue, "b", "2"), seen.track(1));
  ASSERT_TRUE(seen.wait_for(2));
  EXPECT_EQ(w.stats().synced_groups, 1u);

  // Held in a relaxed group, then one group of a relaxed and a synced batch: synced.
  gate held;
  auto first = relaxed_put(cf::queue, "held", "x");
  w.submit(std::move(first), held.callback());
  ASSERT_TRUE(held.wait_entered());
  w.submit(relaxed_put(cf::queue, "c", "3"), seen.track(2));
  w.submit(one_put(cf::queue, "d", "4"), seen.track(3));
  held.release();
  ASSERT_TRUE(seen.wait_for(4));
  EXPECT_EQ(seen.failures(), 0u);
  auto stats = w.stats();
  EXPECT_EQ(stats.groups, 4u);
  EXPECT_EQ(stats.synced_groups, 2u);

  // Appending a synced batch to a relaxed one makes it synced.
  auto merged = relaxed_put(cf::queue, "e", "5");
  merged.append(one_put(cf::queue, "f", "6"));
  EXPECT_EQ(merged.needs(), batch::durability::synced);
  merged.clear();
  EXPECT_EQ(merged.needs(), batch::durability::synced);
}

// written_bytes counts what RocksDB's write batches held: the batches' keys and values plus a
// little framing (a header, and per operation its type, family and lengths), relaxed writes too.
TEST(storage_writer, written_bytes_grow_by_at_least_each_written_batch) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  writer w(*db);
  outcomes seen;
  EXPECT_EQ(w.stats().written_bytes, 0u);

  batch two;
  two.put(cf::queue, "a", std::string(1000, 'v'));
  two.erase(cf::queue, "b");
  const auto two_bytes = two.byte_size();
  w.submit(std::move(two), seen.track(0));
  ASSERT_TRUE(seen.wait_for(1));
  const auto after_two = w.stats().written_bytes;
  EXPECT_GE(after_two, two_bytes);
  EXPECT_LT(after_two, two_bytes + 64) << "the batch's data, not more";

  auto relaxed = relaxed_put(cf::queue, "c", std::string(500, 'w'));
  const auto relaxed_bytes = relaxed.byte_size();
  w.submit(std::move(relaxed), seen.track(1));
  ASSERT_TRUE(seen.wait_for(2));
  EXPECT_EQ(seen.failures(), 0u);
  EXPECT_GE(w.stats().written_bytes, after_two + relaxed_bytes);
  // The synced part: the first batch only.
  EXPECT_GE(w.stats().synced_written_bytes, two_bytes);
  EXPECT_LT(w.stats().synced_written_bytes, two_bytes + 64);
  EXPECT_LE(w.stats().synced_written_bytes + relaxed_bytes, w.stats().written_bytes);
}

// A relaxed write is in RocksDB's log once its callback ran: a process that dies right after
// (no close, no flush) leaves it on disk.
TEST(storage_writer, a_relaxed_write_survives_the_death_of_the_process) {
  temp_dir tmp;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = store::open(tmp.path());
    if (!db)
      ::_exit(2);
    auto* w = new writer(**db);  // never destroyed: the process just ends
    std::promise<bool> written;
    w->submit(relaxed_put(cf::queue, "relaxed", "kept"),
              [&written](status st) { written.set_value(static_cast<bool>(st)); });
    auto f = written.get_future();
    if (f.wait_for(deadline) != std::future_status::ready || !f.get())
      ::_exit(3);
    ::_exit(0);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  auto v = db->get(cf::queue, "relaxed");
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "kept");
}

} // namespace
} // namespace hookwerk::storage
