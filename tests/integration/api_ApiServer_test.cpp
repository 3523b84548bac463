// The api listener in-process on a free loopback port, with a real MemoryBroker,
// spoken to over real sockets with httplib::Client.
#include "api/ApiServer.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "gateway/broker/MemoryBroker.h"

namespace herald {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kClientTimeout = 5s;
constexpr std::size_t kBodyLimit = 65536;

// Counts live notifications, so a test can tell that nothing was published.
class RecordingListener : public BrokerListener {
 public:
  void onNotification(ShardMask, NotificationPtr notification) override {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(notification));
  }
  void onChannelReset(ShardMask, const std::string&, ResetReason) override {}

 private:
  std::mutex mutex_;
  std::vector<NotificationPtr> received_;
};

// A broker whose every call fails: down (BrokerUnavailable) or broken (a plain exception).
class FailingBroker : public Broker {
 public:
  explicit FailingBroker(bool unavailable) : unavailable_(unavailable) {}
  void start(BrokerListener&) override {}
  void stop() override {}
  bool ready() const override { return !unavailable_; }
  std::string describe() const override { return "failing"; }
  PublishOutcome publish(const std::vector<PublishItem>&, const std::optional<IdempotencyToken>&) override {
    fail();
  }
  HistoryPage history(const std::string&, std::optional<NotificationId>, std::size_t) override { fail(); }
  void subscribe(const std::string&, unsigned, std::function<void(bool)> done) override { done(false); }
  void unsubscribe(const std::string&, unsigned) override {}
  void replay(const std::string&, std::optional<NotificationId>, std::size_t,
              std::function<void(ReplayResult)> done) override {
    done(ReplayResult{.ok = false, .reset = {}, .items = {}, .newest = {}});
  }

 private:
  [[noreturn]] void fail() const {
    if (unavailable_) {
      throw BrokerUnavailable("test: broker down");
    }
    throw std::runtime_error("test: unexpected failure");
  }
  bool unavailable_;
};

Config testConfig() {
  Config config;
  config.apiListen = "127.0.0.1:0";
  config.maxBodyBytes = kBodyLimit;
  return config;
}

httplib::Client clientFor(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(kClientTimeout);
  client.set_read_timeout(kClientTimeout);
  client.set_write_timeout(kClientTimeout);
  return client;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_.start(listener_);
    server_.start();
    ASSERT_GT(server_.port(), 0);
  }
  void TearDown() override {
    server_.stop();
    broker_.stop();
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {},
                       const char* contentType = "application/json") {
    auto client = clientFor(server_.port());
    return client.Post(path, headers, body, contentType);
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    auto client = clientFor(server_.port());
    return client.Get(path, headers);
  }
  json history(const std::string& query) {
    auto res = get("/v1/channels/" + query);
    EXPECT_TRUE(res);
    if (!res) {
      return {};
    }
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  }

  // The answer is the contract's error body with `code`, and the server still serves afterwards.
  void expectError(const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res) << "no answer, error " << static_cast<int>(res.error());
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    json body = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << res->body;
    EXPECT_EQ(body["error"]["code"], code) << res->body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << res->body;
    auto health = get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
  }

  Config config_ = testConfig();
  RecordingListener listener_;
  MemoryBroker broker_{config_};
  ApiServer server_{config_, broker_};
};

TEST_F(ApiServerTest, PublishSingleChannel) {
  auto res = post("/v1/notifications", R"({"channel":"user:42","event":"order.shipped","data":{"order":7}})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  json body = json::parse(res->body);
  EXPECT_EQ(body.size(), 2u);
  EXPECT_EQ(body["channel"], "user:42");
  EXPECT_TRUE(NotificationId::parse(body["id"].get<std::string>()));

  json page = history("user:42/notifications");
  ASSERT_EQ(page["notifications"].size(), 1u);
  EXPECT_EQ(page["notifications"][0]["id"], body["id"]);
  EXPECT_EQ(page["notifications"][0]["event"], "order.shipped");
  EXPECT_EQ(page["notifications"][0]["data"], json::parse(R"({"order":7})"));
  // A client may percent-encode the ':' of the channel in the path.
  EXPECT_EQ(history("user%3A42/notifications")["notifications"].size(), 1u);
}

TEST_F(ApiServerTest, PublishManyChannelsAndBatch) {
  auto res = post("/v1/notifications", R"({"channels":["a","b"],"data":1})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json body = json::parse(res->body);
  ASSERT_EQ(body.size(), 1u);
  ASSERT_EQ(body["results"].size(), 2u);
  EXPECT_EQ(body["results"][0]["channel"], "a");
  EXPECT_EQ(body["results"][1]["channel"], "b");

  res = post("/v1/notifications/batch",
             R"({"notifications":[{"channel":"a","data":2},{"channels":["b","c"],"event":"e"}]})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  body = json::parse(res->body);
  ASSERT_EQ(body["results"].size(), 2u);
  EXPECT_EQ(body["results"][0]["channel"], "a");
  EXPECT_TRUE(body["results"][0].contains("id"));
  ASSERT_EQ(body["results"][1]["results"].size(), 2u);
  EXPECT_EQ(body["results"][1]["results"][1]["channel"], "c");
  EXPECT_EQ(history("a/notifications")["notifications"].size(), 2u);
  EXPECT_EQ(history("c/notifications")["notifications"][0]["event"], "e");
}

TEST_F(ApiServerTest, BadRequestsAreJsonErrors) {
  expectError(post("/v1/notifications", "{nope"), 400, "invalid_json");
  expectError(post("/v1/notifications", R"({"data":1})"), 400, "invalid_request");
  expectError(post("/v1/notifications", R"({"channel":"a","channels":["b"]})"), 400, "invalid_request");
  expectError(post("/v1/notifications", R"({"channel":"no spaces"})"), 400, "invalid_channel");
  std::string many = R"({"channels":[)";
  for (int i = 0; i <= 1000; ++i) {
    many += (i == 0 ? "\"c" : ",\"c") + std::to_string(i) + "\"";
  }
  expectError(post("/v1/notifications", many + "]}"), 400, "too_many_channels");
  expectError(post("/v1/notifications", R"({"channel":"a"})", {}, "text/plain"), 415,
              "unsupported_media_type");
  expectError(post("/v1/notifications", R"({"channel":"a"})", {{"Idempotency-Key", "caf\xc3\xa9"}}), 400,
              "invalid_request");
  expectError(post("/v1/notifications", R"({"channel":"a"})", {{"Idempotency-Key", std::string(201, 'k')}}),
              400, "invalid_request");
  expectError(get("/nowhere"), 404, "not_found");
  expectError(get("/v1/channels/a/elsewhere"), 404, "not_found");

  auto res = get("/v1/notifications");
  expectError(res, 405, "method_not_allowed");
  EXPECT_EQ(res->get_header_value("Allow"), "POST, OPTIONS");
  expectError(post("/healthz", "{}"), 405, "method_not_allowed");
  auto client = clientFor(server_.port());
  expectError(client.Delete("/v1/channels/a/notifications"), 405, "method_not_allowed");
  EXPECT_TRUE(history("a/notifications")["notifications"].empty());
}

TEST_F(ApiServerTest, AnswerWithUtf8ContentType) {
  auto res = post("/v1/notifications", R"({"channel":"a"})", {}, "application/json; charset=utf-8");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(ApiServerTest, BodyLimitIsExactly64KiB) {
  const std::string prefix = R"({"channel":"big","data":")";
  const std::string suffix = "\"}";
  std::string exact = prefix + std::string(kBodyLimit - prefix.size() - suffix.size(), 'x') + suffix;
  ASSERT_EQ(exact.size(), kBodyLimit);
  auto res = post("/v1/notifications", exact);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;

  std::string oneMore = prefix + std::string(kBodyLimit + 1 - prefix.size() - suffix.size(), 'x') + suffix;
  expectError(post("/v1/notifications", oneMore), 413, "payload_too_large");

  // Chunked bodies have no Content-Length up front and are cut off at the limit too.
  auto client = clientFor(server_.port());
  auto chunked = client.Post(
      "/v1/notifications",
      [&](std::size_t offset, httplib::DataSink& sink) {
        sink.write(oneMore.data() + offset, std::min<std::size_t>(4096, oneMore.size() - offset));
        if (offset + 4096 >= oneMore.size()) {
          sink.done();
        }
        return true;
      },
      "application/json");
  expectError(chunked, 413, "payload_too_large");
  EXPECT_EQ(history("big/notifications")["notifications"].size(), 1u);
}

TEST_F(ApiServerTest, BatchIsValidatedWhole) {
  auto res = post("/v1/notifications/batch",
                  R"({"notifications":[{"channel":"whole","data":1},{"channel":"bad name"}]})");
  expectError(res, 400, "invalid_channel");
  EXPECT_NE(res->body.find("notifications[1]"), std::string::npos) << res->body;
  EXPECT_TRUE(history("whole/notifications")["notifications"].empty());
}

TEST_F(ApiServerTest, IdempotencyReplaysAndConflicts) {
  const std::string body = R"({"channels":["i1","i2"],"data":"x"})";
  auto first = post("/v1/notifications", body, {{"Idempotency-Key", "order-7"}});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  auto again = post("/v1/notifications", body, {{"Idempotency-Key", "order-7"}});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(json::parse(again->body), json::parse(first->body));
  EXPECT_EQ(history("i1/notifications")["notifications"].size(), 1u);

  expectError(
      post("/v1/notifications", R"({"channels":["i1","i2"],"data":"y"})", {{"Idempotency-Key", "order-7"}}),
      409, "idempotency_conflict");
  // The same JSON with other bytes is another body.
  expectError(
      post("/v1/notifications", R"({"channels":["i1","i2"], "data":"x"})", {{"Idempotency-Key", "order-7"}}),
      409, "idempotency_conflict");
  EXPECT_EQ(history("i1/notifications")["notifications"].size(), 1u);
}

TEST_F(ApiServerTest, HistoryPagingFollowsNext) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto res = post("/v1/notifications", R"({"channel":"paged","data":)" + std::to_string(i) + "}");
    ASSERT_TRUE(res);
    ids.push_back(json::parse(res->body)["id"]);
  }
  json page = history("paged/notifications?limit=2");
  ASSERT_EQ(page["notifications"].size(), 2u);
  EXPECT_EQ(page["channel"], "paged");
  EXPECT_EQ(page["notifications"][0]["id"], ids[0]);
  EXPECT_FALSE(page["notifications"][0].contains("event"));  // no type, no key
  EXPECT_EQ(page["next"], ids[1]);

  page = history("paged/notifications?limit=2&after=" + page["next"].get<std::string>());
  ASSERT_EQ(page["notifications"].size(), 2u);
  EXPECT_EQ(page["notifications"][1]["id"], ids[3]);
  EXPECT_EQ(page["next"], ids[3]);  // full page ending on the newest entry

  page = history("paged/notifications?limit=2&after=" + page["next"].get<std::string>());
  EXPECT_TRUE(page["notifications"].empty());
  EXPECT_TRUE(page["next"].is_null());

  page = history("paged/notifications?after=" + ids[1]);  // default limit: a short page
  ASSERT_EQ(page["notifications"].size(), 2u);
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(history("paged/notifications?limit=5000")["notifications"].size(), 4u);  // clamped, not refused

  page = history("empty/notifications");
  EXPECT_TRUE(page["notifications"].empty());
  EXPECT_TRUE(page["next"].is_null());

  expectError(get("/v1/channels/paged/notifications?after=nope"), 400, "invalid_request");
  expectError(get("/v1/channels/paged/notifications?limit=0"), 400, "invalid_request");
  expectError(get("/v1/channels/bad!name/notifications"), 400, "invalid_channel");
}

TEST_F(ApiServerTest, HealthReadinessAndDrain) {
  auto res = get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
  res = get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  server_.setDraining(true);
  res = get("/readyz");
  expectError(res, 503, "draining");
  EXPECT_FALSE(res->get_header_value("Retry-After").empty());
  // Publishing still works while draining.
  auto published = post("/v1/notifications", R"({"channel":"a"})");
  ASSERT_TRUE(published);
  EXPECT_EQ(published->status, 200);
}

// One allowed origin: it gets the CORS headers (on answers, errors and preflight), any other origin none.
TEST(ApiServerCors, CorsForAllowedOriginsOnly) {
  const std::string allowed = "https://app.example";
  Config config = testConfig();
  config.corsOrigins = {allowed};
  RecordingListener listener;
  MemoryBroker broker(config);
  broker.start(listener);
  ApiServer server(config, broker);
  server.start();
  auto client = clientFor(server.port());

  auto expectCors = [&](const httplib::Result& res) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), allowed);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Credentials"), "true");
    EXPECT_EQ(res->get_header_value("Vary"), "Origin");
  };
  auto expectNoCors = [](const httplib::Result& res) {
    ASSERT_TRUE(res);
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Credentials"));
  };

  auto res = client.Get("/v1/channels/a/notifications", {{"Origin", allowed}});
  expectCors(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/v1/channels/bad!name/notifications", {{"Origin", allowed}});
  expectCors(res);  // errors too, so the page can read them
  EXPECT_EQ(res->status, 400);
  auto preflight = client.Options("/v1/notifications", {{"Origin", allowed},
                                                        {"Access-Control-Request-Method", "POST"},
                                                        {"Access-Control-Request-Headers", "content-type"}});
  expectCors(preflight);
  EXPECT_EQ(preflight->status, 204);

  for (const std::string other : {"https://evil.example", "https://app.example.evil", "http://app.example"}) {
    SCOPED_TRACE(other);
    expectNoCors(client.Get("/v1/channels/a/notifications", {{"Origin", other}}));
    preflight =
        client.Options("/v1/notifications", {{"Origin", other}, {"Access-Control-Request-Method", "POST"}});
    expectNoCors(preflight);
    EXPECT_EQ(preflight->status, 204);
  }
  expectNoCors(client.Get("/v1/channels/a/notifications"));  // no Origin at all
  server.stop();
  broker.stop();
}

TEST_F(ApiServerTest, SecondBindOnTheSamePortFails) {
  Config taken = testConfig();
  taken.apiListen = "127.0.0.1:" + std::to_string(server_.port());
  ApiServer second(taken, broker_);
  EXPECT_THROW(second.start(), std::runtime_error);
}

TEST(ApiServerBroker, BrokerDownIs503WithRetryAfter) {
  Config config = testConfig();
  FailingBroker broker(true);
  ApiServer server(config, broker);
  server.start();
  auto client = clientFor(server.port());
  auto res = client.Post("/v1/notifications", R"({"channel":"a"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "broker_unavailable");
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  res = client.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "broker_unavailable");
  EXPECT_FALSE(res->get_header_value("Retry-After").empty());
}

TEST(ApiServerBroker, UnexpectedFailureIs500AndTheServerLives) {
  Config config = testConfig();
  FailingBroker broker(false);
  ApiServer server(config, broker);
  server.start();
  auto client = clientFor(server.port());
  auto res = client.Get("/v1/channels/a/notifications");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_TRUE(json::parse(res->body)["error"]["code"].is_string());
  res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(ApiServerKeys, ApiKeyIsRequiredOnceConfigured) {
  Config config = testConfig();
  config.apiKeys = {"sekret"};
  config.corsOrigins = {"https://app.example"};
  MemoryBroker broker(config);
  RecordingListener listener;
  broker.start(listener);
  ApiServer server(config, broker);
  server.start();
  auto client = clientFor(server.port());
  auto res = client.Post("/v1/notifications", R"({"channel":"a"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "unauthorized");
  res = client.Post("/v1/notifications", {{"Authorization", "Bearer wrong"}}, R"({"channel":"a"})",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client.Post("/v1/notifications",
                    {{"Authorization", "Bearer sekret"}, {"Origin", "https://app.example"}},
                    R"({"channel":"a"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Credentials"), "true");
  // Health stays open without a key.
  res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  server.stop();
  broker.stop();
}

}  // namespace
}  // namespace herald
