// Replays of any size (CONTRACT v1.3): a resume far larger than --max-buffer is
// read from the broker in pages and written as the client reads, with the memory
// broker and with a real redis-server; only a client that stops reading is
// dropped, counted once per client.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Publishes `count` notifications of about `bytes` each to `channel` in batches.
void publishMany(int apiPort, const std::string& channel, int count, std::size_t bytes, int batch = 500) {
  const std::string padding(bytes, 'x');
  for (int first = 0; first < count; first += batch) {
    publishNumbered(apiPort, channel, first, std::min(batch, count - first), padding);
  }
}

// 2,000 missed notifications of 1 KiB (about twice the default --max-buffer) arrive
// once each, in order, and the stream then continues live.
void resumeOfAnySizeCompletes(std::vector<std::string> args) {
  args.insert(args.end(), {"--history-size", "5000", "--max-body", "4MiB"});
  HeraldProcess herald(args);
  std::string start = publishId(herald.apiPort(), "big", R"("start")");
  constexpr int kMissed = 2000;
  publishMany(herald.apiPort(), "big", kMissed, 1024);

  SseClient client(herald.streamPort(), "/v1/events?channel=big", {{"Last-Event-ID", start}});
  ASSERT_EQ(client.readHead(), 200);
  std::set<std::string> ids;
  for (int i = 0; i < kMissed; ++i) {
    auto event = client.next(20s);
    ASSERT_TRUE(event) << "after " << i << " events the stream stopped";
    ASSERT_EQ(json::parse(event->data)["n"], i);
    ASSERT_TRUE(ids.insert(event->id).second) << "duplicate id " << event->id;
  }
  std::string live = publishId(herald.apiPort(), "big", R"("live")");
  auto event = client.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, live);
  EXPECT_EQ(event->data, "live");
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total"), 0);
}

TEST(LargeReplay, ResumeOfAnySizeCompletesWithTheMemoryBroker) {
  resumeOfAnySizeCompletes({});
}

TEST(LargeReplay, ResumeOfAnySizeCompletesWithRedis) {
  std::string url = sharedRedisUrl();
  if (url.empty()) {
    GTEST_SKIP() << "HERALD_TEST_REDIS_URL is not set";
  }
  resumeOfAnySizeCompletes({"--broker", url, "--redis-prefix", uniquePrefix()});
}

// A client that stops reading is dropped once its queue passes --max-buffer, and
// herald_slow_clients_dropped_total counts it once, not once per queued event.
TEST(LargeReplay, AClientThatStopsReadingIsDroppedAndCountedOnce) {
  HeraldProcess herald({"--max-buffer", "64KiB"});
  SseClient stuck(herald.streamPort(), "/v1/events?channel=slow");
  ASSERT_EQ(stuck.readHead(), 200);
  SseClient reader(herald.streamPort(), "/v1/events?channel=slow");
  ASSERT_EQ(reader.readHead(), 200);
  // Far more than the kernel's socket buffers hold, so the stuck queue must pass 64 KiB.
  // 16 KiB each: the reader's queue may hold the event in flight (its write completion
  // not yet handled) plus the next one, and that must stay under the bound.
  const std::string padding(16 * 1024, 'x');
  auto deadline = std::chrono::steady_clock::now() + 60s;
  int published = 0;
  while (scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i, ++published) {
      publishId(herald.apiPort(), "slow", json({{"n", published}, {"pad", padding}}).dump());
      ASSERT_TRUE(reader.next()) << "the reading client was dropped too";
    }
  }
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total"), 1);
  // More publishes after the drop do not count it again.
  for (int i = 0; i < 20; ++i, ++published) {
    publishId(herald.apiPort(), "slow", json({{"n", published}, {"pad", padding}}).dump());
    ASSERT_TRUE(reader.next());
  }
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total"), 1);
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_connections"), 1);
}

// The same for a client that stops reading in the middle of a long replay: it is
// dropped (here by the write deadline, given by the environment so that a herald
// without the setting still runs this test) and counted once.
TEST(LargeReplay, AResumingClientThatStopsReadingIsCountedOnce) {
  ::setenv("HERALD_WRITE_TIMEOUT", "1s", 1);
  HeraldProcess herald({"--history-size", "2000", "--max-body", "8MiB"});
  ::unsetenv("HERALD_WRITE_TIMEOUT");
  std::string start = publishId(herald.apiPort(), "stop", R"("start")");
  // About 36 MB: more than the socket buffers hold, so the replay must wait for it.
  for (int first = 0; first < 600; first += 100) {
    publishMany(herald.apiPort(), "stop", 100, 60 * 1024, 100);
  }
  SseClient stuck(herald.streamPort(), "/v1/events?channel=stop", {{"Last-Event-ID", start}});
  ASSERT_EQ(stuck.readHead(), 200);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (scrapeMetric(herald.apiPort(), "herald_connections") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_connections"), 0);
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total"), 1);
}

}  // namespace
}  // namespace herald::test
