// Fuzzes the duration parser: whatever parses formats back to text that parses to the same
// value, and lists round-trip element by element.
#include "actors/support/duration.hpp"

#include "fuzz/check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace hookwerk::support;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};

  if (auto d = parse_duration(text)) {
    FUZZ_CHECK(d->count() >= 0 && *d <= max_duration);
    auto again = parse_duration(format_duration(*d));
    FUZZ_CHECK(again && *again == *d);
    // A single duration is also a one-element list.
    auto list = parse_duration_list(text);
    FUZZ_CHECK(list && list->size() == 1 && list->front() == *d);
  }

  if (auto list = parse_duration_list(text)) {
    FUZZ_CHECK(!list->empty());
    for (auto d : *list)
      FUZZ_CHECK(d.count() >= 0 && d <= max_duration);
    auto again = parse_duration_list(format_duration_list(*list));
    FUZZ_CHECK(again && *again == *list);
  }

  // Formatting any value (negative ones included) must not overflow.
  if (size >= 8) {
    int64_t raw = 0;
    for (int i = 0; i < 8; ++i)
      raw = static_cast<int64_t>((static_cast<uint64_t>(raw) << 8) | data[i]);
    std::chrono::milliseconds d{raw};
    auto text_form = format_duration(d);
    if (raw >= 0 && d <= max_duration)
      FUZZ_CHECK(parse_duration(text_form) == d);
  }
  return 0;
}
