#include "gateway/broker/RedisSubscriber.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

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
  // Subscribes that arrived during shutdown get their answer too.
  handleRequestsWhileDisconnected();
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
  // Not std::optional: GCC 12 -O2 flags a false maybe-uninitialized on it.
  Clock::time_point pingSentAt{};
  bool pingPending = false;
  while (!stopping_.load()) {
    handleRequests();
    flush();

    const auto now = Clock::now();
    if (pingPending && now - pingSentAt > timeout_) {
      connection_->fail("PING unanswered");
    }
    if (!pingPending && now - lastActivity >= kPingInterval) {
      sendCommand({"PING"});
      flush();
      pingSentAt = now;
      pingPending = true;
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
      if (pingPending && ((reply->type == REDIS_REPLY_STATUS && replyText(*reply) == "PONG") ||
                          (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                           replyText(*reply->element[0]) == "pong"))) {
        pingPending = false;
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
