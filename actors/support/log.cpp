#include "actors/support/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <unistd.h>

namespace hookwerk::log {

namespace {

std::atomic<level> min_level{level::info};

const char* name(level lvl) {
  switch (lvl) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "?";
}

} // namespace

void set_min_level(level lvl) noexcept { min_level.store(lvl, std::memory_order_relaxed); }

void write(level lvl, std::string_view message) {
  if (lvl < min_level.load(std::memory_order_relaxed))
    return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(message.size() + 48);
  line.append(stamp).append(name(lvl)).append(" ").append(message).push_back('\n');
  // One write(2) per line keeps concurrent lines whole.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0)
      break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

} // namespace hookwerk::log
