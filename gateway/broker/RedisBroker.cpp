#include "gateway/broker/RedisBroker.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

// Replays are read in pages (one short XRANGE each), so a long replay takes turns
// with the others instead of holding a thread. Two threads per stream thread keep a
// burst of reconnecting clients from queueing behind each other, up to a cap that
// bounds idle Redis connections.
constexpr std::size_t kReplayThreadsPerStreamThread = 2;
constexpr std::size_t kMaxReplayThreads = 32;
constexpr auto kReplayRetryDelay = std::chrono::milliseconds(100);

std::size_t replayThreads(const Config& config) {
  return std::clamp<std::size_t>(kReplayThreadsPerStreamThread * config.threads, 2, kMaxReplayThreads);
}

std::string readPasswordFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw BrokerMisconfigured("--redis-password-file: cannot read " + path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  std::string password = text.str();
  // A trailing newline (echo, a Kubernetes secret edited by hand) is not part of the password.
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    throw BrokerMisconfigured("--redis-password-file: " + path + " is empty");
  }
  return password;
}

std::unique_ptr<RedisClient> makeClient(const Config& config) {
  try {
    return std::make_unique<RedisClient>(redisEndpointOf(config), RedisBroker::kConnections);
  } catch (const RedisRefused& error) {
    throw BrokerMisconfigured(error.what());
  }
}

// What publish()/history() throw for a Redis failure: after start, every failure is an outage.
std::exception_ptr brokerError(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const RedisError& redis) {
    return std::make_exception_ptr(BrokerUnavailable(redis.what()));
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace

RedisEndpoint redisEndpointOf(const Config& config) {
  RedisEndpoint endpoint;
  endpoint.address = parseRedisUrl(config.broker);
  if (endpoint.address.password.empty()) {
    endpoint.address.password =
        config.redisPasswordFile.empty() ? config.redisPassword : readPasswordFile(config.redisPasswordFile);
  }
  endpoint.tls =
      RedisTlsSettings{config.redisTlsCa, config.redisTlsCert, config.redisTlsKey, config.redisTlsServerName};
  endpoint.timeout = config.publishTimeout;
  return endpoint;
}

RedisBroker::RedisBroker(const Config& config)
    : client_(makeClient(config)),
      store_(config, client_->endpoint().address.db, *client_),
      subscriber_(*client_, store_, config.publishTimeout),
      replayThreads_(replayThreads(config)) {}

RedisBroker::~RedisBroker() {
  stop();
}

void RedisBroker::start(BrokerListener& listener) {
  if (running_.exchange(true)) {
    return;
  }
  client_->start();
  const auto& endpoint = client_->endpoint();
  if (auto error = client_->firstAttempt(endpoint.timeout + std::chrono::seconds(1))) {
    try {
      std::rethrow_exception(error);
    } catch (const RedisRefused& refused) {
      client_->stop();
      running_.store(false);
      throw BrokerMisconfigured(refused.what());
    } catch (const std::exception& unreachable) {
      spdlog::warn("redis {} is unavailable at start ({}); not ready until it connects",
                   endpoint.address.str(), unreachable.what());
    }
  }
  {
    std::lock_guard lock(replayPoolMutex_);
    replayPool_ = std::make_unique<boost::asio::thread_pool>(replayThreads_);
  }
  subscriber_.start(listener);
  spdlog::info("redis broker started on {}", endpoint.address.str());
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
  client_->stop();
}

bool RedisBroker::ready() const {
  return running_.load() && subscriber_.connected() && client_->connected() && !store_.writesRefused();
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

void RedisBroker::publishAsync(std::vector<PublishItem> items, std::optional<IdempotencyToken> idempotency,
                               PublishDone done) {
  store_.publishAsync(items, idempotency,
                      [done = std::move(done)](std::exception_ptr error, PublishOutcome outcome) {
                        done(error ? brokerError(error) : nullptr, std::move(outcome));
                      });
}

void RedisBroker::historyAsync(std::string channel, std::optional<NotificationId> after, std::size_t limit,
                               HistoryDone done) {
  store_.rangeAsync(channel, after, limit,
                    [done = std::move(done)](std::exception_ptr error, std::vector<NotificationPtr> items) {
                      done(error ? brokerError(error) : nullptr, HistoryPage{std::move(items)});
                    });
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
    // A read that fails while Redis is coming back (a restart drops every link at once) is
    // tried again until --publish-timeout: a long replay survives a short outage instead of
    // ending the stream in its middle.
    const auto deadline = std::chrono::steady_clock::now() + client_->endpoint().timeout;
    std::optional<ReplayResult> result;
    while (!result) {
      try {
        result = readReplay(channel, from, limit);
      } catch (const RedisError& error) {
        if (std::chrono::steady_clock::now() + kReplayRetryDelay >= deadline || !running_.load()) {
          spdlog::warn("redis replay of channel {} failed: {}", channel, error.what());
          result = ReplayResult{false, {}, {}, {}};
        } else {
          std::this_thread::sleep_for(kReplayRetryDelay);
        }
      }
    }
    done(std::move(*result));
  });
}

ReplayResult RedisBroker::readReplay(const std::string& channel, std::optional<NotificationId> from,
                                     std::size_t limit) {
  ReplayResult result;
  if (!from) {
    result.newest = store_.newestIds({channel}).at(0);
    return result;
  }
  ChannelRead read = store_.readAfter(channel, *from, limit);
  result.newest = read.meta.newest;
  const Notification* firstAfter = read.entries.empty() ? nullptr : read.entries.front().get();
  result.reset = assessResume(*from, read.meta, firstAfter, read.removal);
  // After invalid_cursor nothing of the channel's history is replayed.
  if (result.reset != ResetReason::invalidCursor) {
    // A full page may have more behind it (the meta cannot tell: a generation check may just
    // have cleared it); the next read finds out.
    result.more = limit > 0 && read.entries.size() >= limit;
    result.items = std::move(read.entries);
  }
  return result;
}

}  // namespace herald
