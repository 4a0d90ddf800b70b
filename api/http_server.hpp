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
  std::chrono::seconds idle_timeout{30};       // Default: 30s (SPEC §8)
  size_t io_threads = 1;                       // Default: 1
};

/// Handles every request that is not answered by the server itself.
using request_handler = std::function<void(std::shared_ptr<http_exchange>)>;

/// Builds the response for a request the server rejects before handing it on
/// (body too large, header too large, malformed), so that each API answers in
/// its own format. Arguments: path of the request (may be empty), HTTP status,
/// text.
using rejection_builder = std::function<http_response(std::string_view path, unsigned status,
                                                      std::string_view text)>;

/// The HTTP/1.1 listener (Boost.Beast) on its own io_context thread(s). It
/// answers /healthz and /readyz itself and hands everything else to the
/// handler. Keep-alive, one request at a time per connection, a deadline on
/// every read and write.
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
