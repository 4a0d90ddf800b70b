#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hookwerk::storage {

// Key layout of every column family. "be64(x)" is x as 8 bytes, big-endian,
// so RocksDB's bytewise key order equals numeric order; "‖" is concatenation.
// Record encodings are defined in records.hpp (versioned, see there).
//
//   meta          ASCII name → value (names in meta_key below):
//                   "schema_version"        u32 big-endian
//                   "next_hook_id"          u64 big-endian, the next value to hand out
//                   "next_event_seq"        u64 big-endian, the next value to hand out
//                   "next_notification_id"  u64 big-endian, the next value to hand out
//                   "admin_token"           text
//                   "ingest_token"          text
//                   "instance_id"           text, random, prefix of event ids
//                   "storage_probe"         u64 big-endian, unix ms of the last
//                                           recovery from a failed write (writer.hpp)
//   accounts      username (raw bytes)                 → account_record
//   hooks         be64(hook_id)                        → hook_record
//   queue         be64(hook_id) ‖ be64(event_seq)      → queue_entry (pending delivery)
//   buffer        be64(hook_id) ‖ be64(event_seq)      → queue_entry (held while inactive)
//   attempts      be64(hook_id) ‖ be64(attempt_no)     → attempt_record
//   idempotency   account ‖ 0x00 ‖ idempotency key     → idempotency_record
//   notifications be64(notification_id)                → notification record
//   events        be64(event_seq)                      → event_record (an event routed to
//                                                        several hooks, stored once; their
//                                                        queue and buffer entries refer to it)
//
// All keys of one hook in queue, buffer and attempts lie in hook_range(hook_id)
// (keys.hpp), so one range scan or range delete covers exactly that hook.

/// The column families (key spaces) of the Hookwerk database.
enum class cf : uint8_t {
  meta,  ///< RocksDB's "default" family.
  accounts,
  hooks,
  queue,
  buffer,
  attempts,
  idempotency,
  notifications,
  events,
};

/// Number of column families; cf values are 0 .. cf_count - 1.
constexpr std::size_t cf_count = 9;

/// The RocksDB name of a column family.
constexpr const char* cf_name(cf family) noexcept {
  switch (family) {
    case cf::meta: return "default";
    case cf::accounts: return "accounts";
    case cf::hooks: return "hooks";
    case cf::queue: return "queue";
    case cf::buffer: return "buffer";
    case cf::attempts: return "attempts";
    case cf::idempotency: return "idempotency";
    case cf::notifications: return "notifications";
    case cf::events: return "events";
  }
  return "unknown";
}

/// Key names in the meta family.
namespace meta_key {
inline constexpr std::string_view schema_version = "schema_version";
inline constexpr std::string_view next_hook_id = "next_hook_id";
inline constexpr std::string_view next_event_seq = "next_event_seq";
inline constexpr std::string_view next_notification_id = "next_notification_id";
inline constexpr std::string_view admin_token = "admin_token";
inline constexpr std::string_view ingest_token = "ingest_token";
inline constexpr std::string_view instance_id = "instance_id";
inline constexpr std::string_view storage_probe = "storage_probe";
} // namespace meta_key

/// The layout of the data directory, in the meta key "schema_version":
///   1  every queue and buffer entry holds its own copy of the event.
///   2  an event routed to several hooks is stored once (events family) and their
///      entries refer to it (queue_entry's reference form); entries of layout 1
///      are still read as they are, so opening a directory of layout 1 only
///      records the new version.
/// A directory of a later version than this one is refused.
inline constexpr uint32_t current_schema_version = 2;

} // namespace hookwerk::storage
