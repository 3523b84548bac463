// LatencyHistogram: a fixed-size latency histogram (no allocation, trivially
// copyable) so forked workers can keep theirs in shared memory and the parent
// can merge them. Resolution: 100 µs below 100 ms, 1 ms below 10 s, 100 ms
// below 2 min; anything slower lands in the last bucket.
#pragma once

#include <array>
#include <cstdint>

namespace ssebench {

class LatencyHistogram {
 public:
  static constexpr std::uint64_t kFineLimitUs = 100'000;
  static constexpr std::uint64_t kFineStepUs = 100;
  static constexpr std::uint64_t kMidLimitUs = 10'000'000;
  static constexpr std::uint64_t kMidStepUs = 1'000;
  static constexpr std::uint64_t kCoarseStepUs = 100'000;
  static constexpr std::size_t kFineBuckets = kFineLimitUs / kFineStepUs;
  static constexpr std::size_t kMidBuckets = (kMidLimitUs - kFineLimitUs) / kMidStepUs;
  static constexpr std::size_t kCoarseBuckets = 1'100;
  static constexpr std::size_t kBuckets = kFineBuckets + kMidBuckets + kCoarseBuckets;

  void record(std::uint64_t micros) {
    ++counts_[bucketOf(micros)];
    ++total_;
    if (micros > max_) {
      max_ = micros;
    }
  }

  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) {
      counts_[i] += other.counts_[i];
    }
    total_ += other.total_;
    if (other.max_ > max_) {
      max_ = other.max_;
    }
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t maxMicros() const { return max_; }

  // The upper edge of the bucket holding the given quantile (0..1), in µs.
  std::uint64_t quantileMicros(double q) const {
    if (total_ == 0) {
      return 0;
    }
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) {
      rank = total_ - 1;
    }
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) {
        return upperEdge(i) < max_ ? upperEdge(i) : max_;
      }
    }
    return max_;
  }

  static std::size_t bucketOf(std::uint64_t us) {
    if (us < kFineLimitUs) {
      return us / kFineStepUs;
    }
    if (us < kMidLimitUs) {
      return kFineBuckets + (us - kFineLimitUs) / kMidStepUs;
    }
    std::uint64_t coarse = (us - kMidLimitUs) / kCoarseStepUs;
    return kFineBuckets + kMidBuckets + (coarse < kCoarseBuckets ? coarse : kCoarseBuckets - 1);
  }

  static std::uint64_t upperEdge(std::size_t bucket) {
    if (bucket < kFineBuckets) {
      return (bucket + 1) * kFineStepUs;
    }
    if (bucket < kFineBuckets + kMidBuckets) {
      return kFineLimitUs + (bucket - kFineBuckets + 1) * kMidStepUs;
    }
    return kMidLimitUs + (bucket - kFineBuckets - kMidBuckets + 1) * kCoarseStepUs;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace ssebench
