#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/batch.hpp"
#include "storage/column_families.hpp"
#include "storage/status.hpp"

namespace hookwerk::storage {

/// Tuning for store::open.
struct store_options {
  int max_background_jobs = 2;  // Default: 2
};

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
  /// opened too and left alone. Writes the schema version on first open.
  /// Fails with errc::storage_locked if another store holds the directory,
  /// errc::storage_failed on any other error.
  static expected<std::unique_ptr<store>> open(const std::string& dir,
                                               const store_options& options = {});

  /// Releases the column families, then closes the database.
  ~store();

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The value of `key`, std::nullopt if absent, or an error.
  expected<std::optional<std::string>> get(cf family, std::string_view key) const;

  /// Applies `b` atomically; with `sync`, returns after the WAL is fsynced.
  status write(batch&& b, bool sync);

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
