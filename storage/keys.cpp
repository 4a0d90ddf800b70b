#include "storage/keys.hpp"

#include <limits>

namespace hookwerk::storage {

void put_be64(std::string& out, uint64_t value) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(buf, sizeof(buf));
}

uint64_t get_be64(std::string_view in) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

std::string be64(uint64_t value) {
  std::string out;
  put_be64(out, value);
  return out;
}

std::string hook_key(uint64_t id) {
  return be64(id);
}

std::string event_key(uint64_t seq) {
  return be64(seq);
}

std::string hook_seq_key(uint64_t hook_id, uint64_t seq) {
  std::string out;
  out.reserve(16);
  put_be64(out, hook_id);
  put_be64(out, seq);
  return out;
}

std::pair<std::string, std::string> hook_range(uint64_t hook_id) {
  if (hook_id == std::numeric_limits<uint64_t>::max())
    return {be64(hook_id), std::string(17, '\xff')};
  return {be64(hook_id), be64(hook_id + 1)};
}

std::string idempotency_key(std::string_view account, std::string_view key) {
  std::string out;
  out.reserve(account.size() + 1 + key.size());
  out.append(account);
  out.push_back('\0');
  out.append(key);
  return out;
}

std::pair<std::string, std::string> idempotency_range(std::string_view account) {
  std::string begin{account};
  begin.push_back('\0');
  std::string end{account};
  end.push_back('\x01');
  return {std::move(begin), std::move(end)};
}

} // namespace hookwerk::storage
