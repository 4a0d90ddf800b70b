#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/support/address_policy.hpp"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace hookwerk::engine {

/// The outcome of one host name lookup.
struct dns_answer {
  /// Each address once, in the resolver's preferred order; empty when the lookup failed.
  std::vector<support::ip_address> addresses;
  /// Empty on success; otherwise why the lookup failed ("Domain name not found", ...).
  std::string error;
  /// For a failure: true when it is the resolver's (ours) rather than the name's: the
  /// name server failed (SERVFAIL), refused, did not answer or could not be reached, or we
  /// ran out of memory or descriptors. False when the name does not exist, has no
  /// address, or is not a valid name.
  bool local_failure = false;
};

/// Settings of a `dns_resolver`.
struct dns_resolver_options {
  /// Longest time an answer is reused; an answer whose DNS TTL is shorter is reused only
  /// that long. Failures are not cached. Default: 30s
  std::chrono::seconds cache_ttl{30};
  /// Most names kept in the cache. Default: 4096
  std::size_t cache_entries = 4096;
  /// How long one query waits for a server before it tries again. Default: 2000ms
  std::chrono::milliseconds query_timeout{2000};
  /// How many times a query is sent to each server. Default: 2
  int tries = 2;
  /// Name servers as "ip[:port],..." instead of those in /etc/resolv.conf (tests, special
  /// set-ups). Default: empty (the system's)
  std::string servers;
};

/// Asynchronous host name resolution with c-ares, driven by an io_context: its sockets and
/// timeouts are waited for by the io_context's threads, so a slow name server never blocks
/// another lookup or a thread. Looks at /etc/hosts first, then DNS. Also answers without
/// asking DNS: numeric hosts (including legacy forms such as "127.1", as getaddrinfo
/// would), names under ".invalid" (never exist) and, when /etc/hosts does not list them,
/// "localhost" and names under ".localhost" (loopback), as RFC 6761 asks.
/// Concurrent lookups of one name share one query; answers are cached briefly.
///
/// Threads: `resolve` may be called from any thread. Lifetime: destroy it only once the
/// io_context no longer runs (its threads joined), and before the io_context itself.
class dns_resolver {
public:
  /// Called once per `resolve`, on one of the io_context's threads; must not block.
  using handler = std::function<void(dns_answer)>;

  /// Throws std::runtime_error when c-ares cannot be initialised or `servers` is invalid.
  explicit dns_resolver(boost::asio::io_context& io, dns_resolver_options options = {});
  ~dns_resolver();

  dns_resolver(const dns_resolver&) = delete;
  dns_resolver& operator=(const dns_resolver&) = delete;

  /// Looks `host` up (A and AAAA). `done` is never called from inside this call.
  void resolve(std::string host, handler done);

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hookwerk::engine
