#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/sender.hpp"

namespace hookwerk::engine {

/// Settings of the outbound HTTP client. Plain data; `main` fills it from the command line.
struct http_sender_options {
  /// `--allow-private-targets`: permit loopback, private, link-local ... addresses.
  /// Default: false (such targets fail with "target not allowed: ...").
  bool allow_private_targets = false;
  /// Largest response body read; a larger response still counts by its status, and its
  /// connection is closed instead of reused. Default: 64 KiB
  size_t max_response_body = 64 * 1024;
  /// `--max-idle-per-origin`: most idle keep-alive connections kept per origin (scheme,
  /// host, port and the address connected to), shared by every hook of that origin;
  /// 0 disables reuse. Default: 32
  size_t max_idle_per_origin = 32;
  /// `--max-outbound`: most open outbound connections, all origins together (idle ones
  /// included). At the cap an attempt waits for a connection; 0 counts as 1. Default: 4096
  size_t max_outbound = 4096;
  /// An idle connection unused for this long is closed. Default: 30s
  std::chrono::milliseconds idle_timeout{30000};
  /// Idle connections of an origin beyond `max_idle_per_origin` are closed (oldest first)
  /// once idle this long, so that a burst of attempts reuses the connections the previous
  /// burst opened instead of opening and closing them again. Default: 1s
  std::chrono::milliseconds idle_surplus_linger{1000};
  /// The User-Agent header, unless the request brings its own. Default: "Hookwerk/<version>"
  std::string user_agent = "Hookwerk/" HOOKWERK_VERSION;
  /// A PEM file of extra trusted CA certificates (tests, private CAs), trusted in addition
  /// to the system store. Default: empty (system trust store only)
  std::string ca_file;
  /// Name servers as "ip[:port],..." instead of those in /etc/resolv.conf (tests, special
  /// set-ups). Default: empty (the system's)
  std::string dns_servers;
};

namespace detail {
class http_sender_core;
} // namespace detail

/// Delivers attempts over HTTP/1.1 and HTTPS (Beast, OpenSSL, c-ares), see SPEC §5.
///
/// Each attempt: the URL is parsed, the host resolved asynchronously, every resolved
/// address checked against the private-target rule, and only checked addresses are
/// connected to; HTTPS verifies the certificate chain and the host name (TLS 1.2+). The
/// whole attempt (resolve, connect, TLS, write, read) ends by `request.timeout`.
/// Redirects are not followed. An idle connection that the server closed is replaced once,
/// transparently, when nothing of the response arrived.
///
/// Connections are pooled per origin: scheme, host and port of the URL, and the address the
/// connection was opened to. Any hook's attempt reuses an idle connection of its origin, but
/// only one whose address is among those it has just resolved and checked; a connection is
/// used by one attempt at a time, so a hung request holds only its own connection. At most
/// `max_outbound` connections are open in all: an attempt that finds the cap reached closes
/// the longest-idle connection (of whatever origin) and opens its own, or, when none is
/// idle, waits. Waiting attempts are served round-robin across origins and, within an
/// origin, across hooks; waiting is not a failure and does not count against the attempt's
/// timeout, which runs from when it has a connection (or a slot to open one).
///
/// Threads: the sender runs one io thread of its own (connections, TLS, DNS, timers), and
/// every attempt's handlers run on it. `send`, `forget` and `stop` may be called from any
/// thread, except that `stop` (and the destructor) must not be called from inside a `done`
/// callback. `send` never blocks. Callbacks run on the sender's io thread.
class http_sender final : public sender {
public:
  /// Starts the io thread. Throws std::runtime_error when `ca_file` cannot be loaded or
  /// the resolver cannot be set up (e.g. invalid `dns_servers`).
  explicit http_sender(http_sender_options options = {});
  /// Calls `stop()`.
  ~http_sender() override;

  http_sender(const http_sender&) = delete;
  http_sender& operator=(const http_sender&) = delete;

  /// Starts one attempt. `done` gets the result exactly once; after `stop()` began, at once
  /// (on the calling thread) with error "shutting down".
  void send(delivery_request request, callback done) override;

  /// Nothing to do: connections belong to origins, not hooks, and a hook's waiting and
  /// running attempts still end with a result.
  void forget(uint64_t hook_id) override;

  /// Ends every attempt in flight (its callback gets error "shutting down"), closes all
  /// connections and joins the io thread; returns when every callback has returned.
  /// Idempotent.
  void stop();

  /// Idle pooled connections right now (all origins). For tests and metrics.
  size_t idle_connections() const;

  /// Open outbound connections right now (idle, in use or connecting). For tests and metrics.
  size_t open_connections() const;

  /// Attempts waiting for a connection because `max_outbound` is reached. For tests and
  /// metrics.
  size_t waiting_attempts() const;

private:
  std::unique_ptr<detail::http_sender_core> core_;
};

} // namespace hookwerk::engine
