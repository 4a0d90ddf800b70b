#include "actors/registry.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/hook.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/log.hpp"
#include "actors/support/time_format.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"

namespace hookwerk {

namespace {

using self_ptr = registry_actor::stateful_pointer<registry_state>;

void spawn_hook(self_ptr self, storage::hook_record record) {
  auto& st = self->state;
  auto id = record.id;
  auto account = record.account;
  registry_state::hook_entry entry{account, record.app, record.event, {}};
  entry.handle = self->spawn(hook_impl, st.ctx, std::move(record));
  self->monitor(entry.handle);
  st.hook_by_addr[entry.handle.address()] = id;
  st.accounts[account].hooks.insert(id);
  st.hooks[id] = std::move(entry);
}

/// Removes a hook from every index; the actor itself is left alone.
void unindex_hook(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto i = st.hooks.find(id);
  if (i == st.hooks.end())
    return;
  st.hook_by_addr.erase(i->second.handle.address());
  if (auto a = st.accounts.find(i->second.account); a != st.accounts.end())
    a->second.hooks.erase(id);
  st.hooks.erase(i);
}

/// The hook `id` if it exists and belongs to `account`.
const registry_state::hook_entry* owned_hook(self_ptr self, const std::string& account,
                                             uint64_t id) {
  auto i = self->state.hooks.find(id);
  if (i == self->state.hooks.end() || i->second.account != account)
    return nullptr;
  return &i->second;
}

/// Respawns a hook actor that died abnormally, from its stored record.
void restart_hook(self_ptr self, uint64_t id) {
  unindex_hook(self, id);
  auto stored = self->state.ctx->store->get(storage::cf::hooks, storage::hook_key(id));
  if (!stored || !stored.value()) {
    log::error("webhook " + std::to_string(id) + " cannot be restarted: record unavailable");
    return;
  }
  auto record = storage::hook_record::decode(**stored);
  if (!record || !self->state.accounts.count(record->account)) {
    log::error("webhook " + std::to_string(id) + " cannot be restarted: record unreadable");
    return;
  }
  log::warn("webhook " + std::to_string(id) + " actor restarted");
  spawn_hook(self, std::move(*record));
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

} // namespace

registry_actor::behavior_type registry_impl(self_ptr self, std::shared_ptr<actor_context> ctx,
                                            registry_snapshot snapshot) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.next_hook_id = snapshot.next_hook_id;
  for (auto& account : snapshot.accounts) {
    auto& entry = st.accounts[account.username];
    entry.generation = st.next_generation++;
    entry.record = std::move(account);
  }
  for (auto& hook : snapshot.hooks)
    spawn_hook(self, std::move(hook));

  self->set_down_handler([=](caf::down_msg& msg) {
    auto i = self->state.hook_by_addr.find(msg.source);
    if (i == self->state.hook_by_addr.end())
      return;
    auto id = i->second;
    if (msg.reason == caf::exit_reason::normal) {
      unindex_hook(self, id);
      return;
    }
    log::error("webhook " + std::to_string(id) + " actor failed: " + caf::to_string(msg.reason));
    restart_hook(self, id);
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [id, entry] : self->state.hooks)
      self->send_exit(entry.handle, msg.reason);
    self->quit(msg.reason);
  });

  return {
    [=](create_hook_cmd& cmd) -> caf::result<hook_view> {
      auto& st = self->state;
      auto account = st.accounts.find(cmd.account);
      if (account == st.accounts.end())
        return make_error(errc::login_failed, "account vanished");
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
                         if (!s) {
                           rp.deliver(make_error(s));
                           return;
                         }
                         auto a = self->state.accounts.find(record.account);
                         if (a == self->state.accounts.end() || a->second.generation != generation) {
                           // The account was deleted meanwhile; recovery removes the orphan.
                           rp.deliver(make_error(errc::login_failed, "account deleted"));
                           return;
                         }
                         hook_view view;
                         view.record = record;
                         spawn_hook(self, std::move(record));
                         rp.deliver(std::move(view));
                       });
      return rp;
    },
    [=](list_hooks_cmd& cmd) -> caf::result<std::vector<hook_view>> {
      auto& st = self->state;
      auto account = st.accounts.find(cmd.account);
      if (account == st.accounts.end())
        return std::vector<hook_view>{};
      auto collector = std::make_shared<list_collector>();
      std::vector<hook_actor> targets;
      for (auto id : account->second.hooks) {
        const auto& entry = st.hooks.at(id);
        if ((cmd.app.empty() || entry.app == cmd.app)
            && (cmd.event.empty() || entry.event == cmd.event))
          targets.push_back(entry.handle);
      }
      if (targets.empty())
        return std::vector<hook_view>{};
      collector->promise = self->make_response_promise<std::vector<hook_view>>();
      collector->outstanding = targets.size();
      collector->views.reserve(targets.size());
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
      auto entry = owned_hook(self, account, id);
      if (!entry)
        return make_error(errc::not_found, "webhook not found");
      auto rp = self->make_response_promise<activate_result>();
      self->request(entry->handle, caf::infinite, activate_atom::value, replay)
        .then([rp](activate_result& r) mutable { rp.deliver(std::move(r)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](delete_atom, const std::string& account, uint64_t id) -> caf::result<uint64_t> {
      auto entry = owned_hook(self, account, id);
      if (!entry)
        return make_error(errc::not_found, "webhook not found");
      auto handle = entry->handle;
      auto rp = self->make_response_promise<uint64_t>();
      self->request(handle, caf::infinite, delete_atom::value)
        .then([self, rp, id](uint64_t deleted) mutable {
                unindex_hook(self, id);
                rp.deliver(deleted);
              },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
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
                       });
      return rp;
    },
    [=](delete_atom, const std::string& username) -> caf::result<std::string> {
      auto& st = self->state;
      auto account = st.accounts.find(username);
      if (account == st.accounts.end())
        return make_error(errc::not_found, "unknown account");
      auto hook_ids = std::move(account->second.hooks);
      st.accounts.erase(account);
      // Each hook actor deletes its own keys; a crash before they finish leaves
      // hooks without an account, which recovery deletes.
      for (auto id : hook_ids) {
        auto i = st.hooks.find(id);
        if (i == st.hooks.end())
          continue;
        auto handle = i->second.handle;
        unindex_hook(self, id);
        self->request(handle, caf::infinite, delete_atom::value)
          .then([](uint64_t) {},
                [id](caf::error& e) {
                  log::error("deleting webhook " + std::to_string(id) + " of a deleted account failed: "
                             + detail_of(e));
                });
      }
      storage::batch b;
      b.erase(storage::cf::accounts, username);
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
      out.active_hooks = out.hooks;
      return out;
    },
    [=](persisted_atom, uint64_t token, const status& s) {
      self->state.writes.complete(token, s);
    },
  };
}

} // namespace hookwerk
