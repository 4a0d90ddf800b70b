#pragma once

#include <array>
#include <cstdint>

namespace hookwerk::bench {

/// A log-bucketed latency histogram (HDR-like: 64 sub-buckets per power of two, so every
/// recorded value is reproduced within ~1.6 %); the maximum is kept exactly.
/// Not thread-safe: record into one per thread or connection and merge() afterwards.
class histogram {
public:
  /// Records one value in nanoseconds; negative values count as 0.
  void record(int64_t ns);
  void merge(const histogram& other);

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  int64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  /// The value at quantile q (0..1), in nanoseconds; 0 when empty.
  int64_t quantile(double q) const;

private:
  static constexpr int sub_bits = 6;
  static constexpr int buckets = (64 - sub_bits + 1) << sub_bits;
  static int index_of(uint64_t v);
  static uint64_t lower_of(int index);

  std::array<uint64_t, buckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
  int64_t min_ = INT64_MAX;
  __int128 sum_ = 0;
};

} // namespace hookwerk::bench
