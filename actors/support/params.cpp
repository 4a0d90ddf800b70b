#include "actors/support/params.hpp"

#include "actors/support/form.hpp"

#include <simdjson.h>

#include <charconv>
#include <limits>

namespace hookwerk::support {

namespace {

constexpr uint64_t max_id = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

std::string format_double(double number) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  if (ec != std::errc{})
    return "0.0";
  std::string text(buf, end);
  if (text.find_first_of(".eEn") == std::string::npos)
    text += ".0";
  return text;
}

param_value to_param_value(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  param_value out;
  switch (element.type()) {
    case element_type::STRING: {
      std::string_view s;
      if (element.get_string().get(s) == simdjson::SUCCESS)
        out.text.assign(s);
      out.type = param_value::kind::string;
      break;
    }
    case element_type::INT64: {
      int64_t n = 0;
      if (element.get_int64().get(n) == simdjson::SUCCESS)
        out.text = std::to_string(n);
      out.type = param_value::kind::number;
      break;
    }
    case element_type::UINT64: {
      uint64_t n = 0;
      if (element.get_uint64().get(n) == simdjson::SUCCESS)
        out.text = std::to_string(n);
      out.type = param_value::kind::number;
      break;
    }
    case element_type::DOUBLE: {
      double n = 0;
      if (element.get_double().get(n) == simdjson::SUCCESS)
        out.text = format_double(n);
      out.type = param_value::kind::number;
      break;
    }
    case element_type::BOOL: {
      bool b = false;
      if (element.get_bool().get(b) == simdjson::SUCCESS)
        out.text = b ? "true" : "false";
      out.type = param_value::kind::boolean;
      break;
    }
    case element_type::NULL_VALUE:
      out.type = param_value::kind::null;
      break;
    case element_type::ARRAY:
    case element_type::OBJECT:
      out.type = param_value::kind::other;
      break;
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z')
      x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = static_cast<char>(y - 'A' + 'a');
    if (x != y)
      return false;
  }
  return true;
}

enum class digits_result { invalid, ok, too_large };

// Parses a non-empty run of ASCII digits into 1 … 2^63-1.
digits_result parse_positive(std::string_view text, uint64_t& out) {
  if (text.empty())
    return digits_result::invalid;
  uint64_t n = 0;
  bool too_large = false;
  for (char c : text) {
    if (c < '0' || c > '9')
      return digits_result::invalid;
    auto digit = static_cast<uint64_t>(c - '0');
    if (too_large || n > (max_id - digit) / 10)
      too_large = true;
    else
      n = n * 10 + digit;
  }
  if (too_large)
    return digits_result::too_large;
  if (n == 0)
    return digits_result::invalid;
  out = n;
  return digits_result::ok;
}

// A count (`limit`, `offset`): the syntax of an id, saturating at UINT64_MAX when too large,
// with 0 accepted only when `zero_allowed`.
param_result<uint64_t> read_count(const param_value* v, bool zero_allowed) {
  using result = param_result<uint64_t>;
  if (v == nullptr || v->type == param_value::kind::null)
    return result::make_absent();
  if (v->type != param_value::kind::string && v->type != param_value::kind::number)
    return result::make_invalid();
  if (zero_allowed && !v->text.empty() && v->text.find_first_not_of('0') == std::string::npos)
    return result::make_ok(0);
  uint64_t n = 0;
  switch (parse_positive(v->text, n)) {
    case digits_result::ok: return result::make_ok(n);
    case digits_result::too_large: return result::make_ok(std::numeric_limits<uint64_t>::max());
    case digits_result::invalid: break;
  }
  return result::make_invalid();
}

} // namespace

std::optional<params> params::from_form(std::string_view body) {
  auto fields = parse_form_urlencoded(body);
  if (!fields)
    return std::nullopt;
  params result;
  for (auto& [name, value] : *fields)
    result.values_.insert_or_assign(std::move(name),
                                    param_value{param_value::kind::string, std::move(value)});
  return result;
}

std::optional<params> params::from_json(std::string_view body) {
  // One parser per thread keeps its buffers between calls.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  // realloc_if_needed = true: the parser copies the body into a padded buffer.
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS)
    return std::nullopt;
  params result;
  for (auto field : object)
    result.values_.insert_or_assign(std::string(field.key), to_param_value(field.value));
  return result;
}

std::optional<params> params::decode(std::string_view content_type, std::string_view body) {
  std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view json_suffix = "+json";
  if (iequals(media, "application/json")
      || (media.size() > json_suffix.size()
          && iequals(media.substr(media.size() - json_suffix.size()), json_suffix)))
    return from_json(body);
  if (iequals(media, "application/x-www-form-urlencoded"))
    return from_form(body);
  std::string_view start = trim(body);
  if (!start.empty() && start.front() == '{')
    return from_json(body);
  return from_form(body);
}

const param_value* params::find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool params::has(std::string_view name) const {
  const auto* v = find(name);
  return v != nullptr && v->type != param_value::kind::null;
}

param_result<std::string> params::get_string(std::string_view name) const {
  using result = param_result<std::string>;
  const auto* v = find(name);
  if (v == nullptr || v->type == param_value::kind::null)
    return result::make_absent();
  if (v->type != param_value::kind::string)
    return result::make_invalid();
  return result::make_ok(v->text);
}

param_result<uint64_t> params::get_positive_id(std::string_view name) const {
  using result = param_result<uint64_t>;
  const auto* v = find(name);
  if (v == nullptr || v->type == param_value::kind::null)
    return result::make_absent();
  if (v->type != param_value::kind::string && v->type != param_value::kind::number)
    return result::make_invalid();
  uint64_t n = 0;
  if (parse_positive(v->text, n) != digits_result::ok)
    return result::make_invalid();
  return result::make_ok(n);
}

param_result<uint64_t> params::get_limit(std::string_view name) const {
  return read_count(find(name), false);
}

param_result<uint64_t> params::get_offset(std::string_view name) const {
  return read_count(find(name), true);
}

param_result<bool> params::get_bool(std::string_view name) const {
  using result = param_result<bool>;
  const auto* v = find(name);
  if (v == nullptr || v->type == param_value::kind::null)
    return result::make_absent();
  switch (v->type) {
    case param_value::kind::string:
    case param_value::kind::number:
    case param_value::kind::boolean:
      if (v->text == "1" || v->text == "true")
        return result::make_ok(true);
      if (v->text == "0" || v->text == "false")
        return result::make_ok(false);
      break;
    default:
      break;
  }
  return result::make_invalid();
}

} // namespace hookwerk::support
