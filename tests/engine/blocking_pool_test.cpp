#include "engine/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::engine {
namespace {

using namespace std::chrono_literals;

// -- fair_queue: the order and the bounds, without threads --------------------

TEST(FairQueue, ServesKeysInTurnAndEachKeyInOrder) {
  fair_queue<std::string> q{64, 8};
  for (auto item : {"a1", "a2", "a3", "a4"})
    ASSERT_EQ(q.push("a", item), admission::accepted);
  ASSERT_EQ(q.push("b", "b1"), admission::accepted);
  ASSERT_EQ(q.push("c", "c1"), admission::accepted);
  ASSERT_EQ(q.push("b", "b2"), admission::accepted);
  std::vector<std::string> order;
  while (auto item = q.pop())
    order.push_back(*item);
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "c1", "a2", "b2", "a3", "a4"}));
  EXPECT_TRUE(q.empty());
}

TEST(FairQueue, AKeyArrivingDuringAFloodIsServedNext) {
  fair_queue<int> q{64, 8};
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(q.push("flooded", int{i}), admission::accepted);
  ASSERT_EQ(*q.pop(), 0);
  // The flooded key had its turn in this round; the newcomer joins the round.
  ASSERT_EQ(q.push("other", 100), admission::accepted);
  EXPECT_EQ(*q.pop(), 100);
  EXPECT_EQ(*q.pop(), 1);
  EXPECT_EQ(*q.pop(), 2);
}

TEST(FairQueue, ANewKeyJoinsTheCurrentRoundBehindTheKeysStillDueInIt) {
  fair_queue<std::string> q{64, 8};
  for (auto key : {"a", "b", "c"}) {
    ASSERT_EQ(q.push(key, std::string{key} + "1"), admission::accepted);
    ASSERT_EQ(q.push(key, std::string{key} + "2"), admission::accepted);
  }
  ASSERT_EQ(*q.pop(), "a1");
  ASSERT_EQ(q.push("d", "d1"), admission::accepted);
  std::vector<std::string> order;
  while (auto item = q.pop())
    order.push_back(*item);
  EXPECT_EQ(order, (std::vector<std::string>{"b1", "c1", "d1", "a2", "b2", "c2"}));
}

TEST(FairQueue, RefusesPastTheBoundPerKeyAndInTotalAndLeavesTheItem) {
  fair_queue<std::string> q{5, 2};
  ASSERT_EQ(q.push("a", "a1"), admission::accepted);
  ASSERT_EQ(q.push("a", "a2"), admission::accepted);
  std::string refused = "a3";
  EXPECT_EQ(q.push("a", std::move(refused)), admission::key_full);
  EXPECT_EQ(refused, "a3");
  EXPECT_EQ(q.size("a"), 2u);
  ASSERT_EQ(q.push("b", "b1"), admission::accepted);
  ASSERT_EQ(q.push("b", "b2"), admission::accepted);
  ASSERT_EQ(q.push("c", "c1"), admission::accepted);
  EXPECT_EQ(q.push("d", "d1"), admission::total_full);
  EXPECT_EQ(q.size(), 5u);
  // Taking one frees room, for that key and in total.
  ASSERT_EQ(*q.pop(), "a1");
  EXPECT_EQ(q.push("a", "a3"), admission::accepted);
  EXPECT_EQ(q.push("d", "d1"), admission::total_full);
}

TEST(FairQueue, PopIfPassesOverKeysThatAreNotEligibleAndKeepsTheirPlace) {
  fair_queue<std::string> q{64, 8};
  q.push("a", "a1");
  q.push("a", "a2");
  q.push("b", "b1");
  q.push("c", "c1");
  auto not_a = [](std::string_view key) { return key != "a"; };
  EXPECT_TRUE(q.any_of(not_a));
  auto taken = q.pop_if(not_a);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->first, "b");
  EXPECT_EQ(taken->second, "b1");
  EXPECT_EQ(q.pop_if(not_a)->second, "c1");
  EXPECT_FALSE(q.any_of(not_a));
  EXPECT_FALSE(q.pop_if(not_a).has_value());
  EXPECT_EQ(*q.pop(), "a1");  // "a" kept its turn
  EXPECT_EQ(*q.pop(), "a2");
}

TEST(FairQueue, TakeAllEmptiesItInServingOrder) {
  fair_queue<int> q{64, 8};
  q.push("a", 1);
  q.push("a", 2);
  q.push("b", 3);
  EXPECT_EQ(q.take_all(), (std::vector<int>{1, 3, 2}));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.push("a", 4), admission::accepted);
}

// -- blocking_pool: real threads -----------------------------------------------

/// Occupies the pool's only thread until release() is called.
class gate_job {
public:
  std::function<void()> job() {
    return [this] {
      started_.set_value();
      release_.get_future().wait();
    };
  }
  void wait_started() { started_.get_future().wait(); }
  void release() { release_.set_value(); }

private:
  std::promise<void> started_;
  std::promise<void> release_;
};

TEST(BlockingPool, RunsQueuedJobsRoundRobinByKey) {
  blocking_pool pool{{1, 64, 8}};
  gate_job gate;
  ASSERT_EQ(pool.post("gate", gate.job()), post_result::queued);
  gate.wait_started();

  std::mutex mtx;
  std::vector<std::string> order;
  std::promise<void> all_done;
  int remaining = 5;
  auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard<std::mutex> guard{mtx};
      order.push_back(name);
      if (--remaining == 0)
        all_done.set_value();
    };
  };
  for (auto name : {"flood1", "flood2", "flood3"})
    ASSERT_EQ(pool.post("flooded", record(name)), post_result::queued);
  ASSERT_EQ(pool.post("alice", record("alice")), post_result::queued);
  ASSERT_EQ(pool.post("bob", record("bob")), post_result::queued);
  gate.release();
  ASSERT_EQ(all_done.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<std::string>{"flood1", "alice", "bob", "flood2", "flood3"}));
}

TEST(BlockingPool, AKeyRunsOneJobAtATimeSoAnotherKeyGetsTheSecondThread) {
  blocking_pool pool{{2, 64, 8}};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_started;
  std::atomic<int> flooded_started{0};
  ASSERT_EQ(pool.post("flooded", [&] {
    ++flooded_started;
    first_started.set_value();
    released.wait();
  }),
            post_result::queued);
  first_started.get_future().wait();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(pool.post("flooded", [&] {
      ++flooded_started;
      released.wait();
    }),
              post_result::queued);
  std::promise<void> other_ran;
  ASSERT_EQ(pool.post("other", [&] { other_ran.set_value(); }), post_result::queued);
  // The second thread serves "other" while the flooded key's first job still runs.
  EXPECT_EQ(other_ran.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(flooded_started.load(), 1);
  release.set_value();
  pool.stop();
}

TEST(BlockingPool, RefusesAtOnceWhenFull) {
  blocking_pool pool{{1, 3, 2}};
  gate_job gate;
  ASSERT_EQ(pool.post("gate", gate.job()), post_result::queued);
  gate.wait_started();
  std::atomic<int> ran{0};
  auto count = [&] { ++ran; };
  EXPECT_EQ(pool.post("a", count), post_result::queued);
  EXPECT_EQ(pool.post("a", count), post_result::queued);
  EXPECT_EQ(pool.post("a", count), post_result::full);  // the key's share
  EXPECT_EQ(pool.post("b", count), post_result::queued);
  EXPECT_EQ(pool.post("c", count), post_result::full);  // the total
  EXPECT_EQ(pool.queued(), 3u);
  gate.release();
  pool.stop();
  EXPECT_LE(ran.load(), 3);
}

TEST(BlockingPool, StopCancelsJobsNotStartedAndWaitsForTheRunningOne) {
  blocking_pool pool{{1, 64, 8}};
  gate_job gate;
  bool gate_finished = false;
  ASSERT_EQ(pool.post("gate", [&, job = gate.job()] {
    job();
    gate_finished = true;
  }),
            post_result::queued);
  gate.wait_started();

  std::atomic<int> ran{0}, cancelled{0};
  std::promise<void> all_cancelled;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(pool.post("k" + std::to_string(i % 2), [&] { ++ran; },
                        [&] {
                          if (++cancelled == 3)
                            all_cancelled.set_value();
                        }),
              post_result::queued);

  std::thread stopper{[&] { pool.stop(); }};
  // The queued jobs are answered while the running one still runs.
  ASSERT_EQ(all_cancelled.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(pool.post("late", [&] { ++ran; }), post_result::stopped);
  gate.release();
  stopper.join();
  EXPECT_TRUE(gate_finished);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(cancelled.load(), 3);
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
}  // namespace hookwerk::engine
