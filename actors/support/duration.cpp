#include "actors/support/duration.hpp"

#include <array>
#include <cstdint>

namespace hookwerk::support {

namespace {

struct unit {
  std::string_view suffix;
  std::int64_t ms;
};

// Largest first, so format_duration picks the coarsest exact unit.
constexpr std::array<unit, 5> units{{
  {"d", 86'400'000},
  {"h", 3'600'000},
  {"m", 60'000},
  {"s", 1'000},
  {"ms", 1},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits]))
    ++digits;
  if (digits == 0)
    return std::nullopt;
  std::string_view suffix = text.substr(digits);
  const unit* found = nullptr;
  for (const auto& u : units)
    if (u.suffix == suffix)
      found = &u;
  if (found == nullptr)
    return std::nullopt;
  // Accumulate in the unit itself and stop as soon as the cap is passed, so no digit string,
  // however long, can overflow.
  const std::int64_t limit = max_duration.count() / found->ms;
  std::int64_t value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    value = value * 10 + (text[i] - '0');
    if (value > limit)
      return std::nullopt;
  }
  return std::chrono::milliseconds{value * found->ms};
}

std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text) {
  std::vector<std::chrono::milliseconds> out;
  for (;;) {
    std::size_t comma = text.find(',');
    auto d = parse_duration(text.substr(0, comma));
    if (!d)
      return std::nullopt;
    out.push_back(*d);
    if (comma == std::string_view::npos)
      return out;
    text.remove_prefix(comma + 1);
  }
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0)
    return "0s";
  std::string sign;
  // Work on the magnitude as unsigned so even the most negative value is safe.
  std::uint64_t magnitude = static_cast<std::uint64_t>(ms);
  if (ms < 0) {
    sign = "-";
    magnitude = 0 - magnitude;
  }
  for (const auto& u : units) {
    auto size = static_cast<std::uint64_t>(u.ms);
    if (magnitude % size == 0)
      return sign + std::to_string(magnitude / size) + std::string{u.suffix};
  }
  return sign + std::to_string(magnitude) + "ms"; // unreachable: 1 ms divides everything
}

std::string format_duration_list(const std::vector<std::chrono::milliseconds>& list) {
  std::string out;
  for (const auto& d : list) {
    if (!out.empty())
      out += ',';
    out += format_duration(d);
  }
  return out;
}

} // namespace hookwerk::support
