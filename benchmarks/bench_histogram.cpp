#include "benchmarks/bench_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hookwerk::bench {

int histogram::index_of(uint64_t v) {
  constexpr uint64_t sub = uint64_t{1} << sub_bits;
  if (v < sub)
    return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);            // >= sub_bits
  int shift = msb - sub_bits;                     // >= 0
  uint64_t mantissa = (v >> shift) & (sub - 1);
  return static_cast<int>(((shift + 1) << sub_bits) | mantissa);
}

uint64_t histogram::lower_of(int index) {
  constexpr uint64_t sub = uint64_t{1} << sub_bits;
  int shift = (index >> sub_bits) - 1;
  uint64_t mantissa = static_cast<uint64_t>(index) & (sub - 1);
  if (shift < 0)
    return mantissa;
  return (sub | mantissa) << shift;
}

void histogram::record(int64_t ns) {
  if (ns < 0)
    ns = 0;
  ++counts_[static_cast<size_t>(index_of(static_cast<uint64_t>(ns)))];
  ++count_;
  sum_ += ns;
  max_ = std::max(max_, ns);
  min_ = std::min(min_, ns);
}

void histogram::merge(const histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

int64_t histogram::quantile(double q) const {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < buckets; ++i) {
    seen += counts_[static_cast<size_t>(i)];
    if (seen >= rank) {
      // Middle of the bucket, but never beyond what was actually seen.
      uint64_t lo = lower_of(i);
      uint64_t hi = (i + 1 < buckets) ? lower_of(i + 1) : lo;
      auto mid = static_cast<int64_t>(lo + (hi > lo ? (hi - lo - 1) / 2 : 0));
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

} // namespace hookwerk::bench
