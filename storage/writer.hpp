#pragma once

#include <atomic>
#include <chrono>
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
  /// After a failed write, the first attempt to resume the database comes
  /// this long after the failure; each failed attempt doubles the wait.
  std::chrono::milliseconds first_retry{1000};  // Default: 1 s
  /// Longest wait between two attempts to resume.
  std::chrono::milliseconds max_retry{10000};   // Default: 10 s
};

/// What the writer does with a batch whose write fails.
enum class on_failure : uint8_t {
  /// The callback gets errc::storage_unavailable and nothing of the batch is
  /// applied; while the storage is degraded such a batch fails at once. For
  /// writes whose caller can still answer "retry later" and undo what it did.
  report,
  /// The writer keeps the batch, in submission order, and writes it once the
  /// storage has recovered; the callback runs then. Only stop() while the
  /// storage still fails ends it unwritten (errc::shutting_down).
  retain,
};

/// Counters and state of a writer, for tests and metrics.
struct writer_stats {
  uint64_t groups = 0;         ///< Groups written successfully.
  uint64_t synced_groups = 0;  ///< Those of them written with an fsync.
  uint64_t batches = 0;        ///< Batches contained in those groups.
  /// Bytes of the batches written (RocksDB's WriteBatch data of those groups),
  /// ~ what the log received: it adds a 7-byte header per 32 KiB or less.
  uint64_t written_bytes = 0;
  /// Of those, the bytes of batches that asked for an fsync (batch::durability::synced:
  /// ingestion, changes of hooks and accounts, deactivations; not delivery outcomes).
  uint64_t synced_written_bytes = 0;
  uint64_t failed_groups = 0;  ///< Groups whose write failed.
  uint64_t largest_batch_ops = 0;    ///< Most operations in one submitted batch.
  uint64_t largest_batch_bytes = 0;  ///< Largest batch::byte_size() submitted.
  uint64_t recoveries = 0;     ///< Times the storage became writable again.
  bool healthy = true;         ///< False from a failed write until it recovers.
};

/// A change of the storage's state, told to the writer's listener.
struct storage_event {
  enum class kind {
    current,        ///< The state when the listener was set (healthy or not).
    failed,         ///< A write failed: writes are refused from now on.
    still_failing,  ///< An attempt to resume failed.
    recovered,      ///< The database accepts writes again.
    abandoned,      ///< stop() while failing: retained batches were not written.
  };
  kind what = kind::current;
  bool healthy = true;
  status error;                            ///< failed, still_failing: why.
  uint32_t attempts = 0;                   ///< Resume attempts since the failure.
  std::chrono::milliseconds next_try{0};   ///< failed, still_failing: wait before the next.
  std::chrono::milliseconds degraded_for{0};  ///< recovered: time since the failure.
  uint64_t batches = 0;                    ///< abandoned: batches not written.
};

/// Group commit: makes submitted batches durable, many per fsync.
///
/// One dedicated thread takes everything pending at once (up to
/// max_group_bytes), writes it as one atomic write, synced unless every batch
/// in it is batch::durability::relaxed, then calls each
/// batch's `done` with the result, in submission order. Batches are applied
/// in submission order, so a later batch wins over an earlier one on the same
/// key.
///
/// When the database fails a write (full disk, I/O error), RocksDB refuses
/// every later write, and the writer becomes degraded: batches submitted with
/// on_failure::report fail (those waiting too), batches with
/// on_failure::retain wait. It then calls store::resume() after first_retry,
/// doubling the wait up to max_retry, and once a resume and a small synced
/// probe write succeed it is healthy again and writes what waited, in order.
///
/// Thread-safety: submit, stop, stats, healthy and set_listener may be called
/// from any thread, except that stop must not be called from a `done`
/// callback or the listener.
/// Lifetime: the store must outlive the writer; the destructor calls stop().
class writer {
public:
  /// Called on the writer thread with the outcome (or, for a batch refused
  /// at once, on the submitting thread). Must not block or throw: typically
  /// it posts a message and returns. May be empty.
  using callback = std::function<void(status)>;

  /// Told every storage_event, on the writer thread, one at a time. Must not
  /// block for long, throw, or call back into the writer.
  using listener = std::function<void(const storage_event&)>;

  explicit writer(store& db, writer_options options = {});
  ~writer();

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Queues `b` for the next group and returns without waiting for disk.
  /// After stop() has begun, calls `done` at once (on the calling thread)
  /// with errc::shutting_down and writes nothing; so it does with
  /// errc::storage_unavailable for an on_failure::report batch while the
  /// storage is degraded.
  void submit(batch b, callback done, on_failure mode = on_failure::retain);

  /// Refuses new batches, writes everything already queued, runs its
  /// callbacks, then joins the thread. While the storage is degraded it
  /// tries to resume once; if that fails, what waits is abandoned (callbacks
  /// get errc::shutting_down). Idempotent; concurrent callers all return once
  /// the thread has finished.
  void stop();

  /// False from a failed write until the storage recovered.
  bool healthy() const noexcept { return healthy_.load(std::memory_order_acquire); }

  /// Replaces the listener and tells it the current state (kind::current).
  void set_listener(listener fn);

  writer_stats stats() const;

private:
  struct pending {
    batch work;
    callback done;
    on_failure mode;
  };

  void run();
  void degrade(std::vector<pending>& group, const status& why);
  bool try_recover();
  void abandon();
  void notify(storage_event e);

  store& store_;
  writer_options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  std::once_flag join_once_;
  std::atomic<bool> healthy_{true};
  // Degraded state; touched by the writer thread only.
  std::chrono::steady_clock::time_point degraded_since_{};
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds retry_delay_{0};
  uint32_t attempts_ = 0;
  std::mutex listener_mutex_;
  listener listener_;
  std::atomic<uint64_t> groups_{0};
  std::atomic<uint64_t> synced_groups_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> written_bytes_{0};
  std::atomic<uint64_t> synced_written_bytes_{0};
  std::atomic<uint64_t> failed_groups_{0};
  std::atomic<uint64_t> recoveries_{0};
  uint64_t largest_batch_ops_ = 0;    // guarded by mutex_
  uint64_t largest_batch_bytes_ = 0;  // guarded by mutex_
  std::thread thread_;
};

} // namespace hookwerk::storage
