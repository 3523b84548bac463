// RedisBroker: the multi-node broker (`--broker redis://host:port[/db]`).
//
// Gateway nodes that share a Redis address, database and --redis-prefix see
// each other's notifications: publish() stores each notification in its
// channel's Redis stream and publishes it on pub/sub in one atomic Lua call
// (RedisStore); one subscriber thread per node receives live messages and
// delivers them to the listener (RedisSubscriber), backfilling from the streams
// after an outage; replay() reads streams on a small thread pool. All Redis I/O
// is synchronous hiredis on threads the broker owns (see
// docs/architecture-brokers.md). A Redis that is down at start is not fatal:
// the broker reports not ready and keeps reconnecting.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisStore.h"
#include "gateway/broker/RedisSubscriber.h"
#include "gateway/broker/RedisUrl.h"
#include "gateway/config/Config.h"

namespace herald {

class RedisBroker final : public Broker {
 public:
  // Parses config.broker as a Redis URL (std::invalid_argument when it is not
  // one); connects only at start().
  explicit RedisBroker(const Config& config);
  ~RedisBroker() override;
  RedisBroker(const RedisBroker&) = delete;
  RedisBroker& operator=(const RedisBroker&) = delete;

  void start(BrokerListener& listener) override;
  void stop() override;
  bool ready() const override;
  std::string describe() const override { return address_.str(); }

  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency) override;
  HistoryPage history(const std::string& channel, std::optional<NotificationId> after,
                      std::size_t limit) override;
  void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) override;
  void unsubscribe(const std::string& channel, unsigned shard) override;
  void replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
              std::function<void(ReplayResult)> done) override;

  // Times the pub/sub connection came back after being lost (herald_broker_reconnects_total).
  std::uint64_t reconnects() const override { return subscriber_.reconnects(); }

 private:
  const RedisAddress address_;
  RedisStore store_;
  RedisSubscriber subscriber_;
  std::mutex replayPoolMutex_;  // replay() may race stop()
  std::unique_ptr<boost::asio::thread_pool> replayPool_;
  std::size_t replayThreads_;
  std::atomic<bool> running_{false};
};

}  // namespace herald
