// Bad input, slow readers and connection churn on the stream listener: every
// bad request gets its status and JSON body, and the process keeps serving.
#include <gtest/gtest.h>

#include <dirent.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

void expectError(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.headers.at("content-type"), "application/json");
  auto body = json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], code) << response.body;
  EXPECT_TRUE(body["error"]["message"].is_string());
}

int countOpenFds(int pid) {
  int count = 0;
  std::string path = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(path.c_str())) {
    while (::readdir(dir) != nullptr) {
      ++count;
    }
    ::closedir(dir);
  }
  return count;
}

void expectStillServing(HeraldProcess& herald) {
  SseClient client(herald.streamPort(), "/v1/events?channel=alive");
  EXPECT_EQ(client.readHead(), 200);
}

TEST(StreamBadInput, EveryErrorHasItsStatusAndBody) {
  HeraldProcess herald;
  int port = herald.streamPort();
  expectError(httpRequest(port, "GET", "/nope"), 404, "not_found");
  expectError(httpRequest(port, "POST", "/v1/events?channel=a"), 405, "method_not_allowed");
  expectError(httpRequest(port, "GET", "/v1/events"), 400, "invalid_request");
  expectError(httpRequest(port, "GET", "/v1/events?channel=bad/name"), 400, "invalid_channel");
  expectError(httpRequest(port, "GET", "/v1/events?channel=" + std::string(201, 'a')), 400,
              "invalid_channel");
  std::string many = "/v1/events?";
  for (int i = 0; i < 33; ++i) {
    many += "channel=c" + std::to_string(i) + "&";
  }
  expectError(httpRequest(port, "GET", many), 400, "too_many_channels");
  expectError(httpRequest(port, "GET", "/v1/events?channel=a", "", {{"X-Big", std::string(9000, 'x')}}), 431,
              "invalid_request");
  expectStillServing(herald);
  EXPECT_TRUE(herald.process().running());
}

TEST(StreamBadInput, GarbageAndHalfRequestsDoNotHurt) {
  HeraldProcess herald({"--request-timeout", "300ms"});
  int port = herald.streamPort();
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00 TLS hello\r\n\r\n"), std::string("GET\r\n\r\n"),
        std::string("GET /v1/events?channel=a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
        std::string("\r\n\r\n\r\n"), std::string(20000, 'A')}) {
    auto answer = rawExchange(port, garbage);
    EXPECT_TRUE(answer.closedByServer);
    if (!answer.received.empty()) {
      EXPECT_EQ(answer.received.rfind("HTTP/1.1 4", 0), 0u) << answer.received;
      EXPECT_NE(answer.received.find("\"error\""), std::string::npos) << answer.received;
    }
  }
  // A client that never finishes its headers is cut off by --request-timeout.
  auto slowloris = rawExchange(port, "GET /v1/events?channel=a HTTP/1.1\r\nX-Slow: 1\r\n", 5s);
  EXPECT_TRUE(slowloris.closedByServer);
  expectStillServing(herald);
  EXPECT_TRUE(herald.process().running());
}

TEST(StreamSlowReader, IsDroppedWhileFastReaderKeepsReceiving) {
  HeraldProcess herald({"--max-buffer", "256KiB"});
  SseClient slow(herald.streamPort(), "/v1/events?channel=big");
  SseClient fast(herald.streamPort(), "/v1/events?channel=big");
  ASSERT_EQ(slow.readHead(), 200);
  ASSERT_EQ(fast.readHead(), 200);
  // Enough data (16 MB) to fill the kernel's socket buffers of the slow reader
  // (a few MB on loopback) and then its 256 KiB queue; the fast reader drains as
  // we go, so its queue never holds more than one 16 KB event.
  const int kCount = 1000;
  std::string payload(16000, 'x');
  std::vector<std::string> ids;
  std::size_t fastSeen = 0;
  for (int i = 0; i < kCount; ++i) {
    auto response = publish(herald.apiPort(), json({{"channel", "big"}, {"data", payload}}).dump());
    ASSERT_EQ(response.status, 200);
    ids.push_back(json::parse(response.body)["id"]);
    while (auto event = fast.next(fastSeen < ids.size() ? 2s : 1ms)) {
      EXPECT_EQ(event->id, ids[fastSeen]);
      if (++fastSeen == ids.size()) {
        break;
      }
    }
  }
  EXPECT_EQ(fastSeen, ids.size());
  // The slow reader was disconnected: reading now ends in a close before all events.
  std::size_t slowSeen = 0;
  while (slow.next(5s)) {
    ++slowSeen;
  }
  EXPECT_LT(slowSeen, ids.size());
  EXPECT_TRUE(slow.waitClosed(1s));
  expectStillServing(herald);
}

TEST(StreamChurn, ThousandConnectDisconnectCyclesLeakNothing) {
  HeraldProcess herald;
  SseClient warmup(herald.streamPort(), "/v1/events?channel=warm");
  ASSERT_EQ(warmup.readHead(), 200);
  warmup.close();
  std::this_thread::sleep_for(200ms);
  int baseline = countOpenFds(herald.process().pid());
  for (int i = 0; i < 1000; ++i) {
    SseClient client(herald.streamPort(), "/v1/events?channel=churn" + std::to_string(i % 10));
    ASSERT_EQ(client.readHead(), 200);
  }
  // Closed connections are reaped as the server notices the close.
  int now = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    now = countOpenFds(herald.process().pid());
    if (now <= baseline) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_LE(now, baseline);
  // Published notifications still flow to a new subscriber.
  SseClient after(herald.streamPort(), "/v1/events?channel=churn1");
  ASSERT_EQ(after.readHead(), 200);
  auto response = publish(herald.apiPort(), R"({"channel":"churn1","data":1})");
  ASSERT_EQ(response.status, 200);
  EXPECT_TRUE(after.next());
}

}  // namespace
}  // namespace herald::test
