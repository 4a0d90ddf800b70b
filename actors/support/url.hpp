#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Parsing and validation of webhook target URLs. Pure functions; safe from any thread.
namespace hookwerk::support {

/// Longest URL accepted for a webhook, in bytes.
inline constexpr std::size_t max_hook_url_length = 2048;

/// The parts of a webhook URL that a delivery needs.
struct parsed_url {
  /// "http" or "https", lower-cased.
  std::string scheme;
  /// Host as written, lower-cased; an IPv6 literal without its brackets. For a name, only
  /// letters, digits, '-', '.' and '_' occur (no percent-encoding).
  std::string host;
  /// The explicit port, or 80 / 443 by scheme; never 0.
  uint16_t port = 0;
  /// Path and query exactly as written ("/" when the path is empty, fragment dropped);
  /// what goes on the request line.
  std::string target;
  /// True when the host is a strict dotted-quad IPv4 or a bracketed IPv6 literal. Legacy
  /// numeric forms such as "127.1" or "2130706433" are names here (the resolver maps them).
  bool host_is_ip_literal = false;
};

/// Validates a URL given to CreateWebHook (and stored with the hook). Accepts an absolute
/// http or https URL (scheme in any case) of at most `max_hook_url_length` bytes with a
/// non-empty host, no userinfo, a port of 1..65535 if one is given (a ':' without digits
/// is rejected), and no whitespace, control or non-ASCII bytes. IPvFuture hosts and
/// IPv6 zone identifiers are rejected. Returns nullopt for anything else; never throws.
std::optional<parsed_url> parse_hook_url(std::string_view url);

} // namespace hookwerk::support
