#include "storage/records.hpp"

#include <algorithm>
#include <cstdint>

#include "storage/codec.hpp"

namespace hookwerk::storage {

namespace {

// Reads the version byte; false for an empty record or version 0.
bool read_version(decoder& d, uint8_t& version) {
  return d.u8(version) && version != 0;
}

// Whatever follows the last known group is acceptable only from a newer version.
bool tail_ok(const decoder& d, uint8_t version) {
  return d.at_end() || version > record_version;
}

void put_optional(encoder& e, const std::optional<std::string>& value) {
  e.boolean(value.has_value());
  if (value)
    e.str(*value);
}

bool get_optional(decoder& d, std::optional<std::string>& out) {
  bool present = false;
  if (!d.boolean(present))
    return false;
  if (!present) {
    out.reset();
    return true;
  }
  std::string value;
  if (!d.str(value))
    return false;
  out = std::move(value);
  return true;
}

} // namespace

std::string account_record::encode() const {
  encoder e;
  e.u8(record_version);
  e.str(username);
  e.str(salt);
  e.str(password_hash);
  e.u32(iterations);
  e.i64(created_at_ms);
  return std::move(e.data());
}

std::optional<account_record> account_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  account_record r;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.str(r.username) && d.str(r.salt) && d.str(r.password_hash) && d.u32(r.iterations)))
    return std::nullopt;
  if (d.at_end())
    return r;
  if (!d.i64(r.created_at_ms))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

std::string hook_record::encode() const {
  encoder e;
  e.u8(record_version);
  e.u64(id);
  e.str(account);
  e.str(app);
  e.str(event);
  e.str(url);
  e.str(secret);
  e.boolean(active);
  e.i64(created_at_ms);
  e.i64(deactivated_at_ms);
  e.u32(consecutive_failures);
  put_optional(e, last_error);
  e.i64(failures_since_ms);
  return std::move(e.data());
}

std::optional<hook_record> hook_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  hook_record r;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.u64(r.id) && d.str(r.account) && d.str(r.app) && d.str(r.event) && d.str(r.url)
        && d.str(r.secret) && d.boolean(r.active) && d.i64(r.created_at_ms)))
    return std::nullopt;
  if (d.at_end())
    return r;
  if (!(d.i64(r.deactivated_at_ms) && d.u32(r.consecutive_failures)
        && get_optional(d, r.last_error)))
    return std::nullopt;
  // Version 1 ends here; a record of version 2 or later may go on with group 3.
  if (d.at_end() || version < 2)
    return tail_ok(d, version) ? std::optional<hook_record>{std::move(r)} : std::nullopt;
  if (!d.i64(r.failures_since_ms))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

std::string queue_entry::encode() const {
  encoder e;
  if (shared) {
    e.u8(shared_entry_tag);
    e.varint(seq);
    e.varint(key ? 1 : 0);
    if (key)
      e.str(*key);
    e.varint(static_cast<uint64_t>(ingested_at_ms));
    e.varint(static_cast<uint64_t>(first_attempt_ms));
    e.varint(attempts);
    return std::move(e.data());
  }
  e.u8(record_version);
  e.u64(seq);
  e.str(event_id);
  e.str(event);
  e.str(payload);
  put_optional(e, key);
  e.i64(ingested_at_ms);
  e.i64(first_attempt_ms);
  e.u32(attempts);
  return std::move(e.data());
}

namespace {

/// The reference form after its tag; `key` (optional) receives a view into `d`'s input.
bool decode_shared(decoder& d, queue_entry& r, std::string_view& key, bool& has_key) {
  uint64_t flags = 0;
  if (!(d.varint(r.seq) && d.varint(flags)) || flags > 1)
    return false;
  has_key = flags == 1;
  if (has_key && !d.str_view(key))
    return false;
  uint64_t ingested = 0;
  uint64_t first = 0;
  uint64_t attempts = 0;
  if (!(d.varint(ingested) && d.varint(first) && d.varint(attempts)) || attempts > UINT32_MAX)
    return false;
  r.ingested_at_ms = static_cast<int64_t>(ingested);
  r.first_attempt_ms = static_cast<int64_t>(first);
  r.attempts = static_cast<uint32_t>(attempts);
  r.shared = true;
  return d.at_end();
}

} // namespace

std::optional<queue_entry> queue_entry::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  queue_entry r;
  if (!read_version(d, version))
    return std::nullopt;
  if (version == shared_entry_tag) {
    std::string_view key;
    bool has_key = false;
    if (!decode_shared(d, r, key, has_key))
      return std::nullopt;
    if (has_key)
      r.key = std::string{key};
    return r;
  }
  if (!(d.u64(r.seq) && d.str(r.event_id) && d.str(r.event) && d.str(r.payload)
        && get_optional(d, r.key) && d.i64(r.ingested_at_ms) && d.i64(r.first_attempt_ms)
        && d.u32(r.attempts)))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

std::optional<queue_entry::head> queue_entry::peek(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  head h;
  std::string_view skipped;
  bool has_key = false;
  if (!read_version(d, version))
    return std::nullopt;
  if (version == shared_entry_tag) {
    queue_entry r;
    std::string_view key;
    bool has_key = false;
    if (!decode_shared(d, r, key, has_key))
      return std::nullopt;
    h.seq = r.seq;
    if (has_key)
      h.key = key;
    return h;
  }
  if (!(d.u64(h.seq) && d.str_view(skipped) && d.str_view(skipped) && d.str_view(skipped)
        && d.boolean(has_key)))
    return std::nullopt;
  if (has_key) {
    std::string_view key;
    if (!d.str_view(key))
      return std::nullopt;
    h.key = key;
  }
  return h;
}

std::string event_record::encode() const {
  auto sorted = hooks;
  std::sort(sorted.begin(), sorted.end());
  encoder ids;
  uint64_t previous = 0;
  for (auto id : sorted) {
    ids.varint(id - previous);
    previous = id;
  }
  encoder e;
  e.u8(record_version);
  e.str(event_id);
  e.str(event);
  e.str(payload);
  e.str(ids.data());
  return std::move(e.data());
}

std::optional<event_record> event_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  event_record r;
  std::string_view ids;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.str(r.event_id) && d.str(r.event) && d.str(r.payload) && d.str_view(ids)))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  decoder list(ids);
  uint64_t id = 0;
  while (!list.at_end()) {
    uint64_t delta = 0;
    if (!list.varint(delta) || delta > UINT64_MAX - id)
      return std::nullopt;
    id += delta;
    r.hooks.push_back(id);
  }
  return r;
}

std::string attempt_record::encode() const {
  encoder e;
  e.u8(record_version);
  e.str(event_id);
  e.u32(attempt);
  e.i64(at_ms);
  e.u32(http_status);
  put_optional(e, error);
  e.u32(duration_ms);
  return std::move(e.data());
}

std::optional<attempt_record> attempt_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  attempt_record r;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.str(r.event_id) && d.u32(r.attempt) && d.i64(r.at_ms) && d.u32(r.http_status)
        && get_optional(d, r.error) && d.u32(r.duration_ms)))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

std::string idempotency_record::encode() const {
  encoder e;
  e.u8(record_version);
  e.str(event_id);
  e.i64(created_at_ms);
  return std::move(e.data());
}

std::optional<idempotency_record> idempotency_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  idempotency_record r;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.str(r.event_id) && d.i64(r.created_at_ms)))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

std::string notification_record::encode() const {
  encoder e;
  e.u8(record_version);
  e.u64(id);
  e.str(account);
  e.str(kind);
  e.u64(webhook_id);
  e.i64(created_at_ms);
  e.str(reason);
  e.str(token);
  e.boolean(read);
  return std::move(e.data());
}

std::optional<notification_record> notification_record::decode(std::string_view in) {
  decoder d(in);
  uint8_t version = 0;
  notification_record r;
  if (!read_version(d, version))
    return std::nullopt;
  if (!(d.u64(r.id) && d.str(r.account) && d.str(r.kind) && d.u64(r.webhook_id)
        && d.i64(r.created_at_ms) && d.str(r.reason) && d.str(r.token) && d.boolean(r.read)))
    return std::nullopt;
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

} // namespace hookwerk::storage
