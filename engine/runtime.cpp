#include "engine/runtime.hpp"

#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/registry.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/log.hpp"
#include "engine/blocking_pool.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace hookwerk::engine {

struct runtime::impl {
  serve_config cfg;
  std::unique_ptr<storage::store> store;
  std::unique_ptr<storage::writer> writer;
  std::shared_ptr<actor_context> ctx;
  std::unique_ptr<blocking_pool> pool;
  std::unique_ptr<caf::actor_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> system;
  registry_actor registry;
  std::string admin_token;
  std::string ingest_token;
  recovery_report report;
  bool stopped = false;
};

namespace {

/// The token given on the command line or in the environment; else the one
/// stored in the data dir; else a new one, stored and printed once.
expected<std::string> settle_token(storage::store& db, const char* key,
                                   const std::optional<std::string>& given, const char* label) {
  if (given)
    return *given;
  auto stored = db.get(storage::cf::meta, key);
  if (!stored)
    return stored.error();
  if (stored.value())
    return std::move(*stored.value());
  auto token = support::random_token(24);
  storage::batch b;
  b.put(storage::cf::meta, key, token);
  if (auto st = db.write(std::move(b), true); !st)
    return st;
  log::info(std::string{label} + " token: " + token);
  return token;
}

/// Reads accounts and hooks, removes hooks whose account is gone (left behind
/// by a crash during an account deletion) and finds the next hook id.
expected<registry_snapshot> load_snapshot(storage::store& db, recovery_report& report) {
  registry_snapshot snap;
  bool corrupt = false;
  auto st = db.scan(storage::cf::accounts, {}, {}, [&](std::string_view, std::string_view value) {
    auto rec = storage::account_record::decode(value);
    if (!rec) {
      corrupt = true;
      return false;
    }
    snap.accounts.push_back(std::move(*rec));
    return true;
  });
  if (!st)
    return st;
  if (corrupt)
    return status{errc::storage_failed, "unreadable account record"};

  std::set<std::string> usernames;
  for (auto& a : snap.accounts)
    usernames.insert(a.username);

  storage::batch orphans;
  uint64_t max_id = 0;
  st = db.scan(storage::cf::hooks, {}, {}, [&](std::string_view key, std::string_view value) {
    auto rec = storage::hook_record::decode(value);
    if (!rec) {
      corrupt = true;
      return false;
    }
    max_id = std::max(max_id, rec->id);
    if (!usernames.count(rec->account)) {
      orphans.erase(storage::cf::hooks, std::string{key});
      auto [lo, hi] = storage::hook_range(rec->id);
      for (auto family : {storage::cf::queue, storage::cf::buffer, storage::cf::attempts})
        orphans.erase_range(family, lo, hi);
      ++report.orphans_removed;
      return true;
    }
    snap.hooks.push_back(std::move(*rec));
    return true;
  });
  if (!st)
    return st;
  if (corrupt)
    return status{errc::storage_failed, "unreadable webhook record"};
  if (!orphans.empty())
    if (auto w = db.write(std::move(orphans), true); !w)
      return w;

  auto counter = db.read_counter("next_hook_id", 1);
  if (!counter)
    return counter.error();
  snap.next_hook_id = std::max(*counter, max_id + 1);
  report.accounts = snap.accounts.size();
  report.hooks = snap.hooks.size();
  return snap;
}

} // namespace

runtime::runtime(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

runtime::~runtime() { shutdown(); }

expected<std::unique_ptr<runtime>> runtime::start(const serve_config& cfg) {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;

  auto db = storage::store::open(cfg.data_dir);
  if (!db)
    return db.error();
  p->store = std::move(*db);

  auto admin = settle_token(*p->store, "admin_token", cfg.admin_token, "admin");
  if (!admin)
    return admin.error();
  p->admin_token = std::move(*admin);
  auto ingest = settle_token(*p->store, "ingest_token", cfg.ingest_token, "ingest");
  if (!ingest)
    return ingest.error();
  p->ingest_token = std::move(*ingest);

  auto snapshot = load_snapshot(*p->store, p->report);
  if (!snapshot)
    return snapshot.error();

  p->writer = std::make_unique<storage::writer>(*p->store);
  p->pool = std::make_unique<blocking_pool>(std::max(1u, cfg.workers / 2));
  p->ctx = std::make_shared<actor_context>();
  p->ctx->store = p->store.get();
  p->ctx->writer = p->writer.get();
  p->ctx->events = cfg.events;

  p->caf_cfg = std::make_unique<caf::actor_system_config>();
  p->caf_cfg->set("scheduler.max-threads", static_cast<size_t>(cfg.workers));
  p->caf_cfg->add_error_category(
    errc_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      std::string out = std::string{"hookwerk: "} + to_string(static_cast<errc>(code));
      if (ctx.match_elements<std::string>() && !ctx.get_as<std::string>(0).empty())
        out += " (" + ctx.get_as<std::string>(0) + ")";
      return out;
    });
  p->system = std::make_unique<caf::actor_system>(*p->caf_cfg);

  auto expected_hooks = snapshot->hooks.size();
  p->registry = p->system->spawn(registry_impl, p->ctx, std::move(*snapshot));

  // The registry spawns every hook actor while it initialises; once it has
  // answered a request and every hook actor runs, recovery is complete.
  {
    caf::scoped_actor probe{*p->system};
    bool answered = false;
    probe->request(p->registry, std::chrono::seconds{60}, stats_atom::value)
      .receive([&](const registry_stats&) { answered = true; },
               [&](caf::error& e) { log::error("registry did not start: " + detail_of(e)); });
    if (!answered)
      return status{errc::internal, "registry did not start"};
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (p->ctx->hook_actors.load() < static_cast<int64_t>(expected_hooks)
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  p->report.hook_actors = static_cast<uint64_t>(p->ctx->hook_actors.load());
  log::info("recovery finished: " + std::to_string(p->report.hooks) + " webhooks, "
            + std::to_string(p->report.hook_actors) + " hook actors, "
            + std::to_string(p->report.accounts) + " accounts"
            + (p->report.orphans_removed
                 ? ", " + std::to_string(p->report.orphans_removed) + " orphaned webhooks removed"
                 : std::string{}));
  return std::unique_ptr<runtime>{new runtime(std::move(p))};
}

caf::actor_system& runtime::system() { return *impl_->system; }
const registry_actor& runtime::registry() const { return impl_->registry; }
blocking_pool& runtime::blocking() { return *impl_->pool; }
actor_context& runtime::context() { return *impl_->ctx; }
const serve_config& runtime::config() const { return impl_->cfg; }
const std::string& runtime::admin_token() const { return impl_->admin_token; }
const std::string& runtime::ingest_token() const { return impl_->ingest_token; }
const recovery_report& runtime::recovery() const { return impl_->report; }

void runtime::shutdown() {
  if (!impl_ || impl_->stopped)
    return;
  impl_->stopped = true;
  if (impl_->system) {
    caf::anon_send_exit(impl_->registry, caf::exit_reason::user_shutdown);
    impl_->registry = nullptr;
    impl_->system->await_all_actors_done();
  }
  if (impl_->pool)
    impl_->pool->stop();
  if (impl_->writer)
    impl_->writer->stop();
  impl_->system.reset();
  impl_->writer.reset();
  impl_->store.reset();
}

} // namespace hookwerk::engine
