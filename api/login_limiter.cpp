#include "api/login_limiter.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <string>

namespace hookwerk::api {

login_limiter::login_limiter(uint32_t max_failures, clock::duration window, size_t capacity)
  : max_failures_(max_failures), window_(window), capacity_(capacity == 0 ? 1 : capacity) {}

std::string login_limiter::key_of(std::string_view client, std::string_view username) {
  // Length-prefixed, so no choice of bytes makes two pairs one key.
  auto key = std::to_string(client.size());
  key.push_back(':');
  key += client;
  key += username;
  return key;
}

void login_limiter::expire(clock::time_point now) {
  while (!by_start_.empty() && by_start_.front().started + window_ <= now) {
    pairs_.erase(by_start_.front().key);
    by_start_.pop_front();
  }
}

bool login_limiter::allowed(std::string_view client, std::string_view username,
                            clock::time_point now) {
  if (max_failures_ == 0)
    return true;
  expire(now);
  auto i = pairs_.find(key_of(client, username));
  return i == pairs_.end() || i->second->failures < max_failures_;
}

void login_limiter::failed(std::string_view client, std::string_view username,
                           clock::time_point now) {
  if (max_failures_ == 0)
    return;
  expire(now);
  auto key = key_of(client, username);
  if (auto i = pairs_.find(key); i != pairs_.end()) {
    ++i->second->failures;
    return;
  }
  if (pairs_.size() >= capacity_) {
    pairs_.erase(by_start_.front().key);
    by_start_.pop_front();
  }
  by_start_.push_back(entry{key, now, 1});
  pairs_.emplace(std::move(key), std::prev(by_start_.end()));
}

std::string client_key(std::string_view address) {
  std::string text{address};
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1)
    return text;
  const auto* b = v6.s6_addr;
  bool mapped = true;
  for (int i = 0; i < 10; ++i)
    mapped = mapped && b[i] == 0;
  if (mapped && b[10] == 0xff && b[11] == 0xff) {
    char v4[INET_ADDRSTRLEN];
    std::snprintf(v4, sizeof v4, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    return v4;
  }
  char prefix[48];
  std::snprintf(prefix, sizeof prefix, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7]);
  return prefix;
}

} // namespace hookwerk::api
