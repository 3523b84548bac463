// StreamRequest: the stream listener's answer to a request, from raw bytes, without
// sockets: token sources, 401/403/400 bodies, CORS on errors and preflights, limits.
#include <gtest/gtest.h>

#include "gateway/stream/StreamRequest.h"
#include "tests/support/TestTokens.h"

namespace herald {
namespace {

using test::hmacToken;

constexpr const char* kSecret = "stream-request-secret";
constexpr const char* kOrigin = "https://app.example";

Config testConfig() {
  Config config;
  config.corsOrigins = {kOrigin};
  config.jwtSecret = kSecret;
  return config;
}

class StreamRequestTest : public ::testing::Test {
 protected:
  std::string answer(const std::string& target, const std::string& headers = "") {
    return answerRequestBytes("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n", policy_);
  }
  static std::string statusLine(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
  }

  Config config_ = testConfig();
  StreamPolicy policy_{config_};
};

TEST_F(StreamRequestTest, TokenFromHeaderQueryOrCookie) {
  std::string token = hmacToken({{"sub", "42"}}, kSecret);
  EXPECT_EQ(statusLine(answer("/v1/events", "Authorization: Bearer " + token + "\r\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(statusLine(answer("/v1/events?channel=user:42&token=" + token)), "HTTP/1.1 200 OK");
  EXPECT_EQ(statusLine(answer("/v1/events", "Cookie: a=b; herald_token=" + token + "; c=d\r\n")),
            "HTTP/1.1 200 OK");
}

TEST_F(StreamRequestTest, MissingOrInvalidTokenIs401WithCorsForAllowedOrigins) {
  std::string missing = answer("/v1/events?channel=user:1", std::string("Origin: ") + kOrigin + "\r\n");
  EXPECT_EQ(statusLine(missing), "HTTP/1.1 401 Unauthorized");
  EXPECT_NE(missing.find(R"({"error":{"code":"unauthorized")"), std::string::npos);
  EXPECT_NE(missing.find(std::string("Access-Control-Allow-Origin: ") + kOrigin), std::string::npos);
  EXPECT_NE(missing.find("Access-Control-Allow-Credentials: true"), std::string::npos);
  std::string wrong = answer("/v1/events?channel=user:1&token=" + hmacToken({{"sub", "1"}}, "nope"),
                             "Origin: https://evil.example\r\n");
  EXPECT_EQ(statusLine(wrong), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(wrong.find("Access-Control"), std::string::npos);
}

TEST_F(StreamRequestTest, ChannelNotGrantedIs403) {
  std::string token = hmacToken({{"sub", "1"}, {"channels", {"news", "team:7*"}}}, kSecret);
  EXPECT_EQ(statusLine(answer("/v1/events?channel=user:10&token=" + token)), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(statusLine(answer("/v1/events?channel=user:1&channel=news&channel=team:77&token=" + token)),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(statusLine(answer("/v1/events?channel=user:1&channel=team:8&token=" + token)),
            "HTTP/1.1 403 Forbidden");
}

TEST_F(StreamRequestTest, NoChannelNeedsASub) {
  std::string noSub = answer("/v1/events?token=" + hmacToken({{"channels", {"news"}}}, kSecret));
  EXPECT_EQ(statusLine(noSub), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(noSub.find("invalid_request"), std::string::npos);
}

TEST_F(StreamRequestTest, SubChoosesTheChannelAndExpiryIsReported) {
  // One reading of the clock, so a second boundary between two readings cannot matter.
  const auto exp = test::nowSeconds() + 60;
  StreamHttpRequest request{boost::beast::http::verb::get,
                            "/v1/events?token=" + hmacToken({{"sub", 5}, {"exp", exp}}, kSecret), 11};
  auto decision = decideStreamRequest(request, policy_);
  auto* admission = std::get_if<StreamAdmission>(&decision);
  ASSERT_NE(admission, nullptr);
  ASSERT_EQ(admission->request.channels.size(), 1u);
  EXPECT_EQ(admission->request.channels[0].channel, "user:5");
  ASSERT_TRUE(admission->validUntil);
  EXPECT_EQ(*admission->validUntil, exp + 5);  // exp + the 5 s leeway
}

TEST_F(StreamRequestTest, WithoutAKeySubscribingIsOpenButNeedsAChannel) {
  Config open;
  StreamPolicy openPolicy(open);
  EXPECT_EQ(statusLine(answerRequestBytes("GET /v1/events?channel=a HTTP/1.1\r\n\r\n", openPolicy)),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(statusLine(answerRequestBytes("GET /v1/events HTTP/1.1\r\n\r\n", openPolicy)),
            "HTTP/1.1 400 Bad Request");
}

TEST_F(StreamRequestTest, PreflightIs204WithCorsOnlyForAllowedOrigins) {
  auto preflight = [&](const std::string& origin) {
    return answerRequestBytes("OPTIONS /v1/events HTTP/1.1\r\nOrigin: " + origin +
                                  "\r\nAccess-Control-Request-Headers: authorization\r\n\r\n",
                              policy_);
  };
  std::string allowed = preflight(kOrigin);
  EXPECT_EQ(statusLine(allowed), "HTTP/1.1 204 No Content");
  EXPECT_NE(allowed.find("Access-Control-Allow-Headers: authorization"), std::string::npos);
  EXPECT_NE(allowed.find("Access-Control-Allow-Methods: GET, OPTIONS"), std::string::npos);
  std::string denied = preflight("https://evil.example");
  EXPECT_EQ(statusLine(denied), "HTTP/1.1 204 No Content");
  EXPECT_EQ(denied.find("Access-Control"), std::string::npos);
}

TEST_F(StreamRequestTest, Limits) {
  config_.maxRequestLine = 64;
  config_.maxHeaders = 3;
  config_.maxHeaderBytes = 256;
  StreamPolicy policy(config_);
  auto send = [&](const std::string& bytes) { return statusLine(answerRequestBytes(bytes, policy)); };
  EXPECT_EQ(send("GET /v1/events?channel=" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 414 URI Too Long");
  EXPECT_EQ(send("GET /v1/events HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(send("GET /v1/events HTTP/1.1\r\nA: " + std::string(300, 'x') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  StreamHttpRequest request{boost::beast::http::verb::get, "/v1/events?channel=a", 11};
  auto decision = decideStreamRequest(request, policy, /*overConnectionLimit=*/true);
  auto* refusal = std::get_if<StreamRefusal>(&decision);
  ASSERT_NE(refusal, nullptr);
  EXPECT_EQ(refusal->status, 429);
  EXPECT_NE(refusal->response.find("Retry-After: "), std::string::npos);
}

TEST_F(StreamRequestTest, MalformedBytesGetAnAnswerOrNothing) {
  EXPECT_EQ(statusLine(answerRequestBytes("BLAH\r\n\r\n", policy_)), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(answerRequestBytes("GET /v1/ev", policy_), "");
  EXPECT_EQ(answerRequestBytes("", policy_), "");
  EXPECT_EQ(statusLine(answer("/elsewhere")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(statusLine(answerRequestBytes("POST /v1/events HTTP/1.1\r\n\r\n", policy_)),
            "HTTP/1.1 405 Method Not Allowed");
}

}  // namespace
}  // namespace herald
