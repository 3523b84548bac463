// assessResume: every branch of the replay-completeness proof.
#include "gateway/broker/ResumeProof.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

ChannelMeta knownMeta(NotificationId generationStart, NotificationId newest) {
  return ChannelMeta{true, generationStart, newest};
}

Notification entry(NotificationId id, NotificationId prev) {
  Notification n;
  n.channel = "c";
  n.id = id;
  n.prev = prev;
  return n;
}

TEST(ResumeProof, UnknownChannelFromZeroIsComplete) {
  EXPECT_EQ(assessResume({0, 0}, ChannelMeta{}, nullptr, ResetReason::truncated), std::nullopt);
}

TEST(ResumeProof, UnknownChannelFromAnIdIsLost) {
  EXPECT_EQ(assessResume({5, 0}, ChannelMeta{}, nullptr, ResetReason::truncated), ResetReason::lost);
}

TEST(ResumeProof, IdAfterNewestIsInvalidCursor) {
  EXPECT_EQ(assessResume({20, 0}, knownMeta({10, 0}, {15, 0}), nullptr, ResetReason::truncated),
            ResetReason::invalidCursor);
}

TEST(ResumeProof, NewestIsComplete) {
  EXPECT_EQ(assessResume({15, 0}, knownMeta({10, 0}, {15, 0}), nullptr, ResetReason::expired), std::nullopt);
}

TEST(ResumeProof, IdBeforeGenerationIsLost) {
  auto first = entry({10, 0}, {0, 0});
  EXPECT_EQ(assessResume({9, 3}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::truncated),
            ResetReason::lost);
}

TEST(ResumeProof, ZeroWithWholeGenerationRetainedIsComplete) {
  auto first = entry({10, 0}, {0, 0});
  EXPECT_EQ(assessResume({0, 0}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::truncated), std::nullopt);
}

TEST(ResumeProof, ZeroWithGenerationStartTrimmedUsesRemoval) {
  auto first = entry({12, 0}, {11, 0});
  EXPECT_EQ(assessResume({0, 0}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::truncated),
            ResetReason::truncated);
}

TEST(ResumeProof, PredecessorMatchIsComplete) {
  auto first = entry({12, 0}, {11, 0});
  EXPECT_EQ(assessResume({11, 0}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::truncated), std::nullopt);
}

TEST(ResumeProof, PredecessorMismatchUsesRemoval) {
  auto first = entry({13, 0}, {12, 0});
  EXPECT_EQ(assessResume({11, 0}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::expired),
            ResetReason::expired);
  EXPECT_EQ(assessResume({11, 0}, knownMeta({10, 0}, {15, 0}), &first, ResetReason::truncated),
            ResetReason::truncated);
}

TEST(ResumeProof, NothingRetainedAfterIdUsesRemoval) {
  EXPECT_EQ(assessResume({11, 0}, knownMeta({10, 0}, {15, 0}), nullptr, ResetReason::expired),
            ResetReason::expired);
}

}  // namespace
}  // namespace herald
