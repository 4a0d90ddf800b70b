// Fuzzes the field decoder and the key layout. The first bytes are a program of decoder calls
// run over the rest of the input: a failed read consumes nothing, a successful one consumes
// exactly its width, and what was read encodes back to a value that reads the same. The same
// input also supplies ids for the key properties: be64 round-trips and preserves order, and a
// hook's keys fall inside its own range and no other's.
#include "fuzz/check.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hookwerk::storage;

namespace {

uint64_t read_u64(std::string_view& in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v <<= 8;
    if (!in.empty()) {
      v |= static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
    }
  }
  return v;
}

bool in_range(const std::string& key, const std::pair<std::string, std::string>& range) {
  return range.first <= key && key < range.second;
}

void run_decoder(std::string_view program, std::string_view input) {
  decoder d(input);
  for (char op : program) {
    const std::size_t before = d.remaining();
    bool ok = false;
    std::size_t width = 0;
    switch (static_cast<uint8_t>(op) % 7) {
    case 0: { uint8_t v; ok = d.u8(v); width = 1; break; }
    case 1: { uint32_t v; ok = d.u32(v); width = 4; break; }
    case 2: { uint64_t v; ok = d.u64(v); width = 8; break; }
    case 3: { int64_t v; ok = d.i64(v); width = 8; break; }
    case 4: {
      bool v = false;
      const bool first_is_bool =
          before > 0 && static_cast<uint8_t>(input[input.size() - before]) <= 1;
      ok = d.boolean(v);
      FUZZ_CHECK(ok == first_is_bool);
      width = 1;
      break;
    }
    case 5: {
      std::string v;
      ok = d.str(v);
      if (ok) {
        FUZZ_CHECK(before - d.remaining() > v.size());
        encoder e;
        e.str(v);
        decoder again(e.data());
        std::string w;
        FUZZ_CHECK(again.str(w) && w == v && again.at_end());
        width = before - d.remaining();
      }
      break;
    }
    case 6: {
      std::string_view v;
      ok = d.str_view(v);
      if (ok) {
        // The view lies inside the input, right before what is left.
        FUZZ_CHECK(v.data() >= input.data() && v.data() + v.size() <= input.data() + input.size());
        FUZZ_CHECK(v.data() + v.size() == input.data() + (input.size() - d.remaining()));
        width = before - d.remaining();
      }
      break;
    }
    }
    if (ok)
      FUZZ_CHECK(width <= before && d.remaining() == before - width);
    else
      FUZZ_CHECK(d.remaining() == before);
    FUZZ_CHECK(d.at_end() == (d.remaining() == 0));
  }
}

void check_keys(std::string_view in) {
  const uint64_t a = read_u64(in);
  const uint64_t b = read_u64(in);
  const uint64_t s = read_u64(in);
  const uint64_t t = read_u64(in);

  FUZZ_CHECK(be64(a).size() == 8 && get_be64(be64(a)) == a);
  FUZZ_CHECK((be64(a) < be64(b)) == (a < b));

  const std::string k = hook_seq_key(a, s);
  FUZZ_CHECK(k.size() == 16 && get_be64(k) == a && get_be64(std::string_view{k}.substr(8)) == s);
  FUZZ_CHECK(k == hook_key(a) + be64(s));
  // Key order is (hook, seq) order.
  const std::string m = hook_seq_key(b, t);
  FUZZ_CHECK((k < m) == (a < b || (a == b && s < t)));
  FUZZ_CHECK(in_range(k, hook_range(a)));
  FUZZ_CHECK(in_range(m, hook_range(a)) == (a == b));

  // The rest of the input: an account name (up to the first 0x00) and an idempotency key.
  auto zero = in.find('\0');
  std::string_view account = in.substr(0, zero);
  std::string_view idem = zero == std::string_view::npos ? std::string_view{} : in.substr(zero + 1);
  const std::string key = idempotency_key(account, idem);
  FUZZ_CHECK(in_range(key, idempotency_range(account)));
  // Another account (one byte longer) owns none of these keys.
  std::string other{account};
  other.push_back('a');
  FUZZ_CHECK(!in_range(key, idempotency_range(other)));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view all{reinterpret_cast<const char*>(data), size};
  const std::size_t program_size = std::min<std::size_t>(data[0] % 16, size - 1);
  run_decoder(all.substr(1, program_size), all.substr(1 + program_size));
  check_keys(all);
  return 0;
}
