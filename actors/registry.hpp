#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_addr.hpp>

#include "actors/context.hpp"
#include "actors/messages.hpp"
#include "actors/write_tracker.hpp"
#include "storage/records.hpp"

namespace hookwerk {

/// What the registry keeps of every webhook, whether its actor runs or not:
/// enough to route events, check ownership and count states.
struct hook_summary {
  uint64_t id = 0;
  std::string account;
  std::string app;
  std::string event;
  bool active = true;
  int64_t deactivated_at_ms = 0;

  static hook_summary of(const storage::hook_record& record);
};

/// What start-up recovery read from the database for the registry.
struct registry_snapshot {
  std::vector<storage::account_record> accounts;
  std::vector<hook_summary> hooks;
  /// Ids of the hooks with entries in their queue or buffer.
  std::unordered_set<uint64_t> with_entries;
  /// The smallest id never handed out.
  uint64_t next_hook_id = 1;
  /// The smallest event sequence number never handed out.
  uint64_t next_event_seq = 1;
  std::vector<storage::notification_record> notifications;
  uint64_t next_notification_id = 1;
};

/// The registry's state: accounts, and the index of webhooks with the handle of
/// each running hook actor. Only the registry actor touches it.
///
/// A hook's actor runs while the hook has work (pending or buffered events,
/// calls to answer) and is passivated after `actor_context::passivate_after`
/// without any; its record then lives only in the database, and the registry
/// spawns the actor again for the next event or call. Every message the
/// registry sends a hook actor is counted (`sent`), and the actor counts what
/// it received: passivation is granted only when the two agree, so no message
/// can be on its way to an actor that quits.
struct registry_state {
  struct hook_entry : hook_summary {
    hook_actor handle;  ///< null while passive
    uint64_t sent = 0;  ///< messages sent to the current actor
  };

  struct account_entry {
    storage::account_record record;
    uint64_t generation = 0;
    std::set<uint64_t> hooks;  ///< ordered ids, so listings come out sorted
    /// Routing index: event name -> ids of the hooks subscribed to it.
    std::unordered_map<std::string, std::vector<uint64_t>> by_event;
    /// CreateWebHook calls admitted whose hook is not yet durable; they count
    /// against --max-hooks-per-account like the hooks themselves.
    uint64_t hooks_being_created = 0;
    /// Ids of the account's notifications, oldest first (at most
    /// `account_limits::notifications_kept` once a new one is stored).
    std::set<uint64_t> notifications;
  };

  std::shared_ptr<actor_context> ctx;
  uint64_t next_hook_id = 1;
  uint64_t next_generation = 1;
  uint64_t next_event_seq = 1;
  /// Idempotency keys of ingestions not yet durable -> their event id.
  std::unordered_map<std::string, std::string> pending_idempotency;
  /// Payload bytes of ingestions waiting for the disk (for load shedding).
  uint64_t pending_ingest_bytes = 0;
  /// System notifications by id (all accounts; there is one per deactivation,
  /// and each account keeps its newest `account_limits::notifications_kept`).
  std::map<uint64_t, storage::notification_record> notifications;
  uint64_t next_notification_id = 1;
  std::map<uint64_t, hook_entry> hooks;
  std::unordered_map<std::string, account_entry> accounts;
  std::set<std::string> accounts_being_created;
  std::unordered_map<caf::actor_addr, uint64_t> hook_by_addr;
  write_tracker writes;
};

registry_actor::behavior_type registry_impl(registry_actor::stateful_pointer<registry_state> self,
                                            std::shared_ptr<actor_context> ctx,
                                            registry_snapshot snapshot);

} // namespace hookwerk
