#include "api/HttpRules.h"

#include <gtest/gtest.h>

#include "api/ErrorBody.h"
#include "api/HistoryRequest.h"
#include "api/Idempotency.h"
#include "api/PublishRequest.h"

namespace herald {
namespace {

TEST(HttpRules, JsonContentType) {
  EXPECT_TRUE(isJsonContentType("application/json"));
  EXPECT_TRUE(isJsonContentType("application/json; charset=utf-8"));
  EXPECT_TRUE(isJsonContentType("Application/JSON;charset=UTF-8"));
  EXPECT_FALSE(isJsonContentType(""));
  EXPECT_FALSE(isJsonContentType("text/plain"));
  EXPECT_FALSE(isJsonContentType("application/jsonx"));
  EXPECT_FALSE(isJsonContentType("application/json; charset=latin1"));
  EXPECT_FALSE(isJsonContentType("application/x-www-form-urlencoded"));
}

TEST(HttpRules, Loopback) {
  EXPECT_TRUE(isLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(isLoopbackAddress("127.1.2.3"));
  EXPECT_TRUE(isLoopbackAddress("::1"));
  EXPECT_TRUE(isLoopbackAddress("::ffff:127.0.0.1"));
  EXPECT_FALSE(isLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(isLoopbackAddress("::ffff:10.0.0.1"));
  EXPECT_FALSE(isLoopbackAddress("1127.0.0.1"));
  EXPECT_FALSE(isLoopbackAddress(""));
}

TEST(HttpRules, BearerKeys) {
  std::vector<std::string> keys{"k1", "secret-2"};
  EXPECT_TRUE(bearerMatchesKey("Bearer k1", keys));
  EXPECT_TRUE(bearerMatchesKey("bearer secret-2", keys));
  EXPECT_FALSE(bearerMatchesKey("Bearer k", keys));
  EXPECT_FALSE(bearerMatchesKey("Bearer k12", keys));
  EXPECT_FALSE(bearerMatchesKey("Basic k1", keys));
  EXPECT_FALSE(bearerMatchesKey("", keys));
  EXPECT_FALSE(bearerMatchesKey("Bearer ", keys));
}

TEST(HttpRules, ApiKeyFile) {
  EXPECT_EQ(parseApiKeyFile("# keys\nk1\n\n  k2  \r\n#k3\n"), (std::vector<std::string>{"k1", "k2"}));
}

TEST(Idempotency, KeyRules) {
  EXPECT_TRUE(isValidIdempotencyKey("a"));
  EXPECT_TRUE(isValidIdempotencyKey("order 7/retry~"));
  EXPECT_TRUE(isValidIdempotencyKey(std::string(200, 'k')));
  EXPECT_FALSE(isValidIdempotencyKey(""));
  EXPECT_FALSE(isValidIdempotencyKey(std::string(201, 'k')));
  EXPECT_FALSE(isValidIdempotencyKey("tab\there"));
  EXPECT_FALSE(isValidIdempotencyKey("caf\xc3\xa9"));
}

TEST(Idempotency, DigestIsStableAndByteExact) {
  auto digest = bodyDigest(R"({"channel":"a"})");
  EXPECT_EQ(digest.size(), 32u);
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(digest, bodyDigest(R"({"channel":"a"})"));
  EXPECT_NE(digest, bodyDigest(R"({"channel": "a"})"));  // same JSON, other bytes
  EXPECT_NE(bodyDigest("ab"), bodyDigest("ba"));
  // The first half is plain FNV-1a 64 (its empty-input value is the offset basis).
  EXPECT_EQ(bodyDigest("").substr(0, 16), "cbf29ce484222325");
}

TEST(ErrorBody, Shape) {
  EXPECT_EQ(errorBody("not_found", "no \"such\" thing"),
            R"({"error":{"code":"not_found","message":"no \"such\" thing"}})");
  // Bad client bytes quoted in a message do not break the JSON.
  EXPECT_NO_THROW(errorBody("invalid_channel", "bad \xff name"));
}

TEST(HistoryRequest, QueryRules) {
  auto q = parseHistoryQuery("user:1", std::nullopt, std::nullopt);
  EXPECT_EQ(q.limit, 100u);
  EXPECT_FALSE(q.after);
  q = parseHistoryQuery("user:1", std::string("5-1"), std::string("5000"));
  EXPECT_EQ(q.limit, 1000u);  // clamped
  EXPECT_EQ(q.after, (NotificationId{5, 1}));
  EXPECT_EQ(parseHistoryQuery("c", std::nullopt, std::string("1")).limit, 1u);
  auto code = [](std::string_view channel, std::optional<std::string> after,
                 std::optional<std::string> limit) {
    try {
      parseHistoryQuery(channel, after, limit);
    } catch (const ApiErrorException& e) {
      return e.error().code;
    }
    return std::string("none");
  };
  EXPECT_EQ(code("bad name", std::nullopt, std::nullopt), "invalid_channel");
  EXPECT_EQ(code("c", std::string("x"), std::nullopt), "invalid_request");
  EXPECT_EQ(code("c", std::string(""), std::nullopt), "invalid_request");
  EXPECT_EQ(code("c", std::nullopt, std::string("0")), "invalid_request");
  EXPECT_EQ(code("c", std::nullopt, std::string("-1")), "invalid_request");
  EXPECT_EQ(code("c", std::nullopt, std::string("ten")), "invalid_request");
  EXPECT_EQ(code("c", std::nullopt, std::string("99999999999999999999999")), "invalid_request");
}

NotificationPtr stored(std::uint64_t ms, std::string event, std::string data) {
  auto n = std::make_shared<Notification>();
  n->channel = "c";
  n->id = NotificationId{ms, 0};
  n->event = std::move(event);
  n->data = std::move(data);
  return n;
}

TEST(HistoryRequest, AnswerAndNext) {
  HistoryQuery query{"c", std::nullopt, 2};
  HistoryPage full{{stored(1, "e", R"({"a":1})"), stored(2, "", "\"s\"")}};
  EXPECT_EQ(makeHistoryAnswer(query, full),
            R"({"channel":"c","notifications":[{"id":"1-0","event":"e","data":{"a":1}},)"
            R"({"id":"2-0","data":"s"}],"next":"2-0"})");
  HistoryPage partial{{stored(1, "", "1")}};
  EXPECT_EQ(makeHistoryAnswer(query, partial),
            R"({"channel":"c","notifications":[{"id":"1-0","data":1}],"next":null})");
  EXPECT_EQ(makeHistoryAnswer(query, HistoryPage{}), R"({"channel":"c","notifications":[],"next":null})");
}

}  // namespace
}  // namespace herald
