#pragma once

#include <string_view>

/// Line-oriented logging to stderr. Each call writes one whole line
/// (`2026-11-27T08:00:00.123Z level message`) with a single write, so lines
/// from different threads never interleave. Safe to call from any thread.
namespace hookwerk::log {

enum class level { debug, info, warn, error };

/// Lines below this level are dropped. Default: info.
void set_min_level(level lvl) noexcept;

void write(level lvl, std::string_view message);

inline void debug(std::string_view m) { write(level::debug, m); }
inline void info(std::string_view m) { write(level::info, m); }
inline void warn(std::string_view m) { write(level::warn, m); }
inline void error(std::string_view m) { write(level::error, m); }

} // namespace hookwerk::log
