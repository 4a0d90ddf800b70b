// Fuzzes the ingest body parser. The first byte picks the Content-Type, the rest is the body.
// Parsing a copy and parsing in place give the same result; an accepted body yields items with
// every field the delivery path relies on; each item, written out again as JSON, parses to
// itself; a single object means the same as a one-line NDJSON body and a one-element array.
#include "actors/support/ingest_parser.hpp"
#include "actors/support/json_writer.hpp"
#include "fuzz/check.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hookwerk::support;

namespace {

constexpr std::array<std::string_view, 5> content_types{
    "application/json",
    "application/x-ndjson",
    " Application/X-NDJSON ; charset=utf-8",
    "",
    "text/plain",
};

bool same(const ingest_parse_result& a, const ingest_parse_result& b) {
  if (a.error != b.error || a.batch != b.batch || a.items.size() != b.items.size())
    return false;
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    const auto& x = a.items[i];
    const auto& y = b.items[i];
    if (x.account != y.account || x.event != y.event || x.payload != y.payload || x.id != y.id
        || x.key != y.key)
      return false;
  }
  return true;
}

// The item as a JSON object with every field explicit.
std::string to_json(const ingest_item& item) {
  std::string out = "{\"account\":";
  append_json_string(out, item.account);
  out += ",\"event\":";
  append_json_string(out, item.event);
  if (item.id) {
    out += ",\"id\":";
    append_json_string(out, *item.id);
  }
  if (item.key) {
    out += ",\"key\":";
    append_json_string(out, *item.key);
  }
  out += ",\"payload\":";
  out += item.payload;
  out += '}';
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static ingest_parser parser; // reused, as in the server: buffers persist between calls
  std::string_view content_type = content_types[data[0] % content_types.size()];
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};

  ingest_parse_result copied = parser.parse(content_type, body);

  std::string in_place;
  in_place.reserve(body.size() + ingest_parser::padding);
  in_place.assign(body);
  ingest_parse_result direct = parser.parse(content_type, in_place, in_place.capacity());
  FUZZ_CHECK(same(copied, direct));

  if (!copied.ok()) {
    FUZZ_CHECK(copied.items.empty()); // all items or one error, never both
    return 0;
  }
  FUZZ_CHECK(!copied.items.empty());
  if (!copied.batch)
    FUZZ_CHECK(copied.items.size() == 1);
  if (is_ndjson_content_type(content_type))
    FUZZ_CHECK(copied.batch);
  for (const auto& item : copied.items) {
    FUZZ_CHECK(!item.account.empty());
    FUZZ_CHECK(!item.event.empty());
    FUZZ_CHECK(item.payload.size() >= 2 && item.payload.front() == '{'
               && item.payload.back() == '}');
    // The payload is a substring of the body, byte for byte.
    FUZZ_CHECK(body.find(item.payload) != std::string_view::npos);
    if (item.id)
      FUZZ_CHECK(!item.id->empty() && item.id->size() <= 255);
  }
  // The reused parser gives the same answer a second time.
  FUZZ_CHECK(same(copied, parser.parse(content_type, body)));

  for (const auto& item : copied.items) {
    auto again = parser.parse("application/json", to_json(item));
    FUZZ_CHECK(again.ok() && !again.batch && again.items.size() == 1);
    ingest_parse_result expected;
    expected.items.push_back(item);
    FUZZ_CHECK(same(again, expected));
  }

  // A single object on one line is also a one-line NDJSON body and a one-element array (short
  // bodies only, so the extra bracket cannot cross the nesting limit).
  if (!copied.batch && body.find_first_of("\r\n") == std::string_view::npos && body.size() < 1000) {
    auto ndjson = parser.parse("application/x-ndjson", body);
    FUZZ_CHECK(ndjson.ok() && ndjson.batch && ndjson.items.size() == 1);
    auto array = parser.parse("application/json", "[" + std::string(body) + "]");
    FUZZ_CHECK(array.ok() && array.batch && array.items.size() == 1);
    copied.batch = true;
    FUZZ_CHECK(same(copied, ndjson) && same(copied, array));
  }
  return 0;
}
