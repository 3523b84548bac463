// The shared HTTP layer (gateway/http/) without sockets: the route table's derived
// answers, the error-code table, the Bearer parser, request limits and percent-decoding.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include "gateway/core/ErrorBody.h"
#include "gateway/http/Bearer.h"
#include "gateway/http/ErrorCode.h"
#include "gateway/http/HttpAnswer.h"
#include "gateway/http/HttpRequest.h"
#include "gateway/http/RequestLimits.h"
#include "gateway/http/RouteTable.h"
#include "gateway/metrics/ErrorCodes.h"

namespace herald {
namespace {

namespace http = boost::beast::http;
using Table = RouteTable<int>;

Table sampleTable() {
  Table table;
  table.add(http::verb::post, "/v1/notifications", 1);
  table.add(http::verb::get, "/v1/channels/{channel}/notifications", 2);
  table.add(http::verb::get, "/", 3);
  return table;
}

TEST(RouteTable, FindsRoutesAndDerives404405AndPreflight) {
  Table table = sampleTable();
  auto found = table.find(http::verb::post, "/v1/notifications?x=1");
  ASSERT_EQ(found.kind, Table::Kind::found);
  EXPECT_EQ(*found.handler, 1);

  auto param = table.find(http::verb::get, "/v1/channels/user%3A42/notifications");
  ASSERT_EQ(param.kind, Table::Kind::found);
  EXPECT_EQ(*param.handler, 2);
  EXPECT_EQ(param.params, std::vector<std::string>{"user:42"});

  auto head = table.find(http::verb::head, "/");
  ASSERT_EQ(head.kind, Table::Kind::found);
  EXPECT_EQ(*head.handler, 3);

  auto wrongMethod = table.find(http::verb::get, "/v1/notifications");
  EXPECT_EQ(wrongMethod.kind, Table::Kind::methodNotAllowed);
  EXPECT_EQ(wrongMethod.allow, "POST, OPTIONS");

  auto preflight = table.find(http::verb::options, "/v1/channels/a/notifications");
  EXPECT_EQ(preflight.kind, Table::Kind::preflight);
  EXPECT_EQ(preflight.allow, "GET, HEAD, OPTIONS");

  for (const char* path : {"/v1/notifications/", "/v1/channels//notifications", "/nowhere", "",
                           "/v1/channels/a/notifications/x", "/v1/channels/%zz/notifications"}) {
    EXPECT_EQ(table.find(http::verb::get, path).kind, Table::Kind::notFound) << path;
  }
  EXPECT_EQ(table.routes().size(), 3u);
}

TEST(ErrorCode, TableMatchesTheMetricLabelsAndTheWriterUsesIt) {
  for (std::size_t i = 0; i + 1 < kErrorCodes.size(); ++i) {
    auto code = errorCodeNamed(kErrorCodes[i]);
    ASSERT_TRUE(code) << kErrorCodes[i];
    EXPECT_EQ(errorCodeLabel(*code), i);
  }
  EXPECT_FALSE(errorCodeNamed("other"));
  HttpAnswer answer = errorAnswer(ErrorCode::overloaded);
  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.error, ErrorCode::overloaded);
  EXPECT_EQ(answer.body, errorBody("overloaded", "the server is overloaded, retry later"));
  EXPECT_EQ(errorAnswer(ErrorCode::invalidRequest, "too long", 414).status, 414);
  std::string bytes = serializeAnswer(errorAnswer(ErrorCode::notFound), false);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ", 0),
            0u)
      << bytes;
  EXPECT_NE(bytes.find("Connection: close\r\n\r\n{"), std::string::npos) << bytes;
  HttpAnswer noContent;
  noContent.status = 204;
  EXPECT_EQ(serializeAnswer(noContent, true), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(Bearer, OneParserForBothListeners) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("  bearer   abc  "), "abc");
  EXPECT_EQ(bearerToken("BEARER abc"), "abc");
  EXPECT_FALSE(bearerToken("Bearer "));
  EXPECT_FALSE(bearerToken("Basic abc"));
  EXPECT_FALSE(bearerToken("Bearerabc"));
  EXPECT_FALSE(bearerToken(""));
}

TEST(RequestLimits, ReadErrorsAndHeadChecksBecomeTheirAnswers) {
  RequestLimits limits{100, 2, 10, 1000, std::chrono::milliseconds(1)};
  EXPECT_EQ(answerForReadError(http::error::header_limit, limits)->status, 431);
  EXPECT_EQ(answerForReadError(http::error::body_limit, limits)->status, 413);
  EXPECT_EQ(answerForReadError(http::error::bad_method, limits)->status, 400);
  EXPECT_FALSE(answerForReadError(http::error::end_of_stream, limits));
  EXPECT_FALSE(answerForReadError(boost::asio::error::operation_aborted, limits));

  http::request_header<> head;
  head.target("/0123456789");
  EXPECT_EQ(checkRequestHead(head, limits)->status, 414);
  head.target("/short");
  head.set("A", "1");
  head.set("B", "2");
  EXPECT_FALSE(checkRequestHead(head, limits));
  head.set("C", "3");
  EXPECT_EQ(checkRequestHead(head, limits)->status, 431);

  http::request_header<> withBody;
  EXPECT_FALSE(declaresBody(withBody));
  withBody.set(http::field::content_length, "0");
  EXPECT_FALSE(declaresBody(withBody));
  withBody.set(http::field::content_length, "5");
  EXPECT_TRUE(declaresBody(withBody));
}

TEST(HttpRequest, QueryAndPercentDecoding) {
  HttpRequest request;
  request.message.target("/x?after=1700000000000-3&limit=5&q=a+b%21");
  EXPECT_EQ(request.path(), "/x");
  EXPECT_EQ(request.query("after"), "1700000000000-3");
  EXPECT_EQ(request.query("limit"), "5");
  EXPECT_EQ(request.query("q"), "a b!");
  EXPECT_FALSE(request.query("missing"));
  EXPECT_EQ(percentDecode("%41%42c", false), "ABc");
  EXPECT_FALSE(percentDecode("%4", false));
  EXPECT_FALSE(percentDecode("%g0", false));
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
}

}  // namespace
}  // namespace herald
