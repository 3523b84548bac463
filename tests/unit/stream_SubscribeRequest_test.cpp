#include "gateway/stream/SubscribeRequest.h"

#include <gtest/gtest.h>

#include "gateway/core/StreamCursor.h"

namespace herald {
namespace {

SubscribeRequest ok(std::string_view target, std::optional<std::string_view> header = std::nullopt) {
  auto parsed = parseSubscribeRequest(target, header);
  EXPECT_TRUE(std::holds_alternative<SubscribeRequest>(parsed)) << target;
  return std::holds_alternative<SubscribeRequest>(parsed) ? std::get<SubscribeRequest>(parsed)
                                                          : SubscribeRequest{};
}

SubscribeError error(std::string_view target) {
  auto parsed = parseSubscribeRequest(target, std::nullopt);
  EXPECT_TRUE(std::holds_alternative<SubscribeError>(parsed)) << target;
  return std::holds_alternative<SubscribeError>(parsed) ? std::get<SubscribeError>(parsed)
                                                        : SubscribeError{0, "", ""};
}

TEST(SubscribeRequest, OneChannelLive) {
  auto r = ok("/v1/events?channel=user%3A1");
  ASSERT_EQ(r.channels.size(), 1u);
  EXPECT_EQ(r.channels[0].channel, "user:1");
  EXPECT_FALSE(r.channels[0].resumeFrom);
  EXPECT_FALSE(r.channels[0].invalidCursor);
  EXPECT_FALSE(r.envelope);
}

TEST(SubscribeRequest, SeveralChannelsInOrderWithoutRepeats) {
  auto r = ok("/v1/events?channel=b&channel=a&channel=b&envelope=1");
  ASSERT_EQ(r.channels.size(), 2u);
  EXPECT_EQ(r.channels[0].channel, "b");
  EXPECT_EQ(r.channels[1].channel, "a");
  EXPECT_TRUE(r.envelope);
}

TEST(SubscribeRequest, Errors) {
  EXPECT_TRUE(ok("/v1/events").channels.empty());  // StreamRequest decides (token sub or 400)
  EXPECT_EQ(error("/v1/events?channel=").code, "invalid_channel");
  EXPECT_EQ(error("/v1/events?channel=a%2Fb").code, "invalid_channel");
  EXPECT_EQ(error("/v1/events?channel=a%zz").code, "invalid_request");
  EXPECT_EQ(error("/v1/events?channel=a%2").code, "invalid_request");
  std::string many = "/v1/events?";
  for (int i = 0; i < 33; ++i) {
    many += "channel=c" + std::to_string(i) + "&";
  }
  auto e = error(many);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "too_many_channels");
}

TEST(SubscribeRequest, PlainResumeIdForOneChannel) {
  auto r = ok("/v1/events?channel=a", "5-1");
  EXPECT_EQ(r.channels[0].resumeFrom, (NotificationId{5, 1}));
  auto q = ok("/v1/events?channel=a&lastEventId=6-0");
  EXPECT_EQ(q.channels[0].resumeFrom, (NotificationId{6, 0}));
  // The header wins over the parameter.
  auto both = ok("/v1/events?channel=a&lastEventId=6-0", "7-0");
  EXPECT_EQ(both.channels[0].resumeFrom, (NotificationId{7, 0}));
}

TEST(SubscribeRequest, MalformedResumeIsInvalidCursorNotError) {
  auto r = ok("/v1/events?channel=a", "garbage");
  EXPECT_TRUE(r.channels[0].invalidCursor);
  EXPECT_FALSE(r.channels[0].resumeFrom);
}

TEST(SubscribeRequest, CursorResumesCoveredChannelsOnly) {
  std::string cursor = StreamCursor::encode({{"a", {1, 0}}, {"b", {2, 0}}});
  auto r = ok("/v1/events?channel=a&channel=c", cursor);
  EXPECT_EQ(r.channels[0].resumeFrom, (NotificationId{1, 0}));
  EXPECT_FALSE(r.channels[0].invalidCursor);
  EXPECT_TRUE(r.channels[1].invalidCursor);
  // A plain id cannot resume a stream of several channels.
  auto p = ok("/v1/events?channel=a&channel=b", "1-0");
  EXPECT_TRUE(p.channels[0].invalidCursor);
  EXPECT_TRUE(p.channels[1].invalidCursor);
}

}  // namespace
}  // namespace herald
