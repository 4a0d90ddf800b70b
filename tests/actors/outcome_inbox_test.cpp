#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/outcome_inbox.hpp"

namespace hookwerk {
namespace {

attempt_outcome outcome(uint64_t seq) {
  attempt_outcome o;
  o.seq = seq;
  o.started_ms = static_cast<int64_t>(seq) * 10;
  o.result.http_status = 200;
  return o;
}

TEST(OutcomeInbox, OnlyTheFirstIntoAnEmptyInboxAsksForAMessage) {
  outcome_inbox inbox;
  EXPECT_TRUE(inbox.add(outcome(1)));
  EXPECT_FALSE(inbox.add(outcome(2)));
  EXPECT_FALSE(inbox.add(outcome(3)));

  std::vector<attempt_outcome> taken;
  inbox.take(taken);
  ASSERT_EQ(taken.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(taken[i].seq, i + 1);
    EXPECT_EQ(taken[i].started_ms, static_cast<int64_t>(i + 1) * 10);
  }

  // Taken: the next one asks again; a take clears what it is given first.
  EXPECT_TRUE(inbox.add(outcome(4)));
  inbox.take(taken);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].seq, 4u);
  inbox.take(taken);
  EXPECT_TRUE(taken.empty());
}

// Several threads add while a consumer takes whenever it is told to, as a hook actor does
// with its messages: every outcome arrives exactly once, each thread's in its order, and
// none is left behind once every message has been handled.
TEST(OutcomeInbox, ConcurrentAddsAreTakenExactlyOnceAndNoneIsStranded) {
  constexpr uint64_t threads = 4;
  constexpr uint64_t per_thread = 20000;
  outcome_inbox inbox;
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t messages = 0;  // sent and not yet handled
  bool adding = true;

  std::vector<std::thread> adders;
  for (uint64_t t = 0; t < threads; ++t) {
    adders.emplace_back([&, t] {
      for (uint64_t i = 0; i < per_thread; ++i) {
        if (inbox.add(outcome(t * per_thread + i))) {
          std::lock_guard<std::mutex> guard{mtx};
          ++messages;
          cv.notify_one();
        }
      }
    });
  }
  std::thread closer([&] {
    for (auto& a : adders)
      a.join();
    std::lock_guard<std::mutex> guard{mtx};
    adding = false;
    cv.notify_one();
  });

  std::vector<uint64_t> next(threads, 0);
  uint64_t received = 0;
  uint64_t handled = 0;
  std::vector<attempt_outcome> taken;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx};
      cv.wait(lock, [&] { return messages > 0 || !adding; });
      if (messages == 0)
        break;
      --messages;
    }
    ++handled;
    inbox.take(taken);
    for (const auto& o : taken) {
      auto t = o.seq / per_thread;
      ASSERT_EQ(o.seq % per_thread, next[t]) << "thread " << t;
      ++next[t];
      ++received;
    }
  }
  closer.join();
  EXPECT_EQ(received, threads * per_thread);
  inbox.take(taken);
  EXPECT_TRUE(taken.empty()) << "outcomes left without a message";
  EXPECT_LE(handled, received);
}

} // namespace
} // namespace hookwerk
