// Multi-channel cursors are exact: every id a stream emits, even in the middle of
// its replay, resumes right after what that stream delivered (no channel left at
// 0-0 while another replays: no duplicates, no false reset). Real processes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// What the client shows of an event: its data, or the notification's data in the envelope.
std::string payloadOf(const SseEvent& event, bool envelope) {
  return envelope ? json::parse(event.data)["data"].get<std::string>() : event.data;
}

void midReplayIdResumesExactly(bool envelope) {
  HeraldProcess herald;
  const std::string target = std::string("/v1/events?channel=x&channel=y") + (envelope ? "&envelope=1" : "");
  // History from before the first connection: a resume must never replay it again.
  publishId(herald.apiPort(), "x", R"("x0")");
  publishId(herald.apiPort(), "y", R"("y0")");
  std::string cursor;
  {
    SseClient first(herald.streamPort(), target);
    ASSERT_EQ(first.readHead(), 200);
    // The id-only block after the preamble says where the stream stands.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (first.lastEventId().empty() && std::chrono::steady_clock::now() < deadline) {
      first.next(100ms);
    }
    cursor = first.lastEventId();
    ASSERT_FALSE(cursor.empty());
  }
  for (const char* data : {"x1", "x2"}) {
    publishId(herald.apiPort(), "x", json(data).dump());
  }
  for (const char* data : {"y1", "y2"}) {
    publishId(herald.apiPort(), "y", json(data).dump());
  }
  std::string midReplay;
  {
    SseClient second(herald.streamPort(), target, {{"Last-Event-ID", cursor}});
    ASSERT_EQ(second.readHead(), 200);
    auto event = second.next();
    ASSERT_TRUE(event);
    EXPECT_EQ(payloadOf(*event, envelope), "x1");
    midReplay = event->id;
  }
  SseClient third(herald.streamPort(), target, {{"Last-Event-ID", midReplay}});
  ASSERT_EQ(third.readHead(), 200);
  auto rest = third.take(3);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(payloadOf(rest[0], envelope), "x2");
  EXPECT_EQ(payloadOf(rest[1], envelope), "y1");
  EXPECT_EQ(payloadOf(rest[2], envelope), "y2");
  // Then live, with nothing in between: no duplicate, no reset.
  publishId(herald.apiPort(), "x", R"("x3")");
  auto next = third.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->event, "");
  EXPECT_EQ(payloadOf(*next, envelope), "x3");
}

TEST(Cursors, AnIdFromTheMiddleOfAReplayResumesExactlyTheRest) {
  midReplayIdResumesExactly(false);
}

TEST(Cursors, AnIdFromTheMiddleOfAReplayResumesExactlyTheRestWithEnvelope) {
  midReplayIdResumesExactly(true);
}

}  // namespace
}  // namespace herald::test
