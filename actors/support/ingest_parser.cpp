#include "actors/support/ingest_parser.hpp"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace hookwerk::support {

static_assert(ingest_parser::padding == simdjson::SIMDJSON_PADDING);

namespace {

namespace dom = simdjson::dom;

constexpr std::size_t max_id_bytes = 255;
constexpr std::size_t none = SIZE_MAX;

// ---------------------------------------------------------------------------------------------
// Positions in JSON text. These helpers only run over text that the DOM parser has accepted, so
// they can rely on its structure; they still never read at or past `end`.

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

const char* skip_space(const char* p, const char* end) {
  while (p < end && is_space(*p))
    ++p;
  return p;
}

// `p` is at a string's opening quote; returns the position after its closing quote.
const char* skip_string(const char* p, const char* end) {
  ++p;
  while (p < end) {
    auto quote = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
    if (quote == nullptr)
      return end;
    // The quote closes the string unless an odd number of backslashes precede it. The walk back
    // stops at the opening quote at the latest.
    const char* first_backslash = quote;
    while (first_backslash[-1] == '\\')
      --first_backslash;
    if (((quote - first_backslash) & 1) == 0)
      return quote + 1;
    p = quote + 1;
  }
  return end;
}

constexpr std::array<bool, 256> container_stops = [] {
  std::array<bool, 256> stops{};
  for (unsigned char c : {'"', '{', '[', '}', ']'})
    stops[c] = true;
  return stops;
}();

// `p` is at the first byte of a value; returns the position after its last byte.
const char* skip_value(const char* p, const char* end) {
  if (p >= end)
    return end;
  char c = *p;
  if (c == '"')
    return skip_string(p, end);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    while (p < end) {
      while (p < end && !container_stops[static_cast<unsigned char>(*p)])
        ++p;
      if (p == end)
        break;
      c = *p;
      if (c == '"') {
        p = skip_string(p, end);
        continue;
      }
      ++p;
      if (c == '{' || c == '[')
        ++depth;
      else if (--depth == 0)
        return p;
    }
    return end;
  }
  while (p < end && !is_space(*p) && *p != ',' && *p != '}' && *p != ']')
    ++p;
  return p;
}

// `p` is at an object's `{`. Calls on_member(index, value) for each member in order until it
// returns false. Returns the position after the object's `}`, or nullptr if stopped early.
template <class F>
const char* for_each_member(const char* p, const char* end, F&& on_member) {
  p = skip_space(p + 1, end);
  if (p < end && *p == '}')
    return p + 1;
  for (std::size_t index = 0; p < end; ++index) {
    p = skip_space(skip_string(p, end), end); // the name
    p = skip_space(p + 1, end);               // the colon
    const char* value_end = skip_value(p, end);
    if (!on_member(index, std::string_view{p, static_cast<std::size_t>(value_end - p)}))
      return nullptr;
    p = skip_space(value_end, end);
    if (p < end && *p == ',') {
      p = skip_space(p + 1, end);
      continue;
    }
    return p < end ? p + 1 : end;
  }
  return end;
}

// The JSON text of the member at `index` of the object whose text is `object_text`.
std::string_view member_text(std::string_view object_text, std::size_t index) {
  std::string_view found;
  for_each_member(object_text.data(), object_text.data() + object_text.size(),
                  [&](std::size_t i, std::string_view value) {
                    if (i != index)
                      return true;
                    found = value;
                    return false;
                  });
  return found;
}

// ---------------------------------------------------------------------------------------------
// Numbers outside what simdjson represents (integers beyond 64 bits, 1e400) are valid JSON. To
// validate such text, every grammatically valid number outside strings is replaced by `0` in a
// copy, which is parsed instead. The copy differs only in number tokens, so it is valid exactly
// when the original is; it has the same structure, so DOM member order matches the original.

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && is_digit(s[i]))
      ++i;
    return i > start;
  };
  if (i < n && s[i] == '-')
    ++i;
  if (i < n && s[i] == '0')
    ++i;
  else if (!(i < n && s[i] >= '1' && s[i] <= '9') || !digits())
    return false;
  if (i < n && s[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      ++i;
    if (!digits())
      return false;
  }
  return i == n;
}

bool is_number_char(char c) {
  return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

void neutralize_numbers(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    char c = text[i];
    std::size_t j = i + 1;
    if (c == '"') {
      while (j < n && text[j] != '"')
        j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, n);
      out.append(text.substr(i, j - i));
    } else if (c == '-' || is_digit(c)) {
      while (j < n && is_number_char(text[j]))
        ++j;
      std::string_view token = text.substr(i, j - i);
      if (is_json_number(token))
        out.push_back('0');
      else
        out.append(token);
    } else {
      out.push_back(c);
    }
    i = j;
  }
}

// ---------------------------------------------------------------------------------------------

bool is_number(dom::element_type type) {
  return type == dom::element_type::INT64 || type == dom::element_type::UINT64
         || type == dom::element_type::DOUBLE;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string positioned(const char* what, std::size_t position, std::string_view message) {
  std::string out;
  out.reserve(message.size() + 16);
  out.append(what).push_back(' ');
  out.append(std::to_string(position)).append(": ").append(message);
  return out;
}

// A string-or-number member (id, key): its value or JSON text, once the raw text is known.
struct text_member {
  std::size_t index = none;
  bool is_number = false;
  std::string_view value; // the string's value; for a number, filled from the raw text
};

enum class text_check { ok, absent, wrong_type };

text_check read_text_member(dom::element element, text_member& out) {
  dom::element_type type = element.type();
  if (type == dom::element_type::STRING) {
    out.value = element.get_string().value_unsafe();
    return text_check::ok;
  }
  if (is_number(type)) {
    out.is_number = true;
    return text_check::ok;
  }
  return type == dom::element_type::NULL_VALUE ? text_check::absent : text_check::wrong_type;
}

// Fills `item` from `object`, whose text starts at `cursor` (its `{`); on success advances
// `cursor` past the object's `}` and returns nullptr, otherwise returns the error message.
const char* read_item(dom::object object, const char*& cursor, const char* end,
                      ingest_item& item) {
  dom::element account, event, payload, id, key;
  std::size_t account_at = none, event_at = none, payload_at = none, id_at = none,
              key_at = none;
  std::size_t index = 0;
  for (dom::key_value_pair member : object) {
    std::string_view name = member.key;
    if (name == "account")
      account = member.value, account_at = index;
    else if (name == "event")
      event = member.value, event_at = index;
    else if (name == "payload")
      payload = member.value, payload_at = index;
    else if (name == "id")
      id = member.value, id_at = index;
    else if (name == "key")
      key = member.value, key_at = index;
    ++index;
  }

  std::string_view account_text, event_text;
  if (account_at == none)
    return "missing field \"account\"";
  if (account.get_string().get(account_text) != simdjson::SUCCESS)
    return "account must be a string";
  if (account_text.empty())
    return "account must not be empty";
  if (event_at == none)
    return "missing field \"event\"";
  if (event.get_string().get(event_text) != simdjson::SUCCESS)
    return "event must be a string";
  if (event_text.empty())
    return "event must not be empty";
  if (payload_at == none)
    return "missing field \"payload\"";
  if (payload.type() != dom::element_type::OBJECT)
    return "payload must be a JSON object";

  text_member id_member, key_member;
  if (id_at != none) {
    switch (read_text_member(id, id_member)) {
      case text_check::ok:
        id_member.index = id_at;
        if (!id_member.is_number && id_member.value.empty())
          return "id must not be empty";
        if (id_member.value.size() > max_id_bytes)
          return "id must be at most 255 bytes";
        break;
      case text_check::absent:
        break;
      case text_check::wrong_type:
        return "id must be a string or a number";
    }
  }
  if (key_at != none) {
    switch (read_text_member(key, key_member)) {
      case text_check::ok:
        key_member.index = key_at;
        break;
      case text_check::absent:
        break;
      case text_check::wrong_type:
        return "key must be a string or a number";
    }
  }

  std::string_view payload_text;
  const char* after = for_each_member(cursor, end, [&](std::size_t i, std::string_view value) {
    if (i == payload_at)
      payload_text = value;
    else if (i == id_member.index && id_member.is_number)
      id_member.value = value;
    else if (i == key_member.index && key_member.is_number)
      key_member.value = value;
    return true;
  });
  cursor = after;
  if (id_member.value.size() > max_id_bytes)
    return "id must be at most 255 bytes";

  // Without a key, payload.subscriber_id (its last occurrence) supplies it.
  if (key_member.index == none) {
    std::size_t subscriber_at = none;
    dom::element subscriber;
    std::size_t i = 0;
    dom::object payload_object = payload.get_object().value_unsafe();
    for (dom::key_value_pair member : payload_object) {
      if (member.key == "subscriber_id")
        subscriber = member.value, subscriber_at = i;
      ++i;
    }
    if (subscriber_at != none && read_text_member(subscriber, key_member) == text_check::ok) {
      key_member.index = subscriber_at;
      if (key_member.is_number)
        key_member.value = member_text(payload_text, subscriber_at);
    }
  }

  item.account.assign(account_text);
  item.event.assign(event_text);
  item.payload.assign(payload_text);
  if (id_member.index != none)
    item.id.emplace(id_member.value);
  if (key_member.index != none)
    item.key.emplace(key_member.value);
  return nullptr;
}

} // namespace

bool is_ndjson_content_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t'))
    media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t'))
    media.remove_suffix(1);
  constexpr std::string_view ndjson = "application/x-ndjson";
  if (media.size() != ndjson.size())
    return false;
  for (std::size_t i = 0; i < ndjson.size(); ++i)
    if (ascii_lower(media[i]) != ndjson[i])
      return false;
  return true;
}

struct ingest_parser::impl {
  dom::parser parser;
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_capacity = 0;
  std::string neutralized;

  // Returns the body's text with simdjson::SIMDJSON_PADDING readable bytes after it.
  const char* padded(std::string_view body, std::size_t readable) {
    if (readable >= body.size() && readable - body.size() >= simdjson::SIMDJSON_PADDING)
      return body.data();
    const std::size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
    if (buffer_capacity < needed) {
      std::size_t capacity = std::max(needed, buffer_capacity + buffer_capacity / 2);
      buffer = std::make_unique_for_overwrite<char[]>(capacity);
      buffer_capacity = capacity;
    }
    if (!body.empty())
      std::memcpy(buffer.get(), body.data(), body.size());
    std::memset(buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
    return buffer.get();
  }

  // Fully validates `text` (which has padding after it) and returns its document, or an error
  // message in `error`.
  bool validate(std::string_view text, dom::element& root, std::string& error) {
    auto code = parser.parse(text.data(), text.size(), false).get(root);
    if (code == simdjson::NUMBER_ERROR) {
      neutralize_numbers(text, neutralized);
      code = parser.parse(neutralized.data(), neutralized.size(), false).get(root);
    }
    switch (code) {
      case simdjson::SUCCESS:
        return true;
      case simdjson::EMPTY:
        error = "empty body";
        return false;
      case simdjson::DEPTH_ERROR:
        error = "malformed JSON: nested deeper than " + std::to_string(parser.max_depth())
                + " levels";
        return false;
      default:
        error = "malformed JSON: ";
        error += simdjson::error_message(code);
        return false;
    }
  }

  ingest_parse_result parse_json(const char* text, std::size_t size) {
    ingest_parse_result result;
    const char* end = text + size;
    dom::element root;
    if (!validate({text, size}, root, result.error))
      return result;
    const char* cursor = skip_space(text, end);
    if (root.type() == dom::element_type::OBJECT) {
      if (const char* error = read_item(root.get_object().value_unsafe(), cursor, end,
                                        result.items.emplace_back())) {
        result.items.clear();
        result.error = error;
      }
      return result;
    }
    if (root.type() != dom::element_type::ARRAY) {
      result.error = "expected a JSON object or an array of objects";
      return result;
    }
    result.batch = true;
    dom::array array = root.get_array().value_unsafe();
    result.items.reserve(array.size());
    ++cursor; // past '['
    std::size_t position = 0;
    for (dom::element element : array) {
      ++position;
      cursor = skip_space(cursor, end);
      const char* error = "expected a JSON object";
      if (element.type() == dom::element_type::OBJECT)
        error = read_item(element.get_object().value_unsafe(), cursor, end,
                          result.items.emplace_back());
      if (error != nullptr) {
        result.items.clear();
        result.error = positioned("item", position, error);
        return result;
      }
      cursor = skip_space(cursor, end);
      if (cursor < end && *cursor == ',')
        ++cursor;
    }
    if (result.items.empty())
      result.error = "empty batch";
    return result;
  }

  ingest_parse_result parse_ndjson(const char* text, std::size_t size) {
    ingest_parse_result result;
    result.batch = true;
    const char* end = text + size;
    std::size_t line = 0;
    std::string error;
    for (const char* p = text; p < end;) {
      ++line;
      auto newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* line_end = newline != nullptr ? newline : end;
      const char* first = skip_space(p, line_end);
      p = newline != nullptr ? newline + 1 : end;
      if (first == line_end)
        continue;
      dom::element root;
      const char* message = nullptr;
      if (!validate({first, static_cast<std::size_t>(line_end - first)}, root, error))
        message = error.c_str();
      else if (root.type() != dom::element_type::OBJECT)
        message = "expected a JSON object";
      else
        message = read_item(root.get_object().value_unsafe(), first, line_end,
                            result.items.emplace_back());
      if (message != nullptr) {
        result.items.clear();
        result.error = positioned("line", line, message);
        return result;
      }
    }
    if (result.items.empty())
      result.error = "empty batch";
    return result;
  }
};

ingest_parser::ingest_parser() : impl_(std::make_unique<impl>()) {}
ingest_parser::~ingest_parser() = default;
ingest_parser::ingest_parser(ingest_parser&&) noexcept = default;
ingest_parser& ingest_parser::operator=(ingest_parser&&) noexcept = default;

ingest_parse_result ingest_parser::parse(std::string_view content_type, std::string_view body) {
  return parse(content_type, body, body.size());
}

ingest_parse_result ingest_parser::parse(std::string_view content_type, std::string_view body,
                                         std::size_t readable) {
  const char* text = impl_->padded(body, readable);
  if (is_ndjson_content_type(content_type))
    return impl_->parse_ndjson(text, body.size());
  return impl_->parse_json(text, body.size());
}

} // namespace hookwerk::support
