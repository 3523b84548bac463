// ReplayMerge: the join's ordering and the exact positions after every step.
#include "gateway/stream/ReplayMerge.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

using Kind = ReplayMerge::Step::Kind;
using Next = ReplayMerge::Next;

NotificationId id(std::uint64_t ms) {
  return NotificationId{ms, 0};
}

NotificationPtr note(std::uint64_t ms, std::uint64_t prevMs) {
  auto n = std::make_shared<Notification>();
  n->id = id(ms);
  n->prev = id(prevMs);
  n->data = std::to_string(ms);
  return n;
}

ReplayResult page(std::vector<NotificationPtr> items, std::uint64_t newestMs, bool more = false,
                  std::optional<ResetReason> reset = std::nullopt) {
  ReplayResult r;
  r.items = std::move(items);
  r.newest = id(newestMs);
  r.more = more;
  r.reset = reset;
  return r;
}

// Drains the merge until it needs something; each step with the positions after it.
struct Emitted {
  Kind kind;
  std::size_t channel;
  std::uint64_t ms;  // the notification's (0 for a reset)
  std::vector<NotificationId> positions;
};
Next drain(ReplayMerge& merge, std::vector<Emitted>& out) {
  ReplayMerge::Step step;
  Next next;
  while ((next = merge.next(step)) == Next::step) {
    out.push_back(
        {step.kind, step.channel, step.notification ? step.notification->id.ms : 0, merge.positions()});
  }
  return next;
}

TEST(ReplayMerge, EveryPositionIsSetBeforeTheFirstStep) {
  // x resumes from 10 (misses 11, 12), y resumes from 20 (misses 21).
  ReplayMerge merge({{id(10), false}, {id(20), false}});
  ASSERT_TRUE(merge.addFirstPage(0, page({note(11, 10), note(12, 11)}, 12)));
  EXPECT_FALSE(merge.started());
  ASSERT_TRUE(merge.addFirstPage(1, page({note(21, 20)}, 21)));
  std::vector<Emitted> out;
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 3u);
  // After x's first event, y still resumes from 20 (not 0-0): exactly what was delivered.
  EXPECT_EQ(out[0].positions, (std::vector<NotificationId>{id(11), id(20)}));
  EXPECT_EQ(out[1].positions, (std::vector<NotificationId>{id(12), id(20)}));
  EXPECT_EQ(out[2].positions, (std::vector<NotificationId>{id(12), id(21)}));
}

TEST(ReplayMerge, PagesAreAskedForUntilNoneFollows) {
  ReplayMerge merge({{id(10), false}});
  ASSERT_TRUE(merge.addFirstPage(0, page({note(11, 10), note(12, 11)}, 14, true)));
  std::vector<Emitted> out;
  ASSERT_EQ(drain(merge, out), Next::needPage);
  EXPECT_EQ(merge.pageFrom(), id(12));
  ReplayMerge::Step step;
  EXPECT_EQ(merge.next(step), Next::waiting);  // asked once only
  ASSERT_TRUE(merge.addPage(page({note(13, 12), note(14, 13)}, 14)));
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].ms, 14u);
  EXPECT_FALSE(merge.addPage([] {
    ReplayResult failed;
    failed.ok = false;
    return failed;
  }()));
}

TEST(ReplayMerge, HeldLiveNotificationsFollowWithoutDuplicates) {
  ReplayMerge merge({{id(10), false}});
  merge.holdNotification(0, note(11, 10), nullptr);  // also in the replay
  merge.holdNotification(0, note(13, 12), nullptr);
  ASSERT_TRUE(merge.addFirstPage(0, page({note(11, 10), note(12, 11)}, 12)));
  std::vector<Emitted> out;
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ms, 11u);
  EXPECT_EQ(out[1].ms, 12u);
  EXPECT_EQ(out[2].ms, 13u);
}

TEST(ReplayMerge, BackfillResetWhileJoiningIsHeldInOrder) {
  ReplayMerge merge({{std::nullopt, false}});
  merge.holdNotification(0, note(11, 10), nullptr);
  merge.holdReset(0, ResetReason::lost);
  merge.holdNotification(0, note(15, 14), nullptr);
  ASSERT_TRUE(merge.addFirstPage(0, page({}, 10)));
  std::vector<Emitted> out;
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ms, 11u);
  EXPECT_EQ(out[1].kind, Kind::reset);
  EXPECT_EQ(out[2].ms, 15u);
}

TEST(ReplayMerge, AfterAResetTheChannelResumesBeforeItsFirstRetainedEntry) {
  // y was trimmed past 20: reset(truncated), then 25 and 26 (25's predecessor 24 is gone).
  ReplayMerge merge({{id(10), false}, {id(20), false}});
  ASSERT_TRUE(merge.addFirstPage(0, page({note(11, 10)}, 11)));
  ASSERT_TRUE(merge.addFirstPage(1, page({note(25, 24), note(26, 25)}, 26, false, ResetReason::truncated)));
  std::vector<Emitted> out;
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].positions[1], id(20));  // before its reset: the reset comes again on resume
  EXPECT_EQ(out[1].kind, Kind::reset);
  EXPECT_EQ(out[1].positions[1], id(24));  // after it: resumes at 25 with no reset
  EXPECT_EQ(out[3].positions[1], id(26));
}

TEST(ReplayMerge, InvalidCursorAndLiveChannelsStartAtTheNewest) {
  ReplayMerge merge({{std::nullopt, true}, {std::nullopt, false}});
  EXPECT_EQ(merge.firstReadFrom(0), std::nullopt);
  ASSERT_TRUE(merge.addFirstPage(0, page({}, 30)));
  ASSERT_TRUE(merge.addFirstPage(1, page({}, 40)));
  std::vector<Emitted> out;
  EXPECT_EQ(drain(merge, out), Next::done);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::reset);
  EXPECT_EQ(out[0].positions, (std::vector<NotificationId>{id(30), id(40)}));
}

TEST(ReplayMerge, AFailedFirstPageFails) {
  ReplayMerge merge({{id(1), false}});
  ReplayResult failed;
  failed.ok = false;
  EXPECT_FALSE(merge.addFirstPage(0, failed));
  ReplayMerge::Step step;
  EXPECT_EQ(merge.next(step), Next::waiting);
}

}  // namespace
}  // namespace herald
