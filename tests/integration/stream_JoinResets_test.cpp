// A backfill `herald.reset` that reaches a stream still joining (here: in the middle
// of a long replay the client is slow to read) is held in order with the rest, not
// dropped. A real redis-server restarted from an RDB snapshot that lacks the newest
// notification: the subscriber's backfill cannot prove its channel complete.
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

bool waitForLog(HeraldProcess& herald, const std::string& needle, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (herald.log().find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST(JoinResets, ABackfillResetWhileReplayingIsHeldInOrder) {
  RedisProcess redis;
  HeraldProcess herald({"--broker", redis.url(), "--history-size", "2000", "--max-body", "8MiB"});
  const std::string padding(60 * 1024, 'x');
  std::string start = publishId(herald.apiPort(), "j", R"("start")");
  // ~36 MB of history: the replay waits for the client, which pauses after one event.
  constexpr int kReplayed = 600;
  for (int first = 0; first < kReplayed; first += 100) {
    publishNumbered(herald.apiPort(), "j", first, 100, padding);
  }
  ASSERT_EQ(std::system(("redis-cli -p " + std::to_string(redis.port()) + " SAVE > /dev/null").c_str()), 0);
  // Acknowledged, then lost: Redis comes back from the snapshot without it.
  publishId(herald.apiPort(), "j", R"("lost")");

  SseClient client(herald.streamPort(), "/v1/events?channel=j", {{"Last-Event-ID", start}});
  ASSERT_EQ(client.readHead(), 200);
  auto first = client.next();
  ASSERT_TRUE(first);
  ASSERT_EQ(json::parse(first->data)["n"], 0);

  // Setup, not an assertion: let the socket buffers fill, so the replay waits for the
  // client and no page read is in flight when Redis goes away.
  std::this_thread::sleep_for(2s);
  redis.restart();
  ASSERT_TRUE(waitForLog(herald, "redis backfill of channel j", 30s)) << herald.log();

  // Reading on: every replayed notification once, in order, and the backfill's reset
  // after them (it arrived while the stream was still replaying).
  int expected = 1;
  bool heldResetSeen = false;
  while (!heldResetSeen) {
    auto event = client.next(20s);
    ASSERT_TRUE(event) << "stream ended after " << expected << " events\n" << herald.log();
    if (event->event == "herald.reset") {
      EXPECT_EQ(json::parse(event->data), json({{"channel", "j"}, {"reason", "lost"}}));
      heldResetSeen = expected == kReplayed;
      continue;
    }
    ASSERT_EQ(json::parse(event->data)["n"], expected) << "out of order or duplicated";
    ++expected;
  }
  EXPECT_EQ(expected, kReplayed);
  // And then live.
  std::string live = publishId(herald.apiPort(), "j", R"("live")");
  auto event = client.next(20s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
}

}  // namespace
}  // namespace herald::test
