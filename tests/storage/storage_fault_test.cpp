// The writer on a real full disk: a tmpfs filled to the brim makes RocksDB fail
// a synced write; the writer refuses, keeps what must not be lost, resumes the
// database once space is back and writes what waited.
#include "storage/writer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/tmpfs.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace hookwerk::storage {
namespace {

using namespace std::chrono_literals;

constexpr auto deadline = 60s;

/// Collects what the writer tells: callback outcomes by name and storage events.
class recorder {
public:
  writer::callback track(std::string name) {
    return [this, name](status st) {
      std::lock_guard lock{mutex_};
      outcomes_.emplace_back(name, std::move(st));
      changed_.notify_all();
    };
  }

  writer::listener listen() {
    return [this](const storage_event& e) {
      std::lock_guard lock{mutex_};
      events_.push_back(e.what);
      changed_.notify_all();
    };
  }

  std::optional<status> outcome(const std::string& name) {
    std::lock_guard lock{mutex_};
    for (const auto& [n, st] : outcomes_)
      if (n == name)
        return st;
    return std::nullopt;
  }

  bool wait_outcome(const std::string& name) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] {
      for (const auto& o : outcomes_)
        if (o.first == name)
          return true;
      return false;
    });
  }

  bool wait_event(storage_event::kind what) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] {
      return std::find(events_.begin(), events_.end(), what) != events_.end();
    });
  }

  std::vector<storage_event::kind> events() {
    std::lock_guard lock{mutex_};
    return events_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, status>> outcomes_;
  std::vector<storage_event::kind> events_;
};

batch one_put(std::string key, std::string value) {
  batch b;
  b.put(cf::queue, std::move(key), std::move(value));
  return b;
}

bool has_key(const store& db, const std::string& key) {
  auto v = db.get(cf::queue, key);
  return v && v->has_value();
}

constexpr writer_options quick_retries{.first_retry = 50ms, .max_retry = 200ms};

class StorageFault : public ::testing::Test {
protected:
  void SetUp() override {
    if (!disk_.mounted())
      GTEST_SKIP() << disk_.why();
    auto db = store::open(disk_.sub("db"));
    ASSERT_TRUE(db) << db.error().message();
    db_ = std::move(*db);
    // The database holds data before the disk fills, as a running server's does.
    ASSERT_TRUE(db_->write(one_put("before", std::string(1000, 'b')), true));
  }

  test::tmpfs_mount disk_{24};
  std::unique_ptr<store> db_;
};

TEST_F(StorageFault, AFullDiskIsRefusedRetainedWritesWaitAndAreWrittenAfterRecovery) {
  recorder seen;
  writer w(*db_, quick_retries);
  w.set_listener(seen.listen());
  ASSERT_EQ(seen.events(), std::vector{storage_event::kind::current});
  EXPECT_TRUE(w.healthy());

  disk_.fill("filler");
  w.submit(one_put("refused", std::string(100'000, 'r')), seen.track("refused"), on_failure::report);
  ASSERT_TRUE(seen.wait_outcome("refused"));
  EXPECT_EQ(seen.outcome("refused")->code(), errc::storage_unavailable)
    << seen.outcome("refused")->message();
  EXPECT_FALSE(w.healthy());
  EXPECT_FALSE(w.stats().healthy);
  EXPECT_GE(w.stats().failed_groups, 1u);
  ASSERT_TRUE(seen.wait_event(storage_event::kind::failed));

  // While degraded: a reporting batch fails at once, on this thread; a
  // retained one waits.
  w.submit(one_put("kept", "k"), seen.track("kept"), on_failure::retain);
  std::optional<status> at_once;
  w.submit(one_put("fast", "f"), [&](status st) { at_once = std::move(st); }, on_failure::report);
  ASSERT_TRUE(at_once.has_value());
  EXPECT_EQ(at_once->code(), errc::storage_unavailable);
  // Resuming fails while the disk stays full (RocksDB cannot flush).
  ASSERT_TRUE(seen.wait_event(storage_event::kind::still_failing));
  EXPECT_FALSE(seen.outcome("kept").has_value()) << "a retained batch waits for the recovery";
  EXPECT_FALSE(w.healthy());

  std::filesystem::remove(disk_.sub("filler"));
  ASSERT_TRUE(seen.wait_event(storage_event::kind::recovered));
  ASSERT_TRUE(seen.wait_outcome("kept"));
  EXPECT_TRUE(*seen.outcome("kept")) << seen.outcome("kept")->message();
  EXPECT_TRUE(w.healthy());
  EXPECT_EQ(w.stats().recoveries, 1u);
  EXPECT_TRUE(has_key(*db_, "kept"));
  EXPECT_TRUE(has_key(*db_, "before"));
  EXPECT_FALSE(has_key(*db_, "refused"));
  EXPECT_FALSE(has_key(*db_, "fast"));

  w.submit(one_put("after", "a"), seen.track("after"), on_failure::report);
  ASSERT_TRUE(seen.wait_outcome("after"));
  EXPECT_TRUE(*seen.outcome("after"));
  w.stop();

  // What was written after the recovery survives a reopen.
  db_.reset();
  auto reopened = store::open(disk_.sub("db"));
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_TRUE(has_key(**reopened, "before"));
  EXPECT_TRUE(has_key(**reopened, "kept"));
  EXPECT_TRUE(has_key(**reopened, "after"));
  EXPECT_FALSE(has_key(**reopened, "refused"));
}

TEST_F(StorageFault, StopWhileTheDiskStaysFullAbandonsRetainedBatchesPromptly) {
  recorder seen;
  writer w(*db_, writer_options{.first_retry = 10s, .max_retry = 10s});
  w.set_listener(seen.listen());
  disk_.fill("filler");
  w.submit(one_put("kept", std::string(100'000, 'k')), seen.track("kept"), on_failure::retain);
  ASSERT_TRUE(seen.wait_event(storage_event::kind::failed));
  EXPECT_FALSE(seen.outcome("kept").has_value());

  auto started = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s)
    << "stop() tries to resume once instead of waiting for the next retry";
  ASSERT_TRUE(seen.outcome("kept").has_value());
  EXPECT_EQ(seen.outcome("kept")->code(), errc::shutting_down);
  auto events = seen.events();
  EXPECT_NE(std::find(events.begin(), events.end(), storage_event::kind::abandoned), events.end());
  EXPECT_FALSE(has_key(*db_, "kept"));
}

TEST_F(StorageFault, AResumeThatKeepsTheFailedLogIsAnErrorNotAWriteThatAborts) {
  // Every memtable empty: RocksDB 7.8 then resumes without replacing the
  // write-ahead log that failed, and a write to that log would abort.
  ASSERT_TRUE(db_->compact(cf::meta));
  ASSERT_TRUE(db_->compact(cf::queue));
  disk_.fill("filler");
  auto failed = db_->write(one_put("lost", std::string(100'000, 'l')), true);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.code(), errc::storage_failed) << failed.message();
  std::filesystem::remove(disk_.sub("filler"));
  auto resumed = db_->resume();
  EXPECT_FALSE(resumed) << "resume() must not report writes as safe";
  EXPECT_EQ(resumed.code(), errc::storage_failed);
  EXPECT_NE(resumed.message().find("restart"), std::string::npos) << resumed.message();

  // A restart recovers.
  db_.reset();
  auto reopened = store::open(disk_.sub("db"));
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_TRUE((*reopened)->write(one_put("after", "a"), true));
  EXPECT_TRUE(has_key(**reopened, "before"));
  EXPECT_TRUE(has_key(**reopened, "after"));
  EXPECT_FALSE(has_key(**reopened, "lost"));
}

} // namespace
} // namespace hookwerk::storage
