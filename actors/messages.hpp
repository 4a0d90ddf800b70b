#pragma once

/// The whole actor protocol of Hookwerk: atoms, message structs and the typed
/// interfaces of the registry and hook actors. Every message stays inside one
/// process, so the structs are registered as local-only message types.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/support/ingest_parser.hpp"
#include "storage/records.hpp"
#include "storage/status.hpp"

namespace hookwerk {

// -- atoms (at most 10 characters) ------------------------------------------

using get_atom = caf::atom_constant<caf::atom("get")>;
using activate_atom = caf::atom_constant<caf::atom("activate")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using login_atom = caf::atom_constant<caf::atom("login")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using attempts_atom = caf::atom_constant<caf::atom("attempts")>;
using state_atom = caf::atom_constant<caf::atom("hookstate")>;
using purge_atom = caf::atom_constant<caf::atom("purge")>;
using notes_atom = caf::atom_constant<caf::atom("notes")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using drop_log_atom = caf::atom_constant<caf::atom("droplog")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
using tick_atom = caf::atom_constant<caf::atom("selftick")>;

// -- message structs ----------------------------------------------------------

/// What GetWebHooks shows of one hook: its record plus live counters.
struct hook_view {
  storage::hook_record record;
  uint64_t buffered_events = 0;
  uint64_t pending_events = 0;
};

/// CreateWebHook, after the front actor validated every parameter.
struct create_hook_cmd {
  std::string account;
  std::string app;
  std::string event;
  std::string url;
};

/// GetWebHooks; an empty filter matches everything.
struct list_hooks_cmd {
  std::string account;
  std::string app;
  std::string event;
};

/// An event routed to a hook, already durable in the hook's queue. One
/// instance is shared by every hook the event fans out to: each copies the
/// entry (its attempt counts are its own) and shares the payload.
struct routed_event {
  storage::queue_entry entry;  ///< without the payload
  std::shared_ptr<const std::string> payload;
};

/// The result of ActivateWebHook.
struct activate_result {
  uint64_t id = 0;
  bool active = true;
  uint64_t replayed = 0;
  uint64_t discarded = 0;
};

/// What the front actor needs to verify a password. `generation` changes
/// whenever the account is created anew, so cached logins of an earlier
/// account with the same name are never honoured.
struct account_credentials {
  std::string username;
  std::string salt;
  std::string password_hash;
  uint32_t iterations = 0;
  uint64_t generation = 0;
};

/// Events posted to /v1/events, already parsed and validated in form.
struct ingest_cmd {
  std::vector<support::ingest_item> items;
  bool batch = false;
};

/// The answer to an ingestion once every event is durable.
struct ingest_reply {
  std::vector<std::string> ids;  ///< one per input item, in input order
  uint64_t hooks = 0;            ///< hooks the (single) event was queued for
};

/// What the notification link's page shows.
struct notification_page {
  storage::notification_record note;
  hook_view hook;
};

/// Counts for logs, metrics and tests.
struct registry_stats {
  uint64_t accounts = 0;
  uint64_t hooks = 0;
  uint64_t active_hooks = 0;
  uint64_t inactive_hooks = 0;
};

/// What one run of the self-check found (see hook_state::check_stuck).
struct self_check_result {
  uint64_t checked = 0;   ///< running hook actors asked
  uint64_t repaired = 0;  ///< of them, those found stuck and repaired
};

// -- typed interfaces ---------------------------------------------------------

/// One actor per webhook. It owns the hook's record (and, as the engine grows,
/// its queue, attempts and buffer) and is the only writer of its keys.
using hook_actor = caf::typed_actor<
  caf::replies_to<get_atom>::with<hook_view>,
  /// Reactivates (no-op when active); `bool` asks for a replay of the buffer.
  caf::replies_to<activate_atom, bool>::with<activate_result>,
  /// Deletes every key of the hook durably, answers the id, then quits.
  caf::replies_to<delete_atom>::with<uint64_t>,
  /// A new entry of this hook's queue, already durable.
  caf::reacts_to<enqueue_atom, std::shared_ptr<const routed_event>>,
  /// Outcomes of attempts wait in the hook's outcome inbox (hook_state::outcomes); this
  /// message says there are some.
  caf::reacts_to<delivered_atom>,
  /// A retry time may have come.
  caf::reacts_to<wake_atom>,
  /// The newest attempts, newest first, at most `limit`.
  caf::replies_to<attempts_atom, uint64_t>::with<std::vector<storage::attempt_record>>,
  /// The buffer of the deactivation at this time (unix ms) reached --buffer-max-age.
  caf::reacts_to<purge_atom, int64_t>,
  /// A write this actor submitted to the group-commit writer finished.
  caf::reacts_to<persisted_atom, uint64_t, status>,
  /// Time to check whether the actor has been idle long enough to passivate.
  caf::reacts_to<idle_atom>,
  /// Time to write the log line about dropped events held back (at most one a minute).
  caf::reacts_to<drop_log_atom>,
  /// The self-check: true when the hook was stuck and has been repaired.
  caf::replies_to<check_atom>::with<bool>>;

/// The registry owns the accounts and the index of webhooks by account and
/// event, spawns and supervises hook actors, and routes calls to them.
using registry_actor = caf::typed_actor<
  caf::replies_to<create_hook_cmd>::with<hook_view>,
  caf::replies_to<list_hooks_cmd>::with<std::vector<hook_view>>,
  /// (account, hook id, replay)
  caf::replies_to<activate_atom, std::string, uint64_t, bool>::with<activate_result>,
  /// (account, hook id) -> deleted hook id
  caf::replies_to<delete_atom, std::string, uint64_t>::with<uint64_t>,
  /// (username) -> credentials, or errc::login_failed when unknown
  caf::replies_to<login_atom, std::string>::with<account_credentials>,
  /// Creates an account: errc::already_exists when taken.
  caf::replies_to<create_atom, storage::account_record>::with<std::string>,
  /// (username) deletes the account and all its hooks; errc::not_found when unknown.
  caf::replies_to<delete_atom, std::string>::with<std::string>,
  caf::replies_to<stats_atom>::with<registry_stats>,
  /// Routes events to the hooks of their account and event; answers once durable.
  caf::replies_to<ingest_cmd>::with<ingest_reply>,
  /// A hook changed state: (id, active, deactivated at, reason). On
  /// deactivation the registry stores a notification; on reactivation it
  /// marks the hook's notifications read.
  caf::reacts_to<state_atom, uint64_t, bool, int64_t, std::string>,
  /// (account, unread only, offset, limit) -> a page of the account's
  /// notifications, newest first: `limit` of them after skipping `offset`.
  /// An expired link comes with an empty token.
  caf::replies_to<notes_atom, std::string, bool, uint64_t, uint64_t>::with<std::vector<storage::notification_record>>,
  /// (notification id, token) -> the page of the link; errc::not_found for a
  /// wrong or used token, errc::expired once --buffer-max-age has passed since
  /// the deactivation.
  caf::replies_to<link_atom, uint64_t, std::string>::with<notification_page>,
  /// (notification id, token, replay) -> reactivates the hook and uses up the
  /// token; the same errors as the page.
  caf::replies_to<link_atom, uint64_t, std::string, bool>::with<activate_result>,
  /// (account, hook id, limit) -> the hook's newest attempts.
  caf::replies_to<attempts_atom, std::string, uint64_t, uint64_t>::with<std::vector<storage::attempt_record>>,
  /// (hook id, messages the hook actor received from the registry) -> whether
  /// the idle actor may quit: only when no message of the registry is on its way.
  caf::replies_to<passivate_atom, uint64_t, uint64_t>::with<bool>,
  /// Runs the self-check on every running hook actor now.
  caf::replies_to<check_atom>::with<self_check_result>,
  /// Time for the periodic self-check (every actor_context::self_check_interval).
  caf::reacts_to<tick_atom>,
  caf::reacts_to<persisted_atom, uint64_t, status>>;

} // namespace hookwerk

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::storage::account_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::hook_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hookwerk::hook_view>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::create_hook_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::list_hooks_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::activate_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::account_credentials)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::registry_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::self_check_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::notification_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hookwerk::storage::notification_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::ingest_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hookwerk::ingest_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const hookwerk::routed_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hookwerk::storage::attempt_record>)
