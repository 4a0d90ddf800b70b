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
  /// Threads running the client's io_context (connections, TLS, DNS). Default: 1
  size_t io_threads = 1;
  /// `--allow-private-targets`: permit loopback, private, link-local ... addresses.
  /// Default: false (such targets fail with "target not allowed: ...").
  bool allow_private_targets = false;
  /// Largest response body read; a larger response still counts by its status, and its
  /// connection is closed instead of reused. Default: 64 KiB
  size_t max_response_body = 64 * 1024;
  /// Most idle keep-alive connections kept per hook; 0 disables reuse. Default: 8
  size_t max_idle_per_hook = 8;
  /// An idle connection unused for this long is closed. Default: 30s
  std::chrono::seconds idle_timeout{30};
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
/// Redirects are not followed. Connections are pooled per hook and never shared between
/// hooks; an idle connection that the server closed is replaced once, transparently, when
/// nothing of the response arrived.
///
/// Threads: `send`, `forget` and `stop` may be called from any thread, except that `stop`
/// (and the destructor) must not be called from inside a `done` callback. `send` never
/// blocks. Callbacks run on the sender's io threads.
class http_sender final : public sender {
public:
  /// Starts the io threads. Throws std::runtime_error when `ca_file` cannot be loaded or
  /// the resolver cannot be set up (e.g. invalid `dns_servers`).
  explicit http_sender(http_sender_options options = {});
  /// Calls `stop()`.
  ~http_sender() override;

  http_sender(const http_sender&) = delete;
  http_sender& operator=(const http_sender&) = delete;

  /// Starts one attempt. `done` gets the result exactly once; after `stop()` began, at once
  /// (on the calling thread) with error "shutting down".
  void send(delivery_request request, callback done) override;

  /// Closes the hook's idle connections; connections of its attempts in flight are not
  /// pooled afterwards.
  void forget(uint64_t hook_id) override;

  /// Ends every attempt in flight (its callback gets error "shutting down"), closes all
  /// connections and joins the io threads; returns when every callback has returned.
  /// Idempotent.
  void stop();

  /// Idle pooled connections right now (all hooks). For tests and metrics.
  size_t idle_connections() const;

private:
  std::unique_ptr<detail::http_sender_core> core_;
};

} // namespace hookwerk::engine
