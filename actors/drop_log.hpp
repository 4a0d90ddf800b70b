#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookwerk {

/// Keeps the log lines about one hook's dropped events to at most one per period: the
/// first drop after a quiet period is written at once, later ones are counted and written
/// together, with their count, once the period since the previous line has passed. Many
/// events dropped in a burst (a full buffer under load) thus cost one line, not one each.
/// Plain state, used by one actor; times are unix ms.
class drop_log {
public:
  explicit drop_log(std::chrono::milliseconds period = std::chrono::minutes{1})
      : period_(period.count()) {}

  /// Counts `n` events dropped for `why` at `now`. Returns the line to write now
  /// ("12 event(s) dropped (buffer full)"), or nullopt when it must wait (see due()).
  std::optional<std::string> add(uint64_t n, std::string_view why, int64_t now);

  /// The line for the drops counted but not yet written, when the period has passed at
  /// `now` (or at once with `force`, e.g. when the actor stops); nullopt when there is none
  /// or it must still wait.
  std::optional<std::string> flush(int64_t now, bool force = false);

  /// When the drops counted but not yet written may be written; nullopt when none wait.
  std::optional<int64_t> due() const;

  /// Events counted but not yet written.
  uint64_t waiting() const;

private:
  std::string take(int64_t now);

  int64_t period_;
  std::optional<int64_t> last_line_;
  /// Reasons in the order first seen, with their counts.
  std::vector<std::pair<std::string, uint64_t>> waiting_;
};

} // namespace hookwerk
