#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookwerk::api {

/// Counts failed logins per (client, username) pair and says when a pair has
/// had its share: `max_failures` within `window` of the pair's first counted
/// failure. Past it, the pair is refused without checking its password until
/// that window ends; other clients of the same username and other usernames
/// of the same client are unaffected, so nobody can lock an account for its
/// owner. A success does not reset the count. Memory is bounded: at most
/// `capacity` pairs are tracked; ended windows are dropped as time passes and,
/// at the cap, the pair whose window started first goes. Time is passed in,
/// so tests drive it. Plain object, not thread-safe (the front actor owns it).
class login_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// `max_failures` 0 disables the limit (nothing is tracked).
  explicit login_limiter(uint32_t max_failures,
                         clock::duration window = std::chrono::minutes{1},
                         size_t capacity = 100'000);

  /// False when the pair has used up its failures in the current window.
  bool allowed(std::string_view client, std::string_view username, clock::time_point now);

  /// Counts a failed login of the pair.
  void failed(std::string_view client, std::string_view username, clock::time_point now);

  /// Pairs tracked now.
  size_t size() const { return pairs_.size(); }

private:
  struct entry {
    std::string key;
    clock::time_point started;
    uint32_t failures = 0;
  };

  static std::string key_of(std::string_view client, std::string_view username);
  void expire(clock::time_point now);

  uint32_t max_failures_;
  clock::duration window_;
  size_t capacity_;
  /// Entries in the order their windows started, so the oldest expire first.
  std::list<entry> by_start_;
  std::unordered_map<std::string, std::list<entry>::iterator> pairs_;
};

/// The part of a client's address a limit applies to: an IPv4 address as it
/// is (also when given IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its
/// /64 prefix (one host usually holds a whole /64), anything else verbatim.
std::string client_key(std::string_view address);

} // namespace hookwerk::api
