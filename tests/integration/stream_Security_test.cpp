// The stream listener's front door over real sockets: JWT from each source, 401/403
// with CORS, a stream ended at token expiry with a retry: line, request limits and
// the per-address connection cap, with the server still serving afterwards.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"
#include "tests/support/TestTokens.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kSecret = "integration-secret";
constexpr const char* kOrigin = "https://app.example";

std::vector<std::string> secured(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--jwt-secret", kSecret, "--cors-origin", kOrigin};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void expectError(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(json::parse(response.body)["error"]["code"], code) << response.body;
}

void expectStillServing(HeraldProcess& herald) {
  SseClient client(herald.streamPort(), "/v1/events?token=" + hmacToken({{"sub", "alive"}}, kSecret));
  EXPECT_EQ(client.readHead(), 200);
}

TEST(StreamAuth, TokenFromEachSourceDeliversTheUsersNotifications) {
  HeraldProcess herald(secured());
  std::string token = hmacToken({{"sub", "42"}, {"exp", nowSeconds() + 600}}, kSecret);
  SseClient byQuery(herald.streamPort(), "/v1/events?token=" + token);
  SseClient byHeader(herald.streamPort(), "/v1/events?channel=user:42",
                     {{"Authorization", "Bearer " + token}});
  SseClient byCookie(herald.streamPort(), "/v1/events",
                     {{"Cookie", "herald_token=" + token}, {"Origin", kOrigin}});
  for (SseClient* client : {&byQuery, &byHeader, &byCookie}) {
    ASSERT_EQ(client->readHead(), 200);
  }
  EXPECT_EQ(byCookie.headers().at("access-control-allow-origin"), kOrigin);
  EXPECT_EQ(byCookie.headers().at("access-control-allow-credentials"), "true");
  ASSERT_EQ(publish(herald.apiPort(), R"({"channel":"user:42","data":{"n":1}})").status, 200);
  for (SseClient* client : {&byQuery, &byHeader, &byCookie}) {
    auto events = client->take(1);
    EXPECT_EQ(events[0].data, R"({"n":1})");
  }
}

TEST(StreamAuth, RefusalsAre401Or403WithTheirBodiesAndCors) {
  HeraldProcess herald(secured());
  int port = herald.streamPort();
  auto missing = httpRequest(port, "GET", "/v1/events?channel=user:1", "", {{"Origin", kOrigin}});
  expectError(missing, 401, "unauthorized");
  EXPECT_EQ(missing.headers.at("access-control-allow-origin"), kOrigin);
  expectError(httpRequest(port, "GET", "/v1/events?token=" + unsignedToken({{"sub", "1"}})), 401,
              "unauthorized");
  expectError(httpRequest(port, "GET", "/v1/events?token=" + hmacToken({{"sub", "1"}}, "wrong")), 401,
              "unauthorized");
  expectError(
      httpRequest(port, "GET",
                  "/v1/events?token=" + hmacToken({{"sub", "1"}, {"exp", nowSeconds() - 60}}, kSecret)),
      401, "unauthorized");
  auto forbidden =
      httpRequest(port, "GET", "/v1/events?channel=user:10&token=" + hmacToken({{"sub", "1"}}, kSecret), "",
                  {{"Origin", "https://evil.example"}});
  expectError(forbidden, 403, "forbidden");
  EXPECT_EQ(forbidden.headers.count("access-control-allow-origin"), 0u);
  expectError(httpRequest(port, "GET", "/v1/events?token=" + hmacToken({{"channels", {"a"}}}, kSecret)), 400,
              "invalid_request");
  auto preflight = httpRequest(port, "OPTIONS", "/v1/events", "", {{"Origin", kOrigin}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers.at("access-control-allow-origin"), kOrigin);
  // The token never appears in the log, whatever happened to it.
  std::string token = hmacToken({{"sub", "1"}}, "wrong");
  httpRequest(port, "GET", "/v1/events?channel=user:1&token=" + token);
  expectStillServing(herald);
  EXPECT_EQ(herald.log().find(token.substr(token.rfind('.') + 1)), std::string::npos);
}

TEST(StreamAuth, StreamEndsWithRetryWhenTheTokenExpires) {
  HeraldProcess herald(secured({"--jwt-leeway", "0", "--retry", "1s"}));
  SseClient client(herald.streamPort(),
                   "/v1/events?token=" + hmacToken({{"sub", "9"}, {"exp", nowSeconds() + 2}}, kSecret));
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.waitClosed(10s)) << client.body();
  auto lastRetry = client.body().rfind("retry: ");
  ASSERT_NE(lastRetry, std::string::npos);
  EXPECT_GT(lastRetry, client.body().find("retry: "));  // a second retry: line, before the close
  EXPECT_NE(client.body().find("token expired"), std::string::npos);
}

TEST(StreamLimits, EachLimitAnswersAndTheServerKeepsServing) {
  HeraldProcess herald(secured({"--max-request-line", "512", "--max-headers", "8", "--max-header-bytes",
                                "2KiB", "--max-channels-per-stream", "2"}));
  int port = herald.streamPort();
  std::string token = hmacToken({{"channels", {"*"}}}, kSecret);
  EXPECT_EQ(httpRequest(port, "GET", "/v1/events?channel=" + std::string(600, 'a')).status, 414);
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 10; ++i) {
    many.emplace_back("X-H" + std::to_string(i), "1");
  }
  expectError(httpRequest(port, "GET", "/v1/events?channel=a&token=" + token, "", many), 431,
              "invalid_request");
  expectError(httpRequest(port, "GET", "/v1/events?channel=a", "", {{"X-Big", std::string(3000, 'x')}}), 431,
              "invalid_request");
  expectError(httpRequest(port, "GET", "/v1/events?channel=a&channel=b&channel=c&token=" + token), 400,
              "too_many_channels");
  expectStillServing(herald);
}

// A stream that is admitted once the server has seen earlier connections close (the
// start-up probe's, or a test's own) and freed their slots.
std::unique_ptr<SseClient> admittedStream(int port) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto client = std::make_unique<SseClient>(port, "/v1/events?channel=a");
    if (client->readHead() == 200) {
      return client;
    }
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "no stream admitted";
  return nullptr;
}

TEST(StreamLimits, ConnectionsPerAddressAreCappedWith429) {
  HeraldProcess herald({"--max-connections-per-ip", "2"});
  int port = herald.streamPort();
  auto first = admittedStream(port);
  auto second = admittedStream(port);
  ASSERT_TRUE(first && second);
  auto refused = httpRequest(port, "GET", "/v1/events?channel=a");
  expectError(refused, 429, "overloaded");
  EXPECT_TRUE(refused.headers.count("retry-after"));
  first.reset();  // frees a slot once the server sees the close
  EXPECT_TRUE(admittedStream(port));
}

}  // namespace
}  // namespace herald::test
