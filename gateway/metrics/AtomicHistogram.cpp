#include "gateway/metrics/AtomicHistogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace herald {

namespace {
constexpr double kMicrosPerSecond = 1e6;
}

std::uint64_t HistogramSnapshot::count() const {
  std::uint64_t total = 0;
  for (auto c : counts) {
    total += c;
  }
  return total;
}

void HistogramSnapshot::add(const HistogramSnapshot& other) {
  if (counts.empty()) {
    *this = other;
    return;
  }
  for (std::size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) {
    counts[i] += other.counts[i];
  }
  sumSeconds += other.sumSeconds;
}

double HistogramSnapshot::quantile(double q) const {
  const std::uint64_t total = count();
  if (total == 0) {
    return 0;
  }
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double inBucket = static_cast<double>(counts[i]);
    if (inBucket > 0 && seen + inBucket >= rank) {
      if (i == bounds.size()) {
        return bounds.empty() ? 0 : bounds.back();  // +Inf bucket: the best we can say
      }
      const double lower = i == 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - seen) / inBucket);
    }
    seen += inBucket;
  }
  return bounds.empty() ? 0 : bounds.back();
}

AtomicHistogram::AtomicHistogram(std::span<const double> bounds) : bounds_(bounds) {
  if (bounds.size() > kMaxBuckets) {
    throw std::invalid_argument("AtomicHistogram: too many buckets");
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    boundsMicros_[i] = static_cast<std::int64_t>(std::llround(bounds[i] * kMicrosPerSecond));
  }
}

void AtomicHistogram::observeMicros(std::int64_t micros) {
  // Clocks of different nodes disagree a little: a negative lag is zero.
  micros = std::max<std::int64_t>(micros, 0);
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && micros > boundsMicros_[bucket]) {
    ++bucket;
  }
  bump(counts_[bucket], 1);
  bump(sumMicros_, static_cast<std::uint64_t>(micros));
}

HistogramSnapshot AtomicHistogram::snapshot() const {
  HistogramSnapshot out;
  out.bounds.assign(bounds_.begin(), bounds_.end());
  out.counts.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    out.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  out.sumSeconds = static_cast<double>(sumMicros_.load(std::memory_order_relaxed)) / kMicrosPerSecond;
  return out;
}

}  // namespace herald
