// MemoryBroker's sweeper: idle channels are freed, tombstones keep their ids
// (bounded), and publishers and subscribers may race it. The clock is moved by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "gateway/broker/MemoryBroker.h"
#include "tests/support/ManualClock.h"

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::ManualClock;

class RecordingListener : public BrokerListener {
 public:
  void onNotification(ShardMask, NotificationPtr notification) override {
    std::lock_guard lock(mutex_);
    notifications_.push_back(std::move(notification));
  }
  void onChannelReset(ShardMask, const std::string&, ResetReason) override {}
  std::vector<NotificationPtr> notifications() {
    std::lock_guard lock(mutex_);
    return notifications_;
  }

 private:
  std::mutex mutex_;
  std::vector<NotificationPtr> notifications_;
};


Config sweepConfig() {
  Config config;
  config.historySize = 10;
  config.historyTtl = 1s;
  return config;
}

NotificationId publishOne(Broker& broker, const std::string& channel) {
  return broker.publish({PublishItem{channel, "", "1"}}, std::nullopt).ids.at(0);
}

std::vector<NotificationId> publishMany(Broker& broker, const std::string& channel, int count) {
  std::vector<NotificationId> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(publishOne(broker, channel));
  }
  return ids;
}

ReplayResult replaySync(Broker& broker, const std::string& channel, std::optional<NotificationId> from) {
  std::optional<ReplayResult> result;
  broker.replay(channel, from, 100000, [&](ReplayResult r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value());
  return result.value_or(ReplayResult{false, {}, {}, {}});
}

// Channels with no subscriber and no retained history are freed; one that had
// history leaves a tombstone, so a resume still tells expired from lost.
TEST(MemoryBrokerSweep, FreesIdleChannelsAndKeepsTheirIds) {
  Config config = sweepConfig();
  ManualClock clock;
  MemoryBroker broker(config, clock.function());
  broker.subscribe("left", 0, {});
  broker.unsubscribe("left", 0);
  broker.subscribe("stays", 1, {});
  auto expiring = publishMany(broker, "expiring", 2);
  EXPECT_EQ(broker.channelCount(), 3u);
  EXPECT_EQ(broker.sweep(), 1u);  // "left": no subscriber, no history
  EXPECT_EQ(broker.channelCount(), 2u);
  EXPECT_EQ(broker.tombstoneCount(), 0u);

  clock.advance(1s);
  EXPECT_EQ(broker.sweep(), 1u);  // "expiring": its history expired
  EXPECT_EQ(broker.channelCount(), 1u);
  EXPECT_EQ(broker.tombstoneCount(), 1u);
  auto result = replaySync(broker, "expiring", expiring[0]);
  EXPECT_EQ(result.reset, ResetReason::expired);
  EXPECT_EQ(result.newest, expiring[1]);
  EXPECT_EQ(replaySync(broker, "expiring", expiring[1]).reset, std::nullopt);  // had everything
  EXPECT_TRUE(broker.history("expiring", std::nullopt, 10).items.empty());

  // It comes back in the same generation: chained to the old newest id.
  auto again = publishOne(broker, "expiring");
  EXPECT_EQ(broker.tombstoneCount(), 0u);
  EXPECT_EQ(broker.history("expiring", std::nullopt, 10).items.at(0)->prev, expiring[1]);
  EXPECT_EQ(replaySync(broker, "expiring", expiring[0]).reset, ResetReason::expired);
  EXPECT_EQ(replaySync(broker, "expiring", expiring[1]).reset, std::nullopt);
  EXPECT_EQ(replaySync(broker, "expiring", again).reset, std::nullopt);

  // A subscriber keeps its channel, and a freed channel can be subscribed again.
  EXPECT_EQ(broker.sweep(), 0u);
  broker.unsubscribe("stays", 1);
  EXPECT_EQ(broker.sweep(), 1u);
  std::vector<bool> dones;
  broker.subscribe("stays", 1, [&](bool ok) { dones.push_back(ok); });
  EXPECT_EQ(dones, std::vector<bool>{true});
  EXPECT_EQ(broker.channelCount(), 2u);
}

// Tombstones are bounded in age (4 x the TTL after the channel is freed) and in number; past the bound a
// resume is `lost`, still a signalled reset.
TEST(MemoryBrokerSweep, TombstonesAreBounded) {
  Config config = sweepConfig();
  ManualClock clock;
  MemoryBroker broker(config, clock.function());
  auto id = publishOne(broker, "old");
  clock.advance(1s);
  broker.sweep();
  EXPECT_EQ(broker.tombstoneCount(), 1u);
  clock.advance(4s - 1ms);  // 4 x the TTL after it was freed
  broker.sweep();
  EXPECT_EQ(replaySync(broker, "old", id).reset, std::nullopt);
  clock.advance(1ms);
  broker.sweep();
  EXPECT_EQ(broker.tombstoneCount(), 0u);
  EXPECT_EQ(replaySync(broker, "old", id).reset, ResetReason::lost);

  // The oldest tombstone goes first once there are more than the bound.
  auto firstId = publishOne(broker, "first");
  clock.advance(1s);
  broker.sweep();
  std::vector<PublishItem> items;
  for (std::size_t i = 0; i < MemoryBroker::kMaxTombstones; ++i) {
    items.push_back({"many:" + std::to_string(i), "", "1"});
  }
  broker.publish(items, std::nullopt);
  EXPECT_EQ(replaySync(broker, "first", firstId).reset, std::nullopt);
  clock.advance(1s);
  EXPECT_EQ(broker.sweep(), items.size());
  EXPECT_EQ(broker.tombstoneCount(), MemoryBroker::kMaxTombstones);
  EXPECT_EQ(replaySync(broker, "first", firstId).reset, ResetReason::lost);
  EXPECT_EQ(replaySync(broker, "many:1", NotificationId{}).reset, ResetReason::expired);
  EXPECT_EQ(broker.channelCount(), 0u);
}

// Publishers and subscribers race the sweeper on a few channels whose history
// expires all the time (the clock jumps past the TTL): channels are freed and
// revived under them. No publish may land in a freed state (it would be lost
// from the channel's chain of ids).
TEST(MemoryBrokerSweep, SweepingRacesPublishersAndSubscribersSafely) {
  Config config = sweepConfig();
  ManualClock clock;
  MemoryBroker broker(config, clock.function());
  RecordingListener listener;
  broker.start(listener);
  constexpr int kChannels = 8;
  constexpr int kThreads = 3;
  constexpr int kRounds = 3000;
  std::atomic<bool> done{false};
  std::thread sweeper([&] {
    while (!done) {
      clock.advance(1s);
      broker.sweep();
    }
  });
  std::vector<std::vector<NotificationId>> newest(kThreads, std::vector<NotificationId>(kChannels));
  auto newestUnsubscribed = newest;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string channel = "race:" + std::to_string(i % kChannels);
        broker.subscribe(channel, static_cast<unsigned>(t), {});
        newest[t][i % kChannels] = publishOne(broker, channel);
        broker.unsubscribe(channel, static_cast<unsigned>(t));
        newestUnsubscribed[t][i % kChannels] = publishOne(broker, "nobody:" + std::to_string(i % kChannels));
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  done = true;
  sweeper.join();
  // Each publish to a race: channel had its publisher's subscription: a
  // subscribed channel is never freed, so every one was delivered.
  std::size_t delivered = 0;
  for (const auto& notification : listener.notifications()) {
    delivered += notification->channel.starts_with("race:") ? 1 : 0;
  }
  EXPECT_EQ(delivered, static_cast<std::size_t>(kThreads * kRounds));
  for (const auto& [prefix, ids] : {std::pair{"race:", &newest}, std::pair{"nobody:", &newestUnsubscribed}}) {
    for (int c = 0; c < kChannels; ++c) {
      NotificationId last;
      for (int t = 0; t < kThreads; ++t) {
        last = std::max(last, (*ids)[t][c]);
      }
      // One more publish chains onto the last one, unless the channel was forgotten
      // altogether (its tombstone outlived: the clock raced ahead): never onto an older id.
      const std::string channel = prefix + std::to_string(c);
      publishOne(broker, channel);
      auto page = broker.history(channel, std::nullopt, 100);
      ASSERT_FALSE(page.items.empty());
      const NotificationId prev = page.items.back()->prev;
      EXPECT_TRUE(prev == last || prev == NotificationId{})
          << channel << ": prev " << prev.str() << ", last " << last.str();
    }
  }
  broker.stop();
}

}  // namespace
}  // namespace herald
