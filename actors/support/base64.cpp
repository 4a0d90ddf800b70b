#include "actors/support/base64.hpp"

#include <array>
#include <cstdint>

namespace hookwerk::support {

namespace {

constexpr std::string_view standard_alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr uint8_t invalid = 0xff;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table)
    entry = invalid;
  for (size_t i = 0; i < standard_alphabet.size(); ++i)
    table[static_cast<uint8_t>(standard_alphabet[i])] = static_cast<uint8_t>(i);
  return table;
}

constexpr auto decode_table = make_decode_table();

std::string encode(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t{p[i]} << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad)
      out += "==";
  } else if (rest == 2) {
    uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad)
      out += '=';
  }
  return out;
}

} // namespace

std::string base64_encode(std::string_view data) {
  return encode(data, standard_alphabet, true);
}

std::string base64url_encode(std::string_view data) {
  return encode(data, url_alphabet, false);
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = 1;
    if (text[text.size() - 2] == '=')
      padding = 2;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  const size_t body = text.size() - padding;
  uint32_t acc = 0;
  size_t bits = 0;
  for (size_t i = 0; i < body; ++i) {
    uint8_t v = decode_table[static_cast<uint8_t>(text[i])];
    if (v == invalid)
      return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits (2 after one pad, 4 after two) must be zero for a canonical encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

} // namespace hookwerk::support
