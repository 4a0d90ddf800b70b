#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "actors/context.hpp"
#include "actors/delivery_queue.hpp"
#include "actors/drop_log.hpp"
#include "actors/messages.hpp"
#include "actors/outcome_inbox.hpp"
#include "actors/sender.hpp"
#include "actors/support/crypto.hpp"
#include "actors/write_tracker.hpp"
#include "storage/records.hpp"

namespace hookwerk {

/// When failed attempts switch a hook off (SPEC §1, §6).
struct failure_policy {
  /// --failure-threshold: consecutive failed attempts (the receiver's) needed.
  uint32_t threshold = 10;
  /// --failure-window: how old the first of them must be; 0 = the count alone.
  std::chrono::milliseconds window{0};
};

/// One step of moving a hook's entries between its queue and its buffer
/// (deactivation: queue → buffer; replay: buffer → queue; see hook.cpp):
/// at most `max_entries` entries and `max_bytes` of keys and values per
/// batch, so no step holds or writes more than that, however long the queue.
struct move_chunk {
  static constexpr size_t max_entries = 1000;
  static constexpr size_t max_bytes = size_t{4} << 20;

  /// Whether an entry of `size` bytes still fits; the first always does, so
  /// a single large entry moves on its own.
  bool fits(size_t size) const {
    return entries == 0 || (entries < max_entries && bytes + size <= max_bytes);
  }
  void add(size_t size) {
    ++entries;
    bytes += size;
  }

  size_t entries = 0;
  size_t bytes = 0;
};

/// What the self-check finds wrong with a hook (see hook_state::check_stuck).
struct stuck_verdict {
  /// Pending entries, none in flight, and nothing armed that would attempt them.
  bool idle = false;
  /// Attempts in flight whose outcome is overdue (their seqs).
  std::vector<uint64_t> overdue;

  bool stuck() const { return idle || !overdue.empty(); }
};

/// The state of one hook actor: the durable record it owns, the window of its
/// queue and its bookkeeping. Only the hook actor touches it.
struct hook_state {
  std::shared_ptr<actor_context> ctx;
  registry_actor registry;
  storage::hook_record record;
  /// The record's URL, parsed once for every attempt.
  std::shared_ptr<const delivery_target> target;
  /// Signs deliveries under the record's secret; made at the first attempt (and again
  /// should the secret differ from the one it was made for). On the heap: most actors of a
  /// million hooks never make one.
  std::unique_ptr<support::webhook_signer> signer;
  delivery_queue queue{256};
  /// Writes whose completion the actor waits for (a continuation runs then).
  write_tracker writes;
  /// Writes submitted without waiting (see persist in hook.cpp) and not yet done.
  std::shared_ptr<std::atomic<uint32_t>> unsynced = std::make_shared<std::atomic<uint32_t>>(0);
  /// Number the next attempt record gets (attempts family).
  uint64_t next_attempt_no = 1;
  /// Lowest attempt number still stored.
  uint64_t oldest_attempt_no = 1;
  /// Whether the two numbers above were read from the database yet.
  bool attempts_loaded = false;
  /// When the armed wake-up timer fires (unix ms); nullopt when none is armed.
  std::optional<int64_t> wake_at;
  /// A wake-up to go on paging the queue is on its way.
  bool paging = false;
  /// Attempts in flight: seq → when it was handed to the sender (unix ms), which the
  /// outcome carries back; an outcome that does not match is stale (see check_stuck).
  std::map<uint64_t, int64_t> attempt_started;
  /// Outcomes of attempts, added by the sender's callbacks, until the actor takes them
  /// (one `delivered_atom` message for all that gathered meanwhile). Made at the first
  /// attempt: most actors of a million hooks never make one before they are passivated.
  std::shared_ptr<outcome_inbox> outcomes;
  /// The outcomes being handled; kept between messages for its capacity.
  std::vector<attempt_outcome> taken;
  /// Events in the buffer (buffer family) while inactive.
  uint64_t buffered = 0;
  /// What this hook last added to the server-wide gauges.
  int64_t reported_pending = 0;
  int64_t reported_buffered = 0;
  bool deleting = false;
  /// Messages received from the registry; compared with the registry's count
  /// of messages sent before the actor may passivate (see registry_state).
  uint64_t received = 0;
  /// Of `received`, the self-checks (which are no calls: they keep no actor alive).
  uint64_t checks_received = 0;
  /// Calls (`received` less the self-checks) at the last idle check: unchanged means
  /// no call came since.
  uint64_t received_at_check = 0;
  /// A passivation request to the registry is open.
  bool passivating = false;
  /// Between an activation's request and the durable move of the buffer.
  bool activating = false;
  /// Log lines about dropped events, at most one a minute.
  drop_log drops;
  /// A timer to write the drops `drops` holds back is armed.
  bool drop_log_armed = false;
  /// A move between queue and buffer that runs in chunks, one batch each.
  enum class moving { none, to_buffer, to_queue };
  moving move = moving::none;
  /// Where the move scans next. While inactive it stays: every queue entry
  /// below it was seen by the move to the buffer and taken care of.
  uint64_t move_from = 0;
  /// Entries in flight when the move to the buffer began: their outcome
  /// takes care of them, the move leaves them alone.
  std::vector<uint64_t> move_skip;
  /// Attempt counts of the entries the window held when the move to the
  /// buffer began (seq → attempts); their stored entries may be older.
  std::map<uint64_t, uint32_t> move_attempts;
  /// Entries the move to the buffer has still to move, as counted when it
  /// began; shown as buffered meanwhile, so the hook's counts do not dip.
  uint64_t move_pending = 0;
  /// Events queued again so far by the replay under way.
  uint64_t replayed = 0;
  /// Runs once the move to the buffer has finished (activations that came meanwhile).
  std::vector<std::function<void()>> after_move;
  std::minstd_rand rng{std::random_device{}()};

  hook_state() = default;
  hook_state(const hook_state&) = delete;
  hook_state& operator=(const hook_state&) = delete;
  ~hook_state();

  /// Nothing queued, in flight, buffered or being written: the actor holds
  /// nothing its stored record does not, and may be passivated.
  bool idle() const;

  /// The self-check's decision at `now` (unix ms); a hook is stuck when either holds:
  /// - idle: it is active, no deletion, activation, replay or move between queue and
  ///   buffer is under way, none of its writes is awaited, it has pending entries, and
  ///   no attempt is in flight, no retry wake-up is armed and no paging wake-up is on its
  ///   way: nothing would ever attempt those entries;
  /// - overdue: an attempt has been in flight for longer than `attempt_deadline` (the
  ///   sender answers each by --delivery-timeout, so its outcome is lost), whatever the
  ///   hook's state.
  /// A hook in any other state is waiting for something that will come.
  stuck_verdict check_stuck(int64_t now, std::chrono::milliseconds attempt_deadline) const;

  /// Whether check_stuck finds anything.
  bool stuck(int64_t now, std::chrono::milliseconds attempt_deadline) const {
    return check_stuck(now, attempt_deadline).stuck();
  }

  /// The view GetWebHooks shows.
  hook_view view() const;

  /// Buffered events as shown: the buffer, plus what is still moving into it.
  uint64_t shown_buffered() const { return buffered + move_pending; }

  /// Marks the hook active and clears its failure count; true if anything changed.
  bool reactivate();

  /// What a failed attempt leads to.
  enum class after_failure {
    /// Counted (the record changed): retry after the next delay of --retry-schedule.
    retry,
    /// The server's own failure: nothing counted, the record unchanged; retry after the
    /// short fixed delay (local_retry_delay).
    retry_local,
    /// Counted, and the hook is to be deactivated now.
    deactivate,
  };

  /// Takes a failed attempt that ended at `now` (unix ms), with its error text.
  /// - `fault::local` (the server's own side): changes nothing, neither counts nor resets
  ///   the streak; `retry_local`.
  /// - anything else is the receiver's: the count grows and `last_error` is set; the first
  ///   failure of a streak stores its time. `deactivate` for an active hook on a 410, or
  ///   once the count reached `policy.threshold` and the first failure of the streak is at
  ///   least `policy.window` old (SPEC §1, §5, §6); else `retry`.
  after_failure on_failure(std::string error, unsigned http_status, fault at_fault, int64_t now,
                           failure_policy policy);

  /// Marks the hook inactive as of `now`.
  void deactivate(int64_t now);

  /// Whether an event arriving at `now` while inactive goes into the buffer:
  /// within `retention` of the deactivation and below `limit`.
  bool buffers_at(int64_t now, std::chrono::milliseconds retention, uint64_t limit) const;

  /// Counts a successful attempt: the failure streak ends. True if the record changed.
  bool on_success();
};

/// Behaviour of a hook actor. `record` is the hook as stored. With
/// `stored_entries` the actor loads its queue and buffer from the database when
/// it starts; without, it knows it has none (a new hook, or recovery found none).
hook_actor::behavior_type hook_impl(hook_actor::stateful_pointer<hook_state> self,
                                    std::shared_ptr<actor_context> ctx,
                                    storage::hook_record record, registry_actor registry,
                                    bool stored_entries);

} // namespace hookwerk
