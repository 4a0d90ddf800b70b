#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookwerk::storage {

// Record encodings (see codec.hpp for the field encodings).
//
// A record is a version byte followed by field groups. The version byte is
// the format version of the code that wrote it (currently 1). Evolution rule:
//   - Fields are never changed, reordered or removed; a new version only
//     appends a new group at the end.
//   - The first group is required. Every later group is optional: a record
//     may end at any group boundary, and the missing groups decode to their
//     defaults. A group is all-or-nothing; a record ending inside a group is
//     rejected.
//   - A record with a higher version than this code knows decodes the known
//     groups and ignores the bytes after them. A record of a known version
//     with bytes after its last group, version 0, or anything malformed
//     decodes to nullopt.
//
// Version 1 writes groups 1 and 2 of each record.

/// The format version written by encode().
inline constexpr uint8_t record_version = 1;

/// A management account (accounts family, keyed by username).
struct account_record {
  // Group 1.
  std::string username;
  std::string salt;
  std::string password_hash;
  uint32_t iterations = 0;
  // Group 2.
  int64_t created_at_ms = 0;

  std::string encode() const;
  static std::optional<account_record> decode(std::string_view in);

  bool operator==(const account_record&) const = default;
};

/// A webhook (hooks family, keyed by hook_key(id)).
struct hook_record {
  // Group 1: the definition.
  uint64_t id = 0;
  std::string account;
  std::string app;
  std::string event;
  std::string url;
  std::string secret;
  bool active = true;
  int64_t created_at_ms = 0;
  // Group 2: delivery health.
  int64_t deactivated_at_ms = 0;  ///< 0 = never deactivated.
  uint32_t consecutive_failures = 0;
  std::optional<std::string> last_error;

  std::string encode() const;
  static std::optional<hook_record> decode(std::string_view in);

  bool operator==(const hook_record&) const = default;
};

} // namespace hookwerk::storage
