#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hookwerk::storage {

/// Appends `value` as 8 big-endian bytes.
void put_be64(std::string& out, uint64_t value);

/// Reads the first 8 bytes of `in` as a big-endian integer.
/// Precondition: in.size() >= 8.
uint64_t get_be64(std::string_view in) noexcept;

/// `value` as 8 big-endian bytes.
std::string be64(uint64_t value);

/// Key of a hook in the hooks family: be64(id).
std::string hook_key(uint64_t id);

/// Key of a shared event in the events family: be64(seq).
std::string event_key(uint64_t seq);

/// be64(hook_id) ‖ be64(seq): 16-byte key of the queue, buffer and attempts families.
std::string hook_seq_key(uint64_t hook_id, uint64_t seq);

/// The half-open key range [begin, end) holding every hook_seq_key of
/// `hook_id` and no key of any other hook: [be64(id), be64(id + 1)).
/// For the largest id, end is 17 bytes of 0xff.
std::pair<std::string, std::string> hook_range(uint64_t hook_id);

/// account ‖ 0x00 ‖ key. Precondition: `account` contains no 0x00 byte
/// (otherwise keys of different accounts could collide).
std::string idempotency_key(std::string_view account, std::string_view key);

/// The half-open key range [account ‖ 0x00, account ‖ 0x01) holding every
/// idempotency_key of `account` and no key of any other account (usernames
/// contain no 0x00 byte).
std::pair<std::string, std::string> idempotency_range(std::string_view account);

} // namespace hookwerk::storage
