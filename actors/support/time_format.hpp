#pragma once

#include <cstdint>
#include <string>

/// Wall-clock time and its textual form in API responses. Safe from any thread.
namespace hookwerk::support {

/// Milliseconds since the Unix epoch, from the system (wall) clock.
int64_t now_ms();

/// RFC 3339 UTC timestamp with seconds precision, e.g. "2026-11-27T08:00:00Z".
/// Milliseconds are truncated toward the earlier second (also before 1970). A time outside the
/// range gmtime_r can represent gives "1970-01-01T00:00:00Z".
std::string format_rfc3339(int64_t unix_ms);

} // namespace hookwerk::support
