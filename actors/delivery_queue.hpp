#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/records.hpp"

namespace hookwerk {

/// The in-memory window of one hook's persistent queue, and the rules that
/// pick what to attempt next. Plain logic: no actors, no clock (the caller
/// passes `now`), and disk reads only through the `reader` the caller hands
/// to page(), so tests drive it directly.
///
/// The window holds at most `capacity` entries and at most one entry per
/// ordering key: the oldest pending entry of that key (its head). Later
/// entries of a key whose head is in memory stay on disk ("deferred"); when
/// the head leaves (delivered or given up), page() reads the key's next entry
/// from disk. So a key that keeps failing holds one place of the window, and
/// entries of other keys and keyless entries are paged past it. Entries not
/// yet looked at ("unseen", at or after the cursor) are read in seq order
/// when the window has room. Per-key order holds because a key's entries
/// enter the window one at a time, oldest first.
class delivery_queue {
public:
  struct item {
    storage::queue_entry entry;
    std::shared_ptr<const std::string> payload;
    bool in_flight = false;
    int64_t not_before_ms = 0;  ///< not attempted before this time
  };

  /// Reads the hook's stored queue: calls `fn` with each encoded entry whose
  /// seq is in [from, to), in seq order, until it returns false.
  using reader = std::function<void(uint64_t from, uint64_t to,
                                    const std::function<bool(std::string_view value)>& fn)>;

  /// Fills in the event of an entry stored in the reference form (its id and name
  /// into `e`; the payload is returned), read from the events family. nullptr when
  /// the event record is gone; nullopt when it could not be read now.
  using resolver =
    std::function<std::optional<std::shared_ptr<const std::string>>(storage::queue_entry& e)>;

  /// Most stored entries one page() call looks at.
  static constexpr size_t page_budget = 4096;

  explicit delivery_queue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// Counts entries on disk not looked at yet (at start: the stored queue);
  /// page() reads them.
  void add_backlog(uint64_t n) { unseen_ += n; }

  /// A newly queued entry (already durable), its payload apart (`e.payload`
  /// is ignored). Kept in memory when the window has room, nothing older
  /// waits unseen on disk and its key has no entry in memory; else it stays
  /// on disk and is only counted. An entry page() has already read is ignored.
  void add(storage::queue_entry e, std::shared_ptr<const std::string> payload);

  /// What a page() call did.
  struct page_result {
    bool more = false;        ///< stopped at the budget: call again
    uint64_t unreadable = 0;  ///< stored entries that could not be decoded or resolved (skipped)
    /// Entries in the reference form whose event record is gone (skipped): records of
    /// delivered events are dropped, so such an entry was delivered already and only a
    /// crash of the machine brought it back. The owner removes them from disk.
    std::vector<uint64_t> orphaned;
  };

  /// Reads from disk, looking at no more than `budget` stored entries: first
  /// the next entry of each key whose head left the window, then unseen
  /// entries from the cursor while the window has room. Entries in the
  /// reference form are completed by `resolve` (without one they are unreadable).
  page_result page(const reader& read, size_t budget = page_budget, const resolver& resolve = {});

  /// Whether page() has anything to do.
  bool wants_page() const { return !refill_.empty() || (unseen_ > 0 && room() > 0); }

  /// Entries to attempt now, in seq order, marked in flight; at most `limit`.
  /// An entry is ready when it is not in flight and its time has come (the
  /// window holds only heads of keys, so no earlier entry of its key waits).
  std::vector<item*> take_ready(int64_t now_ms, size_t limit);

  /// The earliest time at which an entry that waits only for its retry time
  /// becomes ready; nullopt when none does.
  std::optional<int64_t> next_due() const;

  item* find(uint64_t seq);

  /// A failed attempt: the entry waits until `not_before_ms`.
  void release(uint64_t seq, int64_t not_before_ms);

  /// Delivered or given up; the entry's key gets its next entry at the next page().
  void remove(uint64_t seq);

  /// Free places in the window (places promised to keys waiting for their
  /// next entry are taken).
  size_t room() const {
    auto used = items_.size() + refill_.size();
    return used < capacity_ ? capacity_ - used : 0;
  }

  /// Pending entries: in memory, deferred and unseen on disk.
  uint64_t pending() const { return items_.size() + deferred_count_ + unseen_; }
  /// Pending entries that are not in memory.
  uint64_t backlog() const { return deferred_count_ + unseen_; }
  size_t in_memory() const { return items_.size(); }
  size_t in_flight() const { return in_flight_; }
  /// Keys with entries on disk behind their head in memory.
  size_t deferred_keys() const { return deferred_.size(); }

  /// Every entry in memory, in seq order (read-only).
  const std::map<uint64_t, item>& items() const { return items_; }

  /// Forgets everything (the owner moved or deleted the entries on disk).
  void reset();

  /// Forgets everything but the entries in flight, whose outcome is still
  /// to come; the owner counts the stored queue (add_backlog) and pages again.
  void reset_keep_in_flight();

private:
  void insert(storage::queue_entry e, std::shared_ptr<const std::string> payload);
  /// The payload of a decoded entry: its own copy, or its shared event's through
  /// `resolve`; null when none is to be had (counted in `result`).
  static std::shared_ptr<const std::string> payload_of(storage::queue_entry& e,
                                                       const resolver& resolve,
                                                       page_result& result);
  /// Leaves the entry `seq` of `key` on disk behind the key's head.
  void defer(std::string_view key, uint64_t seq);
  /// Whether an entry of `key` must stay on disk (its head is in memory or
  /// older entries of it are deferred).
  bool must_defer(std::string_view key) const;

  /// Not in flight and held back until a retry time.
  static bool waits_for_retry(const item& it) { return !it.in_flight && it.not_before_ms != 0; }

  size_t capacity_;
  std::map<uint64_t, item> items_;
  /// Keys with their head in memory.
  std::unordered_set<std::string> heads_;
  /// Keys with deferred entries on disk → the seq from which to look for
  /// the next one (every deferred entry lies in [that, cursor_)).
  std::unordered_map<std::string, uint64_t> deferred_;
  /// Keys whose head left while entries of them are deferred.
  std::vector<std::string> refill_;
  uint64_t deferred_count_ = 0;
  /// Every stored entry below this seq has been looked at (or was added).
  uint64_t cursor_ = 0;
  /// Entries counted on disk at or after the cursor.
  uint64_t unseen_ = 0;
  size_t in_flight_ = 0;
  /// Entries for which waits_for_retry() holds; next_due() has nothing to find without.
  size_t waiting_ = 0;
};

} // namespace hookwerk
