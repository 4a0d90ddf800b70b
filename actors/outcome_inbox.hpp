#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "actors/sender.hpp"

namespace hookwerk {

/// The outcome of one attempt, as the hook actor handles it.
struct attempt_outcome {
  /// The queue entry attempted.
  uint64_t seq = 0;
  /// When the attempt was handed to the sender (unix ms); tells a late outcome of an
  /// attempt the self-check took as lost from the outcome of the entry's next attempt.
  int64_t started_ms = 0;
  delivery_result result;
};

/// Where the outcomes of one hook's attempts wait for its actor. Sender threads add them;
/// only the first added to an empty inbox sends the actor a message, and the actor takes
/// everything gathered by the time it runs. Outcomes that end while the actor is busy or
/// not yet scheduled thus cost one message, one wake-up and one batch of writes together
/// instead of one each.
///
/// Thread-safe. Shared by the hook's state and the callbacks of its attempts in flight.
class outcome_inbox {
public:
  /// Adds an outcome. True when the inbox was empty: the caller then tells the actor (one
  /// message stands for everything added until the actor takes it).
  bool add(attempt_outcome outcome);

  /// Moves every outcome added so far into `out` (cleared first), in the order they were
  /// added; the inbox is empty afterwards and keeps `out`'s former capacity.
  void take(std::vector<attempt_outcome>& out);

private:
  std::mutex mtx_;
  std::vector<attempt_outcome> items_;
};

} // namespace hookwerk
