// The relay end to end on one node with the memory broker: real herald
// processes, real sockets, exact bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr std::string_view kPreamble = "retry: 3000\n: herald stream\n\n";

TEST(Relay, PublishReachesSubscriberWithExactBytes) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=user:1");
  ASSERT_EQ(client.readHead(), 200);
  EXPECT_EQ(client.headers().at("content-type"), "text/event-stream");
  EXPECT_EQ(client.headers().at("cache-control"), "no-cache");
  EXPECT_EQ(client.headers().at("x-accel-buffering"), "no");
  std::string start = std::string(kPreamble) + "id: 0-0\n\n";
  ASSERT_TRUE(client.readBody(start.size(), 5s));
  EXPECT_EQ(client.body(), start);

  std::string id = publishId(herald.apiPort(), "user:1", R"({"order":7})", "order.shipped");
  std::string expected = start + "id: " + id + "\nevent: order.shipped\ndata: {\"order\":7}\n\n";
  ASSERT_TRUE(client.readBody(expected.size(), 5s));
  EXPECT_EQ(client.body(), expected);

  std::string id2 = publishId(herald.apiPort(), "user:1", R"("line one\nline two")");
  expected += "id: " + id2 + "\ndata: line one\ndata: line two\n\n";
  ASSERT_TRUE(client.readBody(expected.size(), 5s));
  EXPECT_EQ(client.body(), expected);
}

TEST(Relay, OtherChannelsAreNotDelivered) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=a");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(kPreamble.size(), 5s));
  publishId(herald.apiPort(), "b", "1");
  std::string id = publishId(herald.apiPort(), "a", "2");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, id);
  EXPECT_EQ(event->data, "2");
}

TEST(Relay, ResumeReplaysWhatWasMissedThenGoesLive) {
  HeraldProcess herald;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(publishId(herald.apiPort(), "user:7", std::to_string(i)));
  }
  SseClient client(herald.streamPort(), "/v1/events?channel=user:7", {{"Last-Event-ID", ids[1]}});
  auto replayed = client.take(3);
  ASSERT_EQ(replayed.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(replayed[i].id, ids[i + 2]);
    EXPECT_EQ(replayed[i].data, std::to_string(i + 2));
  }
  std::string live = publishId(herald.apiPort(), "user:7", "5");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
  EXPECT_EQ(client.body().find("herald.reset"), std::string::npos);
}

TEST(Relay, ResumeWithQueryParameterAndFromNewestSendsNothingOld) {
  HeraldProcess herald;
  std::string a = publishId(herald.apiPort(), "c", "1");
  SseClient client(herald.streamPort(), "/v1/events?channel=c&lastEventId=" + a);
  ASSERT_EQ(client.readHead(), 200);
  std::string b = publishId(herald.apiPort(), "c", "2");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, b);
  EXPECT_EQ(client.body(), std::string(kPreamble) + "id: " + b + "\ndata: 2\n\n");
}

TEST(Relay, SeveralChannelsResumeFromOneCursor) {
  HeraldProcess herald;
  SseClient first(herald.streamPort(), "/v1/events?channel=x&channel=y");
  ASSERT_EQ(first.readHead(), 200);
  ASSERT_TRUE(first.readBody(kPreamble.size(), 5s));
  publishId(herald.apiPort(), "x", "1");
  publishId(herald.apiPort(), "y", "2");
  auto got = first.take(2);
  ASSERT_EQ(got.size(), 2u);
  std::string cursor = got[1].id;
  EXPECT_EQ(cursor.rfind("c2.", 0), 0u) << cursor;  // the compact cursor (core/StreamCursor.h)
  first.close();

  std::string x3 = publishId(herald.apiPort(), "x", "3");
  std::string y4 = publishId(herald.apiPort(), "y", "4");
  SseClient second(herald.streamPort(), "/v1/events?channel=x&channel=y", {{"Last-Event-ID", cursor}});
  auto resumed = second.take(2);
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed[0].data, "3");
  EXPECT_EQ(resumed[1].data, "4");
  EXPECT_EQ(second.body().find("herald.reset"), std::string::npos);
}

TEST(Relay, EnvelopeNamesChannelAndId) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=e1&envelope=1");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(kPreamble.size(), 5s));
  std::string id = publishId(herald.apiPort(), "e1", R"({"k":[1,2]})", "t.x");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event, "t.x");
  EXPECT_EQ(json::parse(event->data),
            json::parse(R"({"channel":"e1","id":")" + id + R"(","event":"t.x","data":{"k":[1,2]}})"));
}

TEST(Relay, ChannelsPublishIsOneNotificationPerChannel) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=m1&channel=m2&envelope=1");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(kPreamble.size(), 5s));
  auto response = publish(herald.apiPort(), R"({"channels":["m1","m2"],"data":"hi"})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto events = client.take(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(json::parse(events[0].data)["channel"], "m1");
  EXPECT_EQ(json::parse(events[1].data)["channel"], "m2");
}

TEST(Relay, IdleStreamGetsHeartbeatComments) {
  HeraldProcess herald({"--heartbeat", "200ms", "--retry", "1500ms"});
  SseClient client(herald.streamPort(), "/v1/events?channel=quiet");
  ASSERT_EQ(client.readHead(), 200);
  std::string start = "retry: 1500\n: herald stream\n\nid: 0-0\n\n";
  std::string withBeats = start + ": heartbeat\n: heartbeat\n";
  ASSERT_TRUE(client.readBody(withBeats.size(), 5s)) << client.body();
  EXPECT_EQ(client.body().substr(0, withBeats.size()), withBeats);
}

}  // namespace
}  // namespace herald::test
