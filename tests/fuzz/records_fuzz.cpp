// Fuzzes the storage record decoders. The first byte picks the record type, the rest is the
// stored value. A record that decodes (a queue entry in either form) re-encodes to bytes that decode to the same record (and
// re-encode to the same bytes); a queue entry's peek agrees with its full decode.
#include "fuzz/check.hpp"
#include "storage/records.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hookwerk::storage;

namespace {

template <class Record>
uint8_t first_byte(const Record&) {
  return record_version;
}

/// A queue entry in the reference form starts with its tag instead.
uint8_t first_byte(const queue_entry& e) {
  return e.shared ? shared_entry_tag : record_version;
}

template <class Record>
void round_trip(std::string_view in) {
  auto r = Record::decode(in);
  if (!r)
    return;
  std::string bytes = r->encode();
  FUZZ_CHECK(!bytes.empty() && static_cast<uint8_t>(bytes[0]) == first_byte(*r));
  auto again = Record::decode(bytes);
  FUZZ_CHECK(again && *again == *r);
  FUZZ_CHECK(again->encode() == bytes);
  // A record of the current version ending inside a group, or with a byte after the last one,
  // does not decode.
  FUZZ_CHECK(!Record::decode(std::string_view{bytes}.substr(0, bytes.size() - 1)));
  FUZZ_CHECK(!Record::decode(bytes + '\0'));
}

void check_queue_entry(std::string_view in) {
  round_trip<queue_entry>(in);
  auto entry = queue_entry::decode(in);
  auto head = queue_entry::peek(in);
  if (entry) {
    FUZZ_CHECK(head && head->seq == entry->seq);
    FUZZ_CHECK(head->key.has_value() == entry->key.has_value());
    if (head->key)
      FUZZ_CHECK(*head->key == *entry->key);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 7) {
  case 0: round_trip<account_record>(in); break;
  case 1: round_trip<hook_record>(in); break;
  case 2: check_queue_entry(in); break;
  case 3: round_trip<attempt_record>(in); break;
  case 4: round_trip<idempotency_record>(in); break;
  case 5: round_trip<notification_record>(in); break;
  case 6: round_trip<event_record>(in); break;
  }
  return 0;
}
