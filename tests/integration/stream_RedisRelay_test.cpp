// The relay across nodes that share one Redis, and through Redis outages:
// real herald processes, real redis-server processes, real sockets.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
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

// Nodes on one Redis with another database, or the same database and another
// prefix, are separate clusters: neither live traffic nor history crosses.
// Deterministic: the other node publishes first, then the subscriber's own node
// publishes a marker; a leak would arrive before the marker (one Redis
// connection delivers in publish order).
TEST(RedisRelay, OtherDatabaseOrPrefixIsAnotherCluster) {
  RedisProcess redis;
  std::string prefix = uniquePrefix();
  HeraldProcess a(nodeArgs(redis, prefix));
  auto otherDbArgs = redis.heraldArgs("1");
  otherDbArgs.insert(otherDbArgs.end(), {"--redis-prefix", prefix});
  HeraldProcess otherDb(otherDbArgs);
  HeraldProcess otherPrefix(nodeArgs(redis, prefix + "other:"));
  for (HeraldProcess* node : {&otherDb, &otherPrefix}) {
    SCOPED_TRACE(node == &otherDb ? "other database" : "same database, other prefix");
    const std::string channel = node == &otherDb ? "iso-db" : "iso-prefix";
    SseClient client(node->streamPort(), "/v1/events?channel=" + channel);
    ASSERT_EQ(client.readHead(), 200);
    std::string leaked = publishId(a.apiPort(), channel, "\"from a\"");
    std::string marker = publishId(node->apiPort(), channel, "\"own\"");
    auto event = client.next();
    ASSERT_TRUE(event) << node->log();
    EXPECT_EQ(event->data, "own");  // a JSON string is sent as is
    EXPECT_EQ(event->id, marker);
    // History does not cross either: the other node's history holds only its own.
    auto history = httpRequest(node->apiPort(), "GET", "/v1/channels/" + channel + "/notifications");
    ASSERT_EQ(history.status, 200);
    auto items = json::parse(history.body)["notifications"];
    ASSERT_EQ(items.size(), 1u) << history.body;
    EXPECT_EQ(items[0]["id"], marker);
    // And a's history holds only a's.
    auto own =
        json::parse(httpRequest(a.apiPort(), "GET", "/v1/channels/" + channel + "/notifications").body);
    ASSERT_EQ(own["notifications"].size(), 1u);
    EXPECT_EQ(own["notifications"][0]["id"], leaked);
  }
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

// The first event of a resume from `from` on `channel`: must be a `lost` reset.
void expectLostReset(const HeraldProcess& node, const std::string& channel, const std::string& from) {
  SCOPED_TRACE("resume of " + channel + " from " + from);
  SseClient client(node.streamPort(), "/v1/events?channel=" + channel, {{"Last-Event-ID", from}});
  auto first = client.next();
  ASSERT_TRUE(first) << node.log();
  EXPECT_EQ(first->event, "herald.reset") << first->data;
  EXPECT_EQ(json::parse(first->data, nullptr, false), json({{"channel", channel}, {"reason", "lost"}}));
}

// Redis restarted from an RDB snapshot older than what it acknowledged (the
// default persistence): X was saved, Y and Z were acknowledged and lost. A
// resume from X or Z must say so, before and after a new publish (contract
// v1.3, "History generations").
TEST(RedisRelay, RedisRestartedFromAnOlderSnapshotIsLost) {
  RedisProcess redis(/*appendOnly=*/false);
  std::string prefix = uniquePrefix();
  HeraldProcess node(nodeArgs(redis, prefix));
  std::map<std::string, std::pair<std::string, std::string>> xz;  // channel -> {X, Z}
  for (const std::string channel : {"snap-before", "snap-after"}) {
    xz[channel].first = publishId(node.apiPort(), channel, "\"x\"");
  }
  ASSERT_NE(redis.commandText("SAVE").find("+OK"), std::string::npos);
  for (const std::string channel : {"snap-before", "snap-after"}) {
    publishId(node.apiPort(), channel, "\"y\"");
    xz[channel].second = publishId(node.apiPort(), channel, "\"z\"");
  }
  redis.restart();  // SIGKILL, then start from dump.rdb: only the X are back
  ASSERT_TRUE(waitReady(node.apiPort(), true, 20s)) << node.log();

  // No publish since the restart: the resume itself must see the loss.
  expectLostReset(node, "snap-before", xz["snap-before"].first);
  expectLostReset(node, "snap-before", xz["snap-before"].second);

  // A publish first: it must not chain onto the restored X.
  std::string w = publishWhenBack(node.apiPort(), "snap-after", 1, 20s);
  for (const std::string& from : {xz["snap-after"].first, xz["snap-after"].second}) {
    expectLostReset(node, "snap-after", from);
    SseClient client(node.streamPort(), "/v1/events?channel=snap-after", {{"Last-Event-ID", from}});
    auto events = client.take(2);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].id, w);  // then what is retained after `from`
  }
  // A resume from the new publish is complete: no reset.
  std::string v = publishId(node.apiPort(), "snap-after", "2");
  SseClient fromW(node.streamPort(), "/v1/events?channel=snap-after", {{"Last-Event-ID", w}});
  auto next = fromW.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, v);
  EXPECT_EQ(next->event, "");
}

// A failover to a replica that lagged: X reached the replica, Y and Z were
// acknowledged by the master only. Even with appendfsync always on both, the
// promoted replica cannot prove it holds everything: resumes get `lost`.
TEST(RedisRelay, FailoverToALaggingReplicaIsLost) {
  RedisProcess master(/*appendOnly=*/true);
  RedisProcess replica(/*appendOnly=*/true, {"--replicaof", "127.0.0.1", std::to_string(master.port())});
  std::string prefix = uniquePrefix();
  HeraldProcess node(nodeArgs(master, prefix));
  std::string x = publishId(node.apiPort(), "failover", "\"x\"");
  // Wait until the replica has X (its meta names it), then make it lag.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline &&
         replica.commandText("HGET " + prefix + "meta:failover last").find(x) == std::string::npos) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(replica.commandText("HGET " + prefix + "meta:failover last").find(x), std::string::npos);
  replica.signal(SIGSTOP);
  publishId(node.apiPort(), "failover", "\"y\"");
  std::string z = publishId(node.apiPort(), "failover", "\"z\"");
  master.stop();
  replica.signal(SIGCONT);
  ASSERT_NE(replica.commandText("REPLICAOF NO ONE").find("+OK"), std::string::npos);
  HeraldProcess promoted(nodeArgs(replica, prefix));  // what a Sentinel would switch the nodes to
  ASSERT_TRUE(waitReady(promoted.apiPort(), true, 20s)) << promoted.log();
  expectLostReset(promoted, "failover", x);
  expectLostReset(promoted, "failover", z);
}

// AOF with appendfsync everysec (Redis's AOF default) may lose the last second
// on a crash: Herald cannot prove a restart complete, so it resets, even when
// (as here, most likely) nothing was actually lost.
TEST(RedisRelay, RedisRestartedWithAofEverysecResets) {
  RedisProcess redis(/*appendOnly=*/true, {"--appendfsync", "everysec"});
  std::string prefix = uniquePrefix();
  HeraldProcess node(nodeArgs(redis, prefix));
  std::string x = publishId(node.apiPort(), "everysec", "1");
  redis.restart();
  ASSERT_TRUE(waitReady(node.apiPort(), true, 20s)) << node.log();
  expectLostReset(node, "everysec", x);
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
