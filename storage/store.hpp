#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/batch.hpp"
#include "storage/column_families.hpp"
#include "storage/status.hpp"

namespace hookwerk::storage {

/// Tuning for store::open.
struct store_options {
  int max_background_jobs = 2;  // Default: 2
};

// RocksDB's own log goes to `LOG` in the data directory through a logger
// that ignores its write errors (RocksDB's logger asserts on them, which
// aborts the process on a full disk), and RocksDB's automatic recovery from
// a full disk is off: it waits for 64 MiB of free space and meanwhile refuses
// DB::Resume(). Recovery is the writer's job (see writer.hpp).

/// The Hookwerk database: RocksDB with one column family per `cf`.
///
/// Thread-safety: get, scan, read_counter and write may be called
/// concurrently from any thread. Synced writes block the caller for an
/// fsync; during normal operation route them through a `writer`.
/// Lifetime: the store must outlive every writer and every pending call on it.
/// While it is open it holds the data directory's lock file, so no other
/// store (in this or another process) can open the same directory.
class store {
public:
  /// Opens (creating if missing) the database in `dir`, creating `dir` and
  /// any missing column families; families unknown to this version are
  /// opened too and left alone. Records the current schema version
  /// (column_families.hpp) in a new directory or one of an older layout, whose
  /// records this version reads as they are.
  /// Fails with errc::storage_locked if another store holds the directory,
  /// errc::storage_failed for a directory of a newer schema version and on any
  /// other error.
  static expected<std::unique_ptr<store>> open(const std::string& dir,
                                               const store_options& options = {});

  /// Releases the column families, then closes the database.
  ~store();

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The value of `key`, std::nullopt if absent, or an error.
  expected<std::optional<std::string>> get(cf family, std::string_view key) const;

  /// Applies `b` atomically; with `sync`, returns after the WAL is fsynced.
  /// A failure of the database (I/O, full disk, corruption) is
  /// errc::storage_failed, after which RocksDB refuses every write until
  /// resume() succeeds; a batch RocksDB rejects as such is errc::internal.
  status write(batch&& b, bool sync);

  /// Applies all of `batches`, in order, as one atomic write without
  /// consuming them (so a caller can keep them when the write fails).
  /// Returns the data size of the RocksDB WriteBatch written: the record the
  /// write-ahead log received, without the log's own framing; `sizes`, when
  /// given, receives each batch's part of it, in order. Errors as for write().
  expected<uint64_t> write_all(const std::vector<const batch*>& batches, bool sync,
                               std::vector<uint64_t>* sizes = nullptr);

  /// Asks RocksDB to leave the read-only state a failed write left it in
  /// (DB::Resume: flushes the memtables, starts a new write-ahead log).
  /// Succeeds only when writes are safe again: RocksDB 7.8 resumes without
  /// replacing a write-ahead log that failed while the memtables were empty,
  /// and writing to that log aborts the process (Debian builds RocksDB with
  /// assertions), so that case stays an error until a restart.
  status resume();

  /// Calls `fn` for each entry with lower <= key < upper in key order, until
  /// it returns false. An empty `upper` means no upper bound. The views are
  /// valid only during the call. The scan sees the database as of its start;
  /// writes made meanwhile (also by `fn`) are not seen.
  status scan(cf family, std::string_view lower, std::string_view upper,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  /// Compacts the whole family now (compaction filters run; tests and
  /// maintenance).
  status compact(cf family);

  /// The greatest key in [lower, upper) of `family`, or nullopt when the
  /// range is empty. `upper` must not be empty.
  expected<std::optional<std::string>> last_key(cf family, std::string_view lower,
                                                std::string_view upper) const;

  /// The be64 counter `name` in the meta family, or `initial` if absent.
  expected<uint64_t> read_counter(std::string_view name, uint64_t initial) const;

  /// The directory the store was opened in.
  const std::string& path() const noexcept;

private:
  struct impl;
  explicit store(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
};

/// Adds to `b` the write that sets the meta counter `name` to `next`.
void put_counter(batch& b, std::string_view name, uint64_t next);

} // namespace hookwerk::storage
