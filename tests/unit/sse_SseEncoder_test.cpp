#include "gateway/sse/SseEncoder.h"

#include <gtest/gtest.h>

namespace herald::sse {
namespace {

TEST(SseEncoder, JsonObjectIsOneCompactDataLine) {
  EXPECT_EQ(encodeEvent("1-0", "order.shipped", R"({"order":7})"),
            "id: 1-0\nevent: order.shipped\ndata: {\"order\":7}\n\n");
}

TEST(SseEncoder, NoIdNoEventLines) { EXPECT_EQ(encodeEvent("", "", "42"), "data: 42\n\n"); }

TEST(SseEncoder, StringValueIsSentAsItsText) {
  EXPECT_EQ(encodeEvent("2-1", "", R"("hello")"), "id: 2-1\ndata: hello\n\n");
}

TEST(SseEncoder, StringSplitsOnLfCrlfAndCr) {
  EXPECT_EQ(encodeEvent("", "", R"("a\nb\r\nc\rd")"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(SseEncoder, TrailingNewlineGivesEmptyDataLine) {
  EXPECT_EQ(encodeEvent("", "", R"("a\n")"), "data: a\ndata: \n\n");
}

TEST(SseEncoder, EmptyStringIsOneEmptyDataLine) { EXPECT_EQ(encodeEvent("", "", R"("")"), "data: \n\n"); }

TEST(SseEncoder, EscapedUnicodeIsDecoded) {
  EXPECT_EQ(encodeEvent("", "", R"("caf\u00e9")"), "data: caf\xc3\xa9\n\n");
}

TEST(SseEncoder, NullAndArraysStayJson) {
  EXPECT_EQ(encodeEvent("", "", "null"), "data: null\n\n");
  EXPECT_EQ(encodeEvent("", "", R"(["a\nb"])"), "data: [\"a\\nb\"]\n\n");
}

TEST(SseEncoder, RetryCommentAndIdOnly) {
  EXPECT_EQ(encodeRetry(std::chrono::milliseconds(3000)), "retry: 3000\n");
  EXPECT_EQ(encodeComment("hi\nthere\r"), ": hi there \n");
  EXPECT_EQ(encodeIdOnly("5-0"), "id: 5-0\n\n");
}

}  // namespace
}  // namespace herald::sse
