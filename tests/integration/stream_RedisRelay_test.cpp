// The relay across nodes that share one Redis, and through Redis outages:
// real herald processes, real redis-server processes, real sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/RedisProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::vector<std::string> nodeArgs(const RedisProcess& redis, const std::string& prefix,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args = redis.heraldArgs("0");
  args.insert(args.end(), {"--redis-prefix", prefix, "--publish-timeout", "1s"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Publishes, retrying while the broker is unavailable (503), for at most `budget`.
std::string publishWhenBack(int apiPort, const std::string& channel, int value, std::chrono::seconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = publish(apiPort, json({{"channel", channel}, {"data", value}}).dump());
    if (response.status == 200) {
      return json::parse(response.body)["id"];
    }
    EXPECT_EQ(response.status, 503) << response.body;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "broker did not come back within " << budget.count() << " s";
  return "";
}

bool waitReady(int apiPort, bool ready, std::chrono::seconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if ((httpRequest(apiPort, "GET", "/readyz").status == 200) == ready) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(RedisRelay, PublishOnOneNodeReachesSubscribersOfAnother) {
  RedisProcess redis;
  std::string prefix = uniquePrefix();
  HeraldProcess a(nodeArgs(redis, prefix));
  HeraldProcess b(nodeArgs(redis, prefix));
  SseClient client(b.streamPort(), "/v1/events?channel=user:9");
  ASSERT_EQ(client.readHead(), 200);
  std::string id = publishId(a.apiPort(), "user:9", "1");
  auto event = client.next();
  ASSERT_TRUE(event) << b.log();
  EXPECT_EQ(event->id, id);
  EXPECT_EQ(event->data, "1");
  // History is shared too: a resume on B from before replays what A stored.
  std::string second = publishId(a.apiPort(), "user:9", "2");
  SseClient resumed(b.streamPort(), "/v1/events?channel=user:9", {{"Last-Event-ID", id}});
  auto replayed = resumed.next();
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->id, second);
}

TEST(RedisRelay, OtherDatabaseOrPrefixIsAnotherCluster) {
  RedisProcess redis;
  std::string prefix = uniquePrefix();
  HeraldProcess a(nodeArgs(redis, prefix));
  auto otherDbArgs = redis.heraldArgs("1");
  otherDbArgs.insert(otherDbArgs.end(), {"--redis-prefix", prefix});
  HeraldProcess otherDb(otherDbArgs);
  SseClient client(otherDb.streamPort(), "/v1/events?channel=iso");
  ASSERT_EQ(client.readHead(), 200);
  publishId(a.apiPort(), "iso", "1");
  EXPECT_FALSE(client.next(700ms));
}

TEST(RedisRelay, RedisRestartedMidStreamLosesNothing) {
  RedisProcess redis(/*appendOnly=*/true);
  std::string prefix = uniquePrefix();
  HeraldProcess subscriberNode(nodeArgs(redis, prefix));
  HeraldProcess publisherNode(nodeArgs(redis, prefix));
  SseClient client(subscriberNode.streamPort(), "/v1/events?channel=outage");
  ASSERT_EQ(client.readHead(), 200);
  std::vector<std::string> ids;
  ids.push_back(publishId(publisherNode.apiPort(), "outage", "0"));
  ASSERT_TRUE(client.next());

  redis.stop();
  ASSERT_TRUE(waitReady(publisherNode.apiPort(), false, 10s));
  auto refused = publish(publisherNode.apiPort(), R"({"channel":"outage","data":-1})");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "broker_unavailable");
  EXPECT_TRUE(refused.headers.count("retry-after"));
  redis.start();
  // Publish as soon as the publishing node is back, possibly before the
  // subscribing node has re-subscribed: its backfill must catch these.
  for (int i = 1; i <= 5; ++i) {
    ids.push_back(publishWhenBack(publisherNode.apiPort(), "outage", i, 20s));
  }
  auto events = client.take(5, 20s);
  ASSERT_EQ(events.size(), 5u) << subscriberNode.log();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i].id, ids[i + 1]);
    EXPECT_EQ(events[i].data, std::to_string(i + 1));
  }
  EXPECT_EQ(client.body().find("herald.reset"), std::string::npos);
  EXPECT_FALSE(client.next(500ms));  // and nothing twice
  EXPECT_TRUE(waitReady(subscriberNode.apiPort(), true, 10s));
}

TEST(RedisRelay, RedisRestartedEmptyIsLost) {
  RedisProcess redis(/*appendOnly=*/false);
  std::string prefix = uniquePrefix();
  HeraldProcess node(nodeArgs(redis, prefix));
  std::string old = publishId(node.apiPort(), "gone", "0");
  redis.restart();
  ASSERT_TRUE(waitReady(node.apiPort(), true, 20s));
  publishWhenBack(node.apiPort(), "gone", 1, 20s);
  SseClient client(node.streamPort(), "/v1/events?channel=gone", {{"Last-Event-ID", old}});
  auto reset = client.next();
  ASSERT_TRUE(reset) << node.log();
  EXPECT_EQ(reset->event, "herald.reset");
  EXPECT_EQ(json::parse(reset->data), json({{"channel", "gone"}, {"reason", "lost"}}));
  auto retained = client.next();
  ASSERT_TRUE(retained);
  EXPECT_EQ(retained->data, "1");
}

TEST(RedisRelay, TrimmedAndExpiredHistoryAreSignalled) {
  RedisProcess redis;
  std::string prefix = uniquePrefix();
  HeraldProcess node(nodeArgs(redis, prefix, {"--history-size", "2", "--history-ttl", "1s"}));
  // MAXLEN ~ trims whole nodes only: publish enough that the first entries go.
  std::string first = publishId(node.apiPort(), "trim", "0");
  for (int i = 1; i < 300; ++i) {
    publishId(node.apiPort(), "trim", std::to_string(i));
  }
  {
    SseClient client(node.streamPort(), "/v1/events?channel=trim", {{"Last-Event-ID", first}});
    auto reset = client.next();
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->event, "herald.reset");
    EXPECT_EQ(json::parse(reset->data)["reason"], "truncated");
  }
  std::string last = publishId(node.apiPort(), "exp", "0");
  std::string before = publishId(node.apiPort(), "exp", "1");
  (void)before;
  std::this_thread::sleep_for(1500ms);
  SseClient client(node.streamPort(), "/v1/events?channel=exp", {{"Last-Event-ID", last}});
  auto reset = client.next();
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->event, "herald.reset");
  EXPECT_EQ(json::parse(reset->data)["reason"], "expired");
}

}  // namespace
}  // namespace herald::test
