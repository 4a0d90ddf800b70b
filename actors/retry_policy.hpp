#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace hookwerk {

/// How long an event waits after its `failed_attempts`-th failed attempt
/// (SPEC §1 --retry-schedule, §5 Retry-After):
/// - the schedule's element for this attempt, the last one once they run out;
/// - scaled by (1 + 0.1 * jitter), jitter in [-1, 1] (±10 %);
/// - at least `retry_after` when the receiver sent one, capped at the
///   schedule's longest delay.
std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule,
                                      uint32_t failed_attempts, double jitter,
                                      std::optional<std::chrono::seconds> retry_after);

/// How long an event waits after an attempt that failed on the server's own side (its
/// resolver, descriptors, ports; SPEC §1 --failure-threshold): the schedule's first delay,
/// ±10 % by `jitter` in [-1, 1], whatever the event's attempt count, so deliveries resume
/// soon after the server recovers instead of backing off as from a failing receiver.
std::chrono::milliseconds local_retry_delay(const std::vector<std::chrono::milliseconds>& schedule,
                                            double jitter);

} // namespace hookwerk
