#include "actors/retry_policy.hpp"

#include <algorithm>

namespace hookwerk {

std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule,
                                      uint32_t failed_attempts, double jitter,
                                      std::optional<std::chrono::seconds> retry_after) {
  if (schedule.empty())
    return std::chrono::milliseconds{0};
  size_t index = failed_attempts == 0 ? 0 : std::min<size_t>(failed_attempts, schedule.size()) - 1;
  jitter = std::clamp(jitter, -1.0, 1.0);
  auto base = static_cast<double>(schedule[index].count());
  auto delay = std::chrono::milliseconds{static_cast<int64_t>(base * (1.0 + 0.1 * jitter))};
  if (retry_after) {
    auto longest = *std::max_element(schedule.begin(), schedule.end());
    auto wanted = std::min<std::chrono::milliseconds>(*retry_after, longest);
    delay = std::max(delay, wanted);
  }
  return delay;
}

std::chrono::milliseconds local_retry_delay(const std::vector<std::chrono::milliseconds>& schedule,
                                            double jitter) {
  return retry_delay(schedule, 1, jitter, std::nullopt);
}

} // namespace hookwerk
