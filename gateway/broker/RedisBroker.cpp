#include "gateway/broker/RedisBroker.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

// Replays are short reads; two threads keep a burst of reconnecting clients
// from queueing behind one slow read without many idle connections.
constexpr std::size_t kReplayThreads = 2;

}  // namespace

RedisBroker::RedisBroker(const Config& config)
    : address_(parseRedisUrl(config.broker)),
      store_(config, address_),
      subscriber_(address_, store_, config.publishTimeout) {}

RedisBroker::~RedisBroker() {
  stop();
}

void RedisBroker::start(BrokerListener& listener) {
  if (running_.exchange(true)) {
    return;
  }
  {
    std::lock_guard lock(replayPoolMutex_);
    replayPool_ = std::make_unique<boost::asio::thread_pool>(kReplayThreads);
  }
  subscriber_.start(listener);
  spdlog::info("redis broker started on {}", address_.str());
}

void RedisBroker::stop() {
  if (!running_.exchange(false)) {
    return;
  }
  subscriber_.stop();
  std::unique_ptr<boost::asio::thread_pool> replayPool;
  {
    std::lock_guard lock(replayPoolMutex_);
    replayPool = std::move(replayPool_);
  }
  if (replayPool) {
    replayPool->join();  // replays already queued still finish and call their done
  }
  store_.pool().clear();
}

bool RedisBroker::ready() const {
  return running_.load() && subscriber_.connected() && store_.pool().healthy();
}

PublishOutcome RedisBroker::publish(const std::vector<PublishItem>& items,
                                    const std::optional<IdempotencyToken>& idempotency) {
  try {
    return store_.publish(items, idempotency);
  } catch (const RedisError& error) {
    throw BrokerUnavailable(error.what());
  }
}

HistoryPage RedisBroker::history(const std::string& channel, std::optional<NotificationId> after,
                                 std::size_t limit) {
  try {
    return HistoryPage{store_.range(channel, after, limit)};
  } catch (const RedisError& error) {
    throw BrokerUnavailable(error.what());
  }
}

void RedisBroker::subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) {
  subscriber_.subscribe(channel, shard, std::move(done));
}

void RedisBroker::unsubscribe(const std::string& channel, unsigned shard) {
  subscriber_.unsubscribe(channel, shard);
}

void RedisBroker::replay(const std::string& channel, std::optional<NotificationId> from,
                         std::function<void(ReplayResult)> done) {
  std::unique_lock lock(replayPoolMutex_);
  if (!replayPool_) {
    lock.unlock();
    done(ReplayResult{false, {}, {}, {}});
    return;
  }
  boost::asio::post(*replayPool_, [this, channel, from, done = std::move(done)] {
    ReplayResult result;
    try {
      if (!from) {
        result.newest = store_.newestIds({channel}).at(0);
      } else {
        ChannelRead read = store_.readAfter(channel, *from);
        result.newest = read.meta.newest;
        const Notification* firstAfter = read.entries.empty() ? nullptr : read.entries.front().get();
        result.reset = assessResume(*from, read.meta, firstAfter, read.removal);
        // After invalid_cursor nothing of the channel's history is replayed.
        if (result.reset != ResetReason::invalidCursor) {
          result.items = std::move(read.entries);
        }
      }
    } catch (const RedisError& error) {
      spdlog::warn("redis replay of channel {} failed: {}", channel, error.what());
      result = ReplayResult{false, {}, {}, {}};
    }
    done(std::move(result));
  });
}

}  // namespace herald
