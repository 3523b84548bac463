// Bounded memory on the stream side: live notifications held while a stream
// replays are bounded by --max-buffer (past it the stream ends with `retry:` and
// resumes with nothing lost), and a stream whose write does not finish within
// --write-timeout is closed. Real processes, real sockets.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(Backpressure, HeldBackLiveNotificationsPastMaxBufferEndTheStreamWhichResumes) {
  HeraldProcess herald({"--history-size", "2000", "--max-body", "8MiB", "--max-buffer", "256KiB"});
  const std::string padding(60 * 1024, 'x');
  std::string start = publishId(herald.apiPort(), "held", R"("start")");
  // About 36 MB of replay: far more than the kernel's socket buffers, so the replay
  // waits for the client, which reads one event and then pauses.
  constexpr int kReplayed = 600;
  for (int first = 0; first < kReplayed; first += 100) {
    publishNumbered(herald.apiPort(), "held", first, 100, padding);
  }
  SseClient client(herald.streamPort(), "/v1/events?channel=held", {{"Last-Event-ID", start}});
  ASSERT_EQ(client.readHead(), 200);
  auto firstEvent = client.next();
  ASSERT_TRUE(firstEvent);
  ASSERT_EQ(json::parse(firstEvent->data)["n"], 0);
  // Live notifications while it replays: 1.2 MB, past --max-buffer.
  constexpr int kLive = 20;
  publishNumbered(herald.apiPort(), "held", kReplayed, kLive, padding);

  // It reads on: what was queued, then the end with retry:, then it resumes.
  int expected = 1;
  std::string lastId = firstEvent->id;
  while (auto event = client.next(20s)) {
    ASSERT_EQ(json::parse(event->data)["n"], expected) << "out of order or duplicated";
    ++expected;
    lastId = event->id;
  }
  ASSERT_TRUE(client.waitClosed(10s));
  EXPECT_NE(client.body().find(": too much arrived while replaying"), std::string::npos);
  ASSERT_LT(expected, kReplayed + kLive) << "the stream was not ended while it replayed";
  SseClient resumed(herald.streamPort(), "/v1/events?channel=held", {{"Last-Event-ID", lastId}});
  ASSERT_EQ(resumed.readHead(), 200);
  while (expected < kReplayed + kLive) {
    auto event = resumed.next(20s);
    ASSERT_TRUE(event) << "stopped at " << expected;
    ASSERT_EQ(json::parse(event->data)["n"], expected);
    ++expected;
  }
}

TEST(Backpressure, AStreamWhoseWriteDoesNotFinishIsClosedAtTheWriteTimeout) {
  // A queue bound far above what is published: only the write deadline can close it.
  HeraldProcess herald({"--write-timeout", "1s", "--max-buffer", "256MiB"});
  SseClient stuck(herald.streamPort(), "/v1/events?channel=w");
  ASSERT_EQ(stuck.readHead(), 200);
  const std::string padding(60 * 1024, 'x');
  auto deadline = std::chrono::steady_clock::now() + 60s;
  int published = 0;
  while (scrapeMetric(herald.apiPort(), "herald_connections") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    if (published < 600) {  // ~36 MB: more than the socket buffers hold
      publishNumbered(herald.apiPort(), "w", published, 1, padding);
      ++published;
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_connections"), 0);
  EXPECT_EQ(scrapeMetric(herald.apiPort(), "herald_slow_clients_dropped_total"), 1);
  EXPECT_TRUE(stuck.waitClosed(60s));
}

// A stream that stopped reading does not hold a draining node: it is closed at the
// write deadline (given by the environment, so a herald without it still runs this),
// and the drain ends with no stream left.
TEST(Backpressure, AStuckStreamDoesNotHoldTheDrain) {
  ::setenv("HERALD_WRITE_TIMEOUT", "1s", 1);
  HeraldProcess herald({"--max-buffer", "256MiB", "--max-body", "8MiB", "--drain-time", "6s"});
  ::unsetenv("HERALD_WRITE_TIMEOUT");
  SseClient stuck(herald.streamPort(), "/v1/events?channel=d");
  ASSERT_EQ(stuck.readHead(), 200);
  const std::string padding(60 * 1024, 'x');
  for (int first = 0; first < 600; first += 100) {  // ~36 MB it does not read
    publishNumbered(herald.apiPort(), "d", first, 100, padding);
  }
  herald.process().signal(SIGTERM);
  auto status = herald.process().wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_NE(herald.log().find("drained; 0 streams left"), std::string::npos) << herald.log();
}

}  // namespace
}  // namespace herald::test
