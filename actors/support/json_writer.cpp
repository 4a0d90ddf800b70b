#include "actors/support/json_writer.hpp"

#include <charconv>

namespace hookwerk::support {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";

// True for bytes that can be copied unchanged: printable ASCII other than '"' and '\\'.
constexpr bool is_plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void append_control(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  switch (c) {
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0x0f];
  }
}

bool is_continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// Length of the valid UTF-8 sequence starting at text[i] (whose lead byte is >= 0x80), or,
// negated, the length of the maximal ill-formed subpart to replace with one U+FFFD.
int utf8_sequence(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  int length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0)
      second_min = 0xa0; // overlong
    else if (lead == 0xed)
      second_max = 0x9f; // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0)
      second_min = 0x90; // overlong
    else if (lead == 0xf4)
      second_max = 0x8f; // above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if (i + static_cast<size_t>(k) >= text.size())
      return -k;
    unsigned char c = byte(i + static_cast<size_t>(k));
    bool ok = k == 1 ? (c >= second_min && c <= second_max) : is_continuation(c);
    if (!ok)
      return -k;
  }
  return length;
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    size_t start = i;
    while (i < n && is_plain(static_cast<unsigned char>(text[i])))
      ++i;
    if (i > start)
      out.append(text.data() + start, i - start);
    if (i >= n)
      break;
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += "\\\\";
      else
        append_control(out, c);
      ++i;
      continue;
    }
    int length = utf8_sequence(text, i);
    if (length < 0) {
      out += replacement;
      i += static_cast<size_t>(-length);
      continue;
    }
    if (length == 3 && c == 0xe2 && static_cast<unsigned char>(text[i + 1]) == 0x80
        && (static_cast<unsigned char>(text[i + 2]) == 0xa8
            || static_cast<unsigned char>(text[i + 2]) == 0xa9)) {
      out += static_cast<unsigned char>(text[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
    } else {
      out.append(text.data() + i, static_cast<size_t>(length));
    }
    i += static_cast<size_t>(length);
  }
  out += '"';
}

json_writer::json_writer(size_t reserve) { out_.reserve(reserve); }

void json_writer::before_value() {
  if (after_key_)
    after_key_ = false;
  else if (need_comma_)
    out_ += ',';
}

void json_writer::begin_object() {
  before_value();
  out_ += '{';
  need_comma_ = false;
}

void json_writer::end_object() {
  out_ += '}';
  need_comma_ = true;
}

void json_writer::begin_array() {
  before_value();
  out_ += '[';
  need_comma_ = false;
}

void json_writer::end_array() {
  out_ += ']';
  need_comma_ = true;
}

void json_writer::key(std::string_view name) {
  if (need_comma_)
    out_ += ',';
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
}

void json_writer::value(std::string_view text) {
  before_value();
  append_json_string(out_, text);
  need_comma_ = true;
}

void json_writer::value(const char* text) {
  value(text == nullptr ? std::string_view{} : std::string_view{text});
}

void json_writer::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  need_comma_ = true;
}

void json_writer::null() {
  before_value();
  out_ += "null";
  need_comma_ = true;
}

void json_writer::raw(std::string_view json) {
  before_value();
  out_ += json;
  need_comma_ = true;
}

void json_writer::write_signed(int64_t number) {
  before_value();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  (void)ec;
  out_.append(buf, end);
  need_comma_ = true;
}

void json_writer::write_unsigned(uint64_t number) {
  before_value();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  (void)ec;
  out_.append(buf, end);
  need_comma_ = true;
}

std::string json_writer::take() {
  std::string result = std::move(out_);
  out_.clear();
  need_comma_ = false;
  after_key_ = false;
  return result;
}

} // namespace hookwerk::support
