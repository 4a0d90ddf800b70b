#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace hookwerk {

/// The in-memory window of one hook's persistent queue, and the rules that
/// pick what to attempt next. Plain logic: no actors, no I/O, no clock (the
/// caller passes `now`), so tests drive it directly.
///
/// The window holds the oldest pending entries (a prefix of the queue in
/// seq order, at most `capacity`); newer entries stay on disk and are only
/// counted (`backlog`) until the window has room and the owner pages them in
/// from page_from(). Because the window is always a prefix, every earlier
/// entry of an ordering key is in memory whenever a later one is.
class delivery_queue {
public:
  struct item {
    storage::queue_entry entry;
    std::shared_ptr<const std::string> payload;
    bool in_flight = false;
    int64_t not_before_ms = 0;  ///< not attempted before this time
  };

  explicit delivery_queue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// Adds an entry read from disk; entries must come in seq order and follow
  /// every entry loaded before.
  void load(storage::queue_entry e);

  /// Counts entries on disk that follow the loaded ones.
  void add_backlog(uint64_t n) { backlog_ += n; }

  /// A newly queued entry (already durable), its payload apart (`e.payload`
  /// is ignored). Kept in memory when the window has room and nothing older
  /// waits on disk; else only counted.
  void add(storage::queue_entry e, std::shared_ptr<const std::string> payload);

  /// Entries to attempt now, in seq order, marked in flight; at most `limit`.
  /// An entry is ready when it is not in flight, its time has come, and no
  /// earlier entry with the same ordering key is still pending.
  std::vector<item*> take_ready(int64_t now_ms, size_t limit);

  /// The earliest time at which an entry that waits only for its retry time
  /// becomes ready; nullopt when none does.
  std::optional<int64_t> next_due() const;

  item* find(uint64_t seq);

  /// A failed attempt: the entry waits until `not_before_ms`.
  void release(uint64_t seq, int64_t not_before_ms);

  /// Delivered or given up.
  void remove(uint64_t seq);

  /// Room in the window and entries waiting on disk.
  bool wants_page() const { return backlog_ > 0 && items_.size() < capacity_; }

  /// The first seq that may still be on disk beyond the window.
  uint64_t page_from() const { return last_seq_ + 1; }

  /// Free places in the window.
  size_t room() const { return items_.size() < capacity_ ? capacity_ - items_.size() : 0; }

  /// Called after a page-in found fewer entries than counted.
  void clear_backlog() { backlog_ = 0; }

  /// Takes the entries loaded by a page-in off the backlog count.
  void paged(uint64_t n) { backlog_ = n > backlog_ ? 0 : backlog_ - n; }

  uint64_t pending() const { return items_.size() + backlog_; }
  uint64_t backlog() const { return backlog_; }
  size_t in_memory() const { return items_.size(); }
  size_t in_flight() const { return in_flight_; }

  /// Every entry in memory, in seq order (read-only).
  const std::map<uint64_t, item>& items() const { return items_; }

  /// Forgets everything (the owner moved or deleted the entries on disk).
  void reset();

  /// Forgets everything but the entries in flight, whose outcome is still
  /// to come; the owner reloads the window from disk afterwards.
  void reset_keep_in_flight();

private:
  void insert(storage::queue_entry e, std::shared_ptr<const std::string> payload);

  /// Not in flight and held back until a retry time.
  static bool waits_for_retry(const item& it) { return !it.in_flight && it.not_before_ms != 0; }

  size_t capacity_;
  std::map<uint64_t, item> items_;
  uint64_t backlog_ = 0;
  uint64_t last_seq_ = 0;  ///< greatest seq ever loaded or added to the window
  size_t in_flight_ = 0;
  /// Entries for which waits_for_retry() holds; next_due() has nothing to find without.
  size_t waiting_ = 0;
};

} // namespace hookwerk
