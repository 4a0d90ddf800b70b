#pragma once

#include <span>
#include <string>
#include <vector>

#include "actors/support/address_policy.hpp"
#include "actors/support/url.hpp"

/// Host name resolution and the rule deciding whether a webhook URL may be targeted.
/// These functions block (getaddrinfo can wait for DNS timeouts): call them only off
/// the actor scheduler threads. Safe to call from several threads at once.
namespace hookwerk::support {

/// The outcome of resolving one host.
struct resolve_result {
  /// False when the lookup failed; `error` then says why.
  bool resolved = false;
  /// Each address once, in the order getaddrinfo returned them.
  std::vector<ip_address> addresses;
  std::string error;
};

/// Resolves `host` (a name, or a numeric address without brackets) with getaddrinfo
/// (AF_UNSPEC, SOCK_STREAM). Numeric forms that glibc accepts, including legacy ones
/// such as "127.1", "0x7f000001", "2130706433" and "0177.0.0.1", become the address they
/// denote.
resolve_result resolve_host(const std::string& host);

enum class target_verdict { allowed, forbidden };

/// Whether a target may be used, and a human-readable reason for logs.
struct target_check {
  target_verdict verdict = target_verdict::allowed;
  /// For a forbidden target, names the address and its class ("127.0.0.1 is loopback");
  /// for an allowed one, may note why it was not checked. Not for API responses.
  std::string detail;
};

/// Applies the address rule to addresses already resolved (for example by the delivery
/// client, which should connect only to addresses that passed): forbidden when any of
/// them is forbidden and `allow_private` is false. An empty list is allowed. Does not block.
target_check check_addresses(std::span<const ip_address> addresses, bool allow_private);

/// The rule for CreateWebHook and for each delivery. With `allow_private`, allowed
/// without resolving. Otherwise an IP literal is checked directly; "localhost" and names
/// under ".localhost" are forbidden as loopback without asking DNS; any other name is
/// resolved and forbidden when any of its addresses is. A name that does not resolve now
/// is allowed (DNS may be down; the rule is applied again at each delivery).
target_check check_target(const parsed_url& url, bool allow_private);

} // namespace hookwerk::support
