#include "bench/ssebench/SseParser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ssebench {
namespace {

struct Seen {
  std::string id, event, data;
};

std::vector<Seen> parseInPieces(std::string_view stream, std::size_t piece) {
  std::vector<Seen> seen;
  SseParser parser([&](const SseEvent& e) {
    seen.push_back({std::string(e.id), std::string(e.event), std::string(e.data)});
  });
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    parser.feed(stream.substr(i, piece));
  }
  return seen;
}

TEST(SseParser, DispatchesOnBlankLineWithIdEventAndData) {
  auto seen = parseInPieces("retry: 3000\n: hi\n\nid: 1-0\nevent: x\ndata: {\"a\":1}\n\n", 1000);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, "1-0");
  EXPECT_EQ(seen[0].event, "x");
  EXPECT_EQ(seen[0].data, "{\"a\":1}");
}

TEST(SseParser, JoinsDataLinesAndAcceptsEveryLineEnding) {
  const std::string stream = "data: a\r\ndata: b\rdata:c\n\r\nid: 7\ndata: d\r\r";
  for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
    auto seen = parseInPieces(stream, piece);
    ASSERT_EQ(seen.size(), 2u) << "piece " << piece;
    EXPECT_EQ(seen[0].data, "a\nb\nc");
    EXPECT_EQ(seen[1].data, "d");
    EXPECT_EQ(seen[1].id, "7");
  }
}

TEST(SseParser, IdOnlyBlockMovesLastIdWithoutDispatching) {
  std::vector<Seen> seen;
  SseParser parser([&](const SseEvent& e) { seen.push_back({std::string(e.id), "", std::string(e.data)}); });
  parser.feed("id: 5-0\n\n: heartbeat\n\n");
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(parser.lastEventId(), "5-0");
  EXPECT_EQ(parser.comments(), 1u);
  parser.resetStream();
  EXPECT_EQ(parser.lastEventId(), "5-0");
}

TEST(SseParser, IdPersistsAcrossEventsAndAnEventFieldIsPerEvent) {
  auto seen = parseInPieces("id: 1\nevent: e\ndata: x\n\ndata: y\n\n", 3);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].id, "1");
  EXPECT_EQ(seen[1].event, "");
}

}  // namespace
}  // namespace ssebench
