// Fuzzes webhook URL validation and the address policy. An accepted URL has what a delivery
// needs and survives being rebuilt from its parts; an IP literal host parses as an address;
// numeric addresses print back to themselves and an IPv4-mapped form is at least as forbidden
// as the IPv4 address it carries.
#include "actors/support/address_policy.hpp"
#include "actors/support/url.hpp"
#include "fuzz/check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hookwerk::support;

namespace {

bool is_lower(const std::string& s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z')
      return false;
  return true;
}

void check_address(const ip_address& a) {
  FUZZ_CHECK(is_forbidden_target(a) == (classify(a) != nullptr));
  auto again = ip_address::parse(a.to_string());
  FUZZ_CHECK(again && *again == a);
  if (!a.v6) {
    for (std::size_t i = 4; i < a.bytes.size(); ++i)
      FUZZ_CHECK(a.bytes[i] == 0);
    ip_address mapped;
    mapped.v6 = true;
    mapped.bytes[10] = mapped.bytes[11] = 0xff;
    for (std::size_t i = 0; i < 4; ++i)
      mapped.bytes[12 + i] = a.bytes[i];
    if (is_forbidden_target(a))
      FUZZ_CHECK(is_forbidden_target(mapped));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};

  if (auto url = parse_hook_url(text)) {
    FUZZ_CHECK(text.size() <= max_hook_url_length);
    FUZZ_CHECK(url->scheme == "http" || url->scheme == "https");
    FUZZ_CHECK(!url->host.empty() && is_lower(url->host));
    FUZZ_CHECK(url->port != 0);
    FUZZ_CHECK(!url->target.empty() && url->target.front() == '/');
    FUZZ_CHECK(url->target.find('#') == std::string::npos);
    if (url->host_is_ip_literal) {
      auto address = ip_address::parse(url->host);
      FUZZ_CHECK(address.has_value());
      check_address(*address);
    }
    // The parts, written out again, are a URL that gives the same parts.
    bool v6 = url->host.find(':') != std::string::npos;
    std::string rebuilt = url->scheme + "://" + (v6 ? "[" + url->host + "]" : url->host) + ":"
                          + std::to_string(url->port) + url->target;
    if (rebuilt.size() <= max_hook_url_length) {
      auto again = parse_hook_url(rebuilt);
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(again->scheme == url->scheme && again->host == url->host
                 && again->port == url->port && again->target == url->target
                 && again->host_is_ip_literal == url->host_is_ip_literal);
    }
  }

  if (auto address = ip_address::parse(text))
    check_address(*address);
  return 0;
}
