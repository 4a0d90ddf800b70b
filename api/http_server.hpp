#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http.hpp"
#include "storage/status.hpp"

namespace hookwerk::api {

struct http_server_options {
  std::string host = "127.0.0.1";             // Default: 127.0.0.1
  uint16_t port = 8080;                        // Default: 8080 (0 = any free port)
  size_t max_body = 262144;                    // Default: 256 KiB (--max-body)
  size_t max_header = 16 * 1024;               // Default: 16 KiB (SPEC §8)
  /// From the moment a connection is accepted, or has written its last
  /// response, the next request (header and body) must have arrived within
  /// this time, else the connection is closed: the keep-alive idle timeout and
  /// the deadline of a slow client in one (not reset per byte received).
  std::chrono::milliseconds idle_timeout{30'000}; // Default: 30s (SPEC §8)
  /// Open connections at most (the effective --max-connections). At the cap a
  /// new connection closes the longest-idle one; if none is idle it is closed.
  size_t max_connections = 10'000;             // Default: 10000
};

/// Handles every request that is not answered by the server itself.
using request_handler = std::function<void(std::shared_ptr<http_exchange>)>;

/// Builds the response for a request the server rejects before handing it on
/// (body too large, header too large, malformed), so that each API answers in
/// its own format. Arguments: path of the request (may be empty), HTTP status,
/// text.
using rejection_builder = std::function<http_response(std::string_view path, unsigned status,
                                                      std::string_view text)>;

/// The HTTP/1.1 listener (Boost.Beast) on its own io_context thread. It
/// answers /healthz and /readyz itself and hands everything else to the
/// handler. Keep-alive, one request at a time per connection, a deadline on
/// every read and write. Connections are counted and, up to the cap, kept in
/// order of idleness on the io thread (a connection is idle from its accept or
/// its last response until its next request header is complete). An accept
/// error (no descriptors left) closes the longest-idle connection and retries
/// once at once; when that is impossible or fails too, accepting pauses for
/// 10 ms, doubling to 100 ms while it keeps failing, instead of spinning.
class http_server {
public:
  http_server(http_server_options opts, request_handler handler, rejection_builder reject);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and listens; returns "HOST:PORT" of the bound address (with the
  /// real port when 0 was asked for). Starts the io threads.
  expected<std::string> start();

  /// From then on /readyz answers 200.
  void set_ready(bool ready);

  /// Closes the listener; connections finish their current request.
  void stop_accepting();

  /// Stops the io threads (after stop_accepting). Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hookwerk::api
