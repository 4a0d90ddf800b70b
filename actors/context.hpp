#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/metrics.hpp"

namespace hookwerk {

namespace storage {
class store;
class writer;
} // namespace storage

class sender;

/// How hook actors deliver (SPEC §1, §5). Filled once from the command line.
struct delivery_settings {
  std::vector<std::chrono::milliseconds> retry_schedule; ///< --retry-schedule
  uint32_t failure_threshold = 10;                       ///< --failure-threshold
  std::chrono::milliseconds failure_window{300000};      ///< --failure-window (0: the count alone)
  std::chrono::milliseconds timeout{10000};              ///< --delivery-timeout
  uint32_t max_in_flight = 8;                            ///< --max-in-flight
  std::chrono::milliseconds max_event_age{std::chrono::hours{72}}; ///< --max-event-age
  /// Entries of a hook's queue held in memory; the rest is paged from disk.
  size_t window = 256;                                   // Default: 256
  /// Attempt records kept per hook (newest); older ones are deleted.
  uint64_t attempts_kept = 1000;                         // Default: 1000
  std::chrono::milliseconds buffer_retention{std::chrono::hours{120}}; ///< --buffer-retention
  uint64_t buffer_limit = 100000;                        ///< --buffer-limit
  std::chrono::milliseconds buffer_max_age{std::chrono::hours{720}};   ///< --buffer-max-age
};

/// Bounds that keep one account's growth from stalling or exhausting the
/// server (docs/decisions.md, "Bounds"). Filled once from the command line.
struct account_limits {
  uint64_t max_hooks_per_account = 10000;                ///< --max-hooks-per-account
  /// Payload bytes times hooks queued that one ingestion request may add.
  uint64_t max_fanout_bytes = 256ull << 20;              ///< --max-fanout-bytes
  /// Notifications kept per account (newest); older ones are deleted when a
  /// new one is stored.
  uint64_t notifications_kept = 1000;                    // Default: 1000
};

/// What every actor shares: the database, the writer, the sender and the
/// settings that shape their behaviour. Created once by the engine before any
/// actor starts and outlives all of them; the pointers are never null.
struct actor_context {
  storage::store* store = nullptr;
  storage::writer* writer = nullptr;
  hookwerk::sender* sender = nullptr;

  /// Event names hooks may subscribe to (`--events`).
  std::vector<std::string> events;

  delivery_settings delivery;

  account_limits limits;

  /// Prefix of every event id this database hands out ("evt_" + instance).
  std::string event_id_prefix = "evt_";

  /// A hook actor with nothing to do for this long is stopped; the registry
  /// spawns it again for its next event or call (`--passivate-after`).
  std::chrono::milliseconds passivate_after{std::chrono::seconds{60}};

  /// How often the registry runs the self-check on every running hook actor (0: never;
  /// `--self-check-interval`, hidden).
  std::chrono::milliseconds self_check_interval{std::chrono::minutes{1}};

  /// An attempt in flight for longer than twice --delivery-timeout plus this is taken as
  /// lost by the self-check (the sender answers every attempt by its timeout).
  std::chrono::milliseconds attempt_grace{std::chrono::minutes{1}};

  /// Ingestion stops accepting when this many bytes wait for the disk.
  uint64_t max_pending_ingest_bytes = 64u << 20;         // Default: 64 MiB

  /// Number of hook actors currently alive (for logs and metrics).
  std::atomic<int64_t> hook_actors{0};

  /// Attempts handed to the sender whose result has not been handled.
  std::atomic<int64_t> in_flight{0};

  /// Set at shutdown: hooks start no new attempts.
  std::atomic<bool> draining{false};

  hookwerk::metrics stats;
};

} // namespace hookwerk
