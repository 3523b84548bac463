// AtomicHistogram: buckets, sums, quantiles and the adding-up of shards.
#include "gateway/metrics/AtomicHistogram.h"

#include <gtest/gtest.h>

#include <array>

namespace herald {
namespace {

constexpr std::array<double, 3> kBounds = {0.001, 0.01, 0.1};

TEST(AtomicHistogram, PutsEachObservationInTheFirstBucketAtOrAboveIt) {
  AtomicHistogram histogram(kBounds);
  histogram.observeMicros(0);
  histogram.observeMicros(1000);  // exactly on a bound: that bucket (le is inclusive)
  histogram.observeMicros(1001);
  histogram.observeMicros(500000);  // above the last bound: +Inf
  HistogramSnapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.counts, (std::vector<std::uint64_t>{2, 1, 0, 1}));
  EXPECT_EQ(snapshot.count(), 4u);
  EXPECT_NEAR(snapshot.sumSeconds, 0.502001, 1e-9);
}

TEST(AtomicHistogram, NegativeLagFromClockSkewCountsAsZero) {
  AtomicHistogram histogram(kBounds);
  histogram.observeMicros(-250);
  HistogramSnapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.counts[0], 1u);
  EXPECT_EQ(snapshot.sumSeconds, 0);
}

TEST(AtomicHistogram, SnapshotsOfShardsAddUp) {
  AtomicHistogram a(kBounds);
  AtomicHistogram b(kBounds);
  a.observeMicros(5000);
  b.observeMicros(5000);
  b.observeMicros(50000);
  HistogramSnapshot total;
  total.add(a.snapshot());
  total.add(b.snapshot());
  EXPECT_EQ(total.counts, (std::vector<std::uint64_t>{0, 2, 1, 0}));
  EXPECT_NEAR(total.sumSeconds, 0.06, 1e-9);
}

TEST(AtomicHistogram, QuantilesInterpolateInsideTheirBucket) {
  HistogramSnapshot snapshot{{0.001, 0.01, 0.1}, {0, 10, 0, 0}, 0.05};
  EXPECT_NEAR(snapshot.quantile(0.5), 0.0055, 1e-9);
  EXPECT_NEAR(snapshot.quantile(1.0), 0.01, 1e-9);
  EXPECT_EQ(HistogramSnapshot{}.quantile(0.5), 0);
  HistogramSnapshot overflow{{0.001}, {0, 3}, 9};
  EXPECT_EQ(overflow.quantile(0.99), 0.001);  // +Inf bucket: the largest finite bound
}

TEST(AtomicHistogram, DefaultBucketsAreTheLatencyBuckets) {
  AtomicHistogram histogram;
  EXPECT_EQ(histogram.snapshot().bounds.size(), kLatencyBucketsSeconds.size());
}

}  // namespace
}  // namespace herald
