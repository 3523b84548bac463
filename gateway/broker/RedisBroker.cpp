#include "gateway/broker/RedisBroker.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

// Replays are read in pages (one short XRANGE each), so a long replay takes turns
// with the others instead of holding a thread. Two threads per stream thread keep a
// burst of reconnecting clients from queueing behind each other, up to a cap that
// bounds idle Redis connections.
constexpr std::size_t kReplayThreadsPerStreamThread = 2;
constexpr std::size_t kMaxReplayThreads = 32;

std::size_t replayThreads(const Config& config) {
  return std::clamp<std::size_t>(kReplayThreadsPerStreamThread * config.threads, 2, kMaxReplayThreads);
}

}  // namespace

RedisBroker::RedisBroker(const Config& config)
    : address_(parseRedisUrl(config.broker)),
      store_(config, address_),
      subscriber_(address_, store_, config.publishTimeout),
      replayThreads_(replayThreads(config)) {}

RedisBroker::~RedisBroker() {
  stop();
}

void RedisBroker::start(BrokerListener& listener) {
  if (running_.exchange(true)) {
    return;
  }
  {
    std::lock_guard lock(replayPoolMutex_);
    replayPool_ = std::make_unique<boost::asio::thread_pool>(replayThreads_);
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

void RedisBroker::replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
                         std::function<void(ReplayResult)> done) {
  std::unique_lock lock(replayPoolMutex_);
  if (!replayPool_) {
    lock.unlock();
    done(ReplayResult{false, {}, {}, {}});
    return;
  }
  boost::asio::post(*replayPool_, [this, channel, from, limit, done = std::move(done)] {
    ReplayResult result;
    try {
      if (!from) {
        result.newest = store_.newestIds({channel}).at(0);
      } else {
        ChannelRead read = store_.readAfter(channel, *from, limit);
        result.newest = read.meta.newest;
        const Notification* firstAfter = read.entries.empty() ? nullptr : read.entries.front().get();
        result.reset = assessResume(*from, read.meta, firstAfter, read.removal);
        // After invalid_cursor nothing of the channel's history is replayed.
        if (result.reset != ResetReason::invalidCursor) {
          result.more = read.entries.size() >= limit && read.entries.back()->id < read.meta.newest;
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
