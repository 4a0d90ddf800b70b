#include <chrono>
#include <memory>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/registry.hpp"
#include "common/temp_dir.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace hookwerk {
namespace {

using namespace std::chrono_literals;

/// A registry on a real RocksDB in a fresh directory, driven through a
/// scoped_actor as the front actor would.
class registry_test : public ::testing::Test {
protected:
  void SetUp() override { open({}); }

  void TearDown() override { close(); }

  void open(registry_snapshot snapshot) {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value()) << db.error().message();
    store_ = std::move(*db);
    writer_ = std::make_unique<storage::writer>(*store_);
    ctx_ = std::make_shared<actor_context>();
    ctx_->store = store_.get();
    ctx_->writer = writer_.get();
    ctx_->events = {"optin_finalized", "optout_finalized"};
    cfg_.set("scheduler.max-threads", size_t{2});
    system_ = std::make_unique<caf::actor_system>(cfg_);
    registry_ = system_->spawn(registry_impl, ctx_, std::move(snapshot));
  }

  void close() {
    if (!system_)
      return;
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = registry_actor{};
    system_->await_all_actors_done();
    system_.reset();
    writer_->stop();
    writer_.reset();
    store_.reset();
  }

  /// Sends a request and returns its answer or error.
  template <class T, class... Ts>
  std::variant<T, caf::error> ask(Ts&&... xs) {
    caf::scoped_actor self{*system_};
    std::variant<T, caf::error> out = caf::error{};
    self->request(registry_, 30s, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  void add_account(const std::string& name) {
    storage::account_record rec;
    rec.username = name;
    rec.salt = "salt";
    rec.password_hash = "hash";
    rec.iterations = 1;
    auto r = ask<std::string>(create_atom::value, rec);
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
  }

  uint64_t add_hook(const std::string& account, const std::string& app, const std::string& event) {
    auto r = ask<hook_view>(create_hook_cmd{account, app, event, "https://192.0.2.1/" + app});
    EXPECT_TRUE(std::holds_alternative<hook_view>(r));
    return std::holds_alternative<hook_view>(r) ? std::get<hook_view>(r).record.id : 0;
  }

  std::vector<hook_view> list(const std::string& account, const std::string& app = {},
                              const std::string& event = {}) {
    auto r = ask<std::vector<hook_view>>(list_hooks_cmd{account, app, event});
    EXPECT_TRUE((std::holds_alternative<std::vector<hook_view>>(r)));
    return std::holds_alternative<std::vector<hook_view>>(r) ? std::get<0>(r)
                                                            : std::vector<hook_view>{};
  }

  test::temp_dir dir_;
  caf::actor_system_config cfg_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<storage::writer> writer_;
  std::shared_ptr<actor_context> ctx_;
  std::unique_ptr<caf::actor_system> system_;
  registry_actor registry_;
};

TEST_F(registry_test, creates_hooks_with_increasing_ids_and_persists_them) {
  add_account("acme");
  auto a = add_hook("acme", "zap", "optin_finalized");
  auto b = add_hook("acme", "crm", "optout_finalized");
  EXPECT_GT(a, 0u);
  EXPECT_GT(b, a);
  auto stored = store_->get(storage::cf::hooks, storage::hook_key(b));
  ASSERT_TRUE(stored.has_value());
  ASSERT_TRUE(stored.value().has_value());
  auto rec = storage::hook_record::decode(**stored);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->app, "crm");
  EXPECT_EQ(rec->account, "acme");
  EXPECT_EQ(rec->secret.rfind("whsec_", 0), 0u);
  auto counter = store_->read_counter("next_hook_id", 1);
  ASSERT_TRUE(counter.has_value());
  EXPECT_EQ(*counter, b + 1);
  EXPECT_EQ(ctx_->hook_actors.load(), 2);
}

TEST_F(registry_test, lists_in_id_order_with_filters) {
  add_account("acme");
  auto a = add_hook("acme", "zap", "optin_finalized");
  auto b = add_hook("acme", "crm", "optin_finalized");
  auto c = add_hook("acme", "zap", "optout_finalized");
  auto all = list("acme");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].record.id, a);
  EXPECT_EQ(all[1].record.id, b);
  EXPECT_EQ(all[2].record.id, c);
  auto zap = list("acme", "zap");
  ASSERT_EQ(zap.size(), 2u);
  EXPECT_EQ(zap[1].record.id, c);
  auto zap_optin = list("acme", "zap", "optin_finalized");
  ASSERT_EQ(zap_optin.size(), 1u);
  EXPECT_EQ(zap_optin[0].record.id, a);
  EXPECT_TRUE(list("acme", "nothing").empty());
}

TEST_F(registry_test, accounts_are_isolated) {
  add_account("a");
  add_account("b");
  auto id = add_hook("a", "zap", "optin_finalized");
  EXPECT_TRUE(list("b").empty());
  auto del = ask<uint64_t>(delete_atom::value, std::string{"b"}, id);
  ASSERT_TRUE(std::holds_alternative<caf::error>(del));
  EXPECT_EQ(code_of(std::get<caf::error>(del)), errc::not_found);
  auto act = ask<activate_result>(activate_atom::value, std::string{"b"}, id, false);
  ASSERT_TRUE(std::holds_alternative<caf::error>(act));
  EXPECT_EQ(code_of(std::get<caf::error>(act)), errc::not_found);
  EXPECT_EQ(list("a").size(), 1u);
}

TEST_F(registry_test, delete_removes_hook_and_its_record) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  auto del = ask<uint64_t>(delete_atom::value, std::string{"acme"}, id);
  ASSERT_TRUE(std::holds_alternative<uint64_t>(del));
  EXPECT_EQ(std::get<uint64_t>(del), id);
  EXPECT_TRUE(list("acme").empty());
  auto stored = store_->get(storage::cf::hooks, storage::hook_key(id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored.value().has_value());
  auto again = ask<uint64_t>(delete_atom::value, std::string{"acme"}, id);
  EXPECT_TRUE(std::holds_alternative<caf::error>(again));
}

TEST_F(registry_test, activate_on_active_hook_is_a_no_op) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  auto r = ask<activate_result>(activate_atom::value, std::string{"acme"}, id, true);
  ASSERT_TRUE(std::holds_alternative<activate_result>(r));
  const auto& res = std::get<activate_result>(r);
  EXPECT_EQ(res.id, id);
  EXPECT_TRUE(res.active);
  EXPECT_EQ(res.replayed, 0u);
  EXPECT_EQ(res.discarded, 0u);
}

TEST_F(registry_test, duplicate_account_and_unknown_login) {
  add_account("acme");
  storage::account_record rec;
  rec.username = "acme";
  auto dup = ask<std::string>(create_atom::value, rec);
  ASSERT_TRUE(std::holds_alternative<caf::error>(dup));
  EXPECT_EQ(code_of(std::get<caf::error>(dup)), errc::already_exists);
  auto login = ask<account_credentials>(login_atom::value, std::string{"nobody"});
  ASSERT_TRUE(std::holds_alternative<caf::error>(login));
  EXPECT_EQ(code_of(std::get<caf::error>(login)), errc::login_failed);
  auto known = ask<account_credentials>(login_atom::value, std::string{"acme"});
  ASSERT_TRUE(std::holds_alternative<account_credentials>(known));
  EXPECT_EQ(std::get<account_credentials>(known).password_hash, "hash");
}

TEST_F(registry_test, deleting_an_account_deletes_its_hooks_and_changes_generation) {
  add_account("acme");
  auto first = std::get<account_credentials>(ask<account_credentials>(login_atom::value, std::string{"acme"}));
  auto id = add_hook("acme", "zap", "optin_finalized");
  auto del = ask<std::string>(delete_atom::value, std::string{"acme"});
  ASSERT_TRUE(std::holds_alternative<std::string>(del));
  // The hook actor deletes its record asynchronously; poll with a deadline.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    auto stored = store_->get(storage::cf::hooks, storage::hook_key(id));
    gone = stored.has_value() && !stored.value().has_value();
    if (!gone)
      std::this_thread::yield();
  }
  EXPECT_TRUE(gone);
  add_account("acme");
  auto second = std::get<account_credentials>(ask<account_credentials>(login_atom::value, std::string{"acme"}));
  EXPECT_NE(first.generation, second.generation);
  EXPECT_TRUE(list("acme").empty());
}

TEST_F(registry_test, snapshot_hooks_get_actors_and_keep_ids) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  registry_snapshot snap;
  storage::account_record acc;
  acc.username = "acme";
  snap.accounts.push_back(acc);
  storage::hook_record hook;
  hook.id = id;
  hook.account = "acme";
  hook.app = "zap";
  hook.event = "optin_finalized";
  hook.url = "https://192.0.2.1/";
  hook.secret = "whsec_x";
  snap.hooks.push_back(hook);
  snap.next_hook_id = id + 1;
  open(std::move(snap));
  auto hooks = list("acme");
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].record.id, id);
  EXPECT_GT(add_hook("acme", "crm", "optin_finalized"), id);
}

} // namespace
} // namespace hookwerk
