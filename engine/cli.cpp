#include "engine/cli.hpp"

#include "actors/support/duration.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <unordered_set>

#ifndef HOOKWERK_VERSION
#define HOOKWERK_VERSION "0.0.0"
#endif

namespace hookwerk::engine {

namespace {

using std::chrono::milliseconds;
using support::format_duration;
using support::parse_duration;

/// Nothing on success, else the complete message for the user.
using problem = std::optional<std::string>;

// Bounds of the numeric flags. The SPEC gives none; these keep values sane.
constexpr std::uint64_t max_failure_threshold = 1'000'000;
constexpr std::uint64_t max_in_flight_limit = 1'000;
constexpr std::uint64_t max_buffer_limit = 1'000'000'000;
constexpr std::uint64_t min_max_body = 1'024;
constexpr std::uint64_t max_max_body = 64 * 1024 * 1024;
constexpr std::uint64_t max_workers = 256;
constexpr std::uint64_t max_connection_limit = 1'000'000;
constexpr std::uint64_t max_hooks_limit = 10'000'000;
constexpr std::uint64_t min_fanout_bytes = 1'024;
constexpr std::uint64_t max_fanout_bytes_limit = 1ull << 40;

constexpr std::string_view usage_text = "usage: hookwerk serve [flags] | hookwerk --help | "
                                        "hookwerk --version";
constexpr std::string_view duration_hint = "(use e.g. 500ms, 10s, 2m, 1h, 5d)";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/// Printable ASCII other than the space.
bool is_visible(char c) { return c > ' ' && c < '\x7f'; }

/// `"value"`, with quotes, backslashes and unprintable bytes escaped so a message stays on
/// one line and shows exactly what was given.
std::string quote(std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= ' ' && c < '\x7f') {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  out += '"';
  return out;
}

std::string fail(std::string_view flag, std::string_view text) {
  std::string out{flag};
  out += ": ";
  out += text;
  return out;
}

// ---- value parsers: each returns a problem naming `flag` and the bad value -------------------

problem parse_whole(std::string_view flag, std::string_view value, std::uint64_t min,
                    std::uint64_t max, std::uint64_t& out) {
  bool digits_only = !value.empty();
  for (char c : value)
    digits_only = digits_only && is_digit(c);
  if (!digits_only)
    return fail(flag, quote(value) + " is not a whole number");
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < min || n > max)
    return fail(flag, quote(value) + " is not between " + std::to_string(min) + " and " +
                        std::to_string(max));
  out = n;
  return std::nullopt;
}

/// Explains why `value` was refused by `parse_duration`.
std::string duration_problem(std::string_view flag, std::string_view value) {
  std::size_t digits = 0;
  while (digits < value.size() && is_digit(value[digits]))
    ++digits;
  std::string_view unit = value.substr(digits);
  bool well_formed = digits > 0 && (unit == "ms" || unit == "s" || unit == "m" || unit == "h" ||
                                    unit == "d");
  if (well_formed)
    return fail(flag, quote(value) + " is longer than the maximum of " +
                        format_duration(support::max_duration));
  return fail(flag, quote(value) + " is not a duration " + std::string{duration_hint});
}

problem parse_duration_at_least(std::string_view flag, std::string_view value, milliseconds min,
                                milliseconds& out) {
  auto d = parse_duration(value);
  if (!d)
    return duration_problem(flag, value);
  if (*d < min) {
    if (min == milliseconds{1})
      return fail(flag, quote(value) + " must be greater than 0");
    return fail(flag, quote(value) + " must be at least " + format_duration(min));
  }
  out = *d;
  return std::nullopt;
}

/// Splits a comma-separated list; a problem if it is empty or has an empty element.
problem split_list(std::string_view flag, std::string_view value,
                   std::vector<std::string_view>& out) {
  out.clear();
  std::string_view rest = value;
  for (;;) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    if (item.empty()) {
      if (value.empty())
        return fail(flag, "the list is empty");
      return fail(flag, quote(value) + " has an empty element");
    }
    out.push_back(item);
    if (comma == std::string_view::npos)
      return std::nullopt;
    rest.remove_prefix(comma + 1);
  }
}

problem parse_retry_schedule(std::string_view flag, std::string_view value,
                             std::vector<milliseconds>& out) {
  std::vector<std::string_view> items;
  if (auto p = split_list(flag, value, items))
    return p;
  std::vector<milliseconds> schedule;
  for (auto item : items) {
    milliseconds d{};
    if (auto p = parse_duration_at_least(flag, item, milliseconds{1}, d))
      return p;
    schedule.push_back(d);
  }
  out = std::move(schedule);
  return std::nullopt;
}

problem parse_events(std::string_view flag, std::string_view value, std::vector<std::string>& out) {
  std::vector<std::string_view> items;
  if (auto p = split_list(flag, value, items))
    return p;
  std::unordered_set<std::string_view> seen;
  for (auto item : items) {
    for (char c : item)
      if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
        return fail(flag, quote(item) +
                            " is not a valid event name (use letters, digits, '_', '.', '-')");
    if (!seen.insert(item).second)
      return fail(flag, quote(item) + " is listed twice");
  }
  out.assign(items.begin(), items.end());
  return std::nullopt;
}

/// A DNS host name: dot-separated labels of letters, digits and '-', 1–63 bytes each, not
/// starting or ending with '-', 253 bytes in all.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253)
    return false;
  for (;;) {
    std::size_t dot = host.find('.');
    std::string_view label = host.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-')
        return false;
    if (dot == std::string_view::npos)
      return true;
    host.remove_prefix(dot + 1);
  }
}

bool is_ip_address(int family, std::string_view text) {
  std::string copy{text};
  unsigned char buffer[16];
  return ::inet_pton(family, copy.c_str(), buffer) == 1;
}

problem parse_listen(std::string_view flag, std::string_view value, serve_config& config) {
  const std::string shape = quote(value) + " is not HOST:PORT (e.g. 127.0.0.1:8080, "
                                           "localhost:0, [::1]:8080)";
  std::string_view host;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    std::size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':')
      return fail(flag, shape);
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    if (!is_ip_address(AF_INET6, host))
      return fail(flag, quote(host) + " in " + quote(value) + " is not an IPv6 address");
  } else {
    std::size_t colon = value.find(':');
    if (colon == std::string_view::npos)
      return fail(flag, shape);
    if (value.find(':', colon + 1) != std::string_view::npos)
      return fail(flag, quote(value) + " is not HOST:PORT (write an IPv6 address in brackets, "
                                       "e.g. [::1]:8080)");
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.empty())
      return fail(flag, quote(value) + " has no host (use e.g. 0.0.0.0:8080 for all IPv4 "
                                       "addresses)");
    bool numeric = true;
    for (char c : host)
      numeric = numeric && (is_digit(c) || c == '.');
    bool ok = numeric ? is_ip_address(AF_INET, host) : is_host_name(host);
    if (!ok)
      return fail(flag, quote(host) + " in " + quote(value) +
                          " is not an IPv4 address or a host name");
  }
  bool digits_only = !port.empty() && port.size() <= 5;
  for (char c : port)
    digits_only = digits_only && is_digit(c);
  std::uint32_t number = 0;
  if (digits_only)
    std::from_chars(port.data(), port.data() + port.size(), number);
  if (!digits_only || number > 65535)
    return fail(flag, "port " + quote(port) + " in " + quote(value) + " is not in 0..65535");
  config.listen_host.assign(host);
  config.listen_port = static_cast<std::uint16_t>(number);
  return std::nullopt;
}

/// Tokens: at least one byte, printable ASCII without spaces (they travel in an
/// `Authorization: Bearer` header). The value is never echoed: it is a secret.
problem check_token(std::string_view source, std::string_view value) {
  if (value.empty())
    return fail(source, "the token is empty");
  for (char c : value)
    if (!is_visible(c))
      return fail(source, "the token contains a space, a control character or a non-ASCII byte "
                          "(use printable ASCII only)");
  return std::nullopt;
}

problem parse_public_url(std::string_view flag, std::string_view value,
                         std::optional<std::string>& out) {
  auto starts_with_nocase = [&](std::string_view prefix) {
    if (value.size() < prefix.size())
      return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = value[i];
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i])
        return false;
    }
    return true;
  };
  std::size_t scheme = 0;
  if (starts_with_nocase("http://"))
    scheme = 7;
  else if (starts_with_nocase("https://"))
    scheme = 8;
  else
    return fail(flag, quote(value) + " must start with http:// or https://");
  for (char c : value)
    if (!is_visible(c))
      return fail(flag, quote(value) + " contains a space, a control character or a "
                                       "non-ASCII byte");
  if (value.find_first_of("?#") != std::string_view::npos)
    return fail(flag, quote(value) + " must not have a query or fragment (links are appended "
                                     "to it)");
  std::string_view rest = value.substr(scheme);
  if (rest.empty() || rest.front() == '/')
    return fail(flag, quote(value) + " has no host");
  std::string url{value};
  if (url.back() == '/')
    url.pop_back();
  out = std::move(url);
  return std::nullopt;
}

// ---- the flag table: parsing and help text both come from it ---------------------------------

struct flag_spec {
  std::string_view name;    ///< with the leading `--`
  std::string_view arg;     ///< the placeholder in the help; empty for a switch
  std::string_view meaning; ///< one line for the help
  std::string (*default_text)(const serve_config&);
  problem (*apply)(std::string_view flag, std::string_view value, serve_config& config);
};

template <typename T>
problem set_whole(std::string_view flag, std::string_view value, std::uint64_t min,
                  std::uint64_t max, T& field) {
  std::uint64_t n = 0;
  if (auto p = parse_whole(flag, value, min, max, n))
    return p;
  field = static_cast<T>(n);
  return std::nullopt;
}

const std::array<flag_spec, 27> flags{{
  {"--listen", "HOST:PORT",
   "the HTTP/1.1 listener (IPv4, host name or [IPv6]); port 0 = a free port",
   [](const serve_config& c) {
     bool v6 = c.listen_host.find(':') != std::string::npos;
     return (v6 ? "[" + c.listen_host + "]" : c.listen_host) + ":" +
            std::to_string(c.listen_port);
   },
   [](std::string_view f, std::string_view v, serve_config& c) { return parse_listen(f, v, c); }},
  {"--data-dir", "DIR", "the RocksDB database (also holds generated tokens); created if missing",
   [](const serve_config& c) { return c.data_dir; },
   [](std::string_view f, std::string_view v, serve_config& c) -> problem {
     if (v.empty())
       return fail(f, "the directory is empty");
     c.data_dir.assign(v);
     return std::nullopt;
   }},
  {"--admin-token", "TOKEN", "guards /admin/*; a generated one is printed to stderr once",
   [](const serve_config&) -> std::string {
     return "env HOOKWERK_ADMIN_TOKEN, else stored or generated";
   },
   [](std::string_view f, std::string_view v, serve_config& c) -> problem {
     if (auto p = check_token(f, v))
       return p;
     c.admin_token.emplace(v);
     return std::nullopt;
   }},
  {"--ingest-token", "TOKEN", "guards /v1/events; a generated one is printed to stderr once",
   [](const serve_config&) -> std::string {
     return "env HOOKWERK_INGEST_TOKEN, else stored or generated";
   },
   [](std::string_view f, std::string_view v, serve_config& c) -> problem {
     if (auto p = check_token(f, v))
       return p;
     c.ingest_token.emplace(v);
     return std::nullopt;
   }},
  {"--events", "LIST", "comma-separated event names that hooks may subscribe to",
   [](const serve_config& c) {
     std::string out;
     for (const auto& e : c.events)
       out += (out.empty() ? "" : ",") + e;
     return out;
   },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_events(f, v, c.events);
   }},
  {"--retry-schedule", "LIST",
   "delays between attempts of one event; the last one repeats (±10 % jitter)",
   [](const serve_config& c) { return support::format_duration_list(c.retry_schedule); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_retry_schedule(f, v, c.retry_schedule);
   }},
  {"--failure-threshold", "N", "consecutive failed attempts after which a hook is deactivated",
   [](const serve_config& c) { return std::to_string(c.failure_threshold); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_failure_threshold, c.failure_threshold);
   }},
  {"--failure-window", "DUR",
   "deactivation also needs the first of those failures to be this old (0s: the count alone)",
   [](const serve_config& c) { return format_duration(c.failure_window); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{0}, c.failure_window);
   }},
  {"--delivery-timeout", "DUR", "connect + full response, per attempt",
   [](const serve_config& c) { return format_duration(c.delivery_timeout); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{1}, c.delivery_timeout);
   }},
  {"--max-in-flight", "N", "concurrent deliveries per hook (1..1000)",
   [](const serve_config& c) { return std::to_string(c.max_in_flight); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_in_flight_limit, c.max_in_flight);
   }},
  {"--buffer-retention", "DUR", "how long after deactivation incoming events are still buffered",
   [](const serve_config& c) { return format_duration(c.buffer_retention); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{0}, c.buffer_retention);
   }},
  {"--buffer-limit", "N", "most events buffered per hook; beyond that they are dropped, counted",
   [](const serve_config& c) { return std::to_string(c.buffer_limit); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 0, max_buffer_limit, c.buffer_limit);
   }},
  {"--buffer-max-age", "DUR", "a buffer not replayed this long after deactivation is purged",
   [](const serve_config& c) { return format_duration(c.buffer_max_age); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, std::chrono::seconds{1}, c.buffer_max_age);
   }},
  {"--max-event-age", "DUR", "an event failing this long since its first attempt is given up",
   [](const serve_config& c) { return format_duration(c.max_event_age); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, std::chrono::seconds{1}, c.max_event_age);
   }},
  {"--passivate-after", "DUR", "a hook's actor idle this long is stopped until needed again (0: never)",
   [](const serve_config& c) { return format_duration(c.passivate_after); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{0}, c.passivate_after);
   }},
  {"--request-timeout", "DUR", "longest wait for the answer to one HTTP request (then 503)",
   [](const serve_config& c) { return format_duration(c.request_timeout); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{1}, c.request_timeout);
   }},
  {"--max-connections", "N",
   "open inbound connections; at the cap the longest-idle one is closed (1..1000000)",
   [](const serve_config& c) { return std::to_string(c.max_connections); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_connection_limit, c.max_connections);
   }},
  {"--max-outbound", "N", "open outbound delivery connections in all (1..1000000)",
   [](const serve_config& c) { return std::to_string(c.max_outbound); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_connection_limit, c.max_outbound);
   }},
  {"--max-idle-per-origin", "N", "idle delivery connections kept per receiver (0..1000000)",
   [](const serve_config& c) { return std::to_string(c.max_idle_per_origin); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 0, max_connection_limit, c.max_idle_per_origin);
   }},
  {"--max-hooks-per-account", "N", "webhooks one account may have (1..10000000)",
   [](const serve_config& c) { return std::to_string(c.max_hooks_per_account); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_hooks_limit, c.max_hooks_per_account);
   }},
  {"--max-fanout-bytes", "BYTES", "payload bytes x hooks one ingestion may queue (then 413)",
   [](const serve_config& c) { return std::to_string(c.max_fanout_bytes); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, min_fanout_bytes, max_fanout_bytes_limit, c.max_fanout_bytes);
   }},
  {"--max-failed-logins", "N",
   "failed logins a minute per client address and username, then refused unhashed (0: no limit)",
   [](const serve_config& c) { return std::to_string(c.max_failed_logins); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 0, max_connection_limit, c.max_failed_logins);
   }},
  {"--max-body", "BYTES", "largest event payload / request body accepted (1024..67108864)",
   [](const serve_config& c) { return std::to_string(c.max_body); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, min_max_body, max_max_body, c.max_body);
   }},
  {"--allow-private-targets", "",
   "permit hook URLs on loopback, private, link-local addresses",
   [](const serve_config& c) -> std::string { return c.allow_private_targets ? "on" : "off"; },
   [](std::string_view f, std::string_view v, serve_config& c) -> problem {
     if (v == "true")
       c.allow_private_targets = true;
     else if (v == "false")
       c.allow_private_targets = false;
     else
       return fail(f, quote(v) + " is not true or false");
     return std::nullopt;
   }},
  {"--public-url", "URL", "base of the links put into notifications (http:// or https://)",
   [](const serve_config&) -> std::string {
     return "http:// + the bound address (the real port if --listen had port 0)";
   },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_public_url(f, v, c.public_url);
   }},
  {"--ca-file", "FILE", "extra CA certificates (PEM) trusted for HTTPS deliveries, beside the system store",
   [](const serve_config&) -> std::string { return "none"; },
   [](std::string_view f, std::string_view v, serve_config& c) -> problem {
     if (v.empty())
       return fail(f, "needs a file name");
     c.ca_file = std::string{v};
     return std::nullopt;
   }},
  {"--workers", "N", "actor scheduler threads (1..256)",
   [](const serve_config& c) {
     return "number of cores (" + std::to_string(c.workers) + " here)";
   },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return set_whole(f, v, 1, max_workers, c.workers);
   }},
}};

/// Flags for tests, parsed like the others but left out of the help.
const std::array<flag_spec, 2> hidden_flags{{
  {"--idle-timeout", "DUR", "a connection without a complete request this long is closed",
   [](const serve_config& c) { return format_duration(c.idle_timeout); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{1}, c.idle_timeout);
   }},
  {"--self-check-interval", "DUR", "how often hooks check that no delivery is stuck (0: never)",
   [](const serve_config& c) { return format_duration(c.self_check_interval); },
   [](std::string_view f, std::string_view v, serve_config& c) {
     return parse_duration_at_least(f, v, milliseconds{0}, c.self_check_interval);
   }},
}};

const flag_spec* find_flag(std::string_view name) {
  for (const auto& f : flags)
    if (f.name == name)
      return &f;
  for (const auto& f : hidden_flags)
    if (f.name == name)
      return &f;
  return nullptr;
}

cli_result make(cli_result::action what, std::string message) {
  cli_result r;
  r.what = what;
  r.message = std::move(message);
  return r;
}

cli_result error(std::string message) {
  return make(cli_result::action::error, std::move(message));
}

bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }

/// Fills a token from the environment when its flag was absent.
problem token_from_env(const getenv_function& getenv, const char* variable,
                       std::optional<std::string>& token) {
  if (token || !getenv)
    return std::nullopt;
  auto value = getenv(variable);
  if (!value || value->empty())
    return std::nullopt;
  if (auto p = check_token(variable, *value))
    return p;
  token = std::move(*value);
  return std::nullopt;
}

cli_result parse_serve(int argc, const char* const* argv, const getenv_function& getenv) {
  cli_result result;
  result.what = cli_result::action::serve;
  serve_config& config = result.config;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (is_help(arg))
      return make(cli_result::action::help, help_text());
    if (arg == "--version")
      return make(cli_result::action::version, version_text());
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      if (arg.size() > 1 && arg.front() == '-' && arg != "--")
        return error("unknown flag: " + std::string{arg} + " (see hookwerk serve --help)");
      return error("unexpected argument: " + quote(arg) + " (see hookwerk serve --help)");
    }
    std::size_t equals = arg.find('=');
    std::string_view name = arg.substr(0, equals);
    const flag_spec* flag = find_flag(name);
    if (flag == nullptr)
      return error("unknown flag: " + std::string{name} + " (see hookwerk serve --help)");
    std::string_view value;
    if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (flag->arg.empty()) {
      value = "true";
    } else {
      std::string_view next = i + 1 < argc && argv[i + 1] != nullptr ? argv[i + 1] : "";
      if (i + 1 >= argc || next.substr(0, 2) == "--")
        return error(fail(name, "missing value (" + std::string{name} + " " +
                                    std::string{flag->arg} + ")"));
      value = next;
      ++i;
    }
    if (auto p = flag->apply(name, value, config))
      return error(std::move(*p));
  }
  if (auto p = token_from_env(getenv, "HOOKWERK_ADMIN_TOKEN", config.admin_token))
    return error(std::move(*p));
  if (auto p = token_from_env(getenv, "HOOKWERK_INGEST_TOKEN", config.ingest_token))
    return error(std::move(*p));
  // Tests point deliveries at a name server of their own (checked when the resolver starts).
  if (getenv)
    if (auto servers = getenv("HOOKWERK_DNS_SERVERS"))
      config.dns_servers = std::move(*servers);
  return result;
}

} // namespace

cli_result parse_command_line(int argc, const char* const* argv, const getenv_function& getenv) {
  if (argc < 2 || argv == nullptr || argv[1] == nullptr)
    return error("missing command; " + std::string{usage_text});
  std::string_view command = argv[1];
  if (is_help(command) || command == "help")
    return make(cli_result::action::help, help_text());
  if (command == "--version" || command == "version")
    return make(cli_result::action::version, version_text());
  if (command == "serve")
    return parse_serve(argc, argv, getenv);
  if (command.substr(0, 1) == "-")
    return error("missing command before " + quote(command) + "; " + std::string{usage_text});
  return error("unknown command: " + quote(command) + "; " + std::string{usage_text});
}

std::optional<std::string> process_getenv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return std::nullopt;
  return std::string{value};
}

std::string help_text() {
  const serve_config defaults;
  std::size_t width = 0;
  auto left = [](const flag_spec& f) {
    return std::string{f.name} + (f.arg.empty() ? "" : " " + std::string{f.arg});
  };
  for (const auto& f : flags)
    width = std::max(width, left(f).size());
  const std::string indent(2 + width + 2, ' ');

  std::string out;
  out += "hookwerk - webhook dispatch server\n"
         "\n"
         "Usage:\n"
         "  hookwerk serve [flags]   run the server\n"
         "  hookwerk --help          show this help (also -h, help, hookwerk serve --help)\n"
         "  hookwerk --version       print the version\n"
         "\n"
         "Flags of hookwerk serve, as --flag VALUE or --flag=VALUE (use the = form for a value\n"
         "that starts with --); when a flag is repeated, the last one wins.\n"
         "--allow-private-targets is a switch (--allow-private-targets=true|false also works).\n"
         "Durations are a whole number and one unit: ms, s, m, h, d (500ms, 10s, 2m, 1h, 5d).\n"
         "Tokens are printable ASCII without spaces.\n";
  for (const auto& f : flags) {
    std::string l = left(f);
    out += "\n  " + l + std::string(width - l.size() + 2, ' ') + std::string{f.meaning} + "\n";
    out += indent + "default: " + f.default_text(defaults);
  }
  return out;
}

std::string version_text() { return std::string{"hookwerk "} + HOOKWERK_VERSION; }

} // namespace hookwerk::engine
