#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
// Version 1 writes groups 1 and 2 of each record. Version 2 adds group 3 to
// hook_record (the start of the failure streak); the other records are unchanged.
// queue_entry has a second, compact form outside this scheme (see there).

/// The format version written by encode().
inline constexpr uint8_t record_version = 2;

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
  // Group 3 (version 2): the failure window.
  /// When the first of the `consecutive_failures` failed (unix ms); 0 = no failure since the
  /// last success or reactivation, or not known (a record from version 1).
  int64_t failures_since_ms = 0;

  std::string encode() const;
  static std::optional<hook_record> decode(std::string_view in);

  bool operator==(const hook_record&) const = default;
};

/// One event waiting for delivery to one hook (queue and buffer families,
/// keyed by hook_seq_key(hook id, seq)). The seq is the server-wide ingestion
/// sequence number, so a hook's queue in key order is its ingestion order.
///
/// Two stored forms, both read:
///   - Own copy (`shared` false): the record holds everything, payload included
///     (the only form of schema version 1; still written for an event routed to
///     one hook, where it is the smaller write).
///   - Reference form (`shared` true): the event's id, name and payload are
///     stored once in the events family (event_record under be64(seq)) for all
///     the hooks it was routed to; each hook's record holds only its own part
///     (seq, key, ingestion time, attempt state). encode() leaves event_id,
///     event and payload out; decode() returns them empty, and the reader
///     fills them from the event record. Its first byte is `shared_entry_tag`,
///     which no record version reaches, followed by LEB128 varints: seq,
///     flags (bit 0: a key follows), [key as a string], ingested_at_ms,
///     first_attempt_ms, attempts. Nothing may follow.
struct queue_entry {
  // Group 1.
  uint64_t seq = 0;
  std::string event_id;
  std::string event;
  std::string payload;
  std::optional<std::string> key;  ///< ordering key
  int64_t ingested_at_ms = 0;
  int64_t first_attempt_ms = 0;    ///< 0 = not attempted since queued (or replayed)
  uint32_t attempts = 0;           ///< attempts made so far
  /// Stored in the reference form (see above); not a field of the own-copy form.
  bool shared = false;

  std::string encode() const;
  static std::optional<queue_entry> decode(std::string_view in);

  /// What paging needs to decide about a stored entry, read without copying
  /// its payload; the views point into the encoded record.
  struct head {
    uint64_t seq = 0;
    std::optional<std::string_view> key;
  };
  /// The seq and ordering key of an encoded entry; nullopt when they cannot
  /// be read (the rest of the record is not checked).
  static std::optional<head> peek(std::string_view in);

  bool operator==(const queue_entry&) const = default;
};

/// First byte of a queue_entry stored in the reference form.
inline constexpr uint8_t shared_entry_tag = 0x81;

/// An event routed to more than one hook, stored once (events family, keyed by
/// be64(seq)); the hooks' queue and buffer entries refer to it (queue_entry,
/// reference form). Kept while any of `hooks` has an entry of this seq in its
/// queue or buffer; compaction drops it after the last one is gone (store.cpp).
struct event_record {
  // Group 1.
  std::string event_id;
  std::string event;
  std::string payload;
  /// The hooks the event was routed to, ascending (encode() sorts them); stored
  /// as LEB128 deltas inside one string.
  std::vector<uint64_t> hooks;

  std::string encode() const;
  static std::optional<event_record> decode(std::string_view in);

  bool operator==(const event_record&) const = default;
};

/// One delivery attempt (attempts family, keyed by hook_seq_key(hook id,
/// attempt number within the hook)).
struct attempt_record {
  // Group 1.
  std::string event_id;
  uint32_t attempt = 0;          ///< 1 for the event's first attempt
  int64_t at_ms = 0;
  uint32_t http_status = 0;      ///< 0 = no response
  std::optional<std::string> error;
  uint32_t duration_ms = 0;

  std::string encode() const;
  static std::optional<attempt_record> decode(std::string_view in);

  bool operator==(const attempt_record&) const = default;
};

/// How long an idempotency key is honoured (SPEC §4: 24 h).
inline constexpr int64_t idempotency_window_ms = 24LL * 3600 * 1000;

/// An idempotency key seen at ingestion (idempotency family, keyed by
/// idempotency_key(account, id)).
struct idempotency_record {
  // Group 1.
  std::string event_id;
  int64_t created_at_ms = 0;

  std::string encode() const;
  static std::optional<idempotency_record> decode(std::string_view in);

  bool operator==(const idempotency_record&) const = default;
};

/// A system notification of an account (notifications family, keyed by
/// be64(notification id)).
struct notification_record {
  // Group 1.
  uint64_t id = 0;
  std::string account;
  std::string kind;            ///< "webhook_deactivated"
  uint64_t webhook_id = 0;
  int64_t created_at_ms = 0;
  std::string reason;          ///< the hook's last error
  std::string token;           ///< the activation link's secret; empty once used
  bool read = false;           ///< the webhook was reactivated since

  std::string encode() const;
  static std::optional<notification_record> decode(std::string_view in);

  bool operator==(const notification_record&) const = default;
};

} // namespace hookwerk::storage
