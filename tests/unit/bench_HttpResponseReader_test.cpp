#include "bench/ssebench/HttpResponseReader.h"

#include <gtest/gtest.h>

#include <string>

#include "bench/ssebench/EventCheck.h"

namespace ssebench {
namespace {

using Result = HttpResponseReader::Result;

TEST(HttpResponseReader, ContentLengthBodyCompletesAndKeepsAlive) {
  HttpResponseReader reader;
  std::string body;
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
  std::size_t consumed = 0;
  auto r = reader.feed(
      response, [&](std::string_view b) { body += b; }, &consumed);
  EXPECT_EQ(r, Result::complete);
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(reader.status(), 200);
  EXPECT_TRUE(reader.keepAlive());
  EXPECT_EQ(consumed, response.size() - 5);
}

TEST(HttpResponseReader, ChunkedBodySplitAnywhere) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\nb;ext=1\r\n, the world\r\n0\r\n\r\n";
  for (std::size_t piece = 1; piece <= response.size(); ++piece) {
    HttpResponseReader reader;
    std::string body;
    Result r = Result::needMore;
    for (std::size_t i = 0; i < response.size(); i += piece) {
      r = reader.feed(std::string_view(response).substr(i, piece), [&](std::string_view b) { body += b; });
    }
    EXPECT_EQ(r, Result::complete) << piece;
    EXPECT_EQ(body, "hello, the world") << piece;
    EXPECT_FALSE(reader.keepAlive());
  }
}

TEST(HttpResponseReader, BodyUntilCloseStreams) {
  HttpResponseReader reader;
  std::string body;
  EXPECT_EQ(reader.feed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 1\n",
                        [&](std::string_view b) { body += b; }),
            Result::needMore);
  EXPECT_EQ(reader.feed("data: x\n\n", [&](std::string_view b) { body += b; }), Result::needMore);
  EXPECT_EQ(body, "retry: 1\ndata: x\n\n");
  EXPECT_FALSE(reader.keepAlive());
}

TEST(HttpResponseReader, RejectsGarbage) {
  HttpResponseReader reader;
  EXPECT_EQ(reader.feed("SSH-2.0-x\r\n\r\n", [](std::string_view) {}), Result::error);
}

TEST(EventCheck, PayloadAndIdOrder) {
  auto p = parsePayload(R"({"seq":42,"t":1700000000123456})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->seq, 42u);
  EXPECT_EQ(p->publishedUs, 1700000000123456u);
  EXPECT_FALSE(parsePayload("hello").has_value());
  EXPECT_LT(compareIds("1700-9", "1700-10"), 0);
  EXPECT_GT(compareIds("1701-0", "1700-10"), 0);
  EXPECT_EQ(compareIds("1700:3", "1700:3"), 0);
}

TEST(EventCheck, SequenceCountsGapsAndDuplicates) {
  SequenceState s;
  EXPECT_TRUE(acceptSeq(s, 1));
  EXPECT_TRUE(acceptSeq(s, 2));
  EXPECT_FALSE(acceptSeq(s, 2));
  EXPECT_TRUE(acceptSeq(s, 5));
  EXPECT_EQ(s.received, 3u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.gaps, 2u);
}

}  // namespace
}  // namespace ssebench
