#include "actors/support/time_format.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace hookwerk::support {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  if (unix_ms % 1000 < 0)
    --secs;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr)
    return "1970-01-01T00:00:00Z";
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (n <= 0)
    return "1970-01-01T00:00:00Z";
  return std::string(buf, static_cast<size_t>(n));
}

} // namespace hookwerk::support
