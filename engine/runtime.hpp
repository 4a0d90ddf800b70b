#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "engine/config.hpp"
#include "storage/status.hpp"

namespace caf {
class actor_system;
}

namespace hookwerk {
struct actor_context;
}

namespace hookwerk::engine {

class blocking_pool;

/// What start-up recovery found and started.
struct recovery_report {
  uint64_t accounts = 0;
  uint64_t hooks = 0;
  uint64_t hook_actors = 0;
  uint64_t orphans_removed = 0;
};

/// The running engine: the database and its group-commit writer, the actor
/// system with the registry and one actor per webhook, and the blocking pool.
/// start() performs start-up recovery; shutdown() stops everything in order.
/// Methods are called from the main thread; the accessors are safe to use
/// from any thread while the runtime lives.
class runtime {
public:
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Opens the data directory (failing with errc::storage_locked when another
  /// process holds it), settles the tokens, starts the actors and recovers
  /// every webhook.
  static expected<std::unique_ptr<runtime>> start(const serve_config& cfg);

  caf::actor_system& system();
  const registry_actor& registry() const;
  blocking_pool& blocking();
  actor_context& context();
  const serve_config& config() const;

  const std::string& admin_token() const;
  const std::string& ingest_token() const;
  const recovery_report& recovery() const;

  /// Stops new attempts, waits for those in flight, makes every submitted
  /// write durable, stops the actors and closes the database; idempotent.
  /// Bounded by --delivery-timeout + 4 s: returns false when actors were still
  /// stopping then — all state is durable, and the caller should exit the
  /// process without tearing the engine down (the database recovers from its
  /// synced log on the next start).
  bool shutdown();

private:
  struct impl;
  explicit runtime(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace hookwerk::engine
