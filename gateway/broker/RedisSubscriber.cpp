#include "gateway/broker/RedisSubscriber.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kInitialBackoff = 100ms;
constexpr std::chrono::milliseconds kMaxBackoff = 5000ms;
constexpr int kBackoffFactor = 2;
// An idle connection is PINGed this often; no answer within the command timeout
// means the connection is dead even if the socket says nothing (e.g. a partition).
constexpr std::chrono::milliseconds kPingInterval = 1000ms;

// A delay in [delay/2, delay], so nodes that lost Redis together do not all come back at once.
std::chrono::milliseconds withJitter(std::chrono::milliseconds delay) {
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> spread(0, delay.count() / 2);
  return delay - std::chrono::milliseconds(spread(random));
}

int pollTimeoutMs(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::max<std::int64_t>(timeout.count(), 0));
}

}  // namespace

RedisSubscriber::RedisSubscriber(RedisAddress address, RedisStore& store, std::chrono::milliseconds timeout)
    : address_(std::move(address)), store_(store), timeout_(timeout) {
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "eventfd for the Redis subscriber");
  }
}

RedisSubscriber::~RedisSubscriber() {
  stop();
  ::close(wakeFd_);
}

void RedisSubscriber::start(BrokerListener& listener) {
  if (thread_.joinable()) {
    return;
  }
  listener_ = &listener;
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
}

void RedisSubscriber::stop() {
  stopping_.store(true);
  wake();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void RedisSubscriber::subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) {
  if (shard >= kMaxShards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " is out of range");
  }
  {
    std::lock_guard lock(requestsMutex_);
    requests_.push_back(Request{true, channel, shard, std::move(done)});
  }
  wake();
}

void RedisSubscriber::unsubscribe(const std::string& channel, unsigned shard) {
  if (shard >= kMaxShards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " is out of range");
  }
  {
    std::lock_guard lock(requestsMutex_);
    requests_.push_back(Request{false, channel, shard, nullptr});
  }
  wake();
}

void RedisSubscriber::wake() {
  const std::uint64_t one = 1;
  // A full counter (EAGAIN) already means "wake up"; nothing else can fail here.
  [[maybe_unused]] auto written = ::write(wakeFd_, &one, sizeof one);
}

void RedisSubscriber::drainWakeups() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto read = ::read(wakeFd_, &count, sizeof count);
}

std::vector<RedisSubscriber::Request> RedisSubscriber::takeRequests() {
  drainWakeups();
  std::lock_guard lock(requestsMutex_);
  return std::exchange(requests_, {});
}

void RedisSubscriber::run() {
  std::chrono::milliseconds backoff = kInitialBackoff;
  bool everConnected = false;
  while (!stopping_.load()) {
    try {
      connection_ = std::make_unique<RedisConnection>(address_, timeout_);
      if (everConnected) {
        reconnects_.fetch_add(1);
        spdlog::info("redis subscriber reconnected to {}", address_.str());
      } else {
        spdlog::info("redis subscriber connected to {}", address_.str());
      }
      everConnected = true;
      backoff = kInitialBackoff;
      // Idle pool connections from before an outage are dead: start afresh.
      store_.pool().clear();
      try {
        store_.ping();
      } catch (const RedisError& error) {
        spdlog::warn("redis pool check failed: {}", error.what());
      }
      connected_.store(true);
      resubscribeAll();
      serve();
    } catch (const RedisError& error) {
      spdlog::warn("redis subscriber connection to {} lost or unavailable: {}", address_.str(), error.what());
    } catch (const std::exception& error) {
      // Not a Redis failure (poll, a listener that threw): still start over rather than die.
      spdlog::error("redis subscriber failed: {}; reconnecting", error.what());
    }
    onConnectionLost();
    if (stopping_.load()) {
      break;
    }
    waitBeforeRetry(withJitter(backoff));
    backoff = std::min(backoff * kBackoffFactor, kMaxBackoff);
  }
  connection_.reset();
  connected_.store(false);
}

void RedisSubscriber::resubscribeAll() {
  std::vector<std::string_view> command{"SUBSCRIBE"};
  std::vector<std::string> names;
  names.reserve(channels_.size());
  for (auto& [channel, subscription] : channels_) {
    names.push_back(store_.keys().live(channel));
    subscription.subscribed = true;
    ++subscription.subscribesInFlight;
  }
  if (names.empty()) {
    return;
  }
  command.insert(command.end(), names.begin(), names.end());
  sendCommand(command);
}

void RedisSubscriber::serve() {
  Clock::time_point lastActivity = Clock::now();
  std::optional<Clock::time_point> pingSentAt;
  while (!stopping_.load()) {
    handleRequests();
    flush();

    const auto now = Clock::now();
    if (pingSentAt && now - *pingSentAt > timeout_) {
      connection_->fail("PING unanswered");
    }
    if (!pingSentAt && now - lastActivity >= kPingInterval) {
      sendCommand({"PING"});
      flush();
      pingSentAt = now;
      if (!store_.pool().healthy()) {
        try {
          store_.ping();
        } catch (const RedisError& error) {
          spdlog::warn("redis pool check failed: {}", error.what());
        }
      }
    }

    pollfd fds[2] = {{connection_->fd(), POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, pollTimeoutMs(kPingInterval));
    if (ready < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll in the Redis subscriber");
    }
    if (ready <= 0 || fds[0].revents == 0) {
      continue;
    }
    if (redisBufferRead(connection_->context()) != REDIS_OK) {
      connection_->fail("reading pub/sub messages");
    }
    lastActivity = Clock::now();
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(connection_->context(), &raw) != REDIS_OK) {
        connection_->fail("parsing pub/sub messages");
      }
      if (raw == nullptr) {
        break;
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (pingSentAt && ((reply->type == REDIS_REPLY_STATUS && replyText(*reply) == "PONG") ||
                         (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                          replyText(*reply->element[0]) == "pong"))) {
        pingSentAt.reset();
        continue;
      }
      handleReply(*reply);
    }
  }
}

void RedisSubscriber::sendCommand(const std::vector<std::string_view>& args) {
  connection_->append(args);
}

void RedisSubscriber::flush() {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(connection_->context(), &done) != REDIS_OK) {
      connection_->fail("writing to the pub/sub connection");
    }
  }
}

void RedisSubscriber::addShard(ChannelSubscription& subscription, unsigned shard) {
  if (subscription.shardCounts[shard]++ == 0) {
    subscription.mask |= ShardMask{1} << shard;
  }
  ++subscription.total;
}

void RedisSubscriber::removeShard(ChannelSubscription& subscription, unsigned shard) {
  if (subscription.shardCounts[shard] == 0) {
    return;
  }
  if (--subscription.shardCounts[shard] == 0) {
    subscription.mask &= ~(ShardMask{1} << shard);
  }
  --subscription.total;
}

void RedisSubscriber::failPending(ChannelSubscription& subscription) {
  // A failed subscribe holds no reference: the caller will not unsubscribe it.
  auto pending = std::exchange(subscription.pending, {});
  for (auto& request : pending) {
    removeShard(subscription, request.shard);
  }
  for (auto& request : pending) {
    if (request.done) {
      request.done(false);
    }
  }
}

void RedisSubscriber::handleRequests() {
  std::vector<std::string> needBaseline;
  for (auto& request : takeRequests()) {
    if (request.subscribe) {
      auto& subscription = channels_[request.channel];
      addShard(subscription, request.shard);
      if (subscription.confirmed) {
        if (request.done) {
          request.done(true);
        }
        continue;
      }
      subscription.pending.push_back({request.shard, std::move(request.done)});
      if (!subscription.subscribed && !subscription.baselinePending) {
        subscription.baselinePending = true;
        needBaseline.push_back(request.channel);
      }
      continue;
    }
    auto found = channels_.find(request.channel);
    if (found == channels_.end()) {
      continue;
    }
    auto& subscription = found->second;
    removeShard(subscription, request.shard);
    if (subscription.total > 0) {
      continue;
    }
    if (subscription.subscribed) {
      sendCommand({"UNSUBSCRIBE", store_.keys().live(request.channel)});
      subscription.subscribed = false;
      subscription.confirmed = false;
    }
    if (subscription.subscribesInFlight == 0 && !subscription.baselinePending) {
      channels_.erase(found);
    }
  }
  if (needBaseline.empty()) {
    return;
  }

  // The newest id when the first subscriber arrives: what a backfill after an
  // outage starts from if nothing was delivered, so subscribers that joined live
  // never get older history. Read before SUBSCRIBE, so every live message is newer.
  std::vector<NotificationId> newest;
  try {
    newest = store_.newestIds(needBaseline);
  } catch (const RedisError& error) {
    spdlog::warn("redis subscriber cannot read the newest ids of {} channel(s): {}", needBaseline.size(),
                 error.what());
    for (const auto& channel : needBaseline) {
      auto found = channels_.find(channel);
      found->second.baselinePending = false;
      failPending(found->second);
      if (found->second.total == 0 && !found->second.subscribed && found->second.subscribesInFlight == 0) {
        channels_.erase(found);
      }
    }
    return;
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < needBaseline.size(); ++i) {
    auto& subscription = channels_[needBaseline[i]];
    subscription.baselinePending = false;
    subscription.lastDelivered = std::max(subscription.lastDelivered, newest[i]);
    subscription.subscribed = true;
    ++subscription.subscribesInFlight;
    names.push_back(store_.keys().live(needBaseline[i]));
  }
  std::vector<std::string_view> command{"SUBSCRIBE"};
  command.insert(command.end(), names.begin(), names.end());
  sendCommand(command);
}

void RedisSubscriber::handleRequestsWhileDisconnected() {
  for (auto& request : takeRequests()) {
    if (request.subscribe) {
      if (request.done) {
        request.done(false);
      }
      continue;
    }
    auto found = channels_.find(request.channel);
    if (found == channels_.end()) {
      continue;
    }
    removeShard(found->second, request.shard);
    if (found->second.total == 0) {
      channels_.erase(found);
    }
  }
}

void RedisSubscriber::handleReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    spdlog::error("redis pub/sub connection answered an error: {}", replyText(reply));
    return;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) {
    return;
  }
  const std::string_view kind = replyText(*reply.element[0]);
  const std::string_view liveChannel = replyText(*reply.element[1]);
  if (kind == "message") {
    onMessage(liveChannel, replyText(*reply.element[2]));
  } else if (kind == "subscribe" && liveChannel.starts_with(store_.keys().livePrefix())) {
    onSubscribeConfirmed(std::string(liveChannel.substr(store_.keys().livePrefix().size())));
  }
  // "unsubscribe" needs nothing: the channel's state went when its count reached 0.
}

void RedisSubscriber::onSubscribeConfirmed(const std::string& channel) {
  auto found = channels_.find(channel);
  if (found == channels_.end()) {
    return;
  }
  auto& subscription = found->second;
  if (--subscription.subscribesInFlight > 0) {
    return;  // a later SUBSCRIBE of this channel is still on its way
  }
  if (!subscription.subscribed) {
    if (subscription.total == 0 && !subscription.baselinePending) {
      channels_.erase(found);
    }
    return;
  }
  if (subscription.needsBackfill) {
    backfill(channel, subscription);
  }
  subscription.confirmed = true;
  auto pending = std::exchange(subscription.pending, {});
  for (auto& request : pending) {
    if (request.done) {
      request.done(true);
    }
  }
  if (subscription.total == 0) {
    // Everyone left while the SUBSCRIBE was on its way.
    sendCommand({"UNSUBSCRIBE", store_.keys().live(channel)});
    channels_.erase(found);
  }
}

void RedisSubscriber::backfill(const std::string& channel, ChannelSubscription& subscription) {
  // A failure here propagates as RedisError: the connection is dropped and the
  // whole re-subscribe and backfill is retried.
  const NotificationId from = subscription.lastDelivered;
  ChannelRead read = store_.readAfter(channel, from);
  const Notification* firstAfter = read.entries.empty() ? nullptr : read.entries.front().get();
  auto reason = assessResume(from, read.meta, firstAfter, read.removal);
  if (reason == ResetReason::invalidCursor) {
    // Redis holds less than was delivered (its data was replaced): what the
    // subscribers saw is gone, and newer ids may be lower than ours.
    reason = ResetReason::lost;
    subscription.lastDelivered = read.meta.newest;
  }
  if (reason) {
    spdlog::warn("redis backfill of channel {} from {} is incomplete: {}", channel, from.str(),
                 toString(*reason));
    if (subscription.mask != 0) {
      listener_->onChannelReset(subscription.mask, channel, *reason);
    }
  }
  for (const auto& notification : read.entries) {
    deliver(subscription, notification);
  }
  subscription.needsBackfill = false;
}

void RedisSubscriber::onMessage(std::string_view liveChannel, std::string_view payload) {
  const std::string& prefix = store_.keys().livePrefix();
  if (!liveChannel.starts_with(prefix)) {
    return;
  }
  const std::string channel(liveChannel.substr(prefix.size()));
  auto found = channels_.find(channel);
  if (found == channels_.end() || !found->second.confirmed) {
    return;  // not (or no longer) subscribed; a backfill covers what precedes confirmation
  }
  auto notification = parseLivePayload(channel, payload);
  if (!notification) {
    spdlog::error("redis pub/sub message on {} is malformed; dropped", liveChannel);
    return;
  }
  deliver(found->second, notification);
}

void RedisSubscriber::deliver(ChannelSubscription& subscription, const NotificationPtr& notification) {
  if (notification->id <= subscription.lastDelivered) {
    return;  // already delivered (live and backfill overlap after a reconnect)
  }
  subscription.lastDelivered = notification->id;
  if (subscription.mask != 0) {
    listener_->onNotification(subscription.mask, notification);
  }
}

void RedisSubscriber::onConnectionLost() {
  connected_.store(false);
  connection_.reset();
  for (auto it = channels_.begin(); it != channels_.end();) {
    auto& subscription = it->second;
    subscription.subscribed = false;
    subscription.confirmed = false;
    subscription.subscribesInFlight = 0;
    subscription.baselinePending = false;
    subscription.needsBackfill = true;
    failPending(subscription);
    it = subscription.total == 0 ? channels_.erase(it) : std::next(it);
  }
}

void RedisSubscriber::waitBeforeRetry(std::chrono::milliseconds delay) {
  const auto deadline = Clock::now() + delay;
  while (!stopping_.load()) {
    handleRequestsWhileDisconnected();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return;
    }
    pollfd fd{wakeFd_, POLLIN, 0};
    ::poll(&fd, 1, pollTimeoutMs(left));
  }
}

}  // namespace herald
