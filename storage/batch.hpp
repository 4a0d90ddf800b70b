#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/column_families.hpp"

namespace hookwerk::storage {

/// An ordered set of writes applied atomically by store::write or a writer.
/// A plain value: movable, copyable, not thread-safe. Later operations win
/// over earlier ones on the same key. Arguments are taken by value; pass
/// rvalues to avoid copying large values.
class batch {
public:
  /// Whether the write must be on disk (fsync) before its callback runs.
  enum class durability : uint8_t {
    /// Synced: survives a crash of the machine once written. The default.
    synced,
    /// Written to RocksDB's log without its own fsync: it survives a crash of
    /// the process (the log is in the kernel's page cache) and becomes durable
    /// with the next synced write (the log is sequential, so a later sync
    /// covers it). A crash of the machine before then loses a tail of such
    /// writes and keeps everything before it. Only for writes whose loss
    /// merely repeats work: delivery outcomes (SPEC §5, at-least-once).
    relaxed,
  };
  /// One recorded operation.
  struct op {
    enum class kind : uint8_t { put, erase, erase_range };
    kind type;
    cf family;
    std::string key;    ///< The key, or the range's first key.
    std::string value;  ///< The value, or the range's end key (exclusive).
  };

  void put(cf family, std::string key, std::string value);
  void erase(cf family, std::string key);

  /// Erases every key in [begin, end). An empty or inverted range
  /// (begin >= end bytewise) is ignored: RocksDB would otherwise reject the
  /// whole write and stop accepting writes.
  void erase_range(cf family, std::string begin, std::string end);

  /// Moves all operations of `other` to the end of this batch; `other` is
  /// left empty. The result is synced if either was.
  void append(batch&& other);

  void clear() noexcept;

  /// Number of operations.
  std::size_t size() const noexcept { return ops_.size(); }
  bool empty() const noexcept { return ops_.empty(); }

  /// Sum of the key and value (or begin and end) sizes of all operations.
  std::size_t byte_size() const noexcept { return bytes_; }

  const std::vector<op>& ops() const noexcept { return ops_; }

  void set_durability(durability d) noexcept { durability_ = d; }
  durability needs() const noexcept { return durability_; }

private:
  std::vector<op> ops_;
  std::size_t bytes_ = 0;
  durability durability_ = durability::synced;
};

/// Adds the deletion of every key of one hook: its record, and its queue,
/// buffer and attempts ranges.
void erase_hook(batch& b, uint64_t hook_id);

} // namespace hookwerk::storage
