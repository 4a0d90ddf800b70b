#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <map>
#include <set>

#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/hook.hpp"
#include "actors/registry.hpp"
#include "actors/sender.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/time_format.hpp"
#include "common/temp_dir.hpp"
#include "common/time_scale.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace hookwerk {
namespace {

using namespace std::chrono_literals;

/// Answers every attempt at once with a scripted status and records it; on request it
/// keeps the next attempt's callback instead (an outcome that never comes), or answers
/// several attempts together.
class scripted_sender : public sender {
public:
  void send(delivery_request req, callback done) override {
    std::vector<std::pair<callback, unsigned>> answers;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      requests_.push_back(req);
      if (hold_next_) {
        hold_next_ = false;
        held_ = std::move(done);
        return;
      }
      if (together_ > 0) {
        gathered_.push_back(std::move(done));
        if (gathered_.size() < together_)
          return;
        together_ = 0;
        for (auto& d : gathered_)
          answers.emplace_back(std::move(d), next_status());
        gathered_.clear();
      } else {
        answers.emplace_back(std::move(done), next_status());
      }
    }
    for (auto& [d, status] : answers) {
      delivery_result r;
      r.http_status = status;
      d(std::move(r));
    }
  }

  void forget(uint64_t) override {}

  void script(std::vector<unsigned> statuses) {
    std::lock_guard<std::mutex> guard{mtx_};
    statuses_ = std::move(statuses);
  }

  std::vector<delivery_request> requests() {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

  /// How many attempts were sent: requests().size() without copying them, for polling
  /// (a copy of tens of thousands of requests per poll would hold the lock the attempts
  /// need most of the time).
  size_t count() {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_.size();
  }

  /// The next attempt gets no outcome until release_held().
  void hold_next() {
    std::lock_guard<std::mutex> guard{mtx_};
    hold_next_ = true;
  }

  /// The next `n` attempts get no outcome until the n-th is sent; then all n get theirs
  /// (the scripted statuses, in the order sent) before that send returns. A hook actor
  /// sends from inside its handlers, so their outcomes all reach its inbox while it is
  /// busy, and it handles them together.
  void answer_together(size_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    together_ = n;
  }

  /// Gives the held attempt its outcome (late); false when none is held.
  bool release_held(unsigned status) {
    callback done;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done = std::move(held_);
      held_ = nullptr;
    }
    if (!done)
      return false;
    delivery_result r;
    r.http_status = status;
    done(std::move(r));
    return true;
  }

private:
  /// The next scripted status (200 once the script is used up). Under `mtx_`.
  unsigned next_status() {
    if (statuses_.empty())
      return 200;
    auto status = statuses_.front();
    statuses_.erase(statuses_.begin());
    return status;
  }

  std::mutex mtx_;
  bool hold_next_ = false;
  callback held_;
  size_t together_ = 0;
  std::vector<callback> gathered_;
  std::vector<delivery_request> requests_;
  std::vector<unsigned> statuses_;
};

/// Polls `pred` until it holds or 30 s (times the sanitizer builds' time scale) passed.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::duration_cast<std::chrono::steady_clock::duration>(30s * test::time_scale());
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::yield();
  }
  return pred();
}

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
    ctx_->sender = &sender_;
    ctx_->events = {"optin_finalized", "optout_finalized"};
    ctx_->delivery.retry_schedule = {std::chrono::milliseconds{1}};
    ctx_->limits = limits_;
    if (configure_)
      configure_(*ctx_);
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

  /// Ingests one event `{}` for `account`; the event id, or empty on an error.
  std::string ingest_one(const std::string& account, const std::string& event = "optin_finalized") {
    ingest_cmd cmd;
    cmd.items.push_back({account, event, "{}", std::nullopt, std::nullopt});
    auto r = ask<ingest_reply>(cmd);
    EXPECT_TRUE(std::holds_alternative<ingest_reply>(r));
    return std::holds_alternative<ingest_reply>(r) ? std::get<ingest_reply>(r).ids.at(0) : "";
  }

  std::vector<hook_view> list(const std::string& account, const std::string& app = {},
                              const std::string& event = {}) {
    auto r = ask<std::vector<hook_view>>(list_hooks_cmd{account, app, event});
    EXPECT_TRUE((std::holds_alternative<std::vector<hook_view>>(r)));
    return std::holds_alternative<std::vector<hook_view>>(r) ? std::get<0>(r)
                                                            : std::vector<hook_view>{};
  }

  /// Sends a hook's change of state as its actor would.
  void hook_state(uint64_t id, bool active, int64_t at) {
    caf::anon_send(registry_, state_atom::value, id, active, at, std::string{"HTTP 503"});
  }

  /// GetNotifications as the front actor asks for it.
  std::vector<storage::notification_record> notes(const std::string& account, bool unread_only,
                                                  uint64_t offset, uint64_t limit) {
    auto r = ask<std::vector<storage::notification_record>>(notes_atom::value, account,
                                                            unread_only, offset, limit);
    EXPECT_TRUE((std::holds_alternative<std::vector<storage::notification_record>>(r)));
    return std::holds_alternative<std::vector<storage::notification_record>>(r)
             ? std::get<0>(r)
             : std::vector<storage::notification_record>{};
  }

  /// The notification records on disk, by id.
  std::map<uint64_t, storage::notification_record> stored_notes() {
    std::map<uint64_t, storage::notification_record> out;
    auto st = store_->scan(storage::cf::notifications, {}, {},
                           [&](std::string_view, std::string_view value) {
                             if (auto note = storage::notification_record::decode(value))
                               out[note->id] = *note;
                             return true;
                           });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return out;
  }

  /// Applied to the context before the registry starts (set before open()).

  /// Writes what `fill` adds to a batch straight into the closed database, synced: what an
  /// earlier run left on disk.
  void write_closed(const std::function<void(storage::batch&)>& fill) {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    storage::batch b;
    fill(b);
    ASSERT_TRUE((*db)->write(std::move(b), true));
  }

  /// Writes `n` queue entries (or buffer entries) of hook `id` with seqs from
  /// `first` on, straight into the closed database, with 50 ordering keys;
  /// `change` may alter the hook's stored record in the same write.
  void seed(uint64_t id, storage::cf family, uint64_t first, uint64_t n,
            const std::function<void(storage::hook_record&)>& change = {}) {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    storage::batch b;
    for (uint64_t seq = first; seq < first + n; ++seq) {
      storage::queue_entry e;
      e.seq = seq;
      e.event_id = "evt_" + support::to_hex(storage::be64(seq));
      e.event = "optin_finalized";
      e.key = "k" + std::to_string(seq % 50);
      e.payload = "{\"key\":\"" + *e.key + "\"}";
      e.ingested_at_ms = 1;
      b.put(family, storage::hook_seq_key(id, seq), e.encode());
    }
    if (change) {
      auto stored = (*db)->get(storage::cf::hooks, storage::hook_key(id));
      ASSERT_TRUE(stored.has_value() && stored.value().has_value());
      auto record = storage::hook_record::decode(**stored);
      ASSERT_TRUE(record.has_value());
      change(*record);
      b.put(storage::cf::hooks, storage::hook_key(id), record->encode());
    }
    ASSERT_TRUE((*db)->write(std::move(b), true));
  }

  /// Opens the registry as start-up recovery would after seed().
  void reopen_with_entries(uint64_t id, bool active, uint64_t next_event_seq,
                           int64_t deactivated_at_ms = 0) {
    registry_snapshot snap;
    storage::account_record acc;
    acc.username = "acme";
    snap.accounts.push_back(acc);
    snap.hooks.push_back(hook_summary{id, "acme", "zap", "optin_finalized", active, deactivated_at_ms});
    snap.with_entries.insert(id);
    snap.next_hook_id = id + 1;
    snap.next_event_seq = next_event_seq;
    open(std::move(snap));
  }

  /// Entries of hook `id` stored in `family`.
  size_t stored(storage::cf family, uint64_t id) {
    auto [lo, hi] = storage::hook_range(id);
    size_t n = 0;
    store_->scan(family, lo, hi, [&](std::string_view, std::string_view) {
      ++n;
      return true;
    });
    return n;
  }

  /// Seqs of the events sent, per ordering key (payload `{"key":…}`), in the
  /// order sent, each once.
  std::map<std::string, std::vector<uint64_t>> delivered_per_key() {
    std::map<std::string, std::vector<uint64_t>> out;
    std::set<std::string> seen;
    for (const auto& req : sender_.requests()) {
      std::string id;
      for (const auto& [name, value] : req.headers)
        if (name == "webhook-id")
          id = value;
      auto seq = std::stoull(id.substr(4), nullptr, 16);
      auto key = req.body->substr(8, req.body->size() - 10);
      if (seen.insert(id).second)
        out[key].push_back(seq);
    }
    return out;
  }

  /// Ingests `n` events `{}` for `account` in one request; their ids.
  std::vector<std::string> ingest_many(const std::string& account, size_t n) {
    ingest_cmd cmd;
    cmd.batch = true;
    for (size_t i = 0; i < n; ++i)
      cmd.items.push_back({account, "optin_finalized", "{}", std::nullopt, std::nullopt});
    auto r = ask<ingest_reply>(cmd);
    EXPECT_TRUE(std::holds_alternative<ingest_reply>(r));
    return std::holds_alternative<ingest_reply>(r) ? std::get<ingest_reply>(r).ids
                                                   : std::vector<std::string>{};
  }

  /// Hook `id`'s newest attempts (at most 100), newest first.
  std::vector<storage::attempt_record> attempt_log(const std::string& account, uint64_t id) {
    auto r = ask<std::vector<storage::attempt_record>>(attempts_atom::value, account, id,
                                                       uint64_t{100});
    EXPECT_TRUE((std::holds_alternative<std::vector<storage::attempt_record>>(r)));
    return std::holds_alternative<std::vector<storage::attempt_record>>(r)
             ? std::get<0>(r)
             : std::vector<storage::attempt_record>{};
  }

  /// The webhook-id of the `i`-th request sent.
  std::string sent_event(size_t i) {
    auto requests = sender_.requests();
    for (const auto& [name, value] : requests.at(i).headers)
      if (name == "webhook-id")
        return value;
    return {};
  }

  /// The entries of hook `id` stored in `family`, in seq order.
  std::vector<storage::queue_entry> stored_entries(storage::cf family, uint64_t id) {
    auto [lo, hi] = storage::hook_range(id);
    std::vector<storage::queue_entry> out;
    store_->scan(family, lo, hi, [&](std::string_view, std::string_view v) {
      auto entry = storage::queue_entry::decode(v);
      EXPECT_TRUE(entry.has_value());
      if (entry)
        out.push_back(std::move(*entry));
      return true;
    });
    return out;
  }

  /// Fails unless hook `id`'s queue and buffer are empty on disk soon
  /// (deliveries are erased through the writer, so a little later).
  void expect_queue_and_buffer_emptied(uint64_t id) {
    EXPECT_TRUE(eventually([&] {
      return stored(storage::cf::buffer, id) == 0 && stored(storage::cf::queue, id) == 0;
    })) << stored(storage::cf::buffer, id) << " buffered, " << stored(storage::cf::queue, id)
        << " queued";
  }

  /// Fails unless every key's first deliveries came in seq order; returns how
  /// many events were delivered in all.
  size_t expect_keys_in_order() {
    size_t total = 0;
    for (const auto& [key, seqs] : delivered_per_key()) {
      EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << "key " << key;
      total += seqs.size();
    }
    return total;
  }

  /// Fails unless no batch given to the writer went over one move_chunk.
  void expect_bounded_batches() {
    auto stats = writer_->stats();
    EXPECT_LE(stats.largest_batch_ops, 2 * move_chunk::max_entries + 4);
    EXPECT_LE(stats.largest_batch_bytes, move_chunk::max_bytes + 4096);
  }

  /// Applied to the context of every open() from then on.
  std::function<void(actor_context&)> configure_;
  scripted_sender sender_;
  test::temp_dir dir_;
  caf::actor_system_config cfg_;
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<storage::writer> writer_;
  std::shared_ptr<actor_context> ctx_;
  std::unique_ptr<caf::actor_system> system_;
  registry_actor registry_;
  /// The bounds the next open() gives the registry.
  account_limits limits_;
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
  // A hook's actor starts with its first event or call.
  EXPECT_EQ(ctx_->hook_actors.load(), 0);
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

TEST_F(registry_test, ingest_routes_signs_and_delivers_then_clears_the_queue) {
  add_account("acme");
  add_account("other");
  auto id = add_hook("acme", "zap", "optin_finalized");
  add_hook("acme", "crm", "optout_finalized");
  add_hook("other", "zap", "optin_finalized");
  ingest_cmd cmd;
  cmd.items.push_back({"acme", "optin_finalized", R"({"subscriber_id": 42})", std::nullopt, "42"});
  auto r = ask<ingest_reply>(cmd);
  ASSERT_TRUE(std::holds_alternative<ingest_reply>(r));
  auto reply = std::get<ingest_reply>(r);
  ASSERT_EQ(reply.ids.size(), 1u);
  EXPECT_EQ(reply.hooks, 1u);
  ASSERT_TRUE(eventually([&] { return sender_.count() == 1; }));
  auto req = sender_.requests().front();
  EXPECT_EQ(req.hook_id, id);
  EXPECT_EQ(*req.body, R"({"subscriber_id": 42})");
  std::map<std::string, std::string> headers(req.headers.begin(), req.headers.end());
  EXPECT_EQ(headers["webhook-id"], reply.ids[0]);
  EXPECT_EQ(headers["X-Hookwerk-Attempt"], "1");
  auto secret = list("acme", "zap")[0].record.secret;
  EXPECT_EQ(headers["webhook-signature"],
            support::sign_webhook(secret, reply.ids[0], std::stoll(headers["webhook-timestamp"]),
                                  *req.body));
  // Delivered: the queue entry is gone and one attempt is logged.
  ASSERT_TRUE(eventually([&] { return list("acme", "zap")[0].pending_events == 0; }));
  auto attempts = ask<std::vector<storage::attempt_record>>(attempts_atom::value,
                                                            std::string{"acme"}, id, uint64_t{10});
  ASSERT_TRUE((std::holds_alternative<std::vector<storage::attempt_record>>(attempts)));
  auto& log = std::get<0>(attempts);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].http_status, 200u);
  EXPECT_FALSE(log[0].error.has_value());
}

TEST_F(registry_test, failed_attempts_retry_and_count_failures) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.script({500, 503});
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return sender_.count() == 3; }));
  auto attempts = [&] {
    auto r = ask<std::vector<storage::attempt_record>>(attempts_atom::value, std::string{"acme"},
                                                       id, uint64_t{10});
    return std::get<0>(r);
  };
  ASSERT_TRUE(eventually([&] { return attempts().size() == 3; }));
  auto log = attempts();
  EXPECT_EQ(log[0].attempt, 3u);
  EXPECT_EQ(log[0].http_status, 200u);
  EXPECT_EQ(log[1].error, "HTTP 503");
  EXPECT_EQ(log[2].error, "HTTP 500");
  auto view = list("acme")[0];
  EXPECT_EQ(view.record.consecutive_failures, 0u);
  EXPECT_EQ(view.record.last_error, "HTTP 503");
  EXPECT_EQ(view.pending_events, 0u);
}

TEST_F(registry_test, outcomes_that_arrive_together_are_written_as_one_batch) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.answer_together(4);
  auto batches_before = writer_->stats().batches;
  auto ids = ingest_many("acme", 4);
  ASSERT_EQ(ids.size(), 4u);
  ASSERT_TRUE(eventually([&] {
    return stored(storage::cf::queue, id) == 0 && ctx_->in_flight.load() == 0;
  }));
  // The ingestion's write, and one for all four outcomes.
  ASSERT_TRUE(eventually([&] { return writer_->stats().batches - batches_before >= 2; }));
  EXPECT_EQ(writer_->stats().batches - batches_before, 2u);
  EXPECT_EQ(sender_.count(), 4u);
  auto log = attempt_log("acme", id);
  ASSERT_EQ(log.size(), 4u);
  std::set<std::string> logged;
  for (const auto& a : log) {
    EXPECT_EQ(a.attempt, 1u);
    EXPECT_EQ(a.http_status, 200u);
    EXPECT_FALSE(a.error.has_value());
    logged.insert(a.event_id);
  }
  EXPECT_EQ(logged, std::set<std::string>(ids.begin(), ids.end()));
  auto view = list("acme")[0];
  EXPECT_EQ(view.pending_events, 0u);
  EXPECT_EQ(view.record.consecutive_failures, 0u);
  EXPECT_EQ(ctx_->stats.deliveries_success.load(), 4u);
}

TEST_F(registry_test, a_failure_among_outcomes_that_arrive_together_is_retried) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.script({200, 500, 200, 200});
  sender_.answer_together(4);
  ASSERT_EQ(ingest_many("acme", 4).size(), 4u);
  // The failed one is attempted again (and succeeds); the others are done.
  ASSERT_TRUE(eventually([&] { return sender_.count() == 5; }));
  ASSERT_TRUE(eventually([&] {
    return stored(storage::cf::queue, id) == 0 && ctx_->in_flight.load() == 0;
  }));
  auto failed = sent_event(1);
  EXPECT_EQ(sent_event(4), failed);
  auto requests = sender_.requests();
  std::map<std::string, std::string> retry(requests[4].headers.begin(),
                                           requests[4].headers.end());
  EXPECT_EQ(retry["X-Hookwerk-Attempt"], "2");
  auto log = attempt_log("acme", id);
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0].event_id, failed);
  EXPECT_EQ(log[0].attempt, 2u);
  EXPECT_EQ(log[0].http_status, 200u);
  for (size_t i = 1; i < 5; ++i) {
    // Newest first: the outcomes of the batch in reverse order of sending.
    EXPECT_EQ(log[i].event_id, sent_event(4 - i));
    EXPECT_EQ(log[i].attempt, 1u);
    if (log[i].event_id == failed)
      EXPECT_EQ(log[i].error, "HTTP 500");
    else
      EXPECT_EQ(log[i].http_status, 200u);
  }
  auto view = list("acme")[0];
  EXPECT_EQ(view.pending_events, 0u);
  EXPECT_TRUE(view.record.active);
  EXPECT_EQ(view.record.consecutive_failures, 0u);
  EXPECT_EQ(view.record.last_error, "HTTP 500");
}

TEST_F(registry_test, a_deactivating_failure_amid_outcomes_that_arrive_together) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  // The second answer deactivates the hook; the third and fourth come in after it, as
  // outcomes of attempts that were in flight at the deactivation.
  sender_.script({200, 410, 200, 500});
  sender_.answer_together(4);
  ASSERT_EQ(ingest_many("acme", 4).size(), 4u);
  ASSERT_TRUE(eventually([&] {
    auto v = list("acme")[0];
    return !v.record.active && v.buffered_events == 2 && ctx_->in_flight.load() == 0
           && stored(storage::cf::queue, id) == 0 && stored(storage::cf::buffer, id) == 2;
  }));
  EXPECT_EQ(sender_.count(), 4u) << "nothing attempted after the deactivation";
  // Only the failed events are buffered, each with its attempt counted; the successes
  // (before and after the deactivation) are gone, none of them buffered.
  auto buffered = stored_entries(storage::cf::buffer, id);
  ASSERT_EQ(buffered.size(), 2u);
  EXPECT_EQ(buffered[0].event_id, sent_event(1));
  EXPECT_EQ(buffered[1].event_id, sent_event(3));
  for (const auto& e : buffered)
    EXPECT_EQ(e.attempts, 1u);
  auto log = attempt_log("acme", id);
  ASSERT_EQ(log.size(), 4u);
  const unsigned statuses[] = {200, 410, 200, 500};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(log[3 - i].event_id, sent_event(i));
    EXPECT_EQ(log[3 - i].http_status, statuses[i]);
  }
  auto view = list("acme")[0];
  EXPECT_EQ(view.pending_events, 0u);
  // As if the outcomes had come one by one: the success after the deactivation ended the
  // streak, the last failure began a new one.
  EXPECT_EQ(view.record.consecutive_failures, 1u);
  EXPECT_EQ(view.record.last_error, "HTTP 500");
  ASSERT_TRUE(eventually([&] { return notes("acme", false, 0, 10).size() == 1; }));
}

TEST_F(registry_test, ingest_rejects_unknown_accounts_and_events_and_dedupes_ids) {
  add_account("acme");
  ingest_cmd bad;
  bad.items.push_back({"nobody", "optin_finalized", "{}", std::nullopt, std::nullopt});
  auto r = ask<ingest_reply>(bad);
  ASSERT_TRUE(std::holds_alternative<caf::error>(r));
  EXPECT_EQ(code_of(std::get<caf::error>(r)), errc::invalid_parameter);
  ingest_cmd dup;
  dup.batch = true;
  dup.items.push_back({"acme", "optin_finalized", "{}", std::string{"k1"}, std::nullopt});
  dup.items.push_back({"acme", "optin_finalized", "{}", std::string{"k1"}, std::nullopt});
  auto first = std::get<ingest_reply>(ask<ingest_reply>(dup));
  ASSERT_EQ(first.ids.size(), 2u);
  EXPECT_EQ(first.ids[0], first.ids[1]);
  auto again = std::get<ingest_reply>(ask<ingest_reply>(dup));
  EXPECT_EQ(again.ids[0], first.ids[0]);
}

TEST_F(registry_test, snapshot_hooks_get_actors_and_keep_ids) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  registry_snapshot snap;
  storage::account_record acc;
  acc.username = "acme";
  snap.accounts.push_back(acc);
  hook_summary hook;
  hook.id = id;
  hook.account = "acme";
  hook.app = "zap";
  hook.event = "optin_finalized";
  snap.hooks.push_back(hook);
  snap.next_hook_id = id + 1;
  open(std::move(snap));
  auto hooks = list("acme");
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].record.id, id);
  EXPECT_EQ(hooks[0].record.url, "https://192.0.2.1/zap");  // read from the database
  EXPECT_EQ(ctx_->hook_actors.load(), 0);
  EXPECT_GT(add_hook("acme", "crm", "optin_finalized"), id);
}

TEST_F(registry_test, snapshot_hooks_with_stored_entries_start_their_actor_and_deliver) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  // An entry left in the queue by an earlier run.
  write_closed([&](storage::batch& b) {
    storage::queue_entry e;
    e.seq = 7;
    e.event_id = "evt_left";
    e.event = "optin_finalized";
    e.payload = "{}";
    b.put(storage::cf::queue, storage::hook_seq_key(id, 7), e.encode());
  });
  registry_snapshot snap;
  storage::account_record acc;
  acc.username = "acme";
  snap.accounts.push_back(acc);
  snap.hooks.push_back(hook_summary{id, "acme", "zap", "optin_finalized", true, 0});
  snap.with_entries.insert(id);
  snap.next_hook_id = id + 1;
  open(std::move(snap));
  ASSERT_TRUE(eventually([&] { return sender_.count() == 1; }));
  auto req = sender_.requests().front();
  std::map<std::string, std::string> headers(req.headers.begin(), req.headers.end());
  EXPECT_EQ(headers["webhook-id"], "evt_left");
}

TEST_F(registry_test, an_idle_hook_actor_is_passivated_and_started_again_when_needed) {
  ctx_->passivate_after = 50ms;
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.script({500, 200});
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return sender_.count() == 2; }));
  ASSERT_TRUE(eventually([&] { return ctx_->hook_actors.load() == 0; }))
    << "the idle hook actor was not passivated";
  // What the actor had written is what the listing shows now.
  auto view = list("acme")[0];
  EXPECT_EQ(view.record.id, id);
  EXPECT_EQ(view.record.last_error, "HTTP 500");
  EXPECT_EQ(view.record.consecutive_failures, 0u);
  EXPECT_EQ(view.pending_events, 0u);
  EXPECT_EQ(ctx_->hook_actors.load(), 0) << "listing must not start actors";

  // The next event starts it again; attempt numbers go on where they were.
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return sender_.count() == 3; }));
  auto attempts = ask<std::vector<storage::attempt_record>>(attempts_atom::value,
                                                            std::string{"acme"}, id, uint64_t{10});
  ASSERT_TRUE((std::holds_alternative<std::vector<storage::attempt_record>>(attempts)));
  ASSERT_EQ(std::get<0>(attempts).size(), 3u);
  EXPECT_EQ(std::get<0>(attempts)[2].error, "HTTP 500");

  // Calls on a passive hook work as on a running one.
  ASSERT_TRUE(eventually([&] { return ctx_->hook_actors.load() == 0; }));
  auto act = ask<activate_result>(activate_atom::value, std::string{"acme"}, id, true);
  ASSERT_TRUE(std::holds_alternative<activate_result>(act));
  EXPECT_TRUE(std::get<activate_result>(act).active);
  ASSERT_TRUE(eventually([&] { return ctx_->hook_actors.load() == 0; }));
  auto del = ask<uint64_t>(delete_atom::value, std::string{"acme"}, id);
  ASSERT_TRUE(std::holds_alternative<uint64_t>(del));
  EXPECT_EQ(std::get<uint64_t>(del), id);
  auto stored = store_->get(storage::cf::hooks, storage::hook_key(id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored.value().has_value());
  EXPECT_TRUE(list("acme").empty());
}

TEST_F(registry_test, passivation_racing_with_events_loses_none) {
  // Actors are let go as soon as they are idle while events keep coming in
  // bursts from several clients: every event must still be delivered, by
  // whichever incarnation of the hook's actor gets it.
  ctx_->passivate_after = 1ms;
  add_account("acme");
  add_hook("acme", "zap", "optin_finalized");
  add_hook("acme", "crm", "optin_finalized");
  std::mutex mtx;
  std::set<std::string> ids;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        auto id = ingest_one("acme");
        {
          std::lock_guard<std::mutex> guard{mtx};
          ids.insert(id);
        }
        // Pauses of 0 to 2 ms between bursts: the actors go idle and ask to
        // passivate right while other clients' events are routed to them.
        auto pause = std::chrono::microseconds{((i * 7 + t * 13) % 5) * 500};
        auto until = std::chrono::steady_clock::now() + pause;
        while (std::chrono::steady_clock::now() < until)
          std::this_thread::yield();
      }
    });
  }
  for (auto& c : clients)
    c.join();
  ASSERT_EQ(ids.size(), 600u);
  auto delivered = [&] {
    std::map<uint64_t, std::set<std::string>> per_hook;
    for (const auto& req : sender_.requests())
      for (const auto& [name, value] : req.headers)
        if (name == "webhook-id")
          per_hook[req.hook_id].insert(value);
    return per_hook;
  };
  ASSERT_TRUE(eventually([&] {
    auto got = delivered();
    return got.size() == 2 && got.begin()->second == ids && got.rbegin()->second == ids;
  })) << "delivered to the first hook: " << delivered().begin()->second.size() << " of "
      << ids.size();
  // Every outcome was handled too: nothing is left in the queues on disk.
  auto queued_on_disk = [&] {
    size_t n = 0;
    store_->scan(storage::cf::queue, {}, {}, [&](std::string_view, std::string_view) {
      ++n;
      return true;
    });
    return n;
  };
  EXPECT_TRUE(eventually([&] { return queued_on_disk() == 0; }))
    << queued_on_disk() << " queue entries left on disk";
  EXPECT_TRUE(eventually([&] { return ctx_->hook_actors.load() == 0; }));
  EXPECT_EQ(ctx_->in_flight.load(), 0);
}

TEST_F(registry_test, deleting_an_account_deletes_its_passive_hooks) {
  add_account("acme");
  auto a = add_hook("acme", "zap", "optin_finalized");
  auto b = add_hook("acme", "crm", "optout_finalized");
  ASSERT_EQ(ctx_->hook_actors.load(), 0);
  ASSERT_TRUE(std::holds_alternative<std::string>(ask<std::string>(delete_atom::value,
                                                                   std::string{"acme"})));
  for (auto id : {a, b}) {
    auto stored = store_->get(storage::cf::hooks, storage::hook_key(id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_FALSE(stored.value().has_value()) << "webhook " << id;
  }
}

std::vector<uint64_t> ids_of(const std::vector<storage::notification_record>& notes) {
  std::vector<uint64_t> ids;
  for (const auto& n : notes)
    ids.push_back(n.id);
  return ids;
}

TEST_F(registry_test, an_account_keeps_only_its_newest_thousand_notifications) {
  add_account("acme");
  add_account("other");
  auto hook = add_hook("acme", "zap", "optin_finalized");
  auto theirs = add_hook("other", "zap", "optin_finalized");
  auto now = support::now_ms();
  hook_state(theirs, false, now);
  hook_state(theirs, false, now);
  constexpr uint64_t stored = 1003;
  for (uint64_t i = 0; i < stored; ++i)
    hook_state(hook, false, now);
  // Ids 1 and 2 are other's; acme's are 3 … 1005, of which 6 … 1005 are kept.
  auto all = notes("acme", false, 0, 5000);
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.front().id, 1005u);
  EXPECT_EQ(all.back().id, 6u);
  EXPECT_EQ(ids_of(notes("other", false, 0, 5000)), (std::vector<uint64_t>{2, 1}))
    << "another account's notifications are not touched";
  std::map<uint64_t, storage::notification_record> on_disk;
  EXPECT_TRUE(eventually([&] {
    on_disk = stored_notes();
    return on_disk.size() == 1002 && on_disk.count(1005);
  })) << on_disk.size() << " notifications on disk";
  for (uint64_t gone : {3, 4, 5})
    EXPECT_EQ(on_disk.count(gone), 0u) << "notification " << gone << " deleted from disk";
  EXPECT_EQ(on_disk.count(6), 1u);
  EXPECT_EQ(on_disk.count(1), 1u);
}

TEST_F(registry_test, notifications_come_in_pages_newest_first_after_the_unread_filter) {
  add_account("acme");
  auto a = add_hook("acme", "zap", "optin_finalized");
  auto b = add_hook("acme", "crm", "optin_finalized");
  auto now = support::now_ms();
  for (auto id : {a, b, a, b, a})  // notifications 1 … 5
    hook_state(id, false, now);
  hook_state(a, true, 0);  // a's notifications 1, 3, 5 become read
  EXPECT_EQ(ids_of(notes("acme", false, 0, 1000)), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(ids_of(notes("acme", false, 1, 2)), (std::vector<uint64_t>{4, 3}));
  EXPECT_EQ(ids_of(notes("acme", false, 4, 2)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(notes("acme", false, 5, 1000).empty());
  EXPECT_TRUE(notes("acme", false, UINT64_MAX, 1000).empty());
  EXPECT_EQ(ids_of(notes("acme", true, 0, 1000)), (std::vector<uint64_t>{4, 2}));
  EXPECT_EQ(ids_of(notes("acme", true, 1, 1)), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(notes("nobody", false, 0, 1000).empty());
}

TEST_F(registry_test, a_link_expires_buffer_max_age_after_the_deactivation) {
  add_account("acme");
  auto old_hook = add_hook("acme", "zap", "optin_finalized");
  auto new_hook = add_hook("acme", "crm", "optin_finalized");
  auto max_age = ctx_->delivery.buffer_max_age.count();
  auto now = support::now_ms();
  hook_state(old_hook, false, now - max_age - 1000);  // notification 1: expired
  hook_state(new_hook, false, now);                   // notification 2: valid
  auto listed = notes("acme", false, 0, 1000);
  ASSERT_EQ(ids_of(listed), (std::vector<uint64_t>{2, 1}));
  EXPECT_FALSE(listed[0].token.empty()) << "a valid link is shown";
  EXPECT_TRUE(listed[1].token.empty()) << "an expired link is not shown";

  std::map<uint64_t, storage::notification_record> on_disk;
  ASSERT_TRUE(eventually([&] {
    on_disk = stored_notes();
    return on_disk.size() == 2;
  }));
  const auto expired_token = on_disk.at(1).token;
  ASSERT_FALSE(expired_token.empty());
  auto page = ask<notification_page>(link_atom::value, uint64_t{1}, expired_token);
  ASSERT_TRUE(std::holds_alternative<caf::error>(page));
  EXPECT_EQ(code_of(std::get<caf::error>(page)), errc::expired);
  auto used = ask<activate_result>(link_atom::value, uint64_t{1}, expired_token, true);
  ASSERT_TRUE(std::holds_alternative<caf::error>(used));
  EXPECT_EQ(code_of(std::get<caf::error>(used)), errc::expired);
  auto wrong = ask<notification_page>(link_atom::value, uint64_t{1}, std::string{"wrong"});
  ASSERT_TRUE(std::holds_alternative<caf::error>(wrong));
  EXPECT_EQ(code_of(std::get<caf::error>(wrong)), errc::not_found) << "a wrong token stays a 404";

  auto valid = ask<notification_page>(link_atom::value, uint64_t{2}, on_disk.at(2).token);
  ASSERT_TRUE(std::holds_alternative<notification_page>(valid));
  EXPECT_EQ(std::get<notification_page>(valid).hook.record.id, new_hook);
}

TEST_F(registry_test, creations_past_the_hook_limit_are_refused_even_when_they_arrive_together) {
  close();
  configure_ = [](actor_context& ctx) { ctx.limits.max_hooks_per_account = 3; };
  open({});
  add_account("acme");
  add_account("other");
  add_hook("acme", "first", "optin_finalized");
  // Five creations at once: the registry handles them before any is durable.
  caf::scoped_actor self{*system_};
  size_t created = 0;
  std::vector<errc> refused;
  auto create = [&] {
    return self->request(registry_, 30s,
                         create_hook_cmd{"acme", "app", "optin_finalized", "https://192.0.2.1/"});
  };
  std::vector<decltype(create())> pending;
  for (int i = 0; i < 5; ++i)
    pending.push_back(create());
  for (auto& answer : pending)
    answer.receive([&](hook_view&) { ++created; },
                   [&](caf::error& err) { refused.push_back(code_of(err)); });
  EXPECT_EQ(created, 2u);
  EXPECT_EQ(refused, (std::vector<errc>(3, errc::limit_exceeded)));
  EXPECT_EQ(list("acme").size(), 3u);
  EXPECT_NE(add_hook("other", "zap", "optin_finalized"), 0u) << "the limit is per account";
  auto again = ask<hook_view>(create_hook_cmd{"acme", "late", "optin_finalized", "https://192.0.2.1/"});
  ASSERT_TRUE(std::holds_alternative<caf::error>(again));
  EXPECT_EQ(code_of(std::get<caf::error>(again)), errc::limit_exceeded);
  EXPECT_EQ(detail_of(std::get<caf::error>(again)), "webhook limit of 3 per account reached");
}

TEST_F(registry_test, an_ingestion_over_the_fanout_bound_is_refused_whole) {
  close();
  configure_ = [](actor_context& ctx) { ctx.limits.max_fanout_bytes = 100; };
  open({});
  add_account("acme");
  for (auto app : {"a", "b", "c"})
    add_hook("acme", app, "optin_finalized");
  const std::string payload_34(34 - 2, 'x');  // 3 hooks x 34 bytes = 102 > 100
  const std::string over = "\"" + payload_34 + "\"";
  ingest_cmd single;
  single.items.push_back({"acme", "optin_finalized", over, std::string{"k"}, std::nullopt});
  auto refused = ask<ingest_reply>(single);
  ASSERT_TRUE(std::holds_alternative<caf::error>(refused));
  EXPECT_EQ(code_of(std::get<caf::error>(refused)), errc::limit_exceeded);
  EXPECT_EQ(detail_of(std::get<caf::error>(refused)),
            "the payload's 34 bytes times 3 webhooks exceed the limit of 100 bytes per request "
            "(--max-fanout-bytes)");
  // Two events of 3 x 20 bytes: each fits, together they do not.
  const std::string twenty = "\"" + std::string(18, 'y') + "\"";
  ingest_cmd batch;
  batch.batch = true;
  batch.items.push_back({"acme", "optin_finalized", twenty, std::string{"b1"}, std::nullopt});
  batch.items.push_back({"acme", "optin_finalized", twenty, std::string{"b2"}, std::nullopt});
  auto refused_batch = ask<ingest_reply>(batch);
  ASSERT_TRUE(std::holds_alternative<caf::error>(refused_batch));
  EXPECT_EQ(code_of(std::get<caf::error>(refused_batch)), errc::limit_exceeded);

  // Nothing of either request was kept: no sequence number, no idempotency key.
  ingest_cmd fits;
  fits.items.push_back({"acme", "optin_finalized", twenty, std::string{"k"}, std::nullopt});
  auto accepted = ask<ingest_reply>(fits);
  ASSERT_TRUE(std::holds_alternative<ingest_reply>(accepted));
  EXPECT_EQ(std::get<ingest_reply>(accepted).hooks, 3u) << "the refused event's id was not kept";
  EXPECT_EQ(std::get<ingest_reply>(accepted).ids.at(0),
            ctx_->event_id_prefix + support::to_hex(storage::be64(1)))
    << "the refused events used no sequence number";
  batch.items.pop_back();
  auto half = ask<ingest_reply>(batch);
  ASSERT_TRUE(std::holds_alternative<ingest_reply>(half));
  EXPECT_EQ(std::get<ingest_reply>(half).ids.at(0),
            ctx_->event_id_prefix + support::to_hex(storage::be64(2)));
  EXPECT_TRUE(eventually([&] { return sender_.count() == 6; }))
    << sender_.count() << " deliveries";
}

/// The snapshot start-up recovery would read from the test's database (accounts,
/// hooks and notifications; no queues).
registry_snapshot snapshot_of(storage::store& db) {
  registry_snapshot snap;
  uint64_t max_id = 0;
  db.scan(storage::cf::accounts, {}, {}, [&](std::string_view, std::string_view v) {
    snap.accounts.push_back(*storage::account_record::decode(v));
    return true;
  });
  db.scan(storage::cf::hooks, {}, {}, [&](std::string_view, std::string_view v) {
    auto rec = *storage::hook_record::decode(v);
    max_id = std::max(max_id, rec.id);
    snap.hooks.push_back(hook_summary::of(rec));
    return true;
  });
  db.scan(storage::cf::notifications, {}, {}, [&](std::string_view, std::string_view v) {
    snap.notifications.push_back(*storage::notification_record::decode(v));
    return true;
  });
  snap.next_hook_id = max_id + 1;
  snap.next_notification_id = *db.read_counter(storage::meta_key::next_notification_id, 1);
  return snap;
}

TEST_F(registry_test, recovery_completes_a_deactivation_whose_notification_a_crash_cut_off) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  auto healthy = add_hook("acme", "crm", "optin_finalized");
  close();
  // A minute ago: its link has not expired (--buffer-max-age).
  const int64_t deactivated_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()
                                 - 60'000;
  // The hook actor's half of a deactivation is durable, the registry's (the
  // notification) is not: the process died between the two writes.
  registry_snapshot snap;
  {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    auto stored = (*db)->get(storage::cf::hooks, storage::hook_key(id));
    ASSERT_TRUE(stored.has_value() && stored.value().has_value());
    auto record = *storage::hook_record::decode(**stored);
    record.active = false;
    record.deactivated_at_ms = deactivated_at;
    record.consecutive_failures = 3;
    record.last_error = "connection refused";
    storage::batch b;
    b.put(storage::cf::hooks, storage::hook_key(id), record.encode());
    ASSERT_TRUE((*db)->write(std::move(b), true));
    snap = snapshot_of(**db);
  }
  open(std::move(snap));
  auto all_notes = [&] { return notes("acme", false, 0, 1000); };
  auto first = all_notes();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].webhook_id, id);
  EXPECT_EQ(first[0].kind, "webhook_deactivated");
  EXPECT_EQ(first[0].created_at_ms, deactivated_at);
  EXPECT_EQ(first[0].reason, "connection refused");
  EXPECT_GE(first[0].token.size(), 16u);
  EXPECT_FALSE(first[0].read);
  (void)healthy;  // active: nothing to repair

  // Stored durably, once: a second recovery finds it and adds none.
  close();
  {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    snap = snapshot_of(**db);
  }
  ASSERT_EQ(snap.notifications.size(), 1u);
  EXPECT_EQ(snap.notifications[0], first[0]);
  EXPECT_EQ(snap.next_notification_id, first[0].id + 1);
  open(std::move(snap));
  EXPECT_EQ(all_notes(), first);

  // The other half-state: the hook was reactivated (its record is active) but
  // the notification was not yet marked read. Recovery marks it read.
  close();
  {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    auto record = *storage::hook_record::decode(**(*db)->get(storage::cf::hooks, storage::hook_key(id)));
    record.active = true;
    record.deactivated_at_ms = 0;
    record.consecutive_failures = 0;
    storage::batch b;
    b.put(storage::cf::hooks, storage::hook_key(id), record.encode());
    ASSERT_TRUE((*db)->write(std::move(b), true));
    snap = snapshot_of(**db);
  }
  open(std::move(snap));
  auto after = all_notes();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0].read);
  EXPECT_EQ(after[0].id, first[0].id);
}

TEST_F(registry_test, recovery_leaves_notifications_the_account_limit_removed_alone) {
  add_account("acme");
  auto older = add_hook("acme", "zap", "optin_finalized");
  auto newer = add_hook("acme", "crm", "optin_finalized");
  close();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  // Both hooks were deactivated; with one notification kept per account, the
  // older one's notification was deleted when the newer one's was stored.
  registry_snapshot snap;
  {
    auto db = storage::store::open(dir_.sub("db"));
    ASSERT_TRUE(db.has_value());
    storage::batch b;
    for (auto [id, at] : {std::pair{older, now - 120'000}, std::pair{newer, now - 60'000}}) {
      auto record = *storage::hook_record::decode(**(*db)->get(storage::cf::hooks, storage::hook_key(id)));
      record.active = false;
      record.deactivated_at_ms = at;
      record.last_error = "HTTP 500";
      b.put(storage::cf::hooks, storage::hook_key(id), record.encode());
    }
    storage::notification_record note;
    note.id = 2;
    note.account = "acme";
    note.kind = "webhook_deactivated";
    note.webhook_id = newer;
    note.created_at_ms = now - 60'000;
    note.reason = "HTTP 500";
    note.token = "0123456789abcdef0123";
    b.put(storage::cf::notifications, storage::be64(2), note.encode());
    storage::put_counter(b, storage::meta_key::next_notification_id, 3);
    ASSERT_TRUE((*db)->write(std::move(b), true));
    snap = snapshot_of(**db);
  }
  limits_.notifications_kept = 1;
  open(std::move(snap));
  auto kept = notes("acme", false, 0, 1000);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].webhook_id, newer);
  EXPECT_EQ(kept[0].id, 2u);
}

constexpr uint64_t many = 20000;

TEST_F(registry_test, deactivation_moves_a_large_queue_to_the_buffer_in_bounded_chunks) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  seed(id, storage::cf::queue, 1, many);
  sender_.script({410});  // the first attempt deactivates the hook
  reopen_with_entries(id, true, many + 1);
  auto batches_before = writer_->stats().batches;
  ASSERT_TRUE(eventually([&] {
    auto v = list("acme")[0];
    return !v.record.active && stored(storage::cf::queue, id) == 0;
  }));
  // Attempts in flight at the deactivation finished as successes; the rest is buffered.
  ASSERT_TRUE(eventually([&] { return ctx_->in_flight.load() == 0; }));
  auto delivered = sender_.count() - 1;
  EXPECT_LE(delivered, ctx_->delivery.max_in_flight);
  EXPECT_EQ(stored(storage::cf::buffer, id), many - delivered);
  ASSERT_TRUE(eventually([&] { return list("acme")[0].buffered_events == many - delivered; }));
  EXPECT_EQ(list("acme")[0].pending_events, 0u);
  EXPECT_GE(writer_->stats().batches - batches_before, many / move_chunk::max_entries)
    << "moved in several chunks";
  expect_bounded_batches();
}

TEST_F(registry_test, replay_of_a_large_buffer_goes_in_bounded_chunks_ahead_of_new_events) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  auto deactivated = support::now_ms();
  seed(id, storage::cf::buffer, 1, many, [&](storage::hook_record& r) {
    r.active = false;
    r.deactivated_at_ms = deactivated;
  });
  reopen_with_entries(id, false, many + 1, deactivated);
  ASSERT_TRUE(eventually([&] { return list("acme")[0].buffered_events == many; }));
  // Events arrive while the replay runs; each must come after the replayed
  // events of its key (k1 and k2 in seed()).
  std::thread late([&] {
    for (int i = 0; i < 20; ++i) {
      ingest_cmd cmd;
      auto key = "k" + std::to_string(1 + i % 2);
      cmd.items.push_back({"acme", "optin_finalized", "{\"key\":\"" + key + "\"}", std::nullopt, key});
      ask<ingest_reply>(cmd);
    }
  });
  auto act = ask<activate_result>(activate_atom::value, std::string{"acme"}, id, true);
  late.join();
  ASSERT_TRUE(std::holds_alternative<activate_result>(act));
  // Events that came before the activation were buffered and replayed too.
  EXPECT_GE(std::get<activate_result>(act).replayed, many);
  EXPECT_LE(std::get<activate_result>(act).replayed, many + 20);
  ASSERT_TRUE(eventually([&] { return sender_.count() >= many + 20; }));
  ASSERT_TRUE(eventually([&] { return list("acme")[0].pending_events == 0; }));
  expect_queue_and_buffer_emptied(id);
  // Per key: the replayed events in order, then the ones that came later
  // (their seqs are higher).
  expect_keys_in_order();
  auto per_key = delivered_per_key();
  EXPECT_EQ(per_key["k1"].size(), many / 50 + 10);
  EXPECT_EQ(per_key["k3"].size(), many / 50);
  expect_bounded_batches();
}

TEST_F(registry_test, an_activation_during_the_move_to_the_buffer_replays_everything_in_order) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  seed(id, storage::cf::queue, 1, many);
  sender_.script({410});
  reopen_with_entries(id, true, many + 1);
  // Asked as soon as the hook is off, while its queue is still moving.
  ASSERT_TRUE(eventually([&] { return !list("acme")[0].record.active; }));
  auto act = ask<activate_result>(activate_atom::value, std::string{"acme"}, id, true);
  ASSERT_TRUE(std::holds_alternative<activate_result>(act));
  auto replayed = std::get<activate_result>(act).replayed;
  EXPECT_GE(replayed, many - ctx_->delivery.max_in_flight);
  ASSERT_TRUE(eventually([&] { return delivered_per_key().size() == 50 && list("acme")[0].pending_events == 0; }));
  expect_queue_and_buffer_emptied(id);
  EXPECT_EQ(expect_keys_in_order(), many);
  expect_bounded_batches();
}

TEST_F(registry_test, a_move_to_the_buffer_cut_by_a_crash_is_finished_at_start_and_then_purged) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  // Half moved: the hook is inactive since two hours, half its entries are
  // buffered, half still queued.
  seed(id, storage::cf::buffer, 1, many / 2, [](storage::hook_record& r) {
    r.active = false;
    r.deactivated_at_ms = support::now_ms() - 2 * 3600 * 1000;
  });
  seed(id, storage::cf::queue, many / 2 + 1, many / 2);
  configure_ = [](actor_context& ctx) { ctx.delivery.buffer_max_age = std::chrono::hours{1}; };
  reopen_with_entries(id, false, many + 1, support::now_ms() - 2 * 3600 * 1000);
  // The rest moves; then the purge, due long ago, drops the whole buffer.
  ASSERT_TRUE(eventually([&] {
    return stored(storage::cf::queue, id) == 0 && stored(storage::cf::buffer, id) == 0;
  }));
  EXPECT_TRUE(eventually([&] { return ctx_->stats.events_dropped.load() == many; }))
    << ctx_->stats.events_dropped.load();
  EXPECT_TRUE(sender_.requests().empty()) << "nothing is attempted while inactive";
  expect_bounded_batches();
}

TEST_F(registry_test, a_replay_cut_by_a_crash_is_finished_at_start_in_order) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  // Half replayed: the hook is active again, half its buffer is back in the
  // queue (the older half, as a replay moves oldest first).
  seed(id, storage::cf::queue, 1, many / 2);
  seed(id, storage::cf::buffer, many / 2 + 1, many / 2);
  reopen_with_entries(id, true, many + 1);
  ASSERT_TRUE(eventually([&] { return sender_.count() >= many; }));
  ASSERT_TRUE(eventually([&] { return list("acme")[0].pending_events == 0; }));
  expect_queue_and_buffer_emptied(id);
  EXPECT_EQ(expect_keys_in_order(), many);
  expect_bounded_batches();
}

TEST_F(registry_test, deleting_a_hook_with_a_large_queue_and_buffer_removes_everything) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  seed(id, storage::cf::queue, 1, many);
  seed(id, storage::cf::buffer, many + 1, many);
  sender_.script(std::vector<unsigned>(64, 503));
  configure_ = [](actor_context& ctx) { ctx.delivery.failure_threshold = 1000000; };
  reopen_with_entries(id, true, 2 * many + 1);
  ASSERT_TRUE(eventually([&] { return !sender_.requests().empty(); }));
  auto del = ask<uint64_t>(delete_atom::value, std::string{"acme"}, id);
  ASSERT_TRUE(std::holds_alternative<uint64_t>(del));
  auto sent_at_delete = sender_.count();
  EXPECT_EQ(stored(storage::cf::queue, id), 0u);
  EXPECT_EQ(stored(storage::cf::buffer, id), 0u);
  EXPECT_TRUE(list("acme").empty());
  // A later hook's delivery is the marker that the deleted one started none.
  auto other = add_hook("acme", "crm", "optin_finalized");
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : sender_.requests())
      if (r.hook_id == other)
        return true;
    return false;
  }));
  size_t after = 0;
  auto all = sender_.requests();
  for (size_t i = sent_at_delete; i < all.size(); ++i)
    after += all[i].hook_id == id;
  EXPECT_EQ(after, 0u);
  expect_bounded_batches();
}

} // namespace
} // namespace hookwerk

namespace hookwerk {
namespace {

/// The self-check: lost attempts and hooks with nothing armed are found and repaired.
class self_check_test : public registry_test {
protected:
  self_check_result check() {
    auto r = ask<self_check_result>(check_atom::value);
    EXPECT_TRUE(std::holds_alternative<self_check_result>(r));
    return std::holds_alternative<self_check_result>(r) ? std::get<self_check_result>(r)
                                                        : self_check_result{};
  }

  std::vector<storage::attempt_record> attempts(uint64_t id) {
    auto r = ask<std::vector<storage::attempt_record>>(attempts_atom::value, std::string{"acme"},
                                                       id, uint64_t{10});
    EXPECT_TRUE((std::holds_alternative<std::vector<storage::attempt_record>>(r)));
    return std::holds_alternative<std::vector<storage::attempt_record>>(r)
             ? std::get<0>(r)
             : std::vector<storage::attempt_record>{};
  }

  /// Reopens the (empty) registry with the self-check timing given.
  void reopen(std::chrono::milliseconds interval) {
    configure_ = [interval](actor_context& ctx) {
      ctx.self_check_interval = interval;
      ctx.delivery.timeout = 20ms;
      ctx.attempt_grace = 50ms;  // lost after 2 * 20 ms + 50 ms in flight
    };
    close();
    open({});
  }

  /// After an attempt without outcome was repaired: the retry delivered the event, and
  /// the outcome arriving late now changes nothing.
  void expect_repaired_and_late_outcome_ignored(uint64_t id) {
    ASSERT_TRUE(eventually([&] { return sender_.count() == 2; }));
    ASSERT_TRUE(eventually([&] { return list("acme")[0].pending_events == 0; }));
    EXPECT_EQ(ctx_->stats.stuck_hooks_repaired.load(), 1u);
    ASSERT_TRUE(eventually([&] { return attempts(id).size() == 2; }));
    auto log = attempts(id);
    EXPECT_EQ(log[0].attempt, 2u);
    EXPECT_EQ(log[0].http_status, 200u);
    EXPECT_EQ(log[1].attempt, 1u);
    EXPECT_EQ(log[1].error, "no outcome");
    // Taken as the server's own failure: not counted toward deactivation.
    EXPECT_EQ(ctx_->stats.deliveries_local_failure.load(), 1u);
    EXPECT_EQ(list("acme")[0].record.consecutive_failures, 0u);

    ASSERT_TRUE(sender_.release_held(500));
    // The late outcome reached the actor before the listing's request did.
    auto view = list("acme")[0];
    EXPECT_EQ(view.pending_events, 0u);
    EXPECT_FALSE(view.record.last_error.has_value());
    EXPECT_EQ(ctx_->in_flight.load(), 0);
    EXPECT_EQ(ctx_->stats.deliveries_success.load(), 1u);
    EXPECT_EQ(ctx_->stats.deliveries_failure.load(), 1u);
    EXPECT_EQ(attempts(id).size(), 2u);
    EXPECT_EQ(sender_.count(), 2u);
    EXPECT_EQ(check().repaired, 0u);
    EXPECT_EQ(ctx_->stats.stuck_hooks_repaired.load(), 1u);
  }
};

TEST_F(self_check_test, an_attempt_without_outcome_is_repaired_on_demand) {
  reopen(0ms);  // on demand only
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.hold_next();
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return sender_.count() == 1; }));
  uint64_t repaired = 0;
  ASSERT_TRUE(eventually([&] {
    auto r = check();
    EXPECT_EQ(r.checked, 1u);
    repaired += r.repaired;
    return repaired > 0;
  })) << "the lost attempt was never found";
  EXPECT_EQ(repaired, 1u);
  expect_repaired_and_late_outcome_ignored(id);
}

TEST_F(self_check_test, the_periodic_check_repairs_without_being_asked) {
  reopen(20ms);
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  sender_.hold_next();
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return ctx_->stats.stuck_hooks_repaired.load() == 1; }));
  expect_repaired_and_late_outcome_ignored(id);
}

TEST_F(self_check_test, busy_and_retrying_hooks_are_never_found_stuck) {
  add_account("acme");
  add_hook("acme", "zap", "optin_finalized");
  add_hook("acme", "crm", "optin_finalized");
  std::vector<unsigned> statuses;
  for (int i = 0; i < 60; ++i)
    statuses.push_back(i % 3 == 0 ? 200 : 503);
  sender_.script(statuses);
  for (int i = 0; i < 30; ++i)
    ASSERT_FALSE(ingest_one("acme").empty());
  uint64_t repaired = 0;
  ASSERT_TRUE(eventually([&] {
    repaired += check().repaired;
    auto hooks = list("acme");
    return hooks[0].pending_events == 0 && hooks[1].pending_events == 0;
  }));
  EXPECT_EQ(repaired, 0u);
  auto runs = ctx_->stats.self_checks.load();
  EXPECT_EQ(check().checked, 2u);
  EXPECT_EQ(ctx_->stats.self_checks.load(), runs + 1);
  EXPECT_EQ(ctx_->stats.stuck_hooks_repaired.load(), 0u);
}

TEST_F(self_check_test, frequent_checks_do_not_keep_an_idle_actor_alive) {
  configure_ = [](actor_context& ctx) {
    ctx.self_check_interval = 5ms;
    ctx.passivate_after = 50ms;
  };
  close();
  open({});
  add_account("acme");
  add_hook("acme", "zap", "optin_finalized");
  ASSERT_FALSE(ingest_one("acme").empty());
  ASSERT_TRUE(eventually([&] { return sender_.count() == 1; }));
  ASSERT_TRUE(eventually([&] { return ctx_->hook_actors.load() == 0; }))
    << "the self-checks kept the idle hook actor from passivating";
  EXPECT_EQ(check().checked, 0u);
  EXPECT_EQ(ctx_->stats.stuck_hooks_repaired.load(), 0u);
}


/// The stored event record of `seq`, if any.
std::optional<storage::event_record> stored_event(storage::store& db, uint64_t seq) {
  auto v = db.get(storage::cf::events, storage::event_key(seq));
  if (!v || !v->has_value())
    return std::nullopt;
  return storage::event_record::decode(**v);
}

TEST_F(registry_test, an_event_for_several_hooks_is_stored_once_and_their_entries_refer_to_it) {
  close();
  configure_ = [](actor_context& ctx) { ctx.delivery.retry_schedule = {std::chrono::hours{1}}; };
  open({});
  add_account("acme");
  auto a = add_hook("acme", "crm", "optin_finalized");
  auto b = add_hook("acme", "erp", "optin_finalized");
  auto single = add_hook("acme", "one", "optout_finalized");
  sender_.script({500, 500, 500});  // every first attempt fails; the retry is an hour away
  ingest_cmd cmd;
  cmd.items.push_back({"acme", "optin_finalized", R"({"n":1})", std::nullopt, std::string{"k"}});
  cmd.items.push_back({"acme", "optout_finalized", R"({"n":2})", std::nullopt, std::nullopt});
  auto r = ask<ingest_reply>(cmd);
  ASSERT_TRUE(std::holds_alternative<ingest_reply>(r));
  auto ids = std::get<ingest_reply>(r).ids;
  ASSERT_TRUE(eventually([&] { return sender_.count() == 3; }));

  // The fanned-out event: one record with its payload and hooks ...
  auto shared_seq = std::stoull(ids[0].substr(ids[0].size() - 16), nullptr, 16);
  auto rec = stored_event(*store_, shared_seq);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->event_id, ids[0]);
  EXPECT_EQ(rec->event, "optin_finalized");
  EXPECT_EQ(rec->payload, R"({"n":1})");
  EXPECT_EQ(rec->hooks, (std::vector<uint64_t>{a, b}));
  // ... and per hook a small entry in the reference form, its attempt recorded.
  for (auto hook : {a, b}) {
    ASSERT_TRUE(eventually([&] {
      auto v = store_->get(storage::cf::queue, storage::hook_seq_key(hook, shared_seq));
      auto e = v && v->has_value() ? storage::queue_entry::decode(**v) : std::nullopt;
      return e && e->attempts == 1;
    }));
    auto v = store_->get(storage::cf::queue, storage::hook_seq_key(hook, shared_seq));
    EXPECT_LE((*v)->size(), 20u);
    auto e = storage::queue_entry::decode(**v);
    EXPECT_TRUE(e->shared);
    EXPECT_EQ(e->key, "k");
    EXPECT_TRUE(e->payload.empty());
  }
  // An event for one hook keeps its own copy and writes no event record.
  auto single_seq = std::stoull(ids[1].substr(ids[1].size() - 16), nullptr, 16);
  EXPECT_FALSE(stored_event(*store_, single_seq).has_value());
  auto own = store_->get(storage::cf::queue, storage::hook_seq_key(single, single_seq));
  ASSERT_TRUE(own && own->has_value());
  auto own_entry = storage::queue_entry::decode(**own);
  ASSERT_TRUE(own_entry.has_value());
  EXPECT_FALSE(own_entry->shared);
  EXPECT_EQ(own_entry->payload, R"({"n":2})");

  // While one hook still has its entry, compaction keeps the record; once neither has, it goes.
  ASSERT_TRUE(std::holds_alternative<uint64_t>(ask<uint64_t>(delete_atom::value, std::string{"acme"}, a)));
  ASSERT_TRUE(store_->compact(storage::cf::events));
  EXPECT_TRUE(stored_event(*store_, shared_seq).has_value());
  ASSERT_TRUE(std::holds_alternative<uint64_t>(ask<uint64_t>(delete_atom::value, std::string{"acme"}, b)));
  EXPECT_TRUE(eventually([&] {
    return store_->compact(storage::cf::events) && !stored_event(*store_, shared_seq).has_value();
  }));
}

TEST_F(registry_test, a_fanned_out_event_record_goes_once_every_hook_delivered_it) {
  add_account("acme");
  auto a = add_hook("acme", "crm", "optin_finalized");
  auto b = add_hook("acme", "erp", "optin_finalized");
  sender_.script({200, 500});  // one hook delivers at once, the other after a retry
  auto id = ingest_one("acme");
  ASSERT_FALSE(id.empty());
  auto seq = std::stoull(id.substr(id.size() - 16), nullptr, 16);
  ASSERT_TRUE(eventually([&] { return sender_.count() == 3; }));
  for (const auto& req : sender_.requests())
    EXPECT_EQ(*req.body, "{}");
  expect_queue_and_buffer_emptied(a);
  expect_queue_and_buffer_emptied(b);
  EXPECT_TRUE(eventually([&] {
    return store_->compact(storage::cf::events) && !stored_event(*store_, seq).has_value();
  }));
}

TEST_F(registry_test, entries_referring_to_stored_events_are_delivered_after_a_restart) {
  add_account("acme");
  auto id = add_hook("acme", "zap", "optin_finalized");
  close();
  // Left by an earlier run: two entries of shared events (one of them keyed), and one
  // whose event record is gone (delivered before a crash of the machine lost its removal).
  write_closed([&](storage::batch& b) {
    for (uint64_t seq : {3, 4, 5}) {
      storage::queue_entry e;
      e.seq = seq;
      e.shared = true;
      e.key = seq == 4 ? std::optional<std::string>{"k"} : std::nullopt;
      e.ingested_at_ms = 1;
      b.put(storage::cf::queue, storage::hook_seq_key(id, seq), e.encode());
      if (seq == 5)
        continue;
      storage::event_record rec{"evt_shared_" + std::to_string(seq), "optin_finalized",
                                "{\"seq\":" + std::to_string(seq) + "}", {id, id + 100}};
      b.put(storage::cf::events, storage::event_key(seq), rec.encode());
    }
  });
  reopen_with_entries(id, true, 6);
  ASSERT_TRUE(eventually([&] { return sender_.count() == 2; }));
  std::map<std::string, std::string> bodies;
  for (const auto& req : sender_.requests())
    for (const auto& [name, value] : req.headers)
      if (name == "webhook-id")
        bodies[value] = *req.body;
  EXPECT_EQ(bodies, (std::map<std::string, std::string>{{"evt_shared_3", R"({"seq":3})"},
                                                        {"evt_shared_4", R"({"seq":4})"}}));
  expect_queue_and_buffer_emptied(id);  // the orphaned entry is removed, not delivered
  auto view = list("acme");
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view[0].pending_events, 0u);
  EXPECT_EQ(sender_.count(), 2u);
}

} // namespace
} // namespace hookwerk
