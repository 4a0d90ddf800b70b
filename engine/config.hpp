#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::engine {

/// The default for `--workers`: the number of cores the system reports, at least 1 and at
/// most 256 (the largest value `--workers` accepts).
inline unsigned default_workers() {
  return std::clamp(std::thread::hardware_concurrency(), 1u, 256u);
}

/// Everything `hookwerk serve` is told on its command line (SPEC §1), one field per flag.
/// A default-constructed value holds the SPEC defaults. `main` fills one instance through
/// `parse_command_line` and passes it (or parts of it) down by value or const reference;
/// nothing else reads the command line or the environment. Plain data, no invariants beyond
/// those `parse_command_line` checks.
struct serve_config {
  /// `--listen HOST:PORT`: the address of the one HTTP/1.1 listener. An IPv6 host is stored
  /// without its brackets (`::1`). Port 0 asks the system for a free port.
  std::string listen_host = "127.0.0.1"; // Default: 127.0.0.1
  std::uint16_t listen_port = 8080;      // Default: 8080

  /// `--data-dir DIR`: the RocksDB database directory; created if missing.
  std::string data_dir = "./hookwerk-data"; // Default: ./hookwerk-data

  /// `--admin-token TOKEN`, else env `HOOKWERK_ADMIN_TOKEN`. Empty: neither was given; the
  /// server uses the token stored in the data dir or generates, stores and prints one.
  std::optional<std::string> admin_token; // Default: none (stored or generated)

  /// `--ingest-token TOKEN`, else env `HOOKWERK_INGEST_TOKEN`; same rule as `admin_token`.
  std::optional<std::string> ingest_token; // Default: none (stored or generated)

  /// `--events LIST`: the event names hooks may subscribe to; distinct, never empty.
  std::vector<std::string> events = { // Default: optin_finalized,optout_finalized,
      "optin_finalized",              //          profilemanager_finalized
      "optout_finalized",
      "profilemanager_finalized",
  };

  /// `--retry-schedule LIST`: delay before attempt 2, 3, …; after the last, the last delay
  /// repeats. Never empty; every element is positive. Jitter (±10 %) is applied by the user.
  std::vector<std::chrono::milliseconds> retry_schedule = { // Default: 10s,30s,2m,5m,15m,30m,
      std::chrono::seconds{10}, std::chrono::seconds{30},   //          1h,2h,4h,8h
      std::chrono::minutes{2},  std::chrono::minutes{5},
      std::chrono::minutes{15}, std::chrono::minutes{30},
      std::chrono::hours{1},    std::chrono::hours{2},
      std::chrono::hours{4},    std::chrono::hours{8},
  };

  /// `--failure-threshold N`: consecutive failed attempts after which a hook is deactivated.
  std::uint32_t failure_threshold = 10; // Default: 10

  /// `--failure-window DUR`: deactivation also needs the first of those consecutive failures
  /// to be at least this old, so attempts failing together cannot switch a hook off within
  /// seconds. 0 = the count alone. A 410 deactivates at once regardless.
  std::chrono::milliseconds failure_window = std::chrono::minutes{5}; // Default: 5m

  /// `--delivery-timeout DUR`: connect + full response, per attempt. Positive.
  std::chrono::milliseconds delivery_timeout = std::chrono::seconds{10}; // Default: 10s

  /// `--max-in-flight N`: concurrent deliveries per hook.
  std::uint32_t max_in_flight = 8; // Default: 8

  /// `--buffer-retention DUR`: how long after deactivation incoming events are still
  /// buffered. 0 means none are.
  std::chrono::milliseconds buffer_retention = std::chrono::days{5}; // Default: 5d

  /// `--buffer-limit N`: most events buffered per hook; beyond, they are dropped and counted.
  std::uint64_t buffer_limit = 100'000; // Default: 100000

  /// `--buffer-max-age DUR`: a buffer not replayed this long after deactivation is purged.
  std::chrono::milliseconds buffer_max_age = std::chrono::days{30}; // Default: 30d

  /// `--max-event-age DUR`: an event still failing this long after its first attempt is given
  /// up (error `expired`).
  std::chrono::milliseconds max_event_age = std::chrono::days{3}; // Default: 3d

  /// `--passivate-after DUR`: a hook actor with nothing queued, buffered or in flight and no
  /// calls for this long is stopped; the next event or call starts it again from its record.
  /// 0 keeps actors once started. Not in the SPEC's table: it bounds memory with many hooks.
  std::chrono::milliseconds passivate_after = std::chrono::minutes{1}; // Default: 1m

  /// `--request-timeout DUR`: the longest the HTTP front waits for an actor's answer to one
  /// request; past it the client gets 503 with `Retry-After`. Positive.
  std::chrono::milliseconds request_timeout = std::chrono::seconds{30}; // Default: 30s

  /// `--idle-timeout DUR` (hidden, not in the help: tests shorten it): a connection that
  /// has not sent a complete request (header and body) within this time of its accept or
  /// of its last response is closed, which cuts off idle keep-alive and slow clients (SPEC §8).
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{30}; // Default: 30s

  /// `--self-check-interval DUR` (hidden, not in the help: tests shorten it): how often every
  /// running hook actor checks that its pending events are not stuck (docs/decisions.md,
  /// "Self-check"). 0 turns the check off.
  std::chrono::milliseconds self_check_interval = std::chrono::minutes{1}; // Default: 1m

  /// `--max-connections N`: open inbound HTTP connections. At the cap a new connection evicts
  /// the longest-idle one; when every connection is busy the new one is closed. Lowered at
  /// start to what the descriptor limit leaves after a reserve for storage and deliveries.
  std::uint32_t max_connections = 10'000; // Default: 10000

  /// `--max-outbound N`: open outbound delivery connections, all receivers together.
  std::uint32_t max_outbound = 4'096; // Default: 4096

  /// `--max-idle-per-origin N`: idle outbound connections kept per receiver origin
  /// (scheme, host, port, address), shared by every hook of that origin.
  std::uint32_t max_idle_per_origin = 32; // Default: 32

  /// `--max-hooks-per-account N`: webhooks one account may have.
  std::uint32_t max_hooks_per_account = 10'000; // Default: 10000

  /// `--max-fanout-bytes BYTES`: payload bytes times the number of hooks one ingestion
  /// request may queue; above, the request is refused with 413.
  std::uint64_t max_fanout_bytes = 256ull * 1024 * 1024; // Default: 268435456 (256 MiB)

  /// `--max-failed-logins N`: failed logins per minute from one client address for one
  /// username; past it that pair is answered "login failed" without hashing. 0 = no limit.
  std::uint32_t max_failed_logins = 20; // Default: 20

  /// `--max-body BYTES`: largest event payload / request body accepted.
  std::size_t max_body = 262'144; // Default: 262144

  /// `--allow-private-targets`: permit hook URLs on loopback, private and link-local addresses.
  bool allow_private_targets = false; // Default: off

  /// `--public-url URL`: base of links in notifications, `http://` or `https://`, without a
  /// trailing `/`. Empty: `http://` + the address actually bound (the real port if 0 was asked).
  std::optional<std::string> public_url; // Default: derived from the bound address

  /// `--ca-file FILE`: extra CA certificates (PEM) trusted for HTTPS deliveries, in addition
  /// to the system trust store. Not in the SPEC's table: private CAs and tests need it.
  std::string ca_file; // Default: none

  /// Env `HOOKWERK_DNS_SERVERS` (no flag; for tests and special set-ups): the name servers
  /// deliveries resolve host names with, as "ip[:port],...", instead of /etc/resolv.conf.
  std::string dns_servers; // Default: empty (the system's)

  /// No flag: PBKDF2-HMAC-SHA256 iterations of the password hash of a new account (an
  /// existing account keeps the count stored with it) and of the check of an unknown
  /// username. The default is SPEC §2's; only the fuzz harness lowers it.
  std::uint32_t password_iterations = 600'000; // Default: 600000

  /// `--workers N`: actor scheduler threads.
  unsigned workers = default_workers(); // Default: number of cores (1..256)
};

} // namespace hookwerk::engine
