#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/support/url.hpp"

/// The interface through which hook actors deliver: they hand over one attempt
/// and get its outcome back through a callback (which they turn into a message
/// to themselves). The implementation (engine/http_sender) owns the network;
/// actors never see sockets, Beast or DNS.
namespace hookwerk {

/// Where a hook's deliveries go: its URL, parsed once and shared by all its
/// attempts (a hook's URL never changes).
struct delivery_target {
  std::string url;
  /// nullopt when the URL is not a valid webhook URL (every attempt fails).
  std::optional<support::parsed_url> parts;
  /// "scheme://host:port": a pooled connection serves only its own origin (and only
  /// attempts that resolved the address it is connected to).
  std::string pool_key;
  /// The Host header: the host, bracketed if IPv6, with the port unless default.
  std::string host_header;

  static std::shared_ptr<const delivery_target> make(std::string url);
};

/// One delivery attempt: POST `body` to the target with `headers`.
struct delivery_request {
  /// Attempts waiting for a connection take turns per hook (connections are
  /// pooled per origin; a hung request holds only its own).
  uint64_t hook_id = 0;
  std::shared_ptr<const delivery_target> target;
  /// Headers beyond Host, Content-Length and Connection (which the sender sets).
  std::vector<std::pair<std::string, std::string>> headers;
  /// Shared, because a fan-out sends the same payload many times.
  std::shared_ptr<const std::string> body;
  /// Connect + full response.
  std::chrono::milliseconds timeout{10000};
};

/// Whose side a failed attempt failed on. Only the receiver's failures count toward
/// deactivating a hook (SPEC §1 --failure-threshold); the server's own are retried without
/// counting.
enum class fault : uint8_t {
  /// No failure (a 2xx), or a sender that does not say.
  none,
  /// The receiver's: connection refused or reset by it, a timeout waiting for it, a TLS
  /// failure, a non-2xx answer, an address the private-target rule refuses, an invalid URL,
  /// a host name that does not exist.
  receiver,
  /// The server's own: its resolver failing or not answering (SERVFAIL, timeout, refused,
  /// unreachable), no descriptors, ports, buffers or memory, the sender shutting down.
  local,
};

/// What happened to one attempt.
struct delivery_result {
  /// The response status, 0 when no response arrived.
  unsigned http_status = 0;
  /// Empty when a response arrived; otherwise a short description such as
  /// "connection refused", "timeout", "dns: ...", "tls: ...",
  /// "target not allowed: 10.0.0.1 is private".
  std::string error;
  /// From a Retry-After header (delta-seconds form) on a 429 or 503.
  std::optional<std::chrono::seconds> retry_after;
  std::chrono::milliseconds duration{0};
  /// Set by the sender where the error is produced. A failure left at `none` counts as
  /// the receiver's.
  fault at_fault = fault::none;

  bool success() const noexcept { return error.empty() && http_status >= 200 && http_status < 300; }
  /// A failure on the server's own side (never counted toward deactivation).
  bool local_failure() const noexcept { return !success() && at_fault == fault::local; }
};

/// Thread-safe. `done` is called exactly once per send, from a sender thread,
/// and must not block.
class sender {
public:
  using callback = std::function<void(delivery_result)>;

  virtual ~sender() = default;

  virtual void send(delivery_request request, callback done) = 0;

  /// A hook was deleted or deactivated: the sender may drop what it keeps for it.
  virtual void forget(uint64_t hook_id) = 0;
};

} // namespace hookwerk
