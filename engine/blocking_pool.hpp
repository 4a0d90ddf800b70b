#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/fair_queue.hpp"

namespace hookwerk::engine {

/// Bounds of the blocking pool's queue (docs/decisions.md, "Security").
struct blocking_pool_options {
  size_t threads = 2;             // Default: 2 (the runtime uses --workers / 2, at least 2)
  size_t max_queued = 64;         // Default: 64 jobs waiting, all keys together
  size_t max_queued_per_key = 8;  // Default: 8 jobs waiting per key
};

/// What became of a posted job.
enum class post_result {
  queued,   ///< it will run (or be cancelled if stop() comes first)
  full,     ///< refused: the queue or the key's share of it is full; try later
  stopped,  ///< refused: stop() began
};

/// A few threads for work that blocks or burns CPU for long (password hashing,
/// DNS look-ups during validation), so it never runs on an actor scheduler
/// thread. Jobs are posted under a key (a username, say) and served fairly:
/// one FIFO per key, keys in turn (fair_queue), and at most one job of a key
/// runs at a time, so a flood of jobs under one key occupies one thread and
/// delays another key's job by at most one job per busy key. The queue is
/// bounded; a job that does not fit is refused at once, never blocks the
/// caller. Jobs report back by sending a message. Thread-safe.
class blocking_pool {
public:
  explicit blocking_pool(blocking_pool_options opts = {});
  ~blocking_pool();

  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `run` under `key`. `cancel`, if given, is called instead of `run`
  /// when stop() drops the job before it started (on the thread calling
  /// stop()). A refused job is dropped: neither function is called.
  post_result post(std::string_view key, std::function<void()> run,
                   std::function<void()> cancel = {});

  /// Refuses new jobs, cancels those not started, waits for those running and
  /// joins the threads. Idempotent.
  void stop();

  /// Jobs waiting (not running).
  size_t queued();

private:
  struct job {
    std::function<void()> run;
    std::function<void()> cancel;
  };

  void work();

  std::mutex mtx_;
  std::condition_variable cv_;
  fair_queue<job> jobs_;
  std::set<std::string, std::less<>> running_;  ///< keys with a job running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace hookwerk::engine
