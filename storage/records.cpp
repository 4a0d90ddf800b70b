#include "storage/records.hpp"

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
  if (!tail_ok(d, version))
    return std::nullopt;
  return r;
}

} // namespace hookwerk::storage
