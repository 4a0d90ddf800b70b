#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Durations as written on the command line: a non-negative integer followed by exactly one
/// unit, `ms`, `s`, `m`, `h` or `d` (`100ms`, `10s`, `2m`, `1h`, `5d`). No sign, no fraction,
/// no spaces, no combined forms (`1h30m`). All functions are pure and thread-safe.
namespace hookwerk::support {

/// The longest duration accepted: 36500 days (about 100 years). Anything longer is treated as
/// a typo rather than a wish, and keeps every later time computation far from overflow.
inline constexpr std::chrono::milliseconds max_duration{std::chrono::days{36500}};

/// Parses one duration such as `10s`. Returns nothing for an empty string, a missing or
/// unknown unit, a sign, a fraction, surrounding or inner spaces, or a value above
/// `max_duration`. `0s` is valid here; callers that need a positive value check it themselves.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a comma-separated, non-empty list of durations (`10s,30s,2m`). Returns nothing if
/// any element is invalid or empty (`10s,,2m`, a leading or trailing comma).
std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text);

/// Writes `d` in the largest unit that divides it exactly: `10s`, `2m`, `5d`, `150ms`; zero is
/// `0s`. The result parses back to `d` with `parse_duration` (for non-negative values up to
/// `max_duration`). A negative value gets a leading `-`.
std::string format_duration(std::chrono::milliseconds d);

/// Joins `format_duration` of each element with commas, the inverse of `parse_duration_list`.
std::string format_duration_list(const std::vector<std::chrono::milliseconds>& list);

} // namespace hookwerk::support
