#pragma once

#include <memory>

#include "actors/context.hpp"
#include "actors/messages.hpp"
#include "actors/write_tracker.hpp"
#include "storage/records.hpp"

namespace hookwerk {

/// The state of one hook actor: the durable record it owns plus bookkeeping.
struct hook_state {
  std::shared_ptr<actor_context> ctx;
  storage::hook_record record;
  write_tracker writes;
  bool deleting = false;

  hook_state() = default;
  hook_state(const hook_state&) = delete;
  hook_state& operator=(const hook_state&) = delete;
  ~hook_state();

  /// The view GetWebHooks shows.
  hook_view view() const;

  /// Marks the hook active and clears its failure count; true if anything changed.
  bool reactivate();
};

/// Behaviour of a hook actor. `record` is the hook as stored.
hook_actor::behavior_type hook_impl(hook_actor::stateful_pointer<hook_state> self,
                                    std::shared_ptr<actor_context> ctx,
                                    storage::hook_record record);

} // namespace hookwerk
