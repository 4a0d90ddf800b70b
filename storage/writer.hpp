#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/batch.hpp"
#include "storage/status.hpp"

namespace hookwerk::storage {

class store;

/// Tuning for a writer.
struct writer_options {
  /// Upper bound on a group's batch::byte_size() sum; a single larger batch
  /// still forms a group of its own.
  std::size_t max_group_bytes = 16 << 20;  // Default: 16 MiB
};

/// Counters of a writer, for tests and metrics.
struct writer_stats {
  uint64_t groups = 0;         ///< Groups written successfully (one fsync each).
  uint64_t batches = 0;        ///< Batches contained in those groups.
  uint64_t failed_groups = 0;  ///< Groups whose write failed.
  uint64_t largest_batch_ops = 0;    ///< Most operations in one submitted batch.
  uint64_t largest_batch_bytes = 0;  ///< Largest batch::byte_size() submitted.
};

/// Group commit: makes submitted batches durable, many per fsync.
///
/// One dedicated thread takes everything pending at once (up to
/// max_group_bytes), writes it as one atomic, synced write, then calls each
/// batch's `done` with the result, in submission order. If the write fails,
/// every batch of that group gets the failure and none of it is applied.
/// Batches are applied in submission order, so a later batch wins over an
/// earlier one on the same key.
///
/// Thread-safety: submit, stop and stats may be called from any thread,
/// except that stop must not be called from a `done` callback.
/// Lifetime: the store must outlive the writer; the destructor calls stop().
class writer {
public:
  /// Called on the writer thread with the outcome. Must not block or throw:
  /// typically it posts a message and returns. May be empty.
  using callback = std::function<void(status)>;

  explicit writer(store& db, writer_options options = {});
  ~writer();

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Queues `b` for the next group and returns without waiting for disk.
  /// After stop() has begun, calls `done` at once (on the calling thread)
  /// with errc::shutting_down and writes nothing.
  void submit(batch b, callback done);

  /// Refuses new batches, writes everything already queued, runs its
  /// callbacks, then joins the thread. Idempotent; concurrent callers all
  /// return once the thread has finished.
  void stop();

  writer_stats stats() const;

private:
  struct pending {
    batch work;
    callback done;
  };

  void run();

  store& store_;
  writer_options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  std::once_flag join_once_;
  std::atomic<uint64_t> groups_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failed_groups_{0};
  uint64_t largest_batch_ops_ = 0;    // guarded by mutex_
  uint64_t largest_batch_bytes_ = 0;  // guarded by mutex_
  std::thread thread_;
};

} // namespace hookwerk::storage
