// RedisBroker: the multi-node broker (`--broker redis://…` or `rediss://…`).
//
// Gateway nodes that share a Redis address, database and --redis-prefix see
// each other's notifications: publish() stores each notification in its
// channel's Redis stream and publishes it on pub/sub in one atomic Lua call
// (RedisStore); one pub/sub connection per node receives live messages and
// its thread delivers them to the listener (RedisSubscriber), backfilling from
// the streams after an outage; replay() reads streams on a small thread pool.
// All Redis I/O runs on one event loop the broker owns (RedisClient: a few
// pipelined connections, TCP or TLS, authenticated); the blocking Broker calls
// wait on it, publishAsync()/historyAsync() do not (see
// docs/architecture-brokers.md). A Redis that is down at start is not fatal:
// the broker reports not ready and keeps reconnecting; one that answers and
// refuses (credentials, ACL, TLS verification) is BrokerMisconfigured.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisStore.h"
#include "gateway/broker/RedisSubscriber.h"
#include "gateway/broker/RedisUrl.h"
#include "gateway/broker/redis/RedisClient.h"
#include "gateway/config/Config.h"

namespace herald {

// The URL of config.broker with its password resolved (the URL's, else --redis-password-file's,
// else HERALD_REDIS_PASSWORD), the TLS settings and the timeout. Throws std::invalid_argument
// for a bad URL and BrokerMisconfigured for an unreadable password file.
RedisEndpoint redisEndpointOf(const Config& config);

class RedisBroker final : public Broker {
 public:
  // Command connections per node: publishes, history and replays are pipelined on these.
  static constexpr std::size_t kConnections = 4;

  // Parses config.broker as a Redis URL (std::invalid_argument when it is not
  // one) and loads the TLS files (BrokerMisconfigured); connects only at start().
  explicit RedisBroker(const Config& config);
  ~RedisBroker() override;
  RedisBroker(const RedisBroker&) = delete;
  RedisBroker& operator=(const RedisBroker&) = delete;

  // Waits for the first connection attempt (at most --publish-timeout): throws
  // BrokerMisconfigured when Redis refuses Herald; an unreachable Redis is not an error.
  void start(BrokerListener& listener) override;
  void stop() override;
  bool ready() const override;
  std::string describe() const override { return client_->endpoint().address.str(); }

  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency) override;
  HistoryPage history(const std::string& channel, std::optional<NotificationId> after,
                      std::size_t limit) override;
  void publishAsync(std::vector<PublishItem> items, std::optional<IdempotencyToken> idempotency,
                    PublishDone done) override;
  void historyAsync(std::string channel, std::optional<NotificationId> after, std::size_t limit,
                    HistoryDone done) override;
  void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) override;
  void unsubscribe(const std::string& channel, unsigned shard) override;
  void replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
              std::function<void(ReplayResult)> done) override;

  // Times the pub/sub connection came back after being lost (herald_broker_reconnects_total).
  std::uint64_t reconnects() const override { return subscriber_.reconnects(); }

 private:
  // One page of a replay (throws RedisError).
  ReplayResult readReplay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit);
  std::unique_ptr<RedisClient> client_;
  RedisStore store_;
  RedisSubscriber subscriber_;
  std::mutex replayPoolMutex_;  // replay() may race stop()
  std::unique_ptr<boost::asio::thread_pool> replayPool_;
  std::size_t replayThreads_;
  std::atomic<bool> running_{false};
};

}  // namespace herald
