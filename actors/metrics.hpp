#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace hookwerk {

/// A Prometheus-style histogram with fixed buckets, updated lock-free from
/// any thread.
class histogram {
public:
  /// Upper bounds of the buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 12> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

  void observe_us(uint64_t micros) {
    double seconds = static_cast<double>(micros) / 1e6;
    size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(micros, std::memory_order_relaxed);
  }

  /// Observations in bucket i (not cumulative); i == bounds.size() is +Inf.
  uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

/// Counters and gauges of the whole server (SPEC §7). Updated by actors with
/// relaxed atomics; read by the metrics endpoint.
struct metrics {
  std::atomic<uint64_t> events_ingested{0};
  std::atomic<uint64_t> deliveries_success{0};
  std::atomic<uint64_t> deliveries_failure{0};
  /// The failed attempts (also counted in deliveries_failure) that failed on the
  /// server's own side and so did not count toward deactivation.
  std::atomic<uint64_t> deliveries_local_failure{0};
  std::atomic<uint64_t> events_dropped{0};
  std::atomic<uint64_t> events_expired{0};
  /// Hooks the self-check found stuck (pending entries and nothing that would ever attempt
  /// them, or an attempt whose outcome never came) and repaired.
  std::atomic<uint64_t> stuck_hooks_repaired{0};
  /// Self-checks completed (every running hook actor answered).
  std::atomic<uint64_t> self_checks{0};
  std::atomic<int64_t> pending_events{0};
  std::atomic<int64_t> buffered_events{0};
  histogram delivery_duration;
};

} // namespace hookwerk
