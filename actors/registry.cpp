#include "actors/registry.hpp"

#include <algorithm>
#include <optional>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/hook.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/log.hpp"
#include "actors/support/time_format.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace hookwerk {

hook_summary hook_summary::of(const storage::hook_record& record) {
  return hook_summary{record.id,   record.account, record.app, record.event,
                      record.active, record.deactivated_at_ms};
}

namespace {

using self_ptr = registry_actor::stateful_pointer<registry_state>;

/// Puts a hook into the indexes: a new or recovered one (its actor is
/// spawned when first needed), or one back after a failed deletion.
void index_hook(self_ptr self, registry_state::hook_entry entry) {
  auto& st = self->state;
  auto id = entry.id;
  auto& acct = st.accounts[entry.account];
  acct.hooks.insert(id);
  acct.by_event[entry.event].push_back(id);
  st.hooks[id] = std::move(entry);
}

/// Removes a hook from every index; its actor, if any, is left alone.
void unindex_hook(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto i = st.hooks.find(id);
  if (i == st.hooks.end())
    return;
  if (auto a = st.accounts.find(i->second.account); a != st.accounts.end()) {
    a->second.hooks.erase(id);
    auto& ids = a->second.by_event[i->second.event];
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  }
  st.hooks.erase(i);
}

/// The record of hook `id` as stored. Only a passive hook's record is read
/// this way: a running actor owns its record and may have newer state.
expected<storage::hook_record> stored_hook(const actor_context& ctx, uint64_t id) {
  auto stored = ctx.store->get(storage::cf::hooks, storage::hook_key(id));
  if (!stored)
    return stored.error();
  if (!stored.value())
    return status{errc::storage_failed, "record of webhook " + std::to_string(id) + " missing"};
  auto record = storage::hook_record::decode(**stored);
  if (!record)
    return status{errc::storage_failed, "record of webhook " + std::to_string(id) + " unreadable"};
  return std::move(*record);
}

/// Spawns the actor of an indexed hook from its stored record; false (and
/// logged) when the record cannot be read. With `stored_entries` the actor
/// loads its queue and buffer.
bool start_actor(self_ptr self, registry_state::hook_entry& entry, bool stored_entries) {
  auto& st = self->state;
  auto record = stored_hook(*st.ctx, entry.id);
  if (!record) {
    log::error("webhook " + std::to_string(entry.id) + " cannot be started: "
               + record.error().message());
    return false;
  }
  entry.handle = self->spawn(hook_impl, st.ctx, std::move(*record),
                             caf::actor_cast<registry_actor>(self), stored_entries);
  entry.sent = 0;
  self->monitor(entry.handle);
  st.hook_by_addr[entry.handle.address()] = entry.id;
  return true;
}

/// The hook's actor, spawned when the hook is passive, counting the one
/// message the caller sends it next. A passive hook has nothing queued or
/// buffered: what is routed to it from now on comes as messages. Null when
/// the record cannot be read.
hook_actor live_hook(self_ptr self, registry_state::hook_entry& entry) {
  if (!entry.handle && !start_actor(self, entry, false))
    return {};
  ++entry.sent;
  return entry.handle;
}

/// While the database refuses writes (a write failed and it has not
/// recovered yet), calls that would write are refused at once.
bool storage_refuses(self_ptr self) {
  return !self->state.ctx->writer->healthy();
}

caf::error storage_unavailable() {
  return make_error(errc::storage_unavailable, "storage refuses writes until it recovers");
}

/// Routes events to hook queues in one durable batch; answers once durable.
caf::result<ingest_reply> ingest(self_ptr self, ingest_cmd& cmd) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  if (storage_refuses(self))
    return storage_unavailable();
  auto item_prefix = [&](size_t i) {
    return cmd.batch ? "item " + std::to_string(i + 1) + ": " : std::string{};
  };
  for (size_t i = 0; i < cmd.items.size(); ++i) {
    const auto& item = cmd.items[i];
    if (!st.accounts.count(item.account))
      return make_error(errc::invalid_parameter, item_prefix(i) + "unknown account: " + item.account);
    if (std::find(ctx.events.begin(), ctx.events.end(), item.event) == ctx.events.end())
      return make_error(errc::invalid_parameter, item_prefix(i) + "unknown event: " + item.event);
  }
  if (st.pending_ingest_bytes > ctx.max_pending_ingest_bytes)
    return make_error(errc::overloaded, "too many events wait for the disk");

  struct routed {
    uint64_t hook;
    std::shared_ptr<const routed_event> event;
  };
  auto now = support::now_ms();
  ingest_reply reply;
  reply.ids.resize(cmd.items.size());
  storage::batch b;
  std::vector<routed> fanout;
  std::unordered_map<std::string, std::string> seen;  // idempotency key -> event id, this call
  std::vector<std::string> claimed;                   // keys this call made pending
  uint64_t bytes = 0;  // payload bytes times hooks queued: bounded by --max-fanout-bytes
  uint64_t new_events = 0;
  uint64_t dropped = 0;
  auto retention = ctx.delivery.buffer_retention.count();
  const auto first_seq = st.next_event_seq;
  std::vector<uint64_t> targets;
  for (size_t i = 0; i < cmd.items.size(); ++i) {
    auto& item = cmd.items[i];
    std::string idem;
    if (item.id) {
      idem = storage::idempotency_key(item.account, *item.id);
      if (auto f = seen.find(idem); f != seen.end()) {
        reply.ids[i] = f->second;
        continue;
      }
      if (auto p = st.pending_idempotency.find(idem); p != st.pending_idempotency.end()) {
        reply.ids[i] = seen[idem] = p->second;
        continue;
      }
      auto stored = ctx.store->get(storage::cf::idempotency, idem);
      if (!stored)
        return make_error(stored.error());
      if (stored.value()) {
        auto rec = storage::idempotency_record::decode(**stored);
        if (rec && now - rec->created_at_ms < storage::idempotency_window_ms) {
          reply.ids[i] = seen[idem] = rec->event_id;
          continue;
        }
      }
    }
    auto seq = st.next_event_seq++;
    auto event_id = ctx.event_id_prefix + support::to_hex(storage::be64(seq));
    reply.ids[i] = event_id;
    ++new_events;
    if (item.id) {
      storage::idempotency_record rec{event_id, now};
      b.put(storage::cf::idempotency, idem, rec.encode());
      seen[idem] = event_id;
      st.pending_idempotency[idem] = event_id;
      claimed.push_back(idem);
    }
    auto& acct = st.accounts[item.account];
    auto route = acct.by_event.find(item.event);
    if (route == acct.by_event.end())
      continue;
    targets.clear();
    for (auto hook_id : route->second) {
      const auto& target = st.hooks.at(hook_id);
      if (!target.active && now >= target.deactivated_at_ms + retention)
        ++dropped;  // inactive for longer than --buffer-retention
      else
        targets.push_back(hook_id);
    }
    bytes += targets.size() * item.payload.size();
    if (bytes > ctx.limits.max_fanout_bytes) {
      // Nothing of this request is kept: not its sequence numbers, not its
      // idempotency keys, not its batch.
      st.next_event_seq = first_seq;
      for (auto& key : claimed)
        st.pending_idempotency.erase(key);
      auto limit = std::to_string(ctx.limits.max_fanout_bytes);
      if (cmd.batch)
        return make_error(errc::limit_exceeded,
                          "the batch's payload bytes times webhooks exceed the limit of " + limit
                            + " bytes per request (--max-fanout-bytes)");
      return make_error(errc::limit_exceeded,
                        "the payload's " + std::to_string(item.payload.size()) + " bytes times "
                          + std::to_string(targets.size()) + " webhooks exceed the limit of "
                          + limit + " bytes per request (--max-fanout-bytes)");
    }
    // An event for several hooks is stored once (events family) and each hook's queue
    // entry refers to it; for one hook its entry holds it all. Either way the hooks
    // share one message with one payload.
    if (!cmd.batch)
      reply.hooks = targets.size();
    if (targets.empty())
      continue;
    storage::queue_entry e;
    e.seq = seq;
    e.event_id = event_id;
    e.event = item.event;
    e.key = item.key;
    e.ingested_at_ms = now;
    e.shared = targets.size() > 1;
    if (e.shared) {
      storage::event_record rec{event_id, item.event, std::move(item.payload), targets};
      b.put(storage::cf::events, storage::event_key(seq), rec.encode());
      item.payload = std::move(rec.payload);
    } else {
      e.payload = std::move(item.payload);
    }
    auto encoded = e.encode();
    auto payload = std::make_shared<const std::string>(e.shared ? std::move(item.payload)
                                                                : std::move(e.payload));
    e.payload.clear();
    auto event = std::make_shared<const routed_event>(routed_event{std::move(e), std::move(payload)});
    for (auto hook_id : targets) {
      b.put(storage::cf::queue, storage::hook_seq_key(hook_id, seq), encoded);
      fanout.push_back(routed{hook_id, event});
    }
  }
  if (dropped > 0)
    ctx.stats.events_dropped.fetch_add(dropped, std::memory_order_relaxed);
  if (new_events > 0)
    storage::put_counter(b, storage::meta_key::next_event_seq, st.next_event_seq);
  st.pending_ingest_bytes += bytes;
  auto rp = self->make_response_promise<ingest_reply>();
  st.writes.submit(*ctx.writer, caf::actor_cast<registry_actor>(self), std::move(b),
                   [self, rp, reply = std::move(reply), fanout = std::move(fanout),
                    claimed = std::move(claimed), bytes, new_events](const status& s) mutable {
                     auto& st = self->state;
                     st.pending_ingest_bytes -= bytes;
                     for (auto& key : claimed)
                       st.pending_idempotency.erase(key);
                     if (!s) {
                       log::error("ingestion failed: " + s.message());
                       rp.deliver(make_error(s));
                       return;
                     }
                     // Actors are looked up (or spawned) only now: a hook may
                     // have been passivated or deleted while the batch was written.
                     for (auto& r : fanout) {
                       auto h = st.hooks.find(r.hook);
                       if (h == st.hooks.end())
                         continue;  // deleted: its keys went after this batch
                       if (auto handle = live_hook(self, h->second))
                         self->send(handle, enqueue_atom::value, std::move(r.event));
                     }
                     st.ctx->stats.events_ingested.fetch_add(new_events, std::memory_order_relaxed);
                     rp.deliver(std::move(reply));
                   },
                   storage::on_failure::report);
  return rp;
}

/// The hook `id` if it exists and belongs to `account`.
registry_state::hook_entry* owned_hook(self_ptr self, const std::string& account, uint64_t id) {
  auto i = self->state.hooks.find(id);
  if (i == self->state.hooks.end() || i->second.account != account)
    return nullptr;
  return &i->second;
}

/// The actor of `account`'s hook `id` for a call, started if the hook is passive.
caf::expected<hook_actor> actor_for_call(self_ptr self, const std::string& account, uint64_t id) {
  auto entry = owned_hook(self, account, id);
  if (!entry)
    return make_error(errc::not_found, "webhook not found");
  auto handle = live_hook(self, *entry);
  if (!handle)
    return make_error(errc::storage_failed, "webhook record unavailable");
  return handle;
}

/// What GetWebHooks shows of a passive hook: its stored record, nothing pending.
expected<hook_view> passive_view(self_ptr self, uint64_t id) {
  auto record = stored_hook(*self->state.ctx, id);
  if (!record)
    return record.error();
  hook_view view;
  view.record = std::move(*record);
  return view;
}

/// Gathers the views of many hooks; delivers them sorted by id once all answered.
struct list_collector {
  caf::typed_response_promise<std::vector<hook_view>> promise;
  std::vector<hook_view> views;
  size_t outstanding = 0;

  void arrived() {
    if (--outstanding > 0)
      return;
    std::sort(views.begin(), views.end(),
              [](const hook_view& a, const hook_view& b) { return a.record.id < b.record.id; });
    promise.deliver(std::move(views));
  }
};

/// Gathers the answers of the hook actors to one self-check.
struct check_collector {
  explicit check_collector(metrics& stats) : stats(stats) {}

  metrics& stats;
  /// Answers the caller once every hook answered; unset for the periodic check.
  std::optional<caf::typed_response_promise<self_check_result>> promise;
  self_check_result result;
  size_t outstanding = 0;

  void arrived() {
    if (--outstanding > 0)
      return;
    stats.self_checks.fetch_add(1, std::memory_order_relaxed);
    if (result.repaired > 0)
      log::warn("self-check: " + std::to_string(result.repaired) + " of "
                + std::to_string(result.checked) + " running webhook(s) were stuck and repaired");
    if (promise)
      promise->deliver(result);
  }
};

/// Asks every running hook actor to check itself (see hook_state::check_stuck). A passive
/// hook needs no check: it is passivated only when idle, with nothing queued or buffered,
/// and whatever is routed to it later starts its actor.
void run_self_check(self_ptr self, std::shared_ptr<check_collector> collector) {
  auto& st = self->state;
  std::vector<hook_actor> targets;
  for (auto& [id, entry] : st.hooks) {
    if (!entry.handle)
      continue;
    ++entry.sent;  // counted like every message to a hook actor (see passivation)
    targets.push_back(entry.handle);
  }
  collector->result.checked = targets.size();
  collector->outstanding = targets.size() + 1;
  for (auto& target : targets)
    self->request(target, caf::infinite, check_atom::value)
      .then(
        [collector](bool repaired) {
          if (repaired)
            ++collector->result.repaired;
          collector->arrived();
        },
        [collector](caf::error&) { collector->arrived(); });  // quit meanwhile
  collector->arrived();  // answers at once when no actor runs
}

void arm_self_check(self_ptr self) {
  auto interval = self->state.ctx->self_check_interval;
  if (interval.count() > 0)
    self->delayed_send(self, interval, tick_atom::value);
}

/// Adds to `b` the notification of hook `id`'s deactivation at `at` (its
/// created_at, so each deactivation's notification is recognisable), and the
/// deletion of the account's oldest beyond `account_limits::notifications_kept`.
void notify_deactivation(self_ptr self, storage::batch& b, registry_state::account_entry& account,
                         uint64_t id, int64_t at, std::string reason) {
  auto& st = self->state;
  storage::notification_record note;
  note.id = st.next_notification_id++;
  note.account = account.record.username;
  note.kind = "webhook_deactivated";
  note.webhook_id = id;
  note.created_at_ms = at;
  note.reason = std::move(reason);
  note.token = support::random_token(16);
  b.put(storage::cf::notifications, storage::be64(note.id), note.encode());
  storage::put_counter(b, storage::meta_key::next_notification_id, st.next_notification_id);
  log::info("notification " + std::to_string(note.id) + " stored for account " + note.account
            + ": webhook " + std::to_string(id) + " deactivated");
  auto& kept = account.notifications;
  kept.insert(note.id);
  st.notifications[note.id] = std::move(note);
  // The oldest go in the same batch, so the account never holds more.
  while (kept.size() > st.ctx->limits.notifications_kept) {
    auto oldest = *kept.begin();
    kept.erase(kept.begin());
    st.notifications.erase(oldest);
    b.erase(storage::cf::notifications, storage::be64(oldest));
  }
}

/// Start-up repair of a change of state cut in half by a crash. The hook actor
/// stores its record, then tells the registry, which stores the notification
/// (or marks them read) in a second write. So after a crash between the two:
/// - an inactive hook whose deactivation has no notification gets it now
///   (created at the deactivation's time, with the record's last error);
/// - an unread notification of a hook that is active again is marked read.
void repair_notifications(self_ptr self) {
  auto& st = self->state;
  std::set<std::pair<uint64_t, int64_t>> noted;
  for (const auto& [nid, note] : st.notifications)
    noted.emplace(note.webhook_id, note.created_at_ms);
  storage::batch b;
  for (const auto& [id, entry] : st.hooks) {
    if (entry.active || entry.deactivated_at_ms == 0 || noted.count({id, entry.deactivated_at_ms}))
      continue;
    auto account = st.accounts.find(entry.account);
    if (account == st.accounts.end())
      continue;
    // An account at its limit lost its oldest notifications on purpose.
    const auto& kept = account->second.notifications;
    if (kept.size() >= st.ctx->limits.notifications_kept && !kept.empty()
        && entry.deactivated_at_ms < st.notifications.at(*kept.begin()).created_at_ms)
      continue;
    auto record = stored_hook(*st.ctx, id);
    if (!record) {
      log::error("webhook " + std::to_string(id) + ": cannot repair its missing notification: "
                 + record.error().message());
      continue;
    }
    log::warn("webhook " + std::to_string(id)
              + ": its deactivation had no notification (interrupted write); storing it now");
    notify_deactivation(self, b, account->second, id, entry.deactivated_at_ms,
                        record->last_error.value_or(""));
  }
  for (auto& [nid, note] : st.notifications) {
    auto h = st.hooks.find(note.webhook_id);
    if (note.read || h == st.hooks.end() || !h->second.active)
      continue;
    note.read = true;
    b.put(storage::cf::notifications, storage::be64(nid), note.encode());
  }
  if (b.empty())
    return;
  st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                   [](const status& s) {
                     if (!s)
                       log::error("storing repaired notifications failed: " + s.message());
                   });
}

/// Handles a hook's change of state: a deactivation gets a notification, a
/// reactivation marks the hook's notifications read.
void on_hook_state(self_ptr self, uint64_t id, bool active, int64_t at, std::string& reason) {
  auto& st = self->state;
  auto i = st.hooks.find(id);
  if (i == st.hooks.end())
    return;
  i->second.active = active;
  i->second.deactivated_at_ms = active ? 0 : at;
  auto account = st.accounts.find(i->second.account);
  if (account == st.accounts.end())
    return;
  storage::batch b;
  if (!active) {
    notify_deactivation(self, b, account->second, id, at, std::move(reason));
  } else {
    for (auto nid : account->second.notifications) {
      auto& note = st.notifications.at(nid);
      if (note.webhook_id == id && !note.read) {
        note.read = true;
        b.put(storage::cf::notifications, storage::be64(nid), note.encode());
      }
    }
  }
  if (b.empty())
    return;
  st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                   [id](const status& s) {
                     if (!s)
                       log::error("storing a notification for webhook " + std::to_string(id)
                                  + " failed: " + s.message());
                   });
}

/// Whether the link of `note` has expired at `now`: its hook's buffer was
/// purged --buffer-max-age after the deactivation, and the link with it.
bool link_expired(const actor_context& ctx, const storage::notification_record& note, int64_t now) {
  return now >= note.created_at_ms + ctx.delivery.buffer_max_age.count();
}

/// The notification `id` if `token` is its unused link token: errc::not_found
/// for a wrong or used token, errc::expired for the right one past its time.
caf::expected<storage::notification_record*> find_link(self_ptr self, uint64_t id,
                                                       const std::string& token) {
  auto i = self->state.notifications.find(id);
  if (i == self->state.notifications.end() || i->second.token.empty()
      || !support::constant_time_equal(i->second.token, token))
    return make_error(errc::not_found, "no such link");
  if (link_expired(*self->state.ctx, i->second, support::now_ms()))
    return make_error(errc::expired, "link expired");
  return &i->second;
}

} // namespace

registry_actor::behavior_type registry_impl(self_ptr self, std::shared_ptr<actor_context> ctx,
                                            registry_snapshot snapshot) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.next_hook_id = snapshot.next_hook_id;
  st.next_event_seq = snapshot.next_event_seq;
  st.next_notification_id = snapshot.next_notification_id;
  for (auto& account : snapshot.accounts) {
    auto& entry = st.accounts[account.username];
    entry.generation = st.next_generation++;
    entry.record = std::move(account);
  }
  for (auto& note : snapshot.notifications) {
    auto nid = note.id;
    if (auto a = st.accounts.find(note.account); a != st.accounts.end())
      a->second.notifications.insert(nid);
    st.notifications[nid] = std::move(note);
  }
  std::vector<uint64_t> with_entries;
  for (auto& hook : snapshot.hooks) {
    auto id = hook.id;
    index_hook(self, {std::move(hook), {}, 0});
    if (snapshot.with_entries.count(id))
      with_entries.push_back(id);
  }
  // Before any hook actor runs, so none can change state meanwhile.
  repair_notifications(self);
  // Only hooks with stored entries get an actor now; the others stay passive
  // until their first event or call.
  for (auto id : with_entries)
    start_actor(self, st.hooks.at(id), true);

  arm_self_check(self);

  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.hook_by_addr.find(msg.source);
    if (i == st.hook_by_addr.end())
      return;
    auto id = i->second;
    st.hook_by_addr.erase(i);
    auto h = st.hooks.find(id);
    if (h == st.hooks.end() || h->second.handle.address() != msg.source)
      return;  // deleted, passivated or already replaced
    if (msg.reason == caf::exit_reason::normal) {
      h->second.handle = nullptr;
      return;
    }
    log::error("webhook " + std::to_string(id) + " actor failed: " + caf::to_string(msg.reason));
    h->second.handle = nullptr;
    if (start_actor(self, h->second, true))
      log::warn("webhook " + std::to_string(id) + " actor restarted");
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [id, entry] : self->state.hooks)
      if (entry.handle)
        self->send_exit(entry.handle, msg.reason);
    self->quit(msg.reason);
  });

  return {
    [=](create_hook_cmd& cmd) -> caf::result<hook_view> {
      auto& st = self->state;
      auto account = st.accounts.find(cmd.account);
      if (account == st.accounts.end())
        return make_error(errc::login_failed, "account vanished");
      if (storage_refuses(self))
        return storage_unavailable();
      auto& acct = account->second;
      auto max_hooks = st.ctx->limits.max_hooks_per_account;
      if (acct.hooks.size() + acct.hooks_being_created >= max_hooks)
        return make_error(errc::limit_exceeded, "webhook limit of " + std::to_string(max_hooks)
                                                  + " per account reached");
      ++acct.hooks_being_created;
      storage::hook_record record;
      record.id = st.next_hook_id++;
      record.account = std::move(cmd.account);
      record.app = std::move(cmd.app);
      record.event = std::move(cmd.event);
      record.url = std::move(cmd.url);
      record.secret = support::make_webhook_secret();
      record.active = true;
      record.created_at_ms = support::now_ms();
      storage::batch b;
      b.put(storage::cf::hooks, storage::hook_key(record.id), record.encode());
      b.put(storage::cf::meta, "next_hook_id", storage::be64(st.next_hook_id));
      auto generation = account->second.generation;
      auto rp = self->make_response_promise<hook_view>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                       [self, rp, record, generation](const status& s) mutable {
                         auto a = self->state.accounts.find(record.account);
                         bool same_account = a != self->state.accounts.end()
                                             && a->second.generation == generation;
                         if (same_account)
                           --a->second.hooks_being_created;
                         if (!s) {
                           rp.deliver(make_error(s));
                           return;
                         }
                         if (!same_account) {
                           // The account was deleted meanwhile; recovery removes the orphan.
                           rp.deliver(make_error(errc::login_failed, "account deleted"));
                           return;
                         }
                         index_hook(self, {hook_summary::of(record), {}, 0});
                         hook_view view;
                         view.record = std::move(record);
                         rp.deliver(std::move(view));
                       },
                       storage::on_failure::report);
      return rp;
    },
    [=](list_hooks_cmd& cmd) -> caf::result<std::vector<hook_view>> {
      auto& st = self->state;
      auto account = st.accounts.find(cmd.account);
      if (account == st.accounts.end())
        return std::vector<hook_view>{};
      // Passive hooks are read from the database; running actors are asked
      // for their live view.
      auto collector = std::make_shared<list_collector>();
      std::vector<hook_actor> targets;
      for (auto id : account->second.hooks) {
        auto& entry = st.hooks.at(id);
        if ((!cmd.app.empty() && entry.app != cmd.app)
            || (!cmd.event.empty() && entry.event != cmd.event))
          continue;
        if (entry.handle) {
          ++entry.sent;
          targets.push_back(entry.handle);
          continue;
        }
        auto view = passive_view(self, id);
        if (!view)
          return make_error(view.error());
        collector->views.push_back(std::move(*view));
      }
      if (targets.empty())
        return std::move(collector->views);
      collector->promise = self->make_response_promise<std::vector<hook_view>>();
      collector->outstanding = targets.size();
      for (auto& target : targets) {
        self->request(target, caf::infinite, get_atom::value)
          .then(
            [collector](hook_view& v) {
              collector->views.push_back(std::move(v));
              collector->arrived();
            },
            [collector](caf::error&) {
              // A hook deleted while listing is simply not listed.
              collector->arrived();
            });
      }
      return collector->promise;
    },
    [=](activate_atom, const std::string& account, uint64_t id,
        bool replay) -> caf::result<activate_result> {
      if (storage_refuses(self))
        return storage_unavailable();
      auto handle = actor_for_call(self, account, id);
      if (!handle)
        return std::move(handle.error());
      return self->delegate(*handle, activate_atom::value, replay);
    },
    [=](delete_atom, const std::string& account, uint64_t id) -> caf::result<uint64_t> {
      auto entry = owned_hook(self, account, id);
      if (!entry)
        return make_error(errc::not_found, "webhook not found");
      if (storage_refuses(self))
        return storage_unavailable();
      // Unindexed first: no event routed from now on can reach the hook, and
      // every one routed before is written before the hook's deletion.
      auto saved = *entry;
      unindex_hook(self, id);
      auto rp = self->make_response_promise<uint64_t>();
      if (!saved.handle) {
        // Passive: nothing runs that could still write the hook's keys.
        storage::batch b;
        storage::erase_hook(b, id);
        self->state.writes.submit(
          *self->state.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
          [self, rp, id, saved](const status& s) mutable {
            if (s) {
              rp.deliver(id);
              return;
            }
            log::error("deleting webhook " + std::to_string(id) + " failed: " + s.message());
            if (self->state.accounts.count(saved.account))
              index_hook(self, saved);
            rp.deliver(make_error(s));
          },
          storage::on_failure::report);
        return rp;
      }
      ++saved.sent;
      self->request(saved.handle, caf::infinite, delete_atom::value)
        .then([rp](uint64_t deleted) mutable { rp.deliver(deleted); },
              [self, rp, saved](caf::error& e) mutable {
                if (self->state.accounts.count(saved.account))
                  index_hook(self, saved);
                rp.deliver(std::move(e));
              });
      return rp;
    },
    [=](login_atom, const std::string& username) -> caf::result<account_credentials> {
      auto i = self->state.accounts.find(username);
      if (i == self->state.accounts.end())
        return make_error(errc::login_failed, "unknown account");
      const auto& rec = i->second.record;
      return account_credentials{rec.username, rec.salt, rec.password_hash, rec.iterations,
                                 i->second.generation};
    },
    [=](create_atom, storage::account_record& record) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.accounts.count(record.username) || st.accounts_being_created.count(record.username))
        return make_error(errc::already_exists, "account exists");
      if (storage_refuses(self))
        return storage_unavailable();
      st.accounts_being_created.insert(record.username);
      storage::batch b;
      b.put(storage::cf::accounts, record.username, record.encode());
      auto rp = self->make_response_promise<std::string>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                       [self, rp, record](const status& s) mutable {
                         auto& st = self->state;
                         st.accounts_being_created.erase(record.username);
                         if (!s) {
                           rp.deliver(make_error(s));
                           return;
                         }
                         auto& entry = st.accounts[record.username];
                         entry.generation = st.next_generation++;
                         entry.record = record;
                         rp.deliver(record.username);
                       },
                       storage::on_failure::report);
      return rp;
    },
    [=](delete_atom, const std::string& username) -> caf::result<std::string> {
      auto& st = self->state;
      auto account = st.accounts.find(username);
      if (account == st.accounts.end())
        return make_error(errc::not_found, "unknown account");
      if (storage_refuses(self))
        return storage_unavailable();
      auto hook_ids = std::move(account->second.hooks);
      auto note_ids = std::move(account->second.notifications);
      st.accounts.erase(account);
      // Running hook actors delete their own keys, passive hooks go with the
      // account's batch; a crash before all is done leaves hooks without an
      // account, which recovery deletes.
      storage::batch b;
      b.erase(storage::cf::accounts, username);
      // A recreated account must not answer its predecessor's event ids.
      auto [idem_lo, idem_hi] = storage::idempotency_range(username);
      b.erase_range(storage::cf::idempotency, idem_lo, idem_hi);
      for (auto p = st.pending_idempotency.begin(); p != st.pending_idempotency.end();)
        p = p->first.starts_with(idem_lo) ? st.pending_idempotency.erase(p) : std::next(p);
      for (auto id : hook_ids) {
        auto i = st.hooks.find(id);
        if (i == st.hooks.end())
          continue;
        auto handle = i->second.handle;
        unindex_hook(self, id);
        if (!handle) {
          storage::erase_hook(b, id);
          continue;
        }
        self->request(handle, caf::infinite, delete_atom::value)
          .then([](uint64_t) {},
                [id](caf::error& e) {
                  log::error("deleting webhook " + std::to_string(id) + " of a deleted account failed: "
                             + detail_of(e));
                });
      }
      for (auto nid : note_ids) {
        b.erase(storage::cf::notifications, storage::be64(nid));
        st.notifications.erase(nid);
      }
      auto rp = self->make_response_promise<std::string>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                       [rp, username](const status& s) mutable {
                         if (s)
                           rp.deliver(username);
                         else
                           rp.deliver(make_error(s));
                       });
      return rp;
    },
    [=](stats_atom) -> registry_stats {
      registry_stats out;
      out.accounts = self->state.accounts.size();
      out.hooks = self->state.hooks.size();
      for (const auto& [id, entry] : self->state.hooks)
        ++(entry.active ? out.active_hooks : out.inactive_hooks);
      return out;
    },
    [=](ingest_cmd& cmd) -> caf::result<ingest_reply> { return ingest(self, cmd); },
    [=](state_atom, uint64_t id, bool active, int64_t at, std::string& reason) {
      on_hook_state(self, id, active, at, reason);
    },
    [=](notes_atom, const std::string& account, bool unread_only, uint64_t offset,
        uint64_t limit) -> std::vector<storage::notification_record> {
      std::vector<storage::notification_record> out;
      auto& st = self->state;
      auto a = st.accounts.find(account);
      if (a == st.accounts.end())
        return out;
      auto now = support::now_ms();
      const auto& ids = a->second.notifications;
      for (auto i = ids.rbegin(); i != ids.rend() && out.size() < limit; ++i) {
        const auto& note = st.notifications.at(*i);
        if (unread_only && note.read)
          continue;
        if (offset > 0) {
          --offset;
          continue;
        }
        out.push_back(note);
        if (link_expired(*st.ctx, note, now))
          out.back().token.clear();
      }
      return out;
    },
    [=](link_atom, uint64_t id, const std::string& token) -> caf::result<notification_page> {
      auto found = find_link(self, id, token);
      if (!found)
        return std::move(found.error());
      auto note = *found;
      auto hook = owned_hook(self, note->account, note->webhook_id);
      if (!hook)
        return make_error(errc::not_found, "webhook deleted");
      if (!hook->handle) {
        auto view = passive_view(self, note->webhook_id);
        if (!view)
          return make_error(view.error());
        return notification_page{*note, std::move(*view)};
      }
      ++hook->sent;
      auto rp = self->make_response_promise<notification_page>();
      self->request(hook->handle, caf::infinite, get_atom::value)
        .then([rp, copy = *note](hook_view& v) mutable {
                rp.deliver(notification_page{std::move(copy), std::move(v)});
              },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](link_atom, uint64_t id, const std::string& token,
        bool replay) -> caf::result<activate_result> {
      auto found = find_link(self, id, token);
      if (!found)
        return std::move(found.error());
      auto note = *found;
      auto hook = owned_hook(self, note->account, note->webhook_id);
      if (!hook)
        return make_error(errc::not_found, "webhook deleted");
      if (storage_refuses(self))
        return storage_unavailable();
      // Used up now, whatever happens next: a link works once (unless
      // storing that fails, which gives the link back).
      auto used = std::move(note->token);
      note->token.clear();
      storage::batch b;
      b.put(storage::cf::notifications, storage::be64(note->id), note->encode());
      auto rp = self->make_response_promise<activate_result>();
      auto& st = self->state;
      st.writes.submit(*st.ctx->writer, caf::actor_cast<registry_actor>(self), std::move(b),
                       [self, rp, account = note->account, hook_id = note->webhook_id, replay,
                        note_id = note->id, used = std::move(used)](const status& s) mutable {
                         if (!s) {
                           auto n = self->state.notifications.find(note_id);
                           if (n != self->state.notifications.end() && n->second.token.empty())
                             n->second.token = std::move(used);
                           rp.deliver(make_error(s));
                           return;
                         }
                         auto entry = owned_hook(self, account, hook_id);
                         if (!entry) {
                           rp.deliver(make_error(errc::not_found, "webhook deleted"));
                           return;
                         }
                         auto handle = live_hook(self, *entry);
                         if (!handle) {
                           rp.deliver(make_error(errc::storage_failed, "webhook record unavailable"));
                           return;
                         }
                         self->request(handle, caf::infinite, activate_atom::value, replay)
                           .then([rp](activate_result& r) mutable { rp.deliver(std::move(r)); },
                                 [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
                       },
                       storage::on_failure::report);
      return rp;
    },
    [=](attempts_atom, const std::string& account, uint64_t id,
        uint64_t limit) -> caf::result<std::vector<storage::attempt_record>> {
      auto handle = actor_for_call(self, account, id);
      if (!handle)
        return std::move(handle.error());
      return self->delegate(*handle, attempts_atom::value, limit);
    },
    [=](passivate_atom, uint64_t id, uint64_t received) -> bool {
      auto i = self->state.hooks.find(id);
      if (i == self->state.hooks.end())
        return false;  // being deleted: the deletion is on its way
      auto& entry = i->second;
      if (!entry.handle
          || caf::actor_cast<caf::actor_addr>(self->current_sender()) != entry.handle.address()
          || entry.sent != received)
        return false;
      entry.handle = nullptr;
      return true;
    },
    [=](persisted_atom, uint64_t token, const status& s) {
      self->state.writes.complete(token, s);
    },
    [=](check_atom) -> caf::result<self_check_result> {
      auto collector = std::make_shared<check_collector>(self->state.ctx->stats);
      collector->promise = self->make_response_promise<self_check_result>();
      auto rp = *collector->promise;
      run_self_check(self, collector);
      return rp;
    },
    [=](tick_atom) {
      run_self_check(self, std::make_shared<check_collector>(self->state.ctx->stats));
      arm_self_check(self);
    },
  };
}

} // namespace hookwerk
