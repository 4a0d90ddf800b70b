#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hookwerk::storage {

/// Builds a binary record. Integers are fixed-width big-endian (i64 as its
/// two's complement), booleans one byte (0 or 1), strings a LEB128 varint
/// length followed by the bytes; varint() writes a LEB128 varint alone.
/// Not thread-safe; one encoder per record.
class encoder {
public:
  void u8(uint8_t value);
  void u32(uint32_t value);
  void u64(uint64_t value);
  void i64(int64_t value);
  void boolean(bool value);
  void str(std::string_view value);
  /// An unsigned LEB128 varint: 1 byte below 128, at most 10.
  void varint(uint64_t value);

  /// The bytes written so far; move from it to take the record.
  std::string& data() noexcept { return data_; }

private:
  std::string data_;
};

/// Reads what an encoder wrote. Every method returns false if the input is
/// too short or malformed (a boolean other than 0/1, an oversized varint);
/// it then consumes nothing and leaves the target unchanged. Never reads
/// outside the input, which must outlive the decoder. Not thread-safe.
class decoder {
public:
  explicit decoder(std::string_view input) noexcept : in_(input) {}

  bool u8(uint8_t& out) noexcept;
  bool u32(uint32_t& out) noexcept;
  bool u64(uint64_t& out) noexcept;
  bool i64(int64_t& out) noexcept;
  bool boolean(bool& out) noexcept;
  bool str(std::string& out);
  /// What encoder::varint wrote; false for more than 64 bits.
  bool varint(uint64_t& out) noexcept;
  /// Like str(), without copying: `out` points into the input.
  bool str_view(std::string_view& out) noexcept;

  /// True when all input has been consumed.
  bool at_end() const noexcept { return in_.empty(); }

  /// Bytes not yet consumed.
  std::size_t remaining() const noexcept { return in_.size(); }

private:
  bool fixed(std::size_t width, uint64_t& out) noexcept;

  std::string_view in_;
};

} // namespace hookwerk::storage
