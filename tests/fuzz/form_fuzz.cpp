// Fuzzes form decoding: percent_decode undoes url_encode, and a decoded form body encodes to a
// body that decodes to the same fields.
#include "actors/support/form.hpp"
#include "fuzz/check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace hookwerk::support;

namespace {

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};

  auto plain = percent_decode(text, false);
  auto plus = percent_decode(text, true);
  // Both modes agree on what is malformed; without '+' they agree on the result too.
  FUZZ_CHECK(plain.has_value() == plus.has_value());
  if (plain && text.find('+') == std::string_view::npos)
    FUZZ_CHECK(*plain == *plus);
  if (plain)
    FUZZ_CHECK(plain->size() <= text.size());

  std::string encoded = url_encode(text);
  for (std::size_t i = 0; i < encoded.size(); ++i)
    FUZZ_CHECK(is_unreserved(encoded[i]) || encoded[i] == '%');
  auto decoded = percent_decode(encoded, true);
  FUZZ_CHECK(decoded && *decoded == text);

  if (auto fields = parse_form_urlencoded(text)) {
    // Every escape of a valid form lies inside one name or value, so the whole text decodes.
    FUZZ_CHECK(plus.has_value());
    auto again = parse_form_urlencoded(form_encode(*fields));
    FUZZ_CHECK(again && *again == *fields);
  }
  return 0;
}
