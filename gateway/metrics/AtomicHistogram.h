// AtomicHistogram: a fixed-bucket latency histogram for one writer thread and
// any number of readers, with no lock on the write path.
//
// Each stream thread owns one (in its ShardStats) and records delivery lag for
// every event it hands to a socket; a scrape reads all of them and adds them
// up. prometheus-cpp's Histogram takes a mutex per Observe, which the delivery
// path must not pay, so this keeps one relaxed atomic per bucket instead. Only
// the owning thread writes, so a relaxed load + store is a correct increment
// (no read-modify-write instruction needed); readers may see a bucket and the
// sum from slightly different moments, which a scrape tolerates.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace herald {

// What a reader sees: counts per bucket (not cumulative; the last one is +Inf).
struct HistogramSnapshot {
  std::vector<double> bounds;         // upper bounds in seconds, ascending
  std::vector<std::uint64_t> counts;  // bounds.size() + 1 entries
  double sumSeconds = 0;

  std::uint64_t count() const;
  void add(const HistogramSnapshot& other);  // same bounds
  // The q-quantile (0..1) by linear interpolation inside its bucket; 0 when empty.
  double quantile(double q) const;
};

// Bucket bounds (seconds) of herald_delivery_lag_seconds and herald_publish_duration_seconds:
// from half a millisecond (a local hop) to 10 s (a client stuck behind a full buffer).
inline constexpr std::array<double, 14> kLatencyBucketsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class AtomicHistogram {
 public:
  static constexpr std::size_t kMaxBuckets = 24;

  explicit AtomicHistogram(std::span<const double> bounds = kLatencyBucketsSeconds);

  // Owner thread only.
  void observeMicros(std::int64_t micros);
  // Any thread.
  HistogramSnapshot snapshot() const;

 private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::span<const double> bounds_;
  std::array<std::int64_t, kMaxBuckets> boundsMicros_{};  // compared on the write path
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts_{};
  std::atomic<std::uint64_t> sumMicros_{0};
};

}  // namespace herald
