#include "actors/hook.hpp"

#include <algorithm>
#include <limits>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/retry_policy.hpp"
#include "actors/sender.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/log.hpp"
#include "actors/support/time_format.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace hookwerk {

namespace {

using self_ptr = hook_actor::stateful_pointer<hook_state>;

std::string queue_key(const hook_state& st, uint64_t seq) {
  return storage::hook_seq_key(st.record.id, seq);
}

/// Writes `b` through the group-commit writer without waiting for it: no
/// completion message comes back. When the storage fails, the writer keeps
/// the batch and writes it once the storage recovered (on_failure::retain);
/// only a shutdown before that loses it, and then the disk still holds the
/// state before it (entries stay pending and are delivered again).
/// `unsynced` counts these writes until they are done, for idle().
void persist(self_ptr self, storage::batch b) {
  auto& st = self->state;
  st.unsynced->fetch_add(1, std::memory_order_relaxed);
  st.ctx->writer->submit(std::move(b), [id = st.record.id, unsynced = st.unsynced](status s) {
    if (!s && s.code() != errc::shutting_down)
      log::error("storage error for webhook " + std::to_string(id) + ": " + s.message());
    unsynced->fetch_sub(1, std::memory_order_release);
  });
}

/// Brings the server-wide pending/buffered gauges in line with this hook.
void sync_gauges(self_ptr self) {
  auto& st = self->state;
  auto pending = static_cast<int64_t>(st.queue.pending());
  auto buffered = static_cast<int64_t>(st.shown_buffered());
  st.ctx->stats.pending_events.fetch_add(pending - st.reported_pending, std::memory_order_relaxed);
  st.ctx->stats.buffered_events.fetch_add(buffered - st.reported_buffered,
                                          std::memory_order_relaxed);
  st.reported_pending = pending;
  st.reported_buffered = buffered;
}

/// Arms the timer that writes the drops the drop log holds back, once they are due.
void arm_drop_log(self_ptr self) {
  auto& st = self->state;
  auto due = st.drops.due();
  if (st.drop_log_armed || !due)
    return;
  st.drop_log_armed = true;
  auto delay = std::max<int64_t>(*due - support::now_ms(), 0) + 1;
  self->delayed_send(self, std::chrono::milliseconds{delay}, drop_log_atom::value);
}

void write_drop_line(const hook_state& st, const std::string& line) {
  log::warn("webhook " + std::to_string(st.record.id) + ": " + line);
}

/// Counts dropped events; the log gets at most one line a minute per hook, carrying the
/// count since the previous one (a burst of drops would otherwise flood stderr).
void count_dropped(self_ptr self, uint64_t n, const char* why) {
  if (n == 0)
    return;
  auto& st = self->state;
  st.ctx->stats.events_dropped.fetch_add(n, std::memory_order_relaxed);
  if (auto line = st.drops.add(n, why, support::now_ms()))
    write_drop_line(st, *line);
  else
    arm_drop_log(self);
}

/// Moves one queue entry into the buffer, or drops it when the buffer is
/// full. The clock of --max-event-age restarts on replay, so it is cleared.
void buffer_entry(self_ptr self, storage::batch& b, storage::queue_entry entry) {
  auto& st = self->state;
  auto seq = entry.seq;
  b.erase(storage::cf::queue, queue_key(st, seq));
  if (st.buffered >= st.ctx->delivery.buffer_limit) {
    count_dropped(self, 1, "buffer full");
    return;
  }
  entry.first_attempt_ms = 0;
  b.put(storage::cf::buffer, queue_key(st, seq), entry.encode());
  ++st.buffered;
}

void arm_purge(self_ptr self) {
  auto& st = self->state;
  if (st.record.active || st.buffered == 0)
    return;
  auto due = st.record.deactivated_at_ms + st.ctx->delivery.buffer_max_age.count();
  auto delay = std::max<int64_t>(due - support::now_ms(), 0);
  self->delayed_send(self, std::chrono::milliseconds{delay}, purge_atom::value,
                     st.record.deactivated_at_ms);
}

void run_after_move(self_ptr self) {
  auto waiting = std::move(self->state.after_move);
  self->state.after_move.clear();
  for (auto& k : waiting)
    k();
}

/// One step of the move to the buffer: at most one move_chunk of queue
/// entries from `move_from` on go into the buffer (or are dropped when it is
/// full) in one batch; the next step runs once that batch is durable. A crash
/// between steps leaves an inactive hook with entries in its queue, and the
/// next start moves them (each entry moves atomically, keeping its seq).
void move_to_buffer_step(self_ptr self) {
  auto& st = self->state;
  if (st.move != hook_state::moving::to_buffer)
    return;
  if (st.deleting) {
    st.move = hook_state::moving::none;
    st.move_pending = 0;
    return;
  }
  auto lo = queue_key(st, st.move_from);
  auto hi = storage::hook_range(st.record.id).second;
  storage::batch b;
  move_chunk chunk;
  bool more = false;
  auto s = st.ctx->store->scan(storage::cf::queue, lo, hi, [&](std::string_view k, std::string_view v) {
    auto seq = storage::get_be64(k.substr(8));
    if (std::find(st.move_skip.begin(), st.move_skip.end(), seq) != st.move_skip.end()) {
      st.move_from = seq + 1;
      return true;
    }
    auto size = k.size() * 2 + v.size();
    if (!chunk.fits(size)) {
      more = true;
      return false;
    }
    st.move_from = seq + 1;
    auto entry = storage::queue_entry::decode(v);
    if (!entry) {
      log::error("webhook " + std::to_string(st.record.id) + ": unreadable queue entry left in place");
      return true;
    }
    if (auto fresh = st.move_attempts.find(seq); fresh != st.move_attempts.end())
      entry->attempts = std::max(entry->attempts, fresh->second);
    chunk.add(size);
    if (st.move_pending > 0)
      --st.move_pending;
    auto& d = st.ctx->delivery;
    if (entry->ingested_at_ms > st.record.deactivated_at_ms && st.buffered < d.buffer_limit
        && !st.buffers_at(entry->ingested_at_ms, d.buffer_retention, d.buffer_limit)) {
      // Arrived after the deactivation, past --buffer-retention.
      b.erase(storage::cf::queue, std::string{k});
      count_dropped(self, 1, "after --buffer-retention");
      return true;
    }
    buffer_entry(self, b, std::move(*entry));
    return true;
  });
  if (!s) {
    log::error("webhook " + std::to_string(st.record.id) + ": reading its queue failed: " + s.message());
    more = false;  // what is left moves at the next start
  }
  auto handle = caf::actor_cast<hook_actor>(self);
  if (more) {
    st.writes.submit(*st.ctx->writer, handle, std::move(b), [self](const status& s) {
      if (!s) {
        // What is left moves at the next start.
        if (s.code() != errc::shutting_down)
          log::error("webhook " + std::to_string(self->state.record.id)
                     + ": moving its queue to the buffer failed: " + s.message());
        self->state.move = hook_state::moving::none;
        self->state.move_pending = 0;
        run_after_move(self);
        return;
      }
      move_to_buffer_step(self);
    });
    sync_gauges(self);
    return;
  }
  st.move = hook_state::moving::none;
  st.move_skip.clear();
  st.move_attempts.clear();
  st.move_pending = 0;
  st.writes.submit(*st.ctx->writer, handle, std::move(b), [self](const status& s) {
    if (!s && s.code() != errc::shutting_down)
      log::error("webhook " + std::to_string(self->state.record.id)
                 + ": moving its queue to the buffer failed: " + s.message());
    arm_purge(self);
    run_after_move(self);
  });
  sync_gauges(self);
}

/// Starts moving every queue entry not in flight into the buffer, in
/// chunks. The first step waits for every write submitted before, so the
/// queue it reads has every delivery and attempt count recorded so far.
void start_move_to_buffer(self_ptr self) {
  auto& st = self->state;
  st.move = hook_state::moving::to_buffer;
  st.move_from = 0;
  st.move_skip.clear();
  st.move_attempts.clear();
  for (const auto& [seq, it] : st.queue.items()) {
    if (it.in_flight)
      st.move_skip.push_back(seq);
    else
      st.move_attempts[seq] = it.entry.attempts;
  }
  st.move_pending = st.queue.pending() - st.queue.in_flight();
  st.queue.reset_keep_in_flight();
  st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), storage::batch{},
                   [self](const status&) { move_to_buffer_step(self); });
}

/// Turns the hook off: every pending entry not in flight moves to the buffer
/// (in chunks, see start_move_to_buffer), the registry stores the
/// notification. Attempts in flight finish later.
void deactivate(self_ptr self, storage::batch& b, int64_t now) {
  auto& st = self->state;
  st.deactivate(now);
  b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
  start_move_to_buffer(self);
  st.ctx->sender->forget(st.record.id);
  auto reason = st.record.last_error.value_or("");
  log::warn("webhook " + std::to_string(st.record.id) + " deactivated after "
            + std::to_string(st.record.consecutive_failures) + " consecutive failed attempt(s): "
            + reason);
  self->send(st.registry, state_atom::value, st.record.id, false, now, reason);
}

/// Answers the caller of an activation; empty for a replay resumed at start.
using activation_reply = std::function<void(const status&, const activate_result&)>;

void load_queue(self_ptr self);
void pump(self_ptr self);

/// The end of an activation: deliveries go on from the queue as it is now.
void finish_activation(self_ptr self) {
  auto& st = self->state;
  st.activating = false;
  st.move = hook_state::moving::none;
  st.queue.reset_keep_in_flight();
  load_queue(self);
  pump(self);
  sync_gauges(self);
  run_after_move(self);
}

/// One step of a replay: at most one move_chunk of buffered entries from
/// `move_from` on go back into the queue (same seqs, so ahead of anything
/// newer) in one batch with `b`; the next step runs once it is durable.
/// Nothing is attempted until the last step: a crash between steps leaves an
/// active hook with a buffer, and the next start resumes the replay.
void replay_step(self_ptr self, storage::batch b, activation_reply reply) {
  auto& st = self->state;
  if (st.deleting) {
    st.activating = false;
    st.move = hook_state::moving::none;
    if (reply)
      reply(status{errc::not_found, "webhook deleted"}, {});
    run_after_move(self);
    return;
  }
  if (st.move != hook_state::moving::to_queue) {
    // Deactivated again meanwhile (an attempt from before answered 410):
    // the move to the buffer takes what was replayed so far.
    st.activating = false;
    if (reply)
      reply(status::ok(), activate_result{st.record.id, true, st.replayed, 0});
    return;
  }
  auto lo = queue_key(st, st.move_from);
  auto hi = storage::hook_range(st.record.id).second;
  move_chunk chunk;
  bool more = false;
  auto s = st.ctx->store->scan(storage::cf::buffer, lo, hi, [&](std::string_view k, std::string_view v) {
    auto size = k.size() * 2 + v.size();
    if (!chunk.fits(size)) {
      more = true;
      return false;
    }
    chunk.add(size);
    st.move_from = storage::get_be64(k.substr(8)) + 1;
    b.put(storage::cf::queue, std::string{k}, std::string{v});
    b.erase(storage::cf::buffer, std::string{k});
    ++st.replayed;
    if (st.buffered > 0)
      --st.buffered;
    return true;
  });
  if (!s) {
    log::error("webhook " + std::to_string(st.record.id) + ": reading its buffer failed: " + s.message());
    more = false;  // what is left is replayed at the next start
  }
  st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                   [self, more, reply](const status& s) mutable {
    auto& st = self->state;
    if (!s) {
      log::error("webhook " + std::to_string(st.record.id) + ": storing its replay failed: " + s.message());
      st.activating = false;
      st.move = hook_state::moving::none;
      if (reply)
        reply(s, {});
      run_after_move(self);
      return;
    }
    if (more || st.move != hook_state::moving::to_queue) {
      replay_step(self, storage::batch{}, std::move(reply));
      return;
    }
    activate_result result{st.record.id, true, st.replayed, 0};
    log::info("webhook " + std::to_string(st.record.id) + ": " + std::to_string(st.replayed)
              + " buffered event(s) replayed");
    finish_activation(self);
    if (reply)
      reply(status::ok(), result);
  });
  sync_gauges(self);
}

/// Starts a replay of the whole buffer; `b` goes with its first step.
void start_replay(self_ptr self, storage::batch b, activation_reply reply) {
  auto& st = self->state;
  st.activating = true;
  st.move = hook_state::moving::to_queue;
  st.move_from = 0;
  st.replayed = 0;
  replay_step(self, std::move(b), std::move(reply));
}

/// Reactivates an inactive hook once every write submitted before is
/// durable; with `replay` the buffer goes back into the queue in chunks,
/// else it is discarded.
void reactivate_inactive(self_ptr self, bool replay, activation_reply reply) {
  auto& st = self->state;
  // Until the buffer has moved, nothing new goes into it and nothing is
  // attempted; the empty batch first waits for every buffer write already
  // submitted, so the move sees all of them.
  st.activating = true;
  st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), storage::batch{},
                   [self, replay, reply](const status&) mutable {
    auto& st = self->state;
    if (st.deleting) {
      st.activating = false;
      reply(status{errc::not_found, "webhook deleted"}, {});
      run_after_move(self);
      return;
    }
    storage::batch b;
    if (st.reactivate())
      b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
    self->send(st.registry, state_atom::value, st.record.id, true, int64_t{0}, std::string{});
    if (replay) {
      log::info("webhook " + std::to_string(st.record.id) + " reactivated, replaying "
                + std::to_string(st.buffered) + " buffered event(s)");
      start_replay(self, std::move(b), std::move(reply));
      return;
    }
    activate_result result{st.record.id, true, 0, st.buffered};
    auto [lo, hi] = storage::hook_range(st.record.id);
    b.erase_range(storage::cf::buffer, lo, hi);
    st.buffered = 0;
    log::info("webhook " + std::to_string(st.record.id) + " reactivated ("
              + std::to_string(result.discarded) + " buffered event(s) discarded)");
    st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                     [self, reply, result](const status& s) mutable {
      auto& st = self->state;
      if (!s) {
        log::error("webhook " + std::to_string(st.record.id)
                   + ": storing its reactivation failed: " + s.message());
        st.activating = false;
        reply(s, {});
        run_after_move(self);
        return;
      }
      finish_activation(self);
      reply(status::ok(), result);
    });
    sync_gauges(self);
  });
}

/// ActivateWebHook on this hook (SPEC §3).
void activate(self_ptr self, bool replay, activation_reply reply) {
  auto& st = self->state;
  if (st.deleting) {
    reply(status{errc::not_found, "webhook is being deleted"}, {});
    return;
  }
  if (st.move == hook_state::moving::to_buffer || (st.activating && !st.record.active)) {
    // The buffer is still being filled, or another activation is about to
    // take it: this one comes after.
    st.after_move.push_back([self, replay, reply] { activate(self, replay, reply); });
    return;
  }
  if (!st.record.active) {
    reactivate_inactive(self, replay, std::move(reply));
    return;
  }
  // Active (or a replay is under way): nothing buffered to act on; only the
  // failure count is reset.
  activate_result result{st.record.id, true, 0, 0};
  if (!st.reactivate()) {
    reply(status::ok(), result);
    return;
  }
  storage::batch b;
  b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
  st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                   [reply, result](const status& s) mutable { reply(s, result); });
}

/// Continues what a crash (or a failed deletion) interrupted: an inactive
/// hook's queue still moving to its buffer, or an active hook's buffer still
/// being replayed.
void resume_moves(self_ptr self) {
  auto& st = self->state;
  if (st.move != hook_state::moving::none)
    return;
  if (!st.record.active)
    start_move_to_buffer(self);
  else if (st.buffered > 0)
    start_replay(self, storage::batch{}, {});
}

/// Reads the hook's stored queue for the window (see delivery_queue).
delivery_queue::reader queue_reader(self_ptr self) {
  return [self](uint64_t from, uint64_t to, const std::function<bool(std::string_view)>& fn) {
    auto& st = self->state;
    auto lo = queue_key(st, from);
    auto hi = to == std::numeric_limits<uint64_t>::max() ? storage::hook_range(st.record.id).second
                                                         : queue_key(st, to);
    auto s = st.ctx->store->scan(storage::cf::queue, lo, hi,
                                 [&](std::string_view, std::string_view v) { return fn(v); });
    if (!s)
      log::error("webhook " + std::to_string(st.record.id) + ": paging its queue failed: " + s.message());
  };
}

/// Completes an entry stored in the reference form from its event record.
delivery_queue::resolver event_resolver(self_ptr self) {
  return [self](storage::queue_entry& e) -> std::optional<std::shared_ptr<const std::string>> {
    auto& st = self->state;
    auto stored = st.ctx->store->get(storage::cf::events, storage::event_key(e.seq));
    if (!stored) {
      log::error("webhook " + std::to_string(st.record.id) + ": reading event of entry "
                 + std::to_string(e.seq) + " failed: " + stored.error().message());
      return std::nullopt;
    }
    if (!*stored)
      return std::shared_ptr<const std::string>{};
    auto rec = storage::event_record::decode(**stored);
    if (!rec)
      return std::nullopt;
    e.event_id = std::move(rec->event_id);
    e.event = std::move(rec->event);
    return std::make_shared<const std::string>(std::move(rec->payload));
  };
}

/// Counts the stored queue and buffer, and fills the window when the hook
/// delivers.
void load_queue(self_ptr self) {
  auto& st = self->state;
  auto [lo, hi] = storage::hook_range(st.record.id);
  uint64_t counted = 0;
  auto s = st.ctx->store->scan(storage::cf::queue, lo, hi, [&](std::string_view k, std::string_view) {
    if (!st.queue.find(storage::get_be64(k.substr(8))))
      ++counted;  // not in flight since before a reload
    return true;
  });
  if (!s)
    log::error("webhook " + std::to_string(st.record.id) + ": loading its queue failed: " + s.message());
  st.queue.add_backlog(counted);
  st.buffered = 0;
  st.ctx->store->scan(storage::cf::buffer, lo, hi, [&](std::string_view, std::string_view) {
    ++st.buffered;
    return true;
  });
}

/// Finds the numbers of the newest and oldest stored attempt records, the
/// first time they are needed (so an idle hook costs no read at start-up).
void load_attempt_numbers(self_ptr self) {
  auto& st = self->state;
  if (st.attempts_loaded)
    return;
  st.attempts_loaded = true;
  auto [lo, hi] = storage::hook_range(st.record.id);
  if (auto last = st.ctx->store->last_key(storage::cf::attempts, lo, hi); last && last.value()) {
    st.next_attempt_no = storage::get_be64(std::string_view{**last}.substr(8)) + 1;
    st.ctx->store->scan(storage::cf::attempts, lo, hi, [&](std::string_view k, std::string_view) {
      st.oldest_attempt_no = storage::get_be64(k.substr(8));
      return false;
    });
  }
}

/// Reads entries that wait on disk into the window, a bounded number per
/// message: when there is more to read, a wake-up continues.
void page_in(self_ptr self) {
  auto& st = self->state;
  auto r = st.queue.page(queue_reader(self), delivery_queue::page_budget, event_resolver(self));
  if (r.unreadable > 0)
    log::error("webhook " + std::to_string(st.record.id) + ": " + std::to_string(r.unreadable)
               + " unreadable queue entr(ies) skipped");
  if (!r.orphaned.empty()) {
    log::warn("webhook " + std::to_string(st.record.id) + ": " + std::to_string(r.orphaned.size())
              + " queue entr(ies) of events delivered before a crash of the machine removed");
    storage::batch b;
    for (auto seq : r.orphaned)
      b.erase(storage::cf::queue, queue_key(st, seq));
    persist(self, std::move(b));
  }
  if (r.more && !st.paging) {
    st.paging = true;
    self->send(self, wake_atom::value);
  }
}

void arm_timer(self_ptr self, int64_t now) {
  auto& st = self->state;
  auto due = st.queue.next_due();
  if (!due || (st.wake_at && *st.wake_at <= *due))
    return;
  st.wake_at = *due;
  auto delay = std::chrono::milliseconds{std::max<int64_t>(*due - now, 0) + 1};
  self->delayed_send(self, delay, wake_atom::value);
}

void send_attempt(self_ptr self, delivery_queue::item& it, int64_t now) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  auto attempt = it.entry.attempts + 1;
  auto timestamp = now / 1000;
  delivery_request req;
  req.hook_id = st.record.id;
  req.target = st.target;
  req.timeout = ctx.delivery.timeout;
  req.body = it.payload;
  req.headers.reserve(7);
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("webhook-id", it.entry.event_id);
  req.headers.emplace_back("webhook-timestamp", std::to_string(timestamp));
  if (!st.signer || st.signer->secret() != st.record.secret)
    st.signer = std::make_unique<support::webhook_signer>(st.record.secret);
  req.headers.emplace_back("webhook-signature",
                           st.signer->sign(it.entry.event_id, timestamp, *it.payload));
  req.headers.emplace_back("X-Hookwerk-Event", it.entry.event);
  req.headers.emplace_back("X-Hookwerk-Webhook-Id", std::to_string(st.record.id));
  req.headers.emplace_back("X-Hookwerk-Attempt", std::to_string(attempt));
  auto handle = caf::actor_cast<hook_actor>(self);
  auto seq = it.entry.seq;
  // Counted until the actor has handled the result (see on_outcomes), so
  // shutdown knows when every outcome has been handed to the writer.
  ctx.in_flight.fetch_add(1, std::memory_order_relaxed);
  st.attempt_started[seq] = now;
  if (!st.outcomes)
    st.outcomes = std::make_shared<outcome_inbox>();
  ctx.sender->send(std::move(req), [handle, inbox = st.outcomes, seq, now](delivery_result r) {
    if (inbox->add(attempt_outcome{seq, now, std::move(r)}))
      caf::anon_send(handle, delivered_atom::value);
  });
}

/// Starts every attempt the rules allow now and arms the timer for the next.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.deleting || st.activating || !st.record.active
      || st.ctx->draining.load(std::memory_order_relaxed))
    return;
  if (st.queue.wants_page())
    page_in(self);
  auto max = st.ctx->delivery.max_in_flight;
  if (st.queue.in_flight() >= max)
    return;
  auto now = support::now_ms();
  for (auto* it : st.queue.take_ready(now, max - st.queue.in_flight()))
    send_attempt(self, *it, now);
  arm_timer(self, now);
}

/// Submits `out`, the writes of the outcomes handled so far (see on_outcomes), and leaves
/// it empty.
void persist_outcomes(self_ptr self, storage::batch& out) {
  if (out.empty())
    return;
  // While the hook stays active, outcomes (entries done or due again, attempts logged, the
  // failure count) need no fsync of their own: lost in a crash of the machine, they only
  // mean the attempts are made again (SPEC §5: at-least-once; receivers dedupe on
  // webhook-id). A deactivation, or an outcome moved to the buffer of an inactive hook,
  // changes what the customer sees and is synced. A hook only turns active again through
  // an activation, never while outcomes are handled, so one active now was active for
  // every outcome in `out`.
  out.set_durability(self->state.record.active ? storage::batch::durability::relaxed
                                               : storage::batch::durability::synced);
  persist(self, std::move(out));
  out = storage::batch{};
}

/// Handles one attempt's outcome, appending its writes to `out` (see on_outcomes). False
/// for a stale outcome, which no longer counts in `actor_context::in_flight`.
bool on_delivered(self_ptr self, uint64_t seq, int64_t started, delivery_result& r,
                  storage::batch& out) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  // An outcome the self-check already took as lost (see self_check) is stale: it was
  // counted out of `in_flight` then, and the entry has moved on since.
  auto sent = st.attempt_started.find(seq);
  if (sent == st.attempt_started.end() || sent->second != started) {
    log::warn("webhook " + std::to_string(st.record.id) + ": late outcome of an attempt taken as lost ignored");
    return false;
  }
  st.attempt_started.erase(sent);
  auto* it = st.queue.find(seq);
  if (!it)
    return true;
  if (st.deleting) {
    st.queue.remove(seq);
    return true;
  }
  auto success = r.success();
  (success ? ctx.stats.deliveries_success : ctx.stats.deliveries_failure)
    .fetch_add(1, std::memory_order_relaxed);
  if (r.local_failure())
    ctx.stats.deliveries_local_failure.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.delivery_duration.observe_us(static_cast<uint64_t>(r.duration.count()) * 1000);

  auto attempt_no = it->entry.attempts + 1;
  auto now = support::now_ms();
  storage::attempt_record rec;
  rec.event_id = it->entry.event_id;
  rec.attempt = attempt_no;
  rec.at_ms = started;
  rec.http_status = r.http_status;
  if (!success)
    rec.error = r.error.empty() ? "HTTP " + std::to_string(r.http_status) : r.error;
  rec.duration_ms = static_cast<uint32_t>(r.duration.count());

  storage::batch b;
  load_attempt_numbers(self);
  auto log_attempt = [&](const storage::attempt_record& a) {
    b.put(storage::cf::attempts, queue_key(st, st.next_attempt_no++), a.encode());
  };
  log_attempt(rec);

  if (success) {
    st.queue.remove(seq);
    b.erase(storage::cf::queue, queue_key(st, seq));
    if (st.on_success())
      b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
  } else {
    auto& entry = it->entry;
    entry.attempts = attempt_no;
    if (entry.first_attempt_ms == 0)
      entry.first_attempt_ms = started;
    auto stored = entry;
    if (!stored.shared)
      stored.payload = *it->payload;
    // Only the receiver's failures count toward deactivation; the server's own
    // (resolver, descriptors, ports, shutdown) are retried without counting.
    auto verdict = st.on_failure(*rec.error, r.http_status, r.at_fault, now,
                                 {ctx.delivery.failure_threshold, ctx.delivery.failure_window});
    auto counted = verdict != hook_state::after_failure::retry_local;
    if (!st.record.active) {
      // The attempt was in flight when the hook was deactivated.
      if (counted)
        b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
      st.queue.remove(seq);
      if (st.activating)
        b.put(storage::cf::queue, queue_key(st, seq), stored.encode());  // reloaded once active
      else
        buffer_entry(self, b, std::move(stored));
    } else if (verdict == hook_state::after_failure::deactivate) {
      // No longer in flight, so deactivate() moves it to the buffer too,
      // taking the in-memory copy with the updated attempt count. The move
      // reads the queue once every write submitted before it is done: the
      // outcomes handled before this one go first, so it sees them.
      st.queue.release(seq, 0);
      persist_outcomes(self, out);
      deactivate(self, b, now);
    } else {
      if (counted)
        b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
      if (now - entry.first_attempt_ms >= ctx.delivery.max_event_age.count()) {
        storage::attempt_record expired;
        expired.event_id = entry.event_id;
        expired.attempt = attempt_no;
        expired.at_ms = now;
        expired.error = "expired";
        log_attempt(expired);
        log::warn("webhook " + std::to_string(st.record.id) + ": event " + entry.event_id
                  + " given up after " + std::to_string(attempt_no) + " attempts (expired)");
        ctx.stats.events_expired.fetch_add(1, std::memory_order_relaxed);
        b.erase(storage::cf::queue, queue_key(st, seq));
        st.queue.remove(seq);
      } else {
        std::uniform_real_distribution<double> jitter{-1.0, 1.0};
        auto delay = counted ? retry_delay(ctx.delivery.retry_schedule, attempt_no, jitter(st.rng),
                                           r.retry_after)
                             : local_retry_delay(ctx.delivery.retry_schedule, jitter(st.rng));
        b.put(storage::cf::queue, queue_key(st, seq), stored.encode());
        st.queue.release(seq, now + delay.count());
      }
    }
  }

  // Keep only the newest attempts; prune in steps so most writes carry no range delete.
  auto kept = ctx.delivery.attempts_kept;
  if (st.next_attempt_no - st.oldest_attempt_no > kept + kept / 10) {
    auto new_oldest = st.next_attempt_no - kept;
    b.erase_range(storage::cf::attempts, queue_key(st, st.oldest_attempt_no),
                  queue_key(st, new_oldest));
    st.oldest_attempt_no = new_oldest;
  }
  out.append(std::move(b));
  return true;
}

/// Handles outcomes of attempts in order, each as if it came alone, but with their writes
/// submitted together (in two parts when one of them deactivates the hook), then starts
/// what may start.
void on_outcomes(self_ptr self, std::vector<attempt_outcome>& outcomes) {
  auto& st = self->state;
  storage::batch out;
  int64_t handled = 0;
  for (auto& o : outcomes)
    if (on_delivered(self, o.seq, o.started_ms, o.result, out))
      ++handled;
  persist_outcomes(self, out);
  // Counted out only now that their writes were submitted: shutdown waits for `in_flight`
  // to reach 0 before it drains the writer.
  st.ctx->in_flight.fetch_sub(handled, std::memory_order_relaxed);
  pump(self);
  sync_gauges(self);
}

/// An event routed to this hook (already in its queue on disk).
void on_enqueued(self_ptr self, const routed_event& event) {
  auto& st = self->state;
  if (st.deleting)
    return;
  const auto& entry = event.entry;
  if (st.activating) {
    // Stays in the queue on disk; the window is reloaded once activated.
  } else if (st.record.active) {
    st.queue.add(entry, event.payload);
    pump(self);
  } else if (st.move == hook_state::moving::to_buffer || entry.seq < st.move_from) {
    // The move to the buffer takes it, or has seen it already.
  } else {
    storage::batch b;
    auto& d = st.ctx->delivery;
    if (st.buffers_at(support::now_ms(), d.buffer_retention, d.buffer_limit)) {
      bool was_empty = st.buffered == 0;
      auto buffered = entry;
      if (!buffered.shared)
        buffered.payload = *event.payload;
      buffer_entry(self, b, std::move(buffered));
      if (was_empty)
        arm_purge(self);
    } else {
      b.erase(storage::cf::queue, queue_key(st, entry.seq));
      count_dropped(self, 1, st.buffered >= d.buffer_limit ? "buffer full" : "after --buffer-retention");
    }
    persist(self, std::move(b));
  }
  sync_gauges(self);
}

void arm_idle_check(self_ptr self) {
  auto after = self->state.ctx->passivate_after;
  if (after.count() > 0)
    self->delayed_send(self, after, idle_atom::value);
}

/// Asks the registry to let the actor go when it was idle and no call came
/// for a whole --passivate-after period; else checks again one period later.
void on_idle_check(self_ptr self) {
  auto& st = self->state;
  auto calls = st.received - st.checks_received;
  bool quiet = calls == st.received_at_check;
  st.received_at_check = calls;
  if (st.passivating)
    return;
  if (!quiet || !st.idle()) {
    arm_idle_check(self);
    return;
  }
  st.passivating = true;
  self->request(st.registry, caf::infinite, passivate_atom::value, st.record.id, st.received)
    .then(
      [self](bool granted) {
        auto& st = self->state;
        st.passivating = false;
        if (!granted) {
          arm_idle_check(self);
          return;
        }
        // Granted only when every message of the registry was received, so
        // the actor is still idle: its record on disk is all there is.
        st.ctx->sender->forget(st.record.id);
        self->quit();
      },
      [self](caf::error&) {
        self->state.passivating = false;
        arm_idle_check(self);
      });
}

/// How long an attempt may stay in flight before the self-check takes it as lost.
std::chrono::milliseconds attempt_deadline(const actor_context& ctx) {
  return 2 * ctx.delivery.timeout + ctx.attempt_grace;
}

/// The self-check (see hook_state::check_stuck): logs, counts and repairs what it finds;
/// true when the hook was stuck. An attempt whose outcome is overdue is taken as a failed
/// attempt on the server's side (retried without counting toward deactivation); a late
/// outcome is then ignored. A hook with nothing to attempt it gets its window read again
/// from disk and its attempts started.
bool self_check(self_ptr self) {
  auto& st = self->state;
  if (st.ctx->draining.load(std::memory_order_relaxed))
    return false;  // no attempts start while shutting down
  auto now = support::now_ms();
  auto verdict = st.check_stuck(now, attempt_deadline(*st.ctx));
  if (!verdict.stuck())
    return false;
  auto id = std::to_string(st.record.id);
  st.ctx->stats.stuck_hooks_repaired.fetch_add(1, std::memory_order_relaxed);
  std::vector<attempt_outcome> lost;
  for (auto seq : verdict.overdue) {
    auto started = st.attempt_started.at(seq);
    log::error("webhook " + id + " stuck: no outcome of the attempt of entry " + std::to_string(seq)
               + " after " + std::to_string(now - started) + " ms; taken as a failed attempt");
    attempt_outcome o{seq, started, {}};
    o.result.error = "no outcome";
    o.result.at_fault = fault::local;
    o.result.duration = std::chrono::milliseconds{now - started};
    lost.push_back(std::move(o));
  }
  if (!lost.empty())
    on_outcomes(self, lost);
  if (verdict.idle) {
    log::error("webhook " + id + " stuck: " + std::to_string(st.queue.pending())
               + " pending event(s), no attempt in flight, no wake-up armed; reading its queue again");
    st.wake_at.reset();
    st.paging = false;
    st.queue.reset_keep_in_flight();
    load_queue(self);
    pump(self);
    sync_gauges(self);
  }
  return true;
}

std::vector<storage::attempt_record> read_attempts(self_ptr self, uint64_t limit) {
  auto& st = self->state;
  std::vector<storage::attempt_record> out;
  load_attempt_numbers(self);
  if (limit == 0 || st.next_attempt_no <= 1)
    return out;
  auto from = st.next_attempt_no > limit ? st.next_attempt_no - limit : 1;
  auto lo = queue_key(st, std::max(from, st.oldest_attempt_no));
  auto hi = queue_key(st, st.next_attempt_no);
  auto s = st.ctx->store->scan(storage::cf::attempts, lo, hi, [&](std::string_view, std::string_view v) {
    if (auto rec = storage::attempt_record::decode(v))
      out.push_back(std::move(*rec));
    return true;
  });
  if (!s)
    log::error("webhook " + std::to_string(st.record.id) + ": reading attempts failed: " + s.message());
  std::reverse(out.begin(), out.end());
  return out;
}

} // namespace

hook_state::~hook_state() {
  if (ctx) {
    // Drops held back for the once-a-minute line are written now rather than lost.
    if (auto line = drops.flush(0, true))
      write_drop_line(*this, *line);
    ctx->hook_actors.fetch_sub(1, std::memory_order_relaxed);
    ctx->stats.pending_events.fetch_sub(reported_pending, std::memory_order_relaxed);
    ctx->stats.buffered_events.fetch_sub(reported_buffered, std::memory_order_relaxed);
  }
}

stuck_verdict hook_state::check_stuck(int64_t now,
                                      std::chrono::milliseconds attempt_deadline) const {
  stuck_verdict out;
  for (const auto& [seq, started] : attempt_started) {
    auto i = queue.items().find(seq);
    if (i != queue.items().end() && i->second.in_flight && now - started > attempt_deadline.count())
      out.overdue.push_back(seq);
  }
  out.idle = record.active && !deleting && !activating && move == moving::none
             && after_move.empty() && writes.pending() == 0 && queue.pending() > 0
             && queue.in_flight() == 0 && !wake_at && !paging;
  return out;
}

bool hook_state::idle() const {
  return queue.pending() == 0 && queue.in_flight() == 0 && buffered == 0 && writes.pending() == 0
         && unsynced->load(std::memory_order_acquire) == 0 && !activating && !deleting
         && move == moving::none && after_move.empty();
}

hook_view hook_state::view() const {
  hook_view v;
  v.record = record;
  v.pending_events = queue.pending();
  v.buffered_events = shown_buffered();
  return v;
}

bool hook_state::reactivate() {
  bool changed = !record.active || record.consecutive_failures != 0 || record.deactivated_at_ms != 0
                 || record.failures_since_ms != 0;
  record.active = true;
  record.deactivated_at_ms = 0;
  record.consecutive_failures = 0;
  record.failures_since_ms = 0;
  return changed;
}

hook_state::after_failure hook_state::on_failure(std::string error, unsigned http_status,
                                                fault at_fault, int64_t now,
                                                failure_policy policy) {
  if (at_fault == fault::local)
    return after_failure::retry_local;
  ++record.consecutive_failures;
  // The first failure of a streak starts the window; so does the next failure of a
  // streak whose start a record of version 1 did not keep.
  if (record.consecutive_failures == 1 || record.failures_since_ms == 0)
    record.failures_since_ms = now;
  record.last_error = std::move(error);
  if (!record.active)
    return after_failure::retry;
  if (http_status == 410)
    return after_failure::deactivate;
  if (record.consecutive_failures >= policy.threshold
      && now - record.failures_since_ms >= policy.window.count())
    return after_failure::deactivate;
  return after_failure::retry;
}

void hook_state::deactivate(int64_t now) {
  record.active = false;
  record.deactivated_at_ms = now;
}

bool hook_state::buffers_at(int64_t now, std::chrono::milliseconds retention,
                            uint64_t limit) const {
  return !record.active && now < record.deactivated_at_ms + retention.count() && buffered < limit;
}

bool hook_state::on_success() {
  if (record.consecutive_failures == 0 && record.failures_since_ms == 0)
    return false;
  record.consecutive_failures = 0;
  record.failures_since_ms = 0;
  return true;
}

hook_actor::behavior_type hook_impl(self_ptr self, std::shared_ptr<actor_context> ctx,
                                    storage::hook_record record, registry_actor registry,
                                    bool stored_entries) {
  ctx->hook_actors.fetch_add(1, std::memory_order_relaxed);
  auto& st = self->state;
  st.queue = delivery_queue{ctx->delivery.window};
  st.ctx = std::move(ctx);
  st.record = std::move(record);
  st.target = delivery_target::make(st.record.url);
  st.registry = std::move(registry);
  if (stored_entries) {
    load_queue(self);
    // Finishes a move that a crash interrupted (the record says where it was
    // going): entries left in an inactive hook's queue, or a buffer left
    // behind by a replay.
    resume_moves(self);
  }
  arm_purge(self);
  pump(self);
  sync_gauges(self);
  arm_idle_check(self);
  // Handlers of messages from the registry count them first (see `received`).
  return {
    [=](get_atom) -> hook_view {
      ++self->state.received;
      return self->state.view();
    },
    [=](enqueue_atom, const std::shared_ptr<const routed_event>& event) {
      ++self->state.received;
      on_enqueued(self, *event);
    },
    [=](delivered_atom) {
      auto& st = self->state;
      if (st.outcomes)
        st.outcomes->take(st.taken);
      on_outcomes(self, st.taken);
      st.taken.clear();
    },
    [=](wake_atom) {
      self->state.wake_at.reset();
      self->state.paging = false;
      pump(self);
    },
    [=](attempts_atom, uint64_t limit) -> caf::result<std::vector<storage::attempt_record>> {
      ++self->state.received;
      // An empty batch completes after every write submitted before it, so
      // the answer includes the attempts whose records are still on their way.
      auto rp = self->make_response_promise<std::vector<storage::attempt_record>>();
      // While the storage fails, the answer does not wait for its recovery
      // and may miss the attempts whose records wait for it.
      self->state.writes.submit(
        *self->state.ctx->writer, caf::actor_cast<hook_actor>(self), storage::batch{},
        [self, rp, limit](const status&) mutable { rp.deliver(read_attempts(self, limit)); },
        storage::on_failure::report);
      return rp;
    },
    [=](purge_atom, int64_t deactivated_at) {
      auto& st = self->state;
      // A move to the buffer still under way arms the purge again when done.
      if (st.record.active || st.activating || st.record.deactivated_at_ms != deactivated_at
          || st.buffered == 0 || st.move != hook_state::moving::none)
        return;
      storage::batch b;
      auto [lo, hi] = storage::hook_range(st.record.id);
      b.erase_range(storage::cf::buffer, lo, hi);
      count_dropped(self, st.buffered, "buffer not replayed within --buffer-max-age");
      st.buffered = 0;
      persist(self, std::move(b));
      sync_gauges(self);
    },
    [=](activate_atom, bool replay) -> caf::result<activate_result> {
      ++self->state.received;
      auto rp = self->make_response_promise<activate_result>();
      activate(self, replay, [rp](const status& s, const activate_result& result) mutable {
        if (s)
          rp.deliver(result);
        else
          rp.deliver(make_error(s));
      });
      return rp;
    },
    [=](delete_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      ++st.received;
      if (st.deleting)
        return make_error(errc::not_found, "webhook is being deleted");
      st.deleting = true;
      auto id = st.record.id;
      st.ctx->sender->forget(id);
      storage::batch b;
      storage::erase_hook(b, id);
      auto rp = self->make_response_promise<uint64_t>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                       [self, rp, id](const status& s) mutable {
                         if (!s) {
                           log::error("deleting webhook " + std::to_string(id)
                                      + " failed: " + s.message());
                           self->state.deleting = false;
                           rp.deliver(make_error(s));
                           // A move the deletion stopped goes on.
                           if (self->state.move == hook_state::moving::none)
                             resume_moves(self);
                           return;
                         }
                         // Results still to come will never be handled.
                         self->state.ctx->in_flight.fetch_sub(
                           static_cast<int64_t>(self->state.queue.in_flight()),
                           std::memory_order_relaxed);
                         self->state.queue.reset();
                         self->state.attempt_started.clear();
                         rp.deliver(id);
                         self->quit();
                       });
      return rp;
    },
    [=](persisted_atom, uint64_t token, const status& s) {
      self->state.writes.complete(token, s);
    },
    [=](idle_atom) { on_idle_check(self); },
    [=](check_atom) -> bool {
      ++self->state.received;
      ++self->state.checks_received;
      return self_check(self);
    },
    [=](drop_log_atom) {
      auto& st = self->state;
      st.drop_log_armed = false;
      if (auto line = st.drops.flush(support::now_ms()))
        write_drop_line(st, *line);
      arm_drop_log(self);
    },
  };
}

} // namespace hookwerk
