#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hookwerk::engine {

/// A few threads for work that blocks or burns CPU for long (password hashing,
/// DNS look-ups during validation), so it never runs on an actor scheduler
/// thread. Jobs report back by sending a message. Thread-safe.
class blocking_pool {
public:
  explicit blocking_pool(size_t threads);
  ~blocking_pool();

  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `job`; returns false (and drops it) once stop() began.
  bool post(std::function<void()> job);

  /// Runs what is queued, then joins the threads. Idempotent.
  void stop();

private:
  void run();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace hookwerk::engine
