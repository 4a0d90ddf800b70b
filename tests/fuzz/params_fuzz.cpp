// Fuzzes management API parameter decoding. The first byte picks the Content-Type, the rest is
// the body. The typed accessors keep their documented ranges and agree with each other, and a
// form body means the same as a JSON object of the same fields as strings.
#include "actors/support/form.hpp"
#include "actors/support/json_writer.hpp"
#include "actors/support/params.hpp"
#include "fuzz/check.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

using namespace hookwerk::support;

namespace {

constexpr std::array<std::string_view, 6> content_types{
    "application/json",
    "application/x-www-form-urlencoded",
    "",
    "application/vnd.api+json; charset=utf-8",
    "text/plain",
    "APPLICATION/X-WWW-FORM-URLENCODED",
};

// Names the management API reads; the dictionary feeds them to the fuzzer.
constexpr std::array<std::string_view, 9> names{
    "id", "limit", "offset", "active", "url", "event", "account", "a", "",
};

void check_name(const params& p, std::string_view name) {
  const param_value* v = p.find(name);
  FUZZ_CHECK(p.has(name) == (v != nullptr && v->type != param_value::kind::null));

  auto id = p.get_positive_id(name);
  auto limit = p.get_limit(name);
  auto offset = p.get_offset(name);
  auto flag = p.get_bool(name);
  auto text = p.get_string(name);
  for (bool absent : {id.absent(), limit.absent(), offset.absent(), flag.absent(), text.absent()})
    FUZZ_CHECK(absent == !p.has(name));

  constexpr auto max_id = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (id.ok()) {
    FUZZ_CHECK(id.value >= 1 && id.value <= max_id);
    // Every valid id is a valid limit and offset with the same value.
    FUZZ_CHECK(limit.ok() && limit.value == id.value);
    FUZZ_CHECK(offset.ok() && offset.value == id.value);
  }
  if (limit.ok()) {
    FUZZ_CHECK(limit.value >= 1);
    FUZZ_CHECK(offset.ok() && offset.value == limit.value);
  }
  if (offset.ok() && offset.value >= 1 && offset.value <= max_id)
    FUZZ_CHECK(id.ok() && id.value == offset.value);
  if (!flag.ok())
    FUZZ_CHECK(flag.value == false);
  if (!id.ok())
    FUZZ_CHECK(id.value == 0);
  if (text.ok() && v->type == param_value::kind::string)
    FUZZ_CHECK(text.value == v->text);
}

template <class T>
bool same(const param_result<T>& a, const param_result<T>& b) {
  return a.st == b.st && a.value == b.value;
}

// A form body and the JSON object of its fields (as strings) read the same. ASCII only: JSON
// text is UTF-8, while form values are raw bytes.
void check_form_as_json(std::string_view body) {
  auto fields = parse_form_urlencoded(body);
  if (!fields)
    return;
  json_writer w;
  w.begin_object();
  for (const auto& [name, value] : *fields) {
    for (const std::string* s : {&name, &value})
      for (char c : *s)
        if (static_cast<unsigned char>(c) >= 0x80)
          return;
    w.key(name);
    w.value(value);
  }
  w.end_object();
  auto form = params::from_form(body);
  auto json = params::from_json(w.str());
  FUZZ_CHECK(form && json && form->size() == json->size());
  for (auto name : names) {
    FUZZ_CHECK(form->has(name) == json->has(name));
    FUZZ_CHECK(same(form->get_string(name), json->get_string(name)));
    FUZZ_CHECK(same(form->get_positive_id(name), json->get_positive_id(name)));
    FUZZ_CHECK(same(form->get_limit(name), json->get_limit(name)));
    FUZZ_CHECK(same(form->get_offset(name), json->get_offset(name)));
    FUZZ_CHECK(same(form->get_bool(name), json->get_bool(name)));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view content_type = content_types[data[0] % content_types.size()];
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};

  auto decoded = params::decode(content_type, body);
  if (content_type == "application/json") {
    auto json = params::from_json(body);
    FUZZ_CHECK(json.has_value() == decoded.has_value());
  }
  if (content_type == "application/x-www-form-urlencoded") {
    auto form = params::from_form(body);
    FUZZ_CHECK(form.has_value() == decoded.has_value());
    if (form)
      for (auto name : names)
        if (const param_value* v = form->find(name))
          FUZZ_CHECK(v->type == param_value::kind::string);
    check_form_as_json(body);
  }
  if (!decoded)
    return 0;
  for (auto name : names)
    check_name(*decoded, name);
  return 0;
}
