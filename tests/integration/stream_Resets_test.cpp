// Resume cases the gateway cannot prove complete: each starts with a
// `herald.reset` naming the channel and why (memory broker, real processes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Reads the stream's first event and checks it is the reset we expect.
void expectReset(SseClient& client, const std::string& channel, const std::string& reason) {
  auto event = client.next();
  ASSERT_TRUE(event) << client.body();
  EXPECT_EQ(event->event, "herald.reset");
  EXPECT_FALSE(event->hasId);
  EXPECT_EQ(json::parse(event->data), json({{"channel", channel}, {"reason", reason}}));
}

TEST(Resets, TrimmedPastTheIdIsTruncated) {
  HeraldProcess herald({"--history-size", "3"});
  std::string first = publishId(herald.apiPort(), "t", "0");
  for (int i = 1; i < 6; ++i) {
    publishId(herald.apiPort(), "t", std::to_string(i));
  }
  SseClient client(herald.streamPort(), "/v1/events?channel=t", {{"Last-Event-ID", first}});
  expectReset(client, "t", "truncated");
  auto rest = client.take(3);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].data, "3");
  EXPECT_EQ(rest[2].data, "5");
}

TEST(Resets, ExpiredHistoryIsExpired) {
  HeraldProcess herald({"--history-ttl", "300ms"});
  std::string first = publishId(herald.apiPort(), "ttl", "0");
  publishId(herald.apiPort(), "ttl", "1");
  std::this_thread::sleep_for(600ms);
  SseClient client(herald.streamPort(), "/v1/events?channel=ttl", {{"Last-Event-ID", first}});
  expectReset(client, "ttl", "expired");
  std::string live = publishId(herald.apiPort(), "ttl", "2");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
}

TEST(Resets, HeraldRestartedWithMemoryBrokerIsLost) {
  HeraldProcess herald;
  std::string old = publishId(herald.apiPort(), "r", "0");
  herald.restart();
  SseClient client(herald.streamPort(), "/v1/events?channel=r", {{"Last-Event-ID", old}});
  expectReset(client, "r", "lost");
  std::string live = publishId(herald.apiPort(), "r", "1");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
}

TEST(Resets, MalformedResumeIdIsInvalidCursorThenLive) {
  HeraldProcess herald;
  publishId(herald.apiPort(), "ic", "0");
  SseClient client(herald.streamPort(), "/v1/events?channel=ic", {{"Last-Event-ID", "not-an-id"}});
  expectReset(client, "ic", "invalid_cursor");
  std::string live = publishId(herald.apiPort(), "ic", "1");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
  EXPECT_EQ(event->data, "1");  // nothing of the history was replayed
}

TEST(Resets, CursorForOtherChannelsResetsOnlyThoseItMisses) {
  HeraldProcess herald;
  SseClient first(herald.streamPort(), "/v1/events?channel=p&channel=q");
  ASSERT_EQ(first.readHead(), 200);
  publishId(herald.apiPort(), "p", "1");
  auto got = first.take(1);
  ASSERT_EQ(got.size(), 1u);
  first.close();
  publishId(herald.apiPort(), "p", "2");
  SseClient second(herald.streamPort(), "/v1/events?channel=p&channel=z", {{"Last-Event-ID", got[0].id}});
  // Channels start in the order named: p resumes (its missed event), z resets.
  auto event = second.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->data, "2");
  expectReset(second, "z", "invalid_cursor");
}

// herald.* event types are the gateway's own: a publisher cannot forge a reset
// (single, multi-channel and batch publishes), and nothing of it reaches a stream.
TEST(Resets, PublisherCannotForgeAReset) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=forge");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(1, 5s));
  for (const std::string body :
       {R"({"channel":"forge","event":"herald.reset","data":{"channel":"forge","reason":"lost"}})",
        R"({"channels":["forge","other"],"event":"herald.anything"})"}) {
    auto refused = publish(herald.apiPort(), body);
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(json::parse(refused.body)["error"]["code"], "invalid_request") << refused.body;
  }
  auto batch = httpRequest(
      herald.apiPort(), "POST", "/v1/notifications/batch",
      R"({"notifications":[{"channel":"forge","data":1},{"channel":"forge","event":"herald.reset"}]})",
      {{"Content-Type", "application/json"}});
  EXPECT_EQ(batch.status, 400) << batch.body;
  EXPECT_EQ(json::parse(batch.body)["error"]["code"], "invalid_request");
  // Nothing was published: the first event the stream sees is the next real one.
  std::string id = publishId(herald.apiPort(), "forge", "\"real\"", "herald-like.reset");
  auto event = client.next();
  ASSERT_TRUE(event) << herald.log();
  EXPECT_EQ(event->id, id);
  EXPECT_EQ(event->event, "herald-like.reset");
  EXPECT_EQ(event->data, "real");
}

}  // namespace
}  // namespace herald::test
