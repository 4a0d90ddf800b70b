#include "actors/support/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace hookwerk::support {
namespace {

class addrinfo_list {
public:
  addrinfo_list() = default;
  addrinfo_list(const addrinfo_list&) = delete;
  addrinfo_list& operator=(const addrinfo_list&) = delete;
  ~addrinfo_list() {
    if (head_ != nullptr)
      freeaddrinfo(head_);
  }

  addrinfo** out() { return &head_; }
  const addrinfo* head() const { return head_; }

private:
  addrinfo* head_ = nullptr;
};

bool is_localhost_name(std::string_view host) {
  if (!host.empty() && host.back() == '.')
    host.remove_suffix(1);
  constexpr std::string_view name = "localhost";
  constexpr std::string_view suffix = ".localhost";
  return host == name ||
         (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix);
}

target_check forbidden(const ip_address& address, const char* reason) {
  return {target_verdict::forbidden, address.to_string() + " is " + reason};
}

} // namespace

resolve_result resolve_host(const std::string& host) {
  resolve_result result;
  if (host.empty() || host.find('\0') != std::string::npos) {
    result.error = "invalid host name";
    return result;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo_list list;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, list.out());
  if (rc != 0) {
    if (rc == EAI_SYSTEM) {
      const int err = errno;
      result.error = std::string("getaddrinfo: ") + std::strerror(err);
    } else {
      result.error = gai_strerror(rc);
    }
    return result;
  }

  for (const addrinfo* ai = list.head(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addr == nullptr || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
      continue;
    const ip_address address = ip_address::from_sockaddr(ai->ai_addr);
    if (std::find(result.addresses.begin(), result.addresses.end(), address) ==
        result.addresses.end())
      result.addresses.push_back(address);
  }
  if (result.addresses.empty()) {
    result.error = "no IPv4 or IPv6 address";
    return result;
  }
  result.resolved = true;
  return result;
}

target_check check_addresses(std::span<const ip_address> addresses, bool allow_private) {
  if (allow_private)
    return {target_verdict::allowed, "private targets allowed"};
  for (const ip_address& address : addresses)
    if (const char* reason = classify(address))
      return forbidden(address, reason);
  return {target_verdict::allowed, {}};
}

target_check check_target(const parsed_url& url, bool allow_private) {
  if (allow_private)
    return {target_verdict::allowed, "private targets allowed"};

  if (url.host_is_ip_literal) {
    const auto address = ip_address::parse(url.host);
    if (!address)
      return {target_verdict::forbidden, url.host + " is not a valid address"};
    return check_addresses(std::span(&*address, 1), false);
  }

  if (is_localhost_name(url.host))
    return {target_verdict::forbidden, url.host + " is loopback"};

  const resolve_result resolved = resolve_host(url.host);
  if (!resolved.resolved)
    return {target_verdict::allowed, url.host + " does not resolve now: " + resolved.error};
  target_check check = check_addresses(resolved.addresses, false);
  if (check.verdict == target_verdict::forbidden)
    check.detail = url.host + " resolves to " + check.detail;
  return check;
}

} // namespace hookwerk::support
