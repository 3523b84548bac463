#include "gateway/core/StreamCursor.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(StreamCursor, RoundTripsEveryChannel) {
  std::string text = StreamCursor::encode({{"user:1", {10, 2}}, {"news", {0, 0}}});
  auto cursor = StreamCursor::parse(text);
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->positionOf("user:1"), (NotificationId{10, 2}));
  EXPECT_EQ(cursor->positionOf("news"), (NotificationId{0, 0}));
  EXPECT_FALSE(cursor->positionOf("other"));
}

// Pinned values: cursors already in clients' hands must keep resuming after an
// upgrade. The hash is the low 48 bits of FNV-1a 64 (FNV-1a("a") = 0xaf63dc4c8601ec8c).
TEST(StreamCursor, FormatIsDocumented) {
  EXPECT_EQ(StreamCursor::channelHash("a"), "dc4c8601ec8c");
  EXPECT_EQ(StreamCursor::channelHash(""), "9ce484222325");
  EXPECT_EQ(StreamCursor::channelHash("user:1"), "9aaa75081ceb");
  EXPECT_EQ(StreamCursor::encode({{"a", {1, 2}}}), "c1.dc4c8601ec8c~1-2");
  EXPECT_EQ(StreamCursor::encode({{"user:1", {10, 2}}, {"news", {0, 0}}}),
            "c1.9aaa75081ceb~10-2.5bbaa03a6526~0-0");
  // A hand-written cursor resumes the channels it names.
  auto cursor = StreamCursor::parse("c1.dc4c8601ec8c~1700000000000-7");
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->positionOf("a"), (NotificationId{1700000000000, 7}));
}

TEST(StreamCursor, RejectsMalformed) {
  for (const char* bad :
       {"", "c1", "c1.", "1-0", "c1.zzzzzzzzzzzz~1-0", "c1.0123456789ab~1", "c1.0123456789ab-1-0",
        "c2.0123456789ab~1-0", "c1.0123456789ab~1-0.", "c1.0123456789a~1-0"}) {
    EXPECT_FALSE(StreamCursor::parse(bad)) << bad;
  }
  EXPECT_FALSE(StreamCursor::parse("c1" + std::string(5000, 'x')));
}

TEST(NotificationId, ParsesAndOrders) {
  EXPECT_EQ(NotificationId::parse("1700000000000-3"), (NotificationId{1700000000000, 3}));
  EXPECT_LT((NotificationId{1, 9}), (NotificationId{2, 0}));
  EXPECT_LT((NotificationId{2, 0}), (NotificationId{2, 1}));
  EXPECT_EQ((NotificationId{5, 7}).str(), "5-7");
  for (const char* bad :
       {"", "-", "1-", "-1", "1", "a-1", "1-a", "+1-1", "1-1-1", " 1-1", "99999999999999999999999-0"}) {
    EXPECT_FALSE(NotificationId::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace herald
