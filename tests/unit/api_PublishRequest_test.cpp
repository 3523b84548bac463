#include "api/PublishRequest.h"

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

// The ApiError a parse throws, or a failed expectation if it does not throw.
template <typename Parse>
ApiError errorOf(Parse parse, const std::string& body) {
  try {
    parse(body);
  } catch (const ApiErrorException& e) {
    return e.error();
  }
  ADD_FAILURE() << "no error for " << body;
  return {};
}

ApiError publishError(const std::string& body) {
  return errorOf(parsePublishBody, body);
}
ApiError batchError(const std::string& body) {
  return errorOf(parseBatchBody, body);
}

std::string channelsArray(std::size_t count) {
  std::string out = "[";
  for (std::size_t i = 0; i < count; ++i) {
    out += (i == 0 ? "\"c" : ",\"c") + std::to_string(i) + "\"";
  }
  return out + "]";
}

TEST(PublishRequest, SingleChannel) {
  auto plan = parsePublishBody(R"({"channel":"user:42","event":"order.shipped","data":{"order": 7}})");
  ASSERT_EQ(plan.items.size(), 1u);
  EXPECT_EQ(plan.items[0].channel, "user:42");
  EXPECT_EQ(plan.items[0].event, "order.shipped");
  EXPECT_EQ(plan.items[0].data, R"({"order":7})");  // compact
  ASSERT_EQ(plan.entries.size(), 1u);
  EXPECT_FALSE(plan.entries[0].multiChannel);
  EXPECT_FALSE(plan.batch);
}

TEST(PublishRequest, DataIsAnyJsonValueAndDefaultsToNull) {
  EXPECT_EQ(parsePublishBody(R"({"channel":"a"})").items[0].data, "null");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","data":"hi\nthere"})").items[0].data, R"("hi\nthere")");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","data":[1, 2.5, true]})").items[0].data, "[1,2.5,true]");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","data":null})").items[0].data, "null");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","event":null})").items[0].event, "");
}

TEST(PublishRequest, ManyChannelsKeepInputOrder) {
  auto plan = parsePublishBody(R"({"channels":["b","a","b"],"data":1})");
  ASSERT_EQ(plan.items.size(), 3u);
  EXPECT_EQ(plan.items[0].channel, "b");
  EXPECT_EQ(plan.items[1].channel, "a");
  EXPECT_TRUE(plan.entries[0].multiChannel);
  EXPECT_EQ(plan.entries[0].count, 3u);
}

TEST(PublishRequest, NumberTooLargeForADoubleIsInvalidJson) {
  // Found by tests/fuzz/publish_json: nlohmann throws out_of_range, not parse_error.
  EXPECT_EQ(publishError(R"({"channel":"a","data":1e999})").code, "invalid_json");
  EXPECT_EQ(batchError(R"({"notifications":[{"channel":"a","data":-9e9999}]})").code, "invalid_json");
}

TEST(PublishRequest, ChannelCountLimits) {
  auto plan = parsePublishBody(R"({"channels":)" + channelsArray(kMaxPublishChannels) + "}");
  EXPECT_EQ(plan.items.size(), kMaxPublishChannels);
  auto error = publishError(R"({"channels":)" + channelsArray(kMaxPublishChannels + 1) + "}");
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.code, "too_many_channels");
  EXPECT_EQ(publishError(R"({"channels":[]})").code, "invalid_request");
}

TEST(PublishRequest, ChannelShapeErrors) {
  EXPECT_EQ(publishError(R"({"data":1})").code, "invalid_request");                        // neither
  EXPECT_EQ(publishError(R"({"channel":"a","channels":["b"]})").code, "invalid_request");  // both
  EXPECT_EQ(publishError(R"({"channel":7})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channels":"a"})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channels":["a",1]})").code, "invalid_request");
}

TEST(PublishRequest, InvalidChannelNames) {
  for (const char* body : {R"({"channel":""})", R"({"channel":"a b"})", R"({"channel":"a/b"})",
                           R"({"channel":"ü"})", R"({"channels":["ok","no!"]})"}) {
    EXPECT_EQ(publishError(body).code, "invalid_channel") << body;
  }
  EXPECT_EQ(publishError(R"({"channel":")" + std::string(201, 'x') + "\"}").code, "invalid_channel");
  EXPECT_EQ(parsePublishBody(R"({"channel":")" + std::string(200, 'x') + "\"}").items.size(), 1u);
  EXPECT_EQ(parsePublishBody(R"({"channel":"A-z_0.9:@="})").items[0].channel, "A-z_0.9:@=");
}

TEST(PublishRequest, EventRules) {
  EXPECT_EQ(
      parsePublishBody(R"({"channel":"a","event":")" + std::string(64, 'e') + "\"}").items[0].event.size(),
      64u);
  EXPECT_EQ(publishError(R"({"channel":"a","event":")" + std::string(65, 'e') + "\"}").code,
            "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":""})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":"x\ny"})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":"x\ry"})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":5})").code, "invalid_request");
}

// herald.* types are the gateway's own: a publisher must not forge a herald.reset.
TEST(PublishRequest, ReservedEventTypesAreRefused) {
  EXPECT_EQ(publishError(R"({"channel":"a","event":"herald.reset"})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":"herald."})").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","event":"herald.anything"})").code, "invalid_request");
  EXPECT_EQ(batchError(R"({"notifications":[{"channel":"a"},{"channel":"b","event":"herald.reset"}]})").code,
            "invalid_request");
  // Only the prefix is reserved: look-alikes are ordinary types.
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","event":"herald"})").items[0].event, "herald");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","event":"heraldreset"})").items[0].event, "heraldreset");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","event":"Herald.reset"})").items[0].event, "Herald.reset");
  EXPECT_EQ(parsePublishBody(R"({"channel":"a","event":"my.herald.reset"})").items[0].event,
            "my.herald.reset");
}

TEST(PublishRequest, BodyShapeErrors) {
  EXPECT_EQ(publishError("").code, "invalid_json");
  EXPECT_EQ(publishError("{").code, "invalid_json");
  EXPECT_EQ(publishError(R"({"channel":"a"} x)").code, "invalid_json");
  EXPECT_EQ(publishError("{\"channel\":\"a\",\"data\":\"\xff\"}").code, "invalid_json");  // not UTF-8
  EXPECT_EQ(publishError("[]").code, "invalid_request");
  EXPECT_EQ(publishError("\"text\"").code, "invalid_request");
  EXPECT_EQ(publishError(R"({"channel":"a","evnt":"x"})").code, "invalid_request");  // unknown key
}

TEST(PublishRequest, NestingDepthLimit) {
  auto nested = [](int depth) {
    return R"({"channel":"a","data":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  // The body object is one level, so data may nest kMaxJsonDepth - 1 deep.
  EXPECT_EQ(parsePublishBody(nested(kMaxJsonDepth - 1)).items.size(), 1u);
  EXPECT_EQ(publishError(nested(kMaxJsonDepth)).code, "invalid_json");
  EXPECT_EQ(publishError(nested(100000)).code, "invalid_json");
}

TEST(PublishRequest, BatchKeepsEntries) {
  auto plan = parseBatchBody(
      R"({"notifications":[{"channel":"a","data":1},{"channels":["b","c"],"event":"e"},{"channel":"d"}]})");
  EXPECT_TRUE(plan.batch);
  ASSERT_EQ(plan.items.size(), 4u);
  ASSERT_EQ(plan.entries.size(), 3u);
  EXPECT_EQ(plan.entries[1].first, 1u);
  EXPECT_EQ(plan.entries[1].count, 2u);
  EXPECT_TRUE(plan.entries[1].multiChannel);
  EXPECT_EQ(plan.items[2].event, "e");
  EXPECT_EQ(parseBatchBody(R"({"notifications":[]})").items.size(), 0u);
}

TEST(PublishRequest, BatchItemErrorNamesItsIndex) {
  auto error = batchError(R"({"notifications":[{"channel":"a"},{"channel":"bad name"}]})");
  EXPECT_EQ(error.code, "invalid_channel");
  EXPECT_NE(error.message.find("notifications[1]"), std::string::npos) << error.message;
  error = batchError(R"({"notifications":[{"channel":"a"},{"channel":"b"},7]})");
  EXPECT_EQ(error.code, "invalid_request");
  EXPECT_NE(error.message.find("notifications[2]"), std::string::npos) << error.message;
  error = batchError(R"({"notifications":[{"channels":)" + channelsArray(kMaxPublishChannels + 1) + "}]}");
  EXPECT_EQ(error.code, "too_many_channels");
}

TEST(PublishRequest, BatchShapeErrors) {
  EXPECT_EQ(batchError("nope").code, "invalid_json");
  EXPECT_EQ(batchError("{}").code, "invalid_request");
  EXPECT_EQ(batchError(R"({"notifications":{}})").code, "invalid_request");
  EXPECT_EQ(batchError(R"({"notifications":[],"extra":1})").code, "invalid_request");
  std::string tooMany = R"({"notifications":[)";
  for (std::size_t i = 0; i <= kMaxBatchNotifications; ++i) {
    tooMany += i == 0 ? R"({"channel":"a"})" : R"(,{"channel":"a"})";
  }
  EXPECT_EQ(batchError(tooMany + "]}").code, "invalid_request");
}

TEST(PublishRequest, Answers) {
  std::vector<NotificationId> ids{{1, 0}, {1, 1}, {2, 0}};
  EXPECT_EQ(makePublishAnswer(parsePublishBody(R"({"channel":"a"})"), {ids[0]}),
            R"({"channel":"a","id":"1-0"})");
  EXPECT_EQ(makePublishAnswer(parsePublishBody(R"({"channels":["a","b"]})"), {ids[0], ids[1]}),
            R"({"results":[{"channel":"a","id":"1-0"},{"channel":"b","id":"1-1"}]})");
  auto batch = parseBatchBody(R"({"notifications":[{"channel":"a"},{"channels":["b","c"]}]})");
  EXPECT_EQ(makePublishAnswer(batch, ids),
            R"({"results":[{"channel":"a","id":"1-0"},{"results":[{"channel":"b","id":"1-1"},)"
            R"({"channel":"c","id":"2-0"}]}]})");
  EXPECT_THROW(makePublishAnswer(batch, {ids[0]}), std::logic_error);
}

}  // namespace
}  // namespace herald
