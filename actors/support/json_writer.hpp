#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

/// Building JSON text without a document model.
namespace hookwerk::support {

/// Appends `text` to `out` as a JSON string literal, quotes included. Escapes `"`, `\`, all
/// control characters below 0x20 (as \b \f \n \r \t or \u00XX) and U+2028/U+2029 (as
/// \u2028/\u2029, for JavaScript consumers); other characters are copied as UTF-8. Bytes that do
/// not form valid UTF-8 (stray continuation bytes, truncated or overlong sequences, surrogates,
/// code points above U+10FFFF) are replaced with U+FFFD, one per maximal ill-formed subpart, so
/// the output is always valid UTF-8. Safe from any thread.
void append_json_string(std::string& out, std::string_view text);

/// Streams JSON text into a string, inserting the commas and colons itself:
///
///     json_writer w;
///     w.begin_object();
///     w.key("id"); w.value(17);
///     w.key("tags"); w.begin_array(); w.value("a"); w.value("b"); w.end_array();
///     w.end_object();          // {"id":17,"tags":["a","b"]}
///
/// The caller is responsible for a well-formed sequence of calls (a key before each value inside
/// an object, matching begin/end); the writer does not check it. No whitespace is emitted.
/// Not thread-safe: one writer per thread.
class json_writer {
public:
  /// `reserve` is the initial capacity of the output buffer.
  explicit json_writer(size_t reserve = 256);

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();

  /// An object member's name; the next call writes its value.
  void key(std::string_view name);

  /// A string value, escaped as by append_json_string.
  void value(std::string_view text);
  void value(const char* text);
  void value(const std::string& text) { value(std::string_view{text}); }

  void value(bool flag);

  /// Any integer type except bool and the character types, written in decimal.
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>
             && !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t>
             && !std::is_same_v<T, char32_t> && !std::is_same_v<T, wchar_t>)
  void value(T number) {
    if constexpr (std::is_signed_v<T>)
      write_signed(static_cast<int64_t>(number));
    else
      write_unsigned(static_cast<uint64_t>(number));
  }

  void null();

  /// Inserts `json` verbatim as one value; it must already be valid JSON text.
  void raw(std::string_view json);

  /// Shorthand for key(name) followed by value(v).
  template <class T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  /// The text written so far.
  const std::string& str() const { return out_; }

  /// Moves the text out and resets the writer to empty.
  std::string take();

private:
  void before_value();
  void write_signed(int64_t number);
  void write_unsigned(uint64_t number);

  std::string out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

} // namespace hookwerk::support
