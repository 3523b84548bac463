// MemoryBroker: ids, history, resume proofs, idempotency, ref-counted shards, ordering.
#include "gateway/broker/MemoryBroker.h"
#include "tests/support/ManualClock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::ManualClock;

// Records every callback; thread-safe.
class RecordingListener : public BrokerListener {
 public:
  struct Delivery {
    ShardMask mask;
    NotificationPtr notification;
  };

  void onNotification(ShardMask shards, NotificationPtr notification) override {
    std::lock_guard lock(mutex_);
    deliveries_.push_back({shards, std::move(notification)});
  }
  void onChannelReset(ShardMask, const std::string& channel, ResetReason reason) override {
    std::lock_guard lock(mutex_);
    resets_.emplace_back(channel, reason);
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }

 private:
  std::mutex mutex_;
  std::vector<Delivery> deliveries_;
  std::vector<std::pair<std::string, ResetReason>> resets_;
};

Config testConfig() {
  Config config;
  config.historySize = 10;
  config.historyTtl = 60s;
  config.idempotencyTtl = 60s;
  return config;
}

NotificationId publishOne(Broker& broker, const std::string& channel, const std::string& data = "1") {
  return broker.publish({PublishItem{channel, "", data}}, std::nullopt).ids.at(0);
}

std::vector<NotificationId> publishMany(Broker& broker, const std::string& channel, int count) {
  std::vector<NotificationId> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(publishOne(broker, channel, std::to_string(i)));
  }
  return ids;
}

ReplayResult replaySync(Broker& broker, const std::string& channel, std::optional<NotificationId> from) {
  std::optional<ReplayResult> result;
  broker.replay(channel, from, 100000, [&](ReplayResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value()) << "MemoryBroker::replay must call done synchronously";
  return result.value_or(ReplayResult{false, {}, {}, {}});
}

std::vector<NotificationId> idsOf(const std::vector<NotificationPtr>& items) {
  std::vector<NotificationId> ids;
  for (const auto& item : items) {
    ids.push_back(item->id);
  }
  return ids;
}

class MemoryBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override { broker.start(listener); }
  void TearDown() override { broker.stop(); }

  RecordingListener listener;
  MemoryBroker broker{testConfig()};
};

TEST_F(MemoryBrokerTest, IdsAreStrictlyIncreasingAndLinkedByPrev) {
  auto ids = publishMany(broker, "c", 5);
  for (std::size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i - 1], ids[i]);
  }
  auto page = broker.history("c", std::nullopt, 100);
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_EQ(page.items[0]->prev, NotificationId{});
  for (std::size_t i = 1; i < page.items.size(); ++i) {
    EXPECT_EQ(page.items[i]->prev, page.items[i - 1]->id);
  }
  EXPECT_TRUE(broker.ready());
  EXPECT_EQ(broker.describe(), "memory");
}

TEST_F(MemoryBrokerTest, PublishReturnsIdsInInputOrderAcrossChannels) {
  auto outcome = broker.publish({{"a", "e1", "1"}, {"b", "", "2"}, {"a", "", "3"}}, std::nullopt);
  ASSERT_EQ(outcome.ids.size(), 3u);
  EXPECT_FALSE(outcome.replayed);
  auto a = broker.history("a", std::nullopt, 10);
  ASSERT_EQ(a.items.size(), 2u);
  EXPECT_EQ(a.items[0]->id, outcome.ids[0]);
  EXPECT_EQ(a.items[0]->event, "e1");
  EXPECT_EQ(a.items[1]->id, outcome.ids[2]);
  EXPECT_EQ(a.items[1]->data, "3");
  EXPECT_EQ(broker.history("b", std::nullopt, 10).items.at(0)->id, outcome.ids[1]);
}

TEST_F(MemoryBrokerTest, HistoryPagesWithExclusiveAfter) {
  auto ids = publishMany(broker, "c", 7);
  auto first = broker.history("c", std::nullopt, 3);
  EXPECT_EQ(idsOf(first.items), std::vector<NotificationId>(ids.begin(), ids.begin() + 3));
  auto second = broker.history("c", ids[2], 3);
  EXPECT_EQ(idsOf(second.items), std::vector<NotificationId>(ids.begin() + 3, ids.begin() + 6));
  auto last = broker.history("c", ids[5], 3);
  EXPECT_EQ(idsOf(last.items), std::vector<NotificationId>{ids[6]});
  EXPECT_TRUE(broker.history("c", ids[6], 3).items.empty());
  EXPECT_TRUE(broker.history("unknown", std::nullopt, 3).items.empty());
  EXPECT_TRUE(broker.history("c", std::nullopt, 0).items.empty());
}

TEST_F(MemoryBrokerTest, SizeTrimGivesTruncatedReset) {
  auto ids = publishMany(broker, "c", 15);  // history size 10: the first 5 are trimmed
  EXPECT_EQ(broker.history("c", std::nullopt, 100).items.size(), 10u);

  auto result = replaySync(broker, "c", ids[1]);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.reset, ResetReason::truncated);
  EXPECT_EQ(idsOf(result.items), std::vector<NotificationId>(ids.begin() + 5, ids.end()));
  EXPECT_EQ(result.newest, ids.back());

  // From the last trimmed id the replay is complete again.
  auto complete = replaySync(broker, "c", ids[4]);
  EXPECT_EQ(complete.reset, std::nullopt);
  EXPECT_EQ(complete.items.size(), 10u);
}

TEST(MemoryBrokerTtl, ExpiryGivesExpiredReset) {
  Config config = testConfig();
  config.historyTtl = 50ms;
  ManualClock clock;
  MemoryBroker broker(config, clock.function());
  auto ids = publishMany(broker, "c", 3);
  clock.advance(49ms);
  EXPECT_EQ(broker.history("c", std::nullopt, 10).items.size(), 3u);  // not yet
  clock.advance(1ms);
  auto fresh = publishOne(broker, "c");

  EXPECT_EQ(idsOf(broker.history("c", std::nullopt, 10).items), std::vector<NotificationId>{fresh});
  auto result = replaySync(broker, "c", ids[0]);
  EXPECT_EQ(result.reset, ResetReason::expired);
  EXPECT_EQ(idsOf(result.items), std::vector<NotificationId>{fresh});

  // Everything expired and nothing new: still expired, nothing replayed.
  clock.advance(50ms);
  auto empty = replaySync(broker, "c", ids[1]);
  EXPECT_EQ(empty.reset, ResetReason::expired);
  EXPECT_TRUE(empty.items.empty());
  EXPECT_EQ(empty.newest, fresh);
}

TEST_F(MemoryBrokerTest, ResumeFromNewestHasNothingToReplay) {
  auto ids = publishMany(broker, "c", 3);
  auto result = replaySync(broker, "c", ids.back());
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.reset, std::nullopt);
  EXPECT_TRUE(result.items.empty());
  EXPECT_EQ(result.newest, ids.back());
}

TEST_F(MemoryBrokerTest, ResumeInTheMiddleReplaysExactlyTheRest) {
  auto ids = publishMany(broker, "c", 6);
  auto result = replaySync(broker, "c", ids[2]);
  EXPECT_EQ(result.reset, std::nullopt);
  EXPECT_EQ(idsOf(result.items), std::vector<NotificationId>(ids.begin() + 3, ids.end()));
}

TEST_F(MemoryBrokerTest, ReplayReadsInPagesOfTheLimit) {
  auto ids = publishMany(broker, "pg", 5);
  std::optional<ReplayResult> first;
  broker.replay("pg", ids[0], 2, [&](ReplayResult r) { first = std::move(r); });
  ASSERT_TRUE(first);
  EXPECT_EQ(idsOf(first->items), std::vector<NotificationId>(ids.begin() + 1, ids.begin() + 3));
  EXPECT_TRUE(first->more);
  std::optional<ReplayResult> last;
  broker.replay("pg", ids[2], 2, [&](ReplayResult r) { last = std::move(r); });
  ASSERT_TRUE(last);
  EXPECT_EQ(last->reset, std::nullopt);  // a later page continues the proven replay
  EXPECT_EQ(idsOf(last->items), std::vector<NotificationId>(ids.begin() + 3, ids.end()));
  EXPECT_FALSE(last->more);
}

TEST_F(MemoryBrokerTest, ReplayWithoutFromOnlyReportsNewest) {
  auto ids = publishMany(broker, "c", 2);
  auto result = replaySync(broker, "c", std::nullopt);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.reset, std::nullopt);
  EXPECT_TRUE(result.items.empty());
  EXPECT_EQ(result.newest, ids.back());
  EXPECT_EQ(replaySync(broker, "unknown", std::nullopt).newest, NotificationId{});
}

TEST_F(MemoryBrokerTest, OldIdOnAFreshBrokerIsLost) {
  auto oldId = publishOne(broker, "c");
  // A new process starts at least a millisecond later (ids are wall-clock based).
  std::this_thread::sleep_for(2ms);
  MemoryBroker fresh(testConfig());
  auto unknown = replaySync(fresh, "c", oldId);
  EXPECT_EQ(unknown.reset, ResetReason::lost);
  EXPECT_TRUE(unknown.items.empty());

  // Also once the new generation has notifications of its own.
  auto newId = publishOne(fresh, "c");
  auto known = replaySync(fresh, "c", oldId);
  EXPECT_EQ(known.reset, ResetReason::lost);
  EXPECT_EQ(idsOf(known.items), std::vector<NotificationId>{newId});
}

TEST_F(MemoryBrokerTest, FromZeroOnFreshChannel) {
  auto empty = replaySync(broker, "fresh", NotificationId{});
  EXPECT_EQ(empty.reset, std::nullopt);
  EXPECT_TRUE(empty.items.empty());

  auto ids = publishMany(broker, "fresh", 2);
  auto all = replaySync(broker, "fresh", NotificationId{});
  EXPECT_EQ(all.reset, std::nullopt);
  EXPECT_EQ(idsOf(all.items), ids);
}

TEST_F(MemoryBrokerTest, IdInTheFutureIsInvalidCursorWithNothingReplayed) {
  auto ids = publishMany(broker, "c", 2);
  NotificationId future{ids.back().ms + 1000, 0};
  auto result = replaySync(broker, "c", future);
  EXPECT_EQ(result.reset, ResetReason::invalidCursor);
  EXPECT_TRUE(result.items.empty());
  EXPECT_EQ(result.newest, ids.back());
}

TEST_F(MemoryBrokerTest, IdempotencySameDigestReplaysDifferentDigestConflicts) {
  IdempotencyToken token{"key-1", "digest-a"};
  auto first = broker.publish({{"c", "", "1"}, {"d", "", "2"}}, token);
  EXPECT_FALSE(first.replayed);
  auto again = broker.publish({{"c", "", "1"}, {"d", "", "2"}}, token);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.ids, first.ids);
  EXPECT_EQ(broker.history("c", std::nullopt, 10).items.size(), 1u);

  EXPECT_THROW(broker.publish({{"c", "", "other"}}, IdempotencyToken{"key-1", "digest-b"}),
               IdempotencyConflict);
  EXPECT_FALSE(broker.publish({{"c", "", "1"}}, IdempotencyToken{"key-2", "digest-a"}).replayed);
}

TEST(MemoryBrokerIdempotency, KeyIsForgottenAfterTheWindow) {
  Config config = testConfig();
  config.idempotencyTtl = 30ms;
  ManualClock clock;
  MemoryBroker broker(config, clock.function());
  IdempotencyToken token{"k", "d"};
  auto first = broker.publish({{"c", "", "1"}}, token);
  clock.advance(29ms);
  EXPECT_TRUE(broker.publish({{"c", "", "1"}}, token).replayed);
  clock.advance(1ms);
  auto second = broker.publish({{"c", "", "1"}}, token);
  EXPECT_FALSE(second.replayed);
  EXPECT_NE(second.ids, first.ids);
}

// `done` runs with no broker lock held, so it may call back into the broker
// (a channel lock held across it would deadlock here).
TEST_F(MemoryBrokerTest, ReplayDoneMayCallBackIntoTheBroker) {
  auto id = publishOne(broker, "c");
  std::optional<NotificationId> again;
  broker.replay("c", id, 100000, [&](ReplayResult) { again = publishOne(broker, "c"); });
  ASSERT_TRUE(again);
  EXPECT_EQ(replaySync(broker, "c", id).items.at(0)->id, *again);
}

TEST_F(MemoryBrokerTest, SubscribeIsRefCountedPerShard) {
  std::vector<bool> dones;
  auto done = [&](bool ok) { dones.push_back(ok); };
  publishOne(broker, "c");  // nobody subscribed: not delivered
  EXPECT_TRUE(listener.deliveries().empty());

  broker.subscribe("c", 0, done);
  broker.subscribe("c", 0, done);
  broker.subscribe("c", 5, done);
  EXPECT_EQ(dones, std::vector<bool>(3, true));
  publishOne(broker, "c");
  publishOne(broker, "other");
  ASSERT_EQ(listener.deliveries().size(), 1u);
  EXPECT_EQ(listener.deliveries()[0].mask, (ShardMask{1} << 0) | (ShardMask{1} << 5));

  broker.unsubscribe("c", 0);  // shard 0 still holds one reference
  publishOne(broker, "c");
  ASSERT_EQ(listener.deliveries().size(), 2u);
  EXPECT_EQ(listener.deliveries()[1].mask, (ShardMask{1} << 0) | (ShardMask{1} << 5));

  broker.unsubscribe("c", 0);
  publishOne(broker, "c");
  ASSERT_EQ(listener.deliveries().size(), 3u);
  EXPECT_EQ(listener.deliveries()[2].mask, ShardMask{1} << 5);

  broker.unsubscribe("c", 5);
  broker.unsubscribe("c", 5);  // extra unsubscribe is harmless
  publishOne(broker, "c");
  EXPECT_EQ(listener.deliveries().size(), 3u);

  EXPECT_THROW(broker.subscribe("c", kMaxShards, done), std::invalid_argument);
}

TEST_F(MemoryBrokerTest, ConcurrentPublishersDeliverInIdOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  broker.subscribe("hot", 1, nullptr);
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        publishOne(broker, "hot");
      }
    });
  }
  for (auto& thread : publishers) {
    thread.join();
  }
  auto deliveries = listener.deliveries();
  ASSERT_EQ(deliveries.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 1; i < deliveries.size(); ++i) {
    ASSERT_LT(deliveries[i - 1].notification->id, deliveries[i].notification->id) << "at " << i;
    ASSERT_EQ(deliveries[i].notification->prev, deliveries[i - 1].notification->id) << "at " << i;
  }
}

}  // namespace
}  // namespace herald
