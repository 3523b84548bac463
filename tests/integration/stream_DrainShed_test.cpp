// Shedding and graceful drain: a node that will not serve a stream answers 200,
// a jittered retry: and a close (never an error, which EventSource would not
// retry), and SIGTERM ends open streams that way over --drain-time.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// The stream was ended with a retry: between --retry and 1.5 x --retry, and nothing else.
void expectRetryAndClose(SseClient& client, long retryMs) {
  ASSERT_EQ(client.readHead(), 200);
  EXPECT_TRUE(client.waitClosed(5s)) << client.body();
  EXPECT_FALSE(client.next(10ms));
  ASSERT_TRUE(client.retryMs()) << client.body();
  EXPECT_GE(*client.retryMs(), retryMs);
  EXPECT_LE(*client.retryMs(), retryMs * 3 / 2);
}

TEST(Shedding, OverMaxConnectionsGetsRetryAndCloseThenRoomAgain) {
  HeraldProcess herald({"--max-connections", "2", "--retry", "1s"});
  auto first = std::make_unique<SseClient>(herald.streamPort(), "/v1/events?channel=s");
  SseClient second(herald.streamPort(), "/v1/events?channel=s");
  ASSERT_EQ(first->readHead(), 200);
  ASSERT_EQ(second.readHead(), 200);
  ASSERT_TRUE(first->readBody(10, 5s));
  ASSERT_TRUE(second.readBody(10, 5s));
  SseClient third(herald.streamPort(), "/v1/events?channel=s");
  expectRetryAndClose(third, 1000);
  EXPECT_EQ(third.body().rfind("retry: ", 0), 0u) << third.body();

  first.reset();  // room for one more once the server notices the close
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    SseClient again(herald.streamPort(), "/v1/events?channel=s");
    admitted = again.readHead() == 200 && again.readBody(30, 2s) && !again.waitClosed(200ms);
    if (!admitted) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(admitted);
}

TEST(Shedding, MemoryPressureShedsNewStreams) {
  HeraldProcess herald({"--shed-rss", "1KiB", "--retry", "2s"});
  std::this_thread::sleep_for(600ms);  // a LoadMonitor tick or two
  SseClient client(herald.streamPort(), "/v1/events?channel=m");
  expectRetryAndClose(client, 2000);
}

TEST(Drain, SigtermEndsStreamsWithRetryAndExitsZero) {
  HeraldProcess herald({"--drain-time", "1s", "--retry", "1s"});
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<SseClient>(herald.streamPort(), "/v1/events?channel=d"));
    ASSERT_EQ(clients.back()->readHead(), 200);
    ASSERT_TRUE(clients.back()->readBody(30, 5s));
  }
  ASSERT_EQ(httpRequest(herald.apiPort(), "GET", "/readyz").status, 200);
  auto started = std::chrono::steady_clock::now();
  herald.process().signal(SIGTERM);
  // Not ready as soon as the signal is handled (well before the first stream
  // ends); publishing still works while draining.
  auto ready = httpRequest(herald.apiPort(), "GET", "/readyz");
  for (int attempt = 0; attempt < 100 && ready.status == 200; ++attempt) {
    std::this_thread::sleep_for(5ms);
    ready = httpRequest(herald.apiPort(), "GET", "/readyz");
  }
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body)["error"]["code"], "draining");
  EXPECT_EQ(publish(herald.apiPort(), R"({"channel":"d","data":1})").status, 200);
  for (auto& client : clients) {
    EXPECT_TRUE(client->waitClosed(5s));
    while (client->next(10ms)) {
      // the notification published while draining, delivered before the end
    }
    ASSERT_TRUE(client->retryMs()) << client->body();
    EXPECT_NE(client->body().find(": draining"), std::string::npos);
    EXPECT_GE(*client->retryMs(), 1000);
    EXPECT_LE(*client->retryMs(), 1500);
  }
  auto status = herald.process().wait(8s);
  ASSERT_TRUE(status) << herald.log();
  EXPECT_EQ(*status, 0) << herald.log();
  // Within --drain-time + 5 s, as the contract says.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
}

TEST(Drain, SecondSignalExitsAtOnce) {
  // One stream, drained at the end of a long --drain-time: the node is still draining.
  HeraldProcess herald({"--drain-time", "600s"});
  SseClient client(herald.streamPort(), "/v1/events?channel=x");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(30, 5s));
  herald.process().signal(SIGTERM);
  // The first signal was handled: /readyz says draining, and the stream is still open.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  HttpResponse ready;
  while (std::chrono::steady_clock::now() < deadline) {
    ready = httpRequest(herald.apiPort(), "GET", "/readyz");
    if (ready.status == 503) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(ready.status, 503) << herald.log();
  EXPECT_EQ(json::parse(ready.body)["error"]["code"], "draining");
  EXPECT_FALSE(client.waitClosed(0ms));

  herald.process().signal(SIGINT);
  // At once, and cleanly: well before the 600 s drain, with status 0 (a crash is 128 + signal).
  auto status = herald.process().wait(5s);
  ASSERT_TRUE(status) << "still running after the second signal\n" << herald.log();
  EXPECT_EQ(*status, 0) << herald.log();
  EXPECT_NE(herald.log().find("second signal: exiting"), std::string::npos) << herald.log();
  EXPECT_TRUE(client.waitClosed(5s));
}

}  // namespace
}  // namespace herald::test
