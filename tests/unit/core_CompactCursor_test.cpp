// StreamCursor's compact `c2` form: what many-channel streams write in every `id:`.
#include <gtest/gtest.h>

#include "gateway/core/StreamCursor.h"

namespace herald {
namespace {

TEST(CompactCursor, RoundTripsEveryChannel) {
  std::string text = StreamCursor::encodeCompact(
      {{"user:1", {1700000000123, 2}}, {"news", {0, 0}}, {"x", {1700000000000, 0}}});
  auto cursor = StreamCursor::parse(text);
  ASSERT_TRUE(cursor) << text;
  EXPECT_EQ(cursor->positionOf("user:1"), (NotificationId{1700000000123, 2}));
  EXPECT_EQ(cursor->positionOf("news"), (NotificationId{0, 0}));
  EXPECT_EQ(cursor->positionOf("x"), (NotificationId{1700000000000, 0}));
  EXPECT_FALSE(cursor->positionOf("other"));
}

TEST(CompactCursor, FormatIsPinned) {
  // base 1296 ("100" in base 36); "a" one ms below it with seq 1, "b" at the base.
  // 2duyw6qq30 and 2f127x8w4l: the low 48 bits of FNV-1a 64 of "a" and "b" in base 36.
  EXPECT_EQ(StreamCursor::encodeCompact({{"a", {1295, 1}}, {"b", {1296, 0}}}),
            "c2.100.2duyw6qq30~1-1.2f127x8w4l~0");
}

TEST(CompactCursor, ThirtyTwoChannelsStaySmall) {
  std::vector<std::string> names;
  for (int i = 0; i < 32; ++i) {
    names.push_back("tenant-" + std::to_string(i) + ":" + std::string(180, 'n'));
  }
  std::vector<std::pair<std::string_view, NotificationId>> positions;
  for (int i = 0; i < 32; ++i) {
    positions.emplace_back(names[i], NotificationId{1700000000000ULL + static_cast<unsigned>(i) * 37, 0});
  }
  auto compact = StreamCursor::encodeCompact(positions);
  EXPECT_LT(compact.size(), 32u * 16 + 16) << compact;
  EXPECT_LT(compact.size() * 2, StreamCursor::encode(positions).size() + 64);
  auto cursor = StreamCursor::parse(compact);
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->positionOf(names[31]), positions[31].second);
}

TEST(CompactCursor, RejectsMalformed) {
  for (const char* bad : {"c2.", "c2.1", "c2.1.", "c2.1.000000000~0", "c2.1.0000000000-0",
                          "c2.1.0000000000~2", "c2.1.0000000000~", "c2.1.0000000000~0-", "c2.1.0000000000~0.",
                          "c2.1.zzzzzzzzzz~0", "c2.1.0000000000~A"}) {
    EXPECT_FALSE(StreamCursor::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace herald
