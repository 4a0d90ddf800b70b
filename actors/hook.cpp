#include "actors/hook.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/support/log.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"

namespace hookwerk {

hook_state::~hook_state() {
  if (ctx)
    ctx->hook_actors.fetch_sub(1, std::memory_order_relaxed);
}

hook_view hook_state::view() const {
  hook_view v;
  v.record = record;
  return v;
}

bool hook_state::reactivate() {
  bool changed = !record.active || record.consecutive_failures != 0 || record.deactivated_at_ms != 0;
  record.active = true;
  record.deactivated_at_ms = 0;
  record.consecutive_failures = 0;
  return changed;
}

hook_actor::behavior_type hook_impl(hook_actor::stateful_pointer<hook_state> self,
                                    std::shared_ptr<actor_context> ctx,
                                    storage::hook_record record) {
  ctx->hook_actors.fetch_add(1, std::memory_order_relaxed);
  self->state.ctx = std::move(ctx);
  self->state.record = std::move(record);
  return {
    [=](get_atom) -> hook_view { return self->state.view(); },
    [=](activate_atom, bool /*replay*/) -> caf::result<activate_result> {
      auto& st = self->state;
      activate_result result{st.record.id, true, 0, 0};
      if (!st.reactivate())
        return result;
      storage::batch b;
      b.put(storage::cf::hooks, storage::hook_key(st.record.id), st.record.encode());
      auto rp = self->make_response_promise<activate_result>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                       [rp, result](const status& s) mutable {
                         if (s)
                           rp.deliver(result);
                         else
                           rp.deliver(make_error(s));
                       });
      return rp;
    },
    [=](delete_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.deleting)
        return make_error(errc::not_found, "webhook is being deleted");
      st.deleting = true;
      auto id = st.record.id;
      storage::batch b;
      b.erase(storage::cf::hooks, storage::hook_key(id));
      auto [lo, hi] = storage::hook_range(id);
      for (auto family : {storage::cf::queue, storage::cf::buffer, storage::cf::attempts})
        b.erase_range(family, lo, hi);
      auto rp = self->make_response_promise<uint64_t>();
      st.writes.submit(*st.ctx->writer, caf::actor_cast<hook_actor>(self), std::move(b),
                       [self, rp, id](const status& s) mutable {
                         if (!s) {
                           log::error("deleting webhook " + std::to_string(id)
                                      + " failed: " + s.message());
                           self->state.deleting = false;
                           rp.deliver(make_error(s));
                           return;
                         }
                         rp.deliver(id);
                         self->quit();
                       });
      return rp;
    },
    [=](persisted_atom, uint64_t token, const status& s) {
      self->state.writes.complete(token, s);
    },
  };
}

} // namespace hookwerk
