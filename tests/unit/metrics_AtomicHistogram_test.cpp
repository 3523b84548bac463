// AtomicHistogram: buckets, sums, quantiles and the adding-up of shards.
#include "gateway/metrics/AtomicHistogram.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

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

// The default bounds are the documented latency buckets (0.5 ms .. 10 s), and the
// write path puts an observation into the bucket those bounds name.
TEST(AtomicHistogram, DefaultBucketsAreTheLatencyBuckets) {
  const std::vector<double> expected = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  AtomicHistogram histogram;
  histogram.observeMicros(500);         // exactly the first bound: le="0.0005"
  histogram.observeMicros(501);         // just above it: le="0.001"
  histogram.observeMicros(3'000'000);   // le="5"
  histogram.observeMicros(10'000'001);  // above the last bound: +Inf
  const HistogramSnapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.bounds, expected);
  ASSERT_EQ(snapshot.counts.size(), expected.size() + 1);
  std::vector<std::uint64_t> counts(expected.size() + 1, 0);
  counts[0] = 1;
  counts[1] = 1;
  counts[12] = 1;
  counts[14] = 1;
  EXPECT_EQ(snapshot.counts, counts);
}

}  // namespace
}  // namespace herald
