#pragma once

#include <cstdlib>

namespace hookwerk::test {

/// How much slower than a plain build the code under test may be: tests multiply their
/// deadlines by it. Env HOOKWERK_TEST_TIME_SCALE (a number >= 1, default 1); scripts/test.sh
/// sets it for the sanitizer builds, whose instrumentation makes the same work take longer.
inline double time_scale() {
  static const double scale = [] {
    const char* text = std::getenv("HOOKWERK_TEST_TIME_SCALE");
    if (text == nullptr)
      return 1.0;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    return end != text && *end == '\0' && v >= 1.0 ? v : 1.0;
  }();
  return scale;
}

} // namespace hookwerk::test
