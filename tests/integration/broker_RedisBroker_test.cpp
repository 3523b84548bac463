// RedisBroker against real redis-server processes: storage, fan-out between
// nodes, idempotency, resume proofs and outages (kill, restart empty or with
// persistence). No mocks; each test owns its Redis and uses its own prefix.
#include "gateway/broker/RedisBroker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/RedisProcess.h"

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::RedisProcess;

constexpr auto kReadyTimeout = 5s;
constexpr auto kDeliveryTimeout = 5s;
constexpr auto kQuietPeriod = 300ms;  // how long "nothing arrives" is watched

// Records every callback and lets the test wait for them.
class RecordingListener : public BrokerListener {
 public:
  void onNotification(ShardMask shards, NotificationPtr notification) override {
    std::lock_guard lock(mutex_);
    masks_.push_back(shards);
    notifications_.push_back(std::move(notification));
    changed_.notify_all();
  }
  void onChannelReset(ShardMask, const std::string& channel, ResetReason reason) override {
    std::lock_guard lock(mutex_);
    resets_.emplace_back(channel, reason);
    changed_.notify_all();
  }
  bool waitForCount(std::size_t count, std::chrono::milliseconds timeout = kDeliveryTimeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return notifications_.size() >= count; });
  }
  std::vector<NotificationPtr> notifications() {
    std::lock_guard lock(mutex_);
    return notifications_;
  }
  std::vector<ShardMask> masks() {
    std::lock_guard lock(mutex_);
    return masks_;
  }
  std::vector<std::pair<std::string, ResetReason>> resets() {
    std::lock_guard lock(mutex_);
    return resets_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<NotificationPtr> notifications_;
  std::vector<ShardMask> masks_;
  std::vector<std::pair<std::string, ResetReason>> resets_;
};

// A unique prefix per test, so tests sharing nothing also share no keys.
std::string testPrefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string("t:") + info->name() + ":";
}

// A broker configuration that reaches `redis` (over TLS when the suite runs over TLS).
Config redisConfig(const RedisProcess& redis, const std::string& db = "") {
  Config config;
  redis.applyTo(config, db);
  config.redisPrefix = testPrefix();
  config.historySize = 1000;
  config.historyTtl = 60s;
  config.idempotencyTtl = 60s;
  config.publishTimeout = 1000ms;
  return config;
}

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

bool subscribeAndWait(Broker& broker, const std::string& channel, unsigned shard) {
  auto confirmed = std::make_shared<std::promise<bool>>();
  auto result = confirmed->get_future();
  broker.subscribe(channel, shard, [confirmed](bool ok) { confirmed->set_value(ok); });
  return result.wait_for(kReadyTimeout) == std::future_status::ready && result.get();
}

ReplayResult replayAndWait(Broker& broker, const std::string& channel, std::optional<NotificationId> from) {
  auto promise = std::make_shared<std::promise<ReplayResult>>();
  auto future = promise->get_future();
  broker.replay(channel, from, 100000,
                [promise](ReplayResult result) { promise->set_value(std::move(result)); });
  if (future.wait_for(kReadyTimeout) != std::future_status::ready) {
    ADD_FAILURE() << "replay did not answer";
    return ReplayResult{false, {}, {}, {}};
  }
  return future.get();
}

NotificationId publishOne(Broker& broker, const std::string& channel, const std::string& data = "1") {
  return broker.publish({PublishItem{channel, "", data}}, std::nullopt).ids.at(0);
}

std::vector<NotificationId> idsOf(const std::vector<NotificationPtr>& items) {
  std::vector<NotificationId> ids;
  for (const auto& item : items) {
    ids.push_back(item->id);
  }
  return ids;
}

// A started broker on `url`, ready within kReadyTimeout.
struct StartedBroker {
  explicit StartedBroker(const Config& config) : broker(config) {
    broker.start(listener);
    EXPECT_TRUE(eventually([&] { return broker.ready(); }, kReadyTimeout)) << "broker never became ready";
  }
  ~StartedBroker() { broker.stop(); }
  RecordingListener listener;
  RedisBroker broker;
};

TEST(RedisBroker, BadUrlIsRejected) {
  Config config;
  config.broker = "redis://localhost:notaport";
  EXPECT_THROW(RedisBroker broker(config), std::invalid_argument);
}

TEST(RedisBroker, PublishStoresHistoryWithIncreasingLinkedIds) {
  RedisProcess redis;
  StartedBroker node(redisConfig(redis));
  EXPECT_EQ(node.broker.describe(), redis.url() + "/0");
  EXPECT_EQ(node.broker.describe().rfind(redis.tls() ? "rediss://" : "redis://", 0), 0u);

  auto outcome = node.broker.publish(
      {{"c", "order.shipped", "{\"order\":7}"}, {"d", "", "\"x\""}, {"c", "", "2"}}, std::nullopt);
  ASSERT_EQ(outcome.ids.size(), 3u);
  EXPECT_FALSE(outcome.replayed);
  EXPECT_LT(outcome.ids[0], outcome.ids[2]);

  auto page = node.broker.history("c", std::nullopt, 10);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0]->id, outcome.ids[0]);
  EXPECT_EQ(page.items[0]->prev, NotificationId{});
  EXPECT_EQ(page.items[0]->event, "order.shipped");
  EXPECT_EQ(page.items[0]->data, "{\"order\":7}");
  EXPECT_GT(page.items[0]->publishedUs, 0);
  EXPECT_EQ(page.items[1]->id, outcome.ids[2]);
  EXPECT_EQ(page.items[1]->prev, outcome.ids[0]);
  EXPECT_EQ(page.items[1]->event, "");

  // Paging with an exclusive `after`.
  EXPECT_EQ(idsOf(node.broker.history("c", outcome.ids[0], 10).items),
            std::vector<NotificationId>{outcome.ids[2]});
  EXPECT_TRUE(node.broker.history("c", outcome.ids[2], 10).items.empty());
  EXPECT_TRUE(node.broker.history("unknown", std::nullopt, 10).items.empty());

  // A batch of 1000 is one call and keeps input order.
  std::vector<PublishItem> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back({"batch", "", std::to_string(i)});
  }
  auto ids = node.broker.publish(batch, std::nullopt).ids;
  ASSERT_EQ(ids.size(), 1000u);
  for (std::size_t i = 1; i < ids.size(); ++i) {
    ASSERT_LT(ids[i - 1], ids[i]);
  }
  auto first = node.broker.history("batch", std::nullopt, 1000);
  ASSERT_EQ(first.items.size(), 1000u);
  EXPECT_EQ(first.items[999]->data, "999");
}

TEST(RedisBroker, ReplayResumesExactlyAndReportsNewest) {
  RedisProcess redis;
  StartedBroker node(redisConfig(redis));
  std::vector<NotificationId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(publishOne(node.broker, "c", std::to_string(i)));
  }
  auto middle = replayAndWait(node.broker, "c", ids[1]);
  EXPECT_TRUE(middle.ok);
  EXPECT_EQ(middle.reset, std::nullopt);
  EXPECT_EQ(idsOf(middle.items), std::vector<NotificationId>(ids.begin() + 2, ids.end()));
  EXPECT_EQ(middle.newest, ids.back());

  auto newest = replayAndWait(node.broker, "c", ids.back());
  EXPECT_EQ(newest.reset, std::nullopt);
  EXPECT_TRUE(newest.items.empty());

  auto all = replayAndWait(node.broker, "c", NotificationId{});
  EXPECT_EQ(all.reset, std::nullopt);
  EXPECT_EQ(idsOf(all.items), ids);

  auto none = replayAndWait(node.broker, "c", std::nullopt);
  EXPECT_TRUE(none.ok);
  EXPECT_TRUE(none.items.empty());
  EXPECT_EQ(none.newest, ids.back());

  auto future = replayAndWait(node.broker, "c", NotificationId{ids.back().ms + 100000, 0});
  EXPECT_EQ(future.reset, ResetReason::invalidCursor);
  EXPECT_TRUE(future.items.empty());

  // The largest possible id: Redis rejects "(" of it, the broker must not.
  constexpr auto kMaxPart = std::numeric_limits<std::uint64_t>::max();
  auto largest = replayAndWait(node.broker, "c", NotificationId{kMaxPart, kMaxPart});
  EXPECT_TRUE(largest.ok);
  EXPECT_EQ(largest.reset, ResetReason::invalidCursor);
  EXPECT_TRUE(node.broker.history("c", NotificationId{kMaxPart, kMaxPart}, 10).items.empty());
  const NotificationId endOfMillisecond{ids[0].ms, kMaxPart};
  std::vector<NotificationId> later;
  std::copy_if(ids.begin(), ids.end(), std::back_inserter(later),
               [&](const NotificationId& id) { return id > endOfMillisecond; });
  EXPECT_EQ(idsOf(node.broker.history("c", endOfMillisecond, 10).items), later);

  auto freshChannel = replayAndWait(node.broker, "fresh", NotificationId{});
  EXPECT_EQ(freshChannel.reset, std::nullopt);
  EXPECT_EQ(freshChannel.newest, NotificationId{});
}

TEST(RedisBroker, TwoNodesOnOneRedisShareLiveNotifications) {
  RedisProcess redis;
  StartedBroker a(redisConfig(redis));
  StartedBroker b(redisConfig(redis));
  ASSERT_TRUE(subscribeAndWait(b.broker, "news", 3));
  ASSERT_TRUE(subscribeAndWait(b.broker, "news", 3));  // ref-counted, confirmed at once
  ASSERT_TRUE(subscribeAndWait(b.broker, "news", 7));

  auto id = publishOne(a.broker, "news", "{\"n\":1}");
  ASSERT_TRUE(b.listener.waitForCount(1));
  auto received = b.listener.notifications();
  EXPECT_EQ(received[0]->id, id);
  EXPECT_EQ(received[0]->channel, "news");
  EXPECT_EQ(received[0]->data, "{\"n\":1}");
  EXPECT_EQ(b.listener.masks()[0], (ShardMask{1} << 3) | (ShardMask{1} << 7));

  b.broker.unsubscribe("news", 7);
  b.broker.unsubscribe("news", 3);  // shard 3 still holds one
  // Requests are served in order: once this subscribe is confirmed, the unsubscribes are applied.
  ASSERT_TRUE(subscribeAndWait(b.broker, "other", 0));
  publishOne(a.broker, "news", "2");
  ASSERT_TRUE(b.listener.waitForCount(2));
  EXPECT_EQ(b.listener.masks()[1], ShardMask{1} << 3);

  b.broker.unsubscribe("news", 3);
  ASSERT_TRUE(subscribeAndWait(b.broker, "other", 0));
  publishOne(a.broker, "news", "3");
  std::this_thread::sleep_for(kQuietPeriod);
  EXPECT_EQ(b.listener.notifications().size(), 2u);
  EXPECT_TRUE(a.listener.notifications().empty());  // a never subscribed
}

TEST(RedisBroker, LiveDeliveryIsInIdOrderUnderLoad) {
  RedisProcess redis;
  StartedBroker a(redisConfig(redis));
  StartedBroker b(redisConfig(redis));
  ASSERT_TRUE(subscribeAndWait(b.broker, "hot", 0));
  constexpr int kThreads = 3;
  constexpr int kPerThread = 100;
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        publishOne(a.broker, "hot");
      }
    });
  }
  for (auto& thread : publishers) {
    thread.join();
  }
  ASSERT_TRUE(b.listener.waitForCount(kThreads * kPerThread));
  auto received = b.listener.notifications();
  for (std::size_t i = 1; i < received.size(); ++i) {
    ASSERT_EQ(received[i]->prev, received[i - 1]->id) << "at " << i;
  }
}

TEST(RedisBroker, SamePrefixOtherDatabaseIsIsolated) {
  RedisProcess redis;
  StartedBroker db0(redisConfig(redis, "0"));
  StartedBroker db1(redisConfig(redis, "1"));
  ASSERT_TRUE(subscribeAndWait(db1.broker, "c", 0));
  publishOne(db0.broker, "c");
  std::this_thread::sleep_for(kQuietPeriod);
  EXPECT_TRUE(db1.listener.notifications().empty());
  EXPECT_TRUE(db1.broker.history("c", std::nullopt, 10).items.empty());
  EXPECT_EQ(db0.broker.history("c", std::nullopt, 10).items.size(), 1u);
}

TEST(RedisBroker, IdempotencyIsClusterWide) {
  RedisProcess redis;
  StartedBroker a(redisConfig(redis));
  StartedBroker b(redisConfig(redis));
  IdempotencyToken token{"retry-1", "digest-a"};
  auto first = a.broker.publish({{"c", "", "1"}, {"d", "", "2"}}, token);
  EXPECT_FALSE(first.replayed);
  auto again = b.broker.publish({{"c", "", "1"}, {"d", "", "2"}}, token);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.ids, first.ids);
  EXPECT_EQ(a.broker.history("c", std::nullopt, 10).items.size(), 1u);
  EXPECT_THROW(b.broker.publish({{"c", "", "3"}}, IdempotencyToken{"retry-1", "digest-b"}),
               IdempotencyConflict);
  EXPECT_FALSE(b.broker.publish({{"c", "", "1"}}, IdempotencyToken{"retry-2", "digest-a"}).replayed);
}

TEST(RedisBroker, TrimmedHistoryGivesTruncatedReset) {
  RedisProcess redis;
  Config config = redisConfig(redis);
  config.historySize = 10;
  StartedBroker node(config);
  // Approximate trimming drops whole stream nodes (100 entries by default), so publish several.
  std::vector<PublishItem> batch(350, PublishItem{"c", "", "1"});
  auto ids = node.broker.publish(batch, std::nullopt).ids;
  auto retained = node.broker.history("c", std::nullopt, 1000).items;
  ASSERT_LT(retained.size(), ids.size());
  ASSERT_GE(retained.size(), config.historySize);

  auto result = replayAndWait(node.broker, "c", ids[0]);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.reset, ResetReason::truncated);
  EXPECT_EQ(idsOf(result.items), idsOf(retained));
  EXPECT_EQ(result.newest, ids.back());
}

TEST(RedisBroker, ExpiredHistoryGivesExpiredReset) {
  RedisProcess redis;
  Config config = redisConfig(redis);
  // Long enough that a replay right after a publish still finds it on a loaded
  // machine; the expiry itself is polled for, not slept for.
  config.historyTtl = 2s;
  StartedBroker node(config);
  auto old = publishOne(node.broker, "c");
  publishOne(node.broker, "c");

  ReplayResult gone;
  ASSERT_TRUE(eventually(
      [&] {
        gone = replayAndWait(node.broker, "c", old);
        return gone.items.empty();
      },
      10s));
  EXPECT_EQ(gone.reset, ResetReason::expired);
  EXPECT_TRUE(node.broker.history("c", std::nullopt, 10).items.empty());

  auto fresh = publishOne(node.broker, "c");
  auto partly = replayAndWait(node.broker, "c", old);
  EXPECT_EQ(partly.reset, ResetReason::expired);
  EXPECT_EQ(idsOf(partly.items), std::vector<NotificationId>{fresh});
}

TEST(RedisBroker, RedisRestartedEmptyMakesOldIdsLost) {
  RedisProcess redis(/*appendOnly=*/false);
  StartedBroker node(redisConfig(redis));
  auto old = publishOne(node.broker, "c");
  redis.restart();
  ASSERT_TRUE(eventually([&] { return replayAndWait(node.broker, "c", old).ok; }, kReadyTimeout));

  auto unknown = replayAndWait(node.broker, "c", old);
  EXPECT_EQ(unknown.reset, ResetReason::lost);
  EXPECT_TRUE(unknown.items.empty());

  std::this_thread::sleep_for(2ms);  // a new id in another millisecond than `old`
  auto fresh = publishOne(node.broker, "c");
  auto known = replayAndWait(node.broker, "c", old);
  EXPECT_EQ(known.reset, ResetReason::lost);
  EXPECT_EQ(idsOf(known.items), std::vector<NotificationId>{fresh});
}

// Kills Redis under a subscribed node, checks the outage is visible and bounded,
// then checks every notification is delivered exactly once, in order, afterwards.
void killMidStream(bool appendOnly) {
  RedisProcess redis(appendOnly);
  Config config = redisConfig(redis);
  config.publishTimeout = 500ms;
  StartedBroker publisher(config);
  StartedBroker node(config);
  ASSERT_TRUE(subscribeAndWait(node.broker, "c", 2));
  // "quiet" has history from before its subscriber joined live, and gets nothing
  // until after the outage: its backfill must not replay that older history.
  for (int i = 0; i < 3; ++i) {
    publishOne(publisher.broker, "quiet");
  }
  ASSERT_TRUE(subscribeAndWait(node.broker, "quiet", 1));

  std::vector<NotificationId> published;
  for (int i = 0; i < 5; ++i) {
    published.push_back(publishOne(publisher.broker, "c", std::to_string(i)));
  }
  ASSERT_TRUE(node.listener.waitForCount(5));

  redis.stop();
  ASSERT_TRUE(eventually([&] { return !node.broker.ready(); }, kReadyTimeout));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(publisher.broker.publish({{"c", "", "x"}}, std::nullopt), BrokerUnavailable);
  // Bounded by --publish-timeout, not by the system's TCP timeouts (minutes); the
  // slack is for a loaded machine, this is no performance measurement.
  EXPECT_LE(std::chrono::steady_clock::now() - started, config.publishTimeout * 6);
  std::atomic<bool> subscribed{true};
  node.broker.subscribe("other", 0, [&](bool ok) { subscribed = ok; });
  EXPECT_TRUE(eventually([&] { return !subscribed; }, kReadyTimeout)) << "subscribe while down must fail";

  redis.start();
  ASSERT_TRUE(eventually([&] { return node.broker.ready() && publisher.broker.ready(); }, 10s));
  EXPECT_GE(node.broker.reconnects(), 1u);
  for (int i = 5; i < 10; ++i) {
    published.push_back(publishOne(publisher.broker, "c", std::to_string(i)));
  }
  auto quietId = publishOne(publisher.broker, "quiet");
  ASSERT_TRUE(node.listener.waitForCount(11));
  std::this_thread::sleep_for(kQuietPeriod);
  auto received = node.listener.notifications();
  auto masks = node.listener.masks();
  ASSERT_EQ(received.size(), 11u);
  std::vector<NotificationId> receivedOnC;
  for (std::size_t i = 0; i < received.size(); ++i) {
    if (received[i]->channel == "c") {
      receivedOnC.push_back(received[i]->id);
      EXPECT_EQ(masks[i], ShardMask{1} << 2);
    } else {
      EXPECT_EQ(received[i]->id, quietId);
      EXPECT_EQ(masks[i], ShardMask{1} << 1);
    }
  }
  EXPECT_EQ(receivedOnC, published);

  auto resets = node.listener.resets();
  if (appendOnly) {
    EXPECT_TRUE(resets.empty());
  } else {
    // The history before the outage is gone: each channel's subscribers are told, once.
    ASSERT_EQ(resets.size(), 2u);
    for (const auto& [channel, reason] : resets) {
      EXPECT_EQ(reason, ResetReason::lost) << channel;
    }
    EXPECT_NE(resets[0].first, resets[1].first);
  }
}

TEST(RedisBroker, KilledWithPersistenceDeliversEverythingExactlyOnce) {
  killMidStream(true);
}

TEST(RedisBroker, KilledAndRestartedEmptyDeliversNewOnesExactlyOnceAfterAReset) {
  killMidStream(false);
}

// Issue 14 item 4: a node with 2,000 subscribed channels; Redis restarts while
// notifications keep coming. The pub/sub connection comes back once (no reconnect
// loop while it backfills), the broker is not ready until every channel is
// backfilled, and every stored notification reaches its channel exactly once.
TEST(RedisBroker, ManyChannelsRestartedUnderTrafficCatchUpOnceBeforeReady) {
  constexpr int kChannels = 2000;
  RedisProcess redis(/*appendOnly=*/true);
  Config config = redisConfig(redis);
  config.publishTimeout = 1000ms;
  StartedBroker publisher(config);
  StartedBroker node(config);
  auto channelName = [](int i) { return "many:" + std::to_string(i); };
  std::atomic<int> confirmed{0};
  for (int i = 0; i < kChannels; ++i) {
    node.broker.subscribe(channelName(i), static_cast<unsigned>(i % 4),
                          [&](bool ok) { confirmed += ok ? 1 : 0; });
  }
  ASSERT_TRUE(eventually([&] { return confirmed.load() == kChannels; }, 20s)) << confirmed.load();

  std::mutex ackedMutex;
  // Ids are per channel (a batch gives many channels the same id): (channel, id) is the key.
  using Delivered = std::pair<std::string, NotificationId>;
  std::vector<Delivered> acked;  // every publish Redis acknowledged
  std::atomic<bool> stop{false};
  std::atomic<int> round{0};
  std::thread traffic([&] {
    for (int n = 0; !stop.load(); ++n) {
      std::vector<PublishItem> items;
      for (int k = 0; k < 50; ++k) {
        items.push_back({channelName((n * 50 + k) % kChannels), "", std::to_string(n)});
      }
      try {
        auto outcome = publisher.broker.publish(items, std::nullopt);
        std::lock_guard lock(ackedMutex);
        for (std::size_t k = 0; k < items.size(); ++k) {
          acked.emplace_back(items[k].channel, outcome.ids.at(k));
        }
      } catch (const BrokerUnavailable&) {
        std::this_thread::sleep_for(20ms);  // Redis is down: keep trying
      }
      round.store(n);
    }
  });
  ASSERT_TRUE(eventually([&] { return round.load() > 20; }, 10s));
  std::size_t ackedBeforeOutage = 0;
  {
    std::lock_guard lock(ackedMutex);
    ackedBeforeOutage = acked.size();
  }
  redis.restart();
  ASSERT_TRUE(eventually([&] { return !node.broker.ready(); }, kReadyTimeout));
  // Polled tightly: the first moment ready() says so is what is checked.
  const auto readyDeadline = std::chrono::steady_clock::now() + 30s;
  while (!node.broker.ready() && std::chrono::steady_clock::now() < readyDeadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(node.broker.ready()) << "never caught up";
  // Ready means caught up: everything acknowledged before Redis went away is delivered now.
  std::set<Delivered> receivedAtReady;
  for (const auto& notification : node.listener.notifications()) {
    receivedAtReady.emplace(notification->channel, notification->id);
  }
  const int roundAtReady = round.load();
  ASSERT_TRUE(eventually([&] { return round.load() > roundAtReady + 20; }, 10s));
  EXPECT_EQ(node.broker.reconnects(), 1u) << "the pub/sub connection must come back once";

  // Now only the pub/sub connections drop (the command links stay up): what is stored while
  // the node is away arrives by backfill, and ready() must wait for it.
  ASSERT_EQ(replyText(*redis.command({"CLIENT", "KILL", "TYPE", "pubsub"})).empty(), true);
  ASSERT_TRUE(eventually([&] { return !node.broker.ready(); }, kReadyTimeout));
  // The subscriber waits at least 50 ms before reconnecting: let notifications pile up.
  std::this_thread::sleep_for(30ms);
  std::size_t ackedWhileAway = 0;
  {
    std::lock_guard lock(ackedMutex);
    ackedWhileAway = acked.size();
  }
  const auto secondDeadline = std::chrono::steady_clock::now() + 30s;
  while (!node.broker.ready() && std::chrono::steady_clock::now() < secondDeadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(node.broker.ready()) << "never caught up after the pub/sub drop";
  std::set<Delivered> receivedAtSecondReady;
  for (const auto& notification : node.listener.notifications()) {
    receivedAtSecondReady.emplace(notification->channel, notification->id);
  }
  std::size_t missingAtSecondReady = 0;
  {
    std::lock_guard lock(ackedMutex);
    for (std::size_t i = 0; i < ackedWhileAway; ++i) {
      missingAtSecondReady += receivedAtSecondReady.count(acked[i]) == 1 ? 0 : 1;
    }
  }
  EXPECT_EQ(missingAtSecondReady, 0u) << "ready() before the backfill caught up (pub/sub drop)";
  const int roundAtSecondReady = round.load();
  ASSERT_TRUE(eventually([&] { return round.load() > roundAtSecondReady + 10; }, 10s));
  stop.store(true);
  traffic.join();

  std::vector<Delivered> ackedAll;
  {
    std::lock_guard lock(ackedMutex);
    ackedAll = acked;
  }
  ASSERT_TRUE(node.listener.waitForCount(ackedAll.size(), 20s));
  std::this_thread::sleep_for(kQuietPeriod);
  auto received = node.listener.notifications();
  std::set<Delivered> unique;
  std::map<std::string, NotificationId> lastPerChannel;
  std::size_t twice = 0;
  for (const auto& notification : received) {
    twice += unique.emplace(notification->channel, notification->id).second ? 0 : 1;
    auto& last = lastPerChannel[notification->channel];
    EXPECT_LT(last, notification->id) << "out of order on " << notification->channel;
    last = notification->id;
  }
  EXPECT_EQ(twice, 0u) << "notifications delivered more than once";
  // When ready() said so, every channel was backfilled: everything stored before the outage
  // was delivered by then.
  std::size_t missingAtReady = 0;
  std::size_t neverDelivered = 0;
  for (std::size_t i = 0; i < ackedAll.size(); ++i) {
    neverDelivered += unique.count(ackedAll[i]) == 1 ? 0 : 1;
    if (i < ackedBeforeOutage && receivedAtReady.count(ackedAll[i]) == 0) {
      ++missingAtReady;
    }
  }
  EXPECT_EQ(neverDelivered, 0u) << "of " << ackedAll.size();
  EXPECT_EQ(missingAtReady, 0u) << "ready() before the backfill caught up";
  EXPECT_TRUE(node.listener.resets().empty());
}

// A Redis that stops answering (CLIENT PAUSE) without closing: each command's deadline fails
// its connection, the publish answers BrokerUnavailable instead of waiting, and the
// connections come back by themselves.
TEST(RedisBroker, CommandDeadlineAnswersWhileRedisHangs) {
  RedisProcess redis;
  Config config = redisConfig(redis);
  config.publishTimeout = 300ms;
  StartedBroker node(config);
  publishOne(node.broker, "c");
  constexpr auto kPause = 3000ms;
  redis.command({"CLIENT", "PAUSE", std::to_string(kPause.count()), "ALL"});
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(publishOne(node.broker, "c"), BrokerUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, kPause)
      << "the publish waited for Redis, not its deadline";
  // Once the pause ends, publishes succeed again (each failed link reconnected on its own).
  EXPECT_TRUE(eventually(
      [&] {
        try {
          publishOne(node.broker, "c");
          return true;
        } catch (const BrokerUnavailable&) {
          return false;
        }
      },
      10s));
}

TEST(RedisBroker, NotReadyWhileRedisIsDownAtStart) {
  RedisProcess redis;
  redis.stop();
  Config config = redisConfig(redis);
  config.publishTimeout = 300ms;
  RecordingListener listener;
  RedisBroker broker(config);
  broker.start(listener);
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(broker.ready());
  EXPECT_THROW(broker.publish({{"c", "", "1"}}, std::nullopt), BrokerUnavailable);
  EXPECT_THROW(broker.history("c", std::nullopt, 10), BrokerUnavailable);
  EXPECT_FALSE(replayAndWait(broker, "c", NotificationId{}).ok);
  redis.start();
  EXPECT_TRUE(eventually([&] { return broker.ready(); }, 10s));
  EXPECT_EQ(broker.reconnects(), 0u);  // never lost a connection it had
  publishOne(broker, "c");
  broker.stop();
}

}  // namespace
}  // namespace herald
