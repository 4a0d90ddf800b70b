#include "engine/runtime.hpp"

#include <chrono>
#include <functional>
#include <thread>

#include <caf/all.hpp>

#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/registry.hpp"
#include "actors/support/crypto.hpp"
#include "actors/support/log.hpp"
#include "engine/blocking_pool.hpp"
#include "engine/http_sender.hpp"
#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace hookwerk::engine {

struct runtime::impl {
  serve_config cfg;
  std::unique_ptr<storage::store> store;
  std::unique_ptr<storage::writer> writer;
  std::unique_ptr<http_sender> sender;
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

/// The value stored under `key` in the meta family, or a new one from
/// `make`, stored durably; `created` tells which.
expected<std::string> stored_or_new(storage::store& db, std::string_view key,
                                    const std::function<std::string()>& make, bool& created) {
  created = false;
  auto stored = db.get(storage::cf::meta, key);
  if (!stored)
    return stored.error();
  if (stored.value())
    return std::move(*stored.value());
  auto value = make();
  storage::batch b;
  b.put(storage::cf::meta, std::string{key}, value);
  if (auto st = db.write(std::move(b), true); !st)
    return st;
  created = true;
  return value;
}

/// The token given on the command line or in the environment; else the one
/// stored in the data dir; else a new one, stored and printed once.
expected<std::string> settle_token(storage::store& db, std::string_view key,
                                   const std::optional<std::string>& given, const char* label) {
  if (given)
    return *given;
  bool created = false;
  auto token = stored_or_new(db, key, [] { return support::random_token(24); }, created);
  if (token && created)
    log::info(std::string{label} + " token: " + *token);
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
  st = db.scan(storage::cf::hooks, {}, {}, [&](std::string_view, std::string_view value) {
    auto rec = storage::hook_record::decode(value);
    if (!rec) {
      corrupt = true;
      return false;
    }
    max_id = std::max(max_id, rec->id);
    if (!usernames.count(rec->account)) {
      storage::erase_hook(orphans, rec->id);
      ++report.orphans_removed;
      return true;
    }
    snap.hooks.push_back(hook_summary::of(*rec));
    return true;
  });
  if (!st)
    return st;
  if (corrupt)
    return status{errc::storage_failed, "unreadable webhook record"};
  if (!orphans.empty())
    if (auto w = db.write(std::move(orphans), true); !w)
      return w;

  auto counter = db.read_counter(storage::meta_key::next_hook_id, 1);
  if (!counter)
    return counter.error();
  snap.next_hook_id = std::max(*counter, max_id + 1);
  // One pass over queues and buffers tells which hooks have anything stored,
  // so the others start without reading the database.
  for (auto family : {storage::cf::queue, storage::cf::buffer}) {
    uint64_t last = 0;
    st = db.scan(family, {}, {}, [&](std::string_view key, std::string_view) {
      auto id = storage::get_be64(key);
      if (id != last)
        snap.with_entries.insert(id);
      last = id;
      return true;
    });
    if (!st)
      return st;
  }
  st = db.scan(storage::cf::notifications, {}, {}, [&](std::string_view, std::string_view value) {
    if (auto note = storage::notification_record::decode(value))
      snap.notifications.push_back(std::move(*note));
    return true;
  });
  if (!st)
    return st;
  auto notes = db.read_counter(storage::meta_key::next_notification_id, 1);
  if (!notes)
    return notes.error();
  snap.next_notification_id = *notes;
  auto events = db.read_counter(storage::meta_key::next_event_seq, 1);
  if (!events)
    return events.error();
  snap.next_event_seq = *events;
  report.accounts = snap.accounts.size();
  report.hooks = snap.hooks.size();
  return snap;
}

} // namespace

runtime::runtime(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

runtime::~runtime() {
  if (!shutdown())
    impl_.release();  // actors still run: leave the engine to the process's exit
}

expected<std::unique_ptr<runtime>> runtime::start(const serve_config& cfg) {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;

  auto db = storage::store::open(cfg.data_dir);
  if (!db)
    return db.error();
  p->store = std::move(*db);

  auto admin = settle_token(*p->store, storage::meta_key::admin_token, cfg.admin_token, "admin");
  if (!admin)
    return admin.error();
  p->admin_token = std::move(*admin);
  auto ingest = settle_token(*p->store, storage::meta_key::ingest_token, cfg.ingest_token, "ingest");
  if (!ingest)
    return ingest.error();
  p->ingest_token = std::move(*ingest);

  bool created = false;
  auto instance = stored_or_new(
    *p->store, storage::meta_key::instance_id,
    [] { return support::to_hex(support::random_bytes(4)); }, created);
  if (!instance)
    return instance.error();

  auto snapshot = load_snapshot(*p->store, p->report);
  if (!snapshot)
    return snapshot.error();

  p->writer = std::make_unique<storage::writer>(*p->store);
  blocking_pool_options pool_opts;
  // Two at least: one key runs one job at a time, so a flooded username takes
  // one thread and the other serves everybody else at once.
  pool_opts.threads = std::max(2u, cfg.workers / 2);
  p->pool = std::make_unique<blocking_pool>(pool_opts);
  p->ctx = std::make_shared<actor_context>();
  p->ctx->store = p->store.get();
  p->ctx->writer = p->writer.get();
  p->ctx->events = cfg.events;
  p->ctx->event_id_prefix = "evt_" + *instance;
  p->ctx->delivery.retry_schedule = cfg.retry_schedule;
  p->ctx->delivery.failure_threshold = cfg.failure_threshold;
  p->ctx->delivery.failure_window = cfg.failure_window;
  p->ctx->delivery.timeout = cfg.delivery_timeout;
  p->ctx->delivery.max_in_flight = cfg.max_in_flight;
  p->ctx->delivery.max_event_age = cfg.max_event_age;
  p->ctx->delivery.buffer_retention = cfg.buffer_retention;
  p->ctx->delivery.buffer_limit = cfg.buffer_limit;
  p->ctx->delivery.buffer_max_age = cfg.buffer_max_age;
  p->ctx->passivate_after = cfg.passivate_after;
  p->ctx->self_check_interval = cfg.self_check_interval;
  p->ctx->limits.max_hooks_per_account = cfg.max_hooks_per_account;
  p->ctx->limits.max_fanout_bytes = cfg.max_fanout_bytes;

  http_sender_options sender_opts;
  sender_opts.allow_private_targets = cfg.allow_private_targets;
  sender_opts.ca_file = cfg.ca_file;
  sender_opts.dns_servers = cfg.dns_servers;
  sender_opts.max_outbound = cfg.max_outbound;
  sender_opts.max_idle_per_origin = cfg.max_idle_per_origin;
  try {
    p->sender = std::make_unique<http_sender>(sender_opts);
  } catch (const std::exception& e) {  // an unreadable --ca-file, bad HOOKWERK_DNS_SERVERS
    return status{errc::invalid_parameter, e.what()};
  }
  p->ctx->sender = p->sender.get();

  p->caf_cfg = std::make_unique<caf::actor_system_config>();
  p->caf_cfg->set("scheduler.max-threads", static_cast<size_t>(cfg.workers));
  // A worker whose queue runs dry polls briefly (CAF's "aggressive" phase),
  // then by default 500 times sleeps 50 µs and polls again before it waits
  // on its condition variable. Those ~25 ms of timed wake-ups, after each
  // lull, take the two cores from the io and writer threads, and a message
  // that arrives meanwhile waits out the sleep. Without that phase an idle
  // worker waits on its condition variable, which a message sent from
  // another thread signals at once.
  p->caf_cfg->set("work-stealing.moderate-poll-attempts", size_t{0});
  p->caf_cfg->add_error_category(
    errc_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      std::string out = std::string{"hookwerk: "} + to_string(static_cast<errc>(code));
      if (ctx.match_elements<std::string>() && !ctx.get_as<std::string>(0).empty())
        out += " (" + ctx.get_as<std::string>(0) + ")";
      return out;
    });
  p->system = std::make_unique<caf::actor_system>(*p->caf_cfg);

  // Hooks with stored entries get their actor at once, the others when needed.
  size_t expected_hooks = 0;
  for (const auto& hook : snapshot->hooks)
    expected_hooks += snapshot->with_entries.count(hook.id);
  p->registry = p->system->spawn(registry_impl, p->ctx, std::move(*snapshot));

  // The registry spawns the actors of hooks with stored entries while it
  // initialises; once it has answered a request and they run, recovery is
  // complete.
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

bool runtime::shutdown() {
  if (!impl_ || impl_->stopped)
    return true;
  impl_->stopped = true;
  auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [started] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                 - started)
      .count();
  };
  // SPEC §1: done within --delivery-timeout + 5 s.
  auto deadline = started + impl_->cfg.delivery_timeout + std::chrono::seconds{4};
  // Password checks and DNS checks not started yet are answered "try again",
  // not run: nobody waits for their answers any more.
  if (impl_->pool)
    impl_->pool->stop();
  if (impl_->system) {
    // Start nothing new; let attempts in flight finish and their outcomes be
    // handed to the writer, within the delivery timeout.
    impl_->ctx->draining.store(true);
    auto drained_by = started + impl_->cfg.delivery_timeout + std::chrono::milliseconds{500};
    while (impl_->ctx->in_flight.load() > 0 && std::chrono::steady_clock::now() < drained_by)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  // Everything submitted so far becomes durable; later writes are refused.
  if (impl_->writer)
    impl_->writer->stop();
  log::info("state persisted (" + std::to_string(elapsed_ms()) + " ms)");
  if (impl_->sender)
    impl_->sender->stop();
  if (impl_->system) {
    caf::anon_send_exit(impl_->registry, caf::exit_reason::user_shutdown);
    impl_->registry = nullptr;
    // Stopping hundreds of thousands of idle actors one by one takes CAF
    // long; their state is durable already, so they get a short grace only.
    auto stop_by = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds{3});
    auto& actors = impl_->system->registry();
    while (actors.running() > 0 && std::chrono::steady_clock::now() < stop_by)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    if (actors.running() > 0) {
      log::warn(std::to_string(actors.running())
                + " actors still stopping at the shutdown deadline; the database is left to "
                  "recover from its synced log");
      return false;
    }
    log::info("actors stopped (" + std::to_string(elapsed_ms()) + " ms)");
  }
  impl_->system.reset();
  impl_->sender.reset();
  impl_->writer.reset();
  impl_->store.reset();
  log::info("database closed (" + std::to_string(elapsed_ms()) + " ms)");
  return true;
}

} // namespace hookwerk::engine
