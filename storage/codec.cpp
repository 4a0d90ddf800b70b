#include "storage/codec.hpp"

namespace hookwerk::storage {

namespace {

void put_fixed(std::string& out, uint64_t value, int width) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

} // namespace

void encoder::u8(uint8_t value) {
  data_.push_back(static_cast<char>(value));
}

void encoder::u32(uint32_t value) {
  put_fixed(data_, value, 4);
}

void encoder::u64(uint64_t value) {
  put_fixed(data_, value, 8);
}

void encoder::i64(int64_t value) {
  put_fixed(data_, static_cast<uint64_t>(value), 8);
}

void encoder::boolean(bool value) {
  u8(value ? 1 : 0);
}

void encoder::varint(uint64_t value) {
  while (value >= 0x80) {
    data_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  data_.push_back(static_cast<char>(value));
}

void encoder::str(std::string_view value) {
  varint(value.size());
  data_.append(value);
}

bool decoder::fixed(std::size_t width, uint64_t& out) noexcept {
  if (in_.size() < width)
    return false;
  uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i)
    value = (value << 8) | static_cast<uint8_t>(in_[i]);
  in_.remove_prefix(width);
  out = value;
  return true;
}

bool decoder::u8(uint8_t& out) noexcept {
  uint64_t v;
  if (!fixed(1, v))
    return false;
  out = static_cast<uint8_t>(v);
  return true;
}

bool decoder::u32(uint32_t& out) noexcept {
  uint64_t v;
  if (!fixed(4, v))
    return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool decoder::u64(uint64_t& out) noexcept {
  return fixed(8, out);
}

bool decoder::i64(int64_t& out) noexcept {
  uint64_t v;
  if (!fixed(8, v))
    return false;
  out = static_cast<int64_t>(v);
  return true;
}

bool decoder::boolean(bool& out) noexcept {
  if (in_.empty() || static_cast<uint8_t>(in_[0]) > 1)
    return false;
  out = in_[0] == 1;
  in_.remove_prefix(1);
  return true;
}

bool decoder::str(std::string& out) {
  std::string_view view;
  if (!str_view(view))
    return false;
  out.assign(view);
  return true;
}

bool decoder::varint(uint64_t& out) noexcept {
  uint64_t value = 0;
  std::size_t pos = 0;
  for (int shift = 0;; shift += 7) {
    if (pos == in_.size() || shift > 63)
      return false;
    auto byte = static_cast<uint8_t>(in_[pos++]);
    uint64_t bits = byte & 0x7f;
    if (shift == 63 && bits > 1)
      return false;
    value |= bits << shift;
    if ((byte & 0x80) == 0)
      break;
  }
  in_.remove_prefix(pos);
  out = value;
  return true;
}

bool decoder::str_view(std::string_view& out) noexcept {
  auto rest = in_;
  uint64_t length = 0;
  if (!varint(length))
    return false;
  if (length > in_.size()) {
    in_ = rest;  // consumes nothing on failure
    return false;
  }
  out = in_.substr(0, length);
  in_.remove_prefix(length);
  return true;
}

} // namespace hookwerk::storage
