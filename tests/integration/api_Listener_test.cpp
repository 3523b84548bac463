// The api listener under hostile and busy clients, over real sockets against a
// real herald process (the contract's "Api listener" paragraph): pipelined
// requests answered in order, request lines, headers and bodies bounded before
// they are buffered on every path, health checks answered whatever the publish
// load, loopback-only mode that a proxy cannot bypass, Idempotency-Keys scoped
// by the caller's API key.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/ApiServer.h"
#include "gateway/broker/MemoryBroker.h"
#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kFresh = 1000ms;  // the contract: health and a fresh publish answer within 1 s

// A plain TCP connection to 127.0.0.1:port with blocking sends and polled reads.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the peer closed or reset (the rest is not sent).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads what is there within `timeout`; false on close, error or timeout.
  bool readSome(std::string& into, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      return false;
    }
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      return false;
    }
    into.append(buf, static_cast<std::size_t>(n));
    return true;
  }

 private:
  int fd_;
};

struct Answer {
  int status = 0;
  std::string body;
};

// Splits complete Content-Length-framed answers off the front of `raw`.
std::vector<Answer> takeAnswers(std::string& raw) {
  std::vector<Answer> answers;
  for (;;) {
    auto headEnd = raw.find("\r\n\r\n");
    if (headEnd == std::string::npos) {
      break;
    }
    std::string head = raw.substr(0, headEnd);
    auto lengthAt = head.find("Content-Length: ");
    std::size_t length = lengthAt == std::string::npos ? 0 : std::stoul(head.substr(lengthAt + 16));
    if (raw.size() < headEnd + 4 + length) {
      break;
    }
    answers.push_back(Answer{std::stoi(head.substr(9, 3)), raw.substr(headEnd + 4, length)});
    raw.erase(0, headEnd + 4 + length);
  }
  return answers;
}

std::string publishRequest(const std::string& body, const std::string& extraHeaders = {}) {
  return "POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n" + extraHeaders + "\r\n" + body;
}

std::size_t residentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoul(line.substr(6)) * 1024;
    }
  }
  return 0;
}

json historyOf(int apiPort, const std::string& channel,
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  auto res = httpRequest(apiPort, "GET", "/v1/channels/" + channel + "/notifications", "", headers);
  EXPECT_EQ(res.status, 200) << res.body;
  return json::parse(res.body);
}

TEST(ApiListener, PipelinedPublishesAreAnsweredInOrderAndStoredOnce) {
  HeraldProcess herald;
  herald.start();
  RawConnection connection(herald.apiPort());
  std::string burst;
  for (int i = 0; i < 10; ++i) {
    burst += publishRequest(R"({"channel":"pipelined","data":{"seq":)" + std::to_string(i) + "}}");
  }
  ASSERT_TRUE(connection.send(burst));  // one write: all ten are in flight at once
  std::string raw;
  std::vector<Answer> answers;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (answers.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    if (!connection.readSome(raw, 1000ms)) {
      continue;
    }
    for (auto& answer : takeAnswers(raw)) {
      answers.push_back(std::move(answer));
    }
  }
  ASSERT_EQ(answers.size(), 10u) << "answers so far; pending bytes: " << raw;
  auto items = historyOf(herald.apiPort(), "pipelined")["notifications"];
  ASSERT_EQ(items.size(), 10u) << items.dump();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(answers[i].status, 200) << answers[i].body;
    // The i-th answer is the i-th request's: its id is the one stored with seq i.
    EXPECT_EQ(json::parse(answers[i].body)["id"], items[i]["id"]) << i;
    EXPECT_EQ(items[i]["data"]["seq"], i);
  }
}

TEST(ApiListener, EndlessHeaderAndHugeChunkedBodyAreCutOffWhileHealthAnswers) {
  HeraldProcess herald;
  herald.start();
  const int pid = herald.process().pid();
  const std::size_t baseline = residentBytes(pid);
  std::atomic<std::size_t> peak{baseline};
  std::atomic<bool> done{false};
  std::string headerAnswer, bodyAnswer;
  std::size_t headerSent = 0, bodySent = 0;

  // A request line that never ends: 64 MiB without a newline.
  std::thread endlessHeader([&] {
    RawConnection connection(herald.apiPort());
    std::string chunk(1 << 20, 'a');
    connection.send("GET /");
    for (int i = 0; i < 64 && connection.send(chunk); ++i) {
      headerSent += chunk.size();
    }
    while (connection.readSome(headerAnswer, 2000ms)) {
    }
  });
  // 1 GiB of chunks to a path no route serves.
  std::thread hugeBody([&] {
    RawConnection connection(herald.apiPort());
    connection.send("POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string chunk = "100000\r\n" + std::string(1 << 20, 'b') + "\r\n";
    for (int i = 0; i < 1024 && connection.send(chunk); ++i) {
      bodySent += 1 << 20;
    }
    while (connection.readSome(bodyAnswer, 2000ms)) {
    }
  });
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak.load(), residentBytes(pid));
      std::this_thread::sleep_for(10ms);
    }
  });
  std::atomic<int> sendersDone{0};
  auto sender = [&sendersDone](std::thread& t) {
    t.join();
    ++sendersDone;
  };
  std::thread joinHeader(sender, std::ref(endlessHeader));
  std::thread joinBody(sender, std::ref(hugeBody));
  // /healthz answers within 1 s all along (httpRequest throws past its timeout).
  auto until = std::chrono::steady_clock::now() + 120s;
  do {
    auto health = httpRequest(herald.apiPort(), "GET", "/healthz", "", {}, kFresh);
    EXPECT_EQ(health.status, 200);
    std::this_thread::sleep_for(50ms);
  } while (sendersDone < 2 && std::chrono::steady_clock::now() < until);
  joinHeader.join();
  joinBody.join();
  done = true;
  sampler.join();

  EXPECT_LT(headerSent, 64u << 20) << "herald kept reading a request line with no end";
  EXPECT_LT(bodySent, 1024u << 20) << "herald kept reading a body no route takes";
  EXPECT_TRUE(headerAnswer.empty() || headerAnswer.rfind("HTTP/1.1 431", 0) == 0)
      << headerAnswer.substr(0, 200);
  EXPECT_TRUE(bodyAnswer.empty() || bodyAnswer.rfind("HTTP/1.1 404", 0) == 0 ||
              bodyAnswer.rfind("HTTP/1.1 413", 0) == 0)
      << bodyAnswer.substr(0, 200);
  EXPECT_LT(peak.load(), baseline + (16u << 20)) << "RSS grew from " << baseline << " to " << peak.load();
}

TEST(ApiListener, BusyPublishersAndSlowLorisDoNotStarveHealthOrAFreshPublish) {
  HeraldProcess herald;
  herald.start();
  std::atomic<bool> stop{false};
  std::atomic<long> published{0};
  std::vector<std::thread> publishers;
  for (int i = 0; i < 100; ++i) {
    publishers.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", herald.apiPort());
      client.set_keep_alive(true);
      client.set_read_timeout(5s);
      std::string body = R"({"channel":"busy)" + std::to_string(i % 10) + R"(","data":1})";
      while (!stop) {
        auto res = client.Post("/v1/notifications", body, "application/json");
        if (res && res->status == 200) {
          ++published;
        }
      }
    });
  }
  // Slow loris: each sends one header byte at a time, never finishing its request.
  std::vector<std::unique_ptr<RawConnection>> loris;
  for (int i = 0; i < 64; ++i) {
    loris.push_back(std::make_unique<RawConnection>(herald.apiPort()));
    loris.back()->send("POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  }
  // Wait until the publishers are really busy.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (published < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(published.load(), 1000);
  for (int round = 0; round < 5; ++round) {
    for (auto& connection : loris) {
      connection->send("x");
    }
    auto health = httpRequest(herald.apiPort(), "GET", "/healthz", "", {}, kFresh);
    EXPECT_EQ(health.status, 200);
    auto fresh = httpRequest(herald.apiPort(), "POST", "/v1/notifications", R"({"channel":"fresh"})",
                             {{"Content-Type", "application/json"}}, kFresh);
    EXPECT_EQ(fresh.status, 200) << fresh.body;
  }
  stop = true;
  for (auto& t : publishers) {
    t.join();
  }
}

TEST(ApiListener, LoopbackModeRefusesWhatCameThroughAProxy) {
  HeraldProcess open;
  open.start();
  const std::string body = R"({"channel":"proxied"})";
  const std::vector<std::pair<std::string, std::string>> json = {{"Content-Type", "application/json"}};
  auto with = [&](std::string name, std::string value) {
    auto headers = json;
    headers.emplace_back(std::move(name), std::move(value));
    return headers;
  };
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"X-Forwarded-For", "203.0.113.7"}, {"Forwarded", "for=203.0.113.7"}, {"Via", "1.1 nginx"}}) {
    auto refused = httpRequest(open.apiPort(), "POST", "/v1/notifications", body, with(name, value));
    EXPECT_EQ(refused.status, 403) << name;
    EXPECT_EQ(json::parse(refused.body)["error"]["code"], "forbidden") << name;
    auto history =
        httpRequest(open.apiPort(), "GET", "/v1/channels/proxied/notifications", "", {{name, value}});
    EXPECT_EQ(history.status, 403) << name;
  }
  // A page on another site that resolved its own name to 127.0.0.1 (DNS rebinding).
  auto rebound =
      httpRequest(open.apiPort(), "POST", "/v1/notifications", body, with("Host", "evil.example:8081"));
  EXPECT_EQ(rebound.status, 403);
  auto local = httpRequest(open.apiPort(), "POST", "/v1/notifications", body, with("Host", "localhost:8081"));
  EXPECT_EQ(local.status, 200) << local.body;
  EXPECT_EQ(publish(open.apiPort(), body).status, 200);

  HeraldProcess keyed({"--api-key", "backend-key"});
  keyed.start();
  auto headers = with("X-Forwarded-For", "203.0.113.7");
  headers.emplace_back("Authorization", "Bearer backend-key");
  headers.emplace_back("Host", "herald.internal:8081");
  auto served = httpRequest(keyed.apiPort(), "POST", "/v1/notifications", body, headers);
  EXPECT_EQ(served.status, 200) << served.body;
}

TEST(ApiListener, IdempotencyKeysAreScopedByTheCallersApiKey) {
  HeraldProcess herald({"--api-key", "key-a", "--api-key", "key-b"});
  herald.start();
  const std::string body = R"({"channel":"scoped","data":1})";
  auto publishAs = [&](const std::string& apiKey, const std::string& payload) {
    return httpRequest(herald.apiPort(), "POST", "/v1/notifications", payload,
                       {{"Content-Type", "application/json"},
                        {"Authorization", "Bearer " + apiKey},
                        {"Idempotency-Key", "order-42"}});
  };
  auto first = publishAs("key-a", body);
  ASSERT_EQ(first.status, 200) << first.body;
  // Another backend, the same Idempotency-Key: its own publish, not a replay or a conflict.
  auto other = publishAs("key-b", body);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_NE(json::parse(other.body)["id"], json::parse(first.body)["id"]);
  auto otherBody = publishAs("key-b", R"({"channel":"scoped","data":2})");
  EXPECT_EQ(otherBody.status, 409) << "within one API key the key still guards its body";
  // Within one API key the key still deduplicates.
  auto again = publishAs("key-a", body);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  auto items = historyOf(herald.apiPort(), "scoped", {{"Authorization", "Bearer key-a"}})["notifications"];
  EXPECT_EQ(items.size(), 2u) << items.dump();
}

// A memory broker whose publishes wait until released: a stand-in for a slow Redis.
class StalledBroker : public Broker {
 public:
  explicit StalledBroker(const Config& config) : inner_(config) {}
  void start(BrokerListener& listener) override { inner_.start(listener); }
  void stop() override { inner_.stop(); }
  bool ready() const override { return inner_.ready(); }
  std::string describe() const override { return "stalled"; }
  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency) override {
    {
      std::unique_lock lock(mutex_);
      ++waiting_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    }
    return inner_.publish(items, idempotency);
  }
  HistoryPage history(const std::string& channel, std::optional<NotificationId> after,
                      std::size_t limit) override {
    return inner_.history(channel, after, limit);
  }
  void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) override {
    inner_.subscribe(channel, shard, std::move(done));
  }
  void unsubscribe(const std::string& channel, unsigned shard) override {
    inner_.unsubscribe(channel, shard);
  }
  void replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
              std::function<void(ReplayResult)> done) override {
    inner_.replay(channel, from, limit, std::move(done));
  }
  void waitForWaiting(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 10s, [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
  MemoryBroker inner_;
};

class NoListener : public BrokerListener {
 public:
  void onNotification(ShardMask, NotificationPtr) override {}
  void onChannelReset(ShardMask, const std::string&, ResetReason) override {}
};

TEST(ApiListener, FullWorkerQueueIs503OverloadedAndHealthIsStillAnswered) {
  Config config;
  config.apiListen = "127.0.0.1:0";
  config.broker = "redis://127.0.0.1:1";  // the api runs a non-memory broker's calls on its workers
  config.apiWorkers = 1;
  config.apiQueue = 1;
  StalledBroker broker(config);
  NoListener listener;
  broker.start(listener);
  ApiServer server(config, broker);
  server.start();
  const std::string body = R"({"channel":"stalled"})";
  // One publish fills the queue: it runs on the only worker and waits on the broker.
  int stalledStatus = 0;
  std::thread stalled([&] { stalledStatus = publish(server.port(), body).status; });
  broker.waitForWaiting(1);
  auto second = httpRequest(server.port(), "POST", "/v1/notifications", body,
                            {{"Content-Type", "application/json"}}, kFresh);
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_EQ(json::parse(second.body)["error"]["code"], "overloaded");
  EXPECT_EQ(second.headers["retry-after"], "1");
  // The loop answers health while every worker waits on the broker.
  auto health = httpRequest(server.port(), "GET", "/healthz", "", {}, kFresh);
  EXPECT_EQ(health.status, 200);
  auto ready = httpRequest(server.port(), "GET", "/readyz", "", {}, kFresh);
  EXPECT_EQ(ready.status, 200);
  broker.release();
  stalled.join();
  EXPECT_EQ(stalledStatus, 200);
  server.stop();
  broker.stop();
}

}  // namespace
}  // namespace herald::test
