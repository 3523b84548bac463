#include "gateway/broker/RedisSubscriber.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <future>
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

RedisSubscriber::RedisSubscriber(RedisClient& client, RedisStore& store, std::chrono::milliseconds timeout)
    : client_(client), store_(store), timeout_(timeout) {
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

void RedisSubscriber::connect() {
  auto inbox = std::make_shared<Inbox>();
  auto link = client_.makeLink();
  auto outcome = std::make_shared<std::promise<std::exception_ptr>>();
  auto connected = outcome->get_future();
  boost::asio::post(client_.io(), [this, link, inbox, outcome] {
    link->connect([this, link, inbox, outcome](std::exception_ptr error) {
      if (!error) {
        // On the client's thread: only queue and wake; the subscriber thread does the work.
        link->enterPushMode([this, inbox](ReplyPtr reply) {
          {
            std::lock_guard lock(inbox->mutex);
            inbox->replies.push_back(std::move(reply));
          }
          wake();
        });
        link->onClose([this, inbox](std::exception_ptr reason) {
          {
            std::lock_guard lock(inbox->mutex);
            inbox->closed = reason;
          }
          wake();
        });
      }
      outcome->set_value(error);
    });
  });
  // The link's own connect timeout ends the attempt; the margin only guards a stopped loop.
  const auto deadline = Clock::now() + timeout_ * 2 + kPingInterval;
  while (connected.wait_for(kPingInterval / 4) != std::future_status::ready) {
    if (stopping_.load() || Clock::now() > deadline) {
      throw RedisError("Redis subscriber stopped while connecting");
    }
  }
  if (auto error = connected.get()) {
    std::rethrow_exception(error);
  }
  link_ = std::move(link);
  inbox_ = std::move(inbox);
}

void RedisSubscriber::run() {
  std::chrono::milliseconds backoff = kInitialBackoff;
  bool everConnected = false;
  std::string lastFailure;
  while (!stopping_.load()) {
    try {
      connect();
      const std::string where = client_.endpoint().address.str();
      if (everConnected) {
        reconnects_.fetch_add(1);
        spdlog::info("redis subscriber reconnected to {}", where);
      } else {
        spdlog::info("redis subscriber connected to {}", where);
      }
      everConnected = true;
      lastFailure.clear();
      backoff = kInitialBackoff;
      resubscribeAll();
      serve();
    } catch (const RedisError& error) {
      // Logged once per distinct reason, not once per retry.
      if (lastFailure != error.what()) {
        spdlog::warn("redis subscriber connection to {} lost or unavailable: {}",
                     client_.endpoint().address.str(), error.what());
        lastFailure = error.what();
      }
    } catch (const std::exception& error) {
      // Not a Redis failure (a listener that threw): still start over rather than die.
      spdlog::error("redis subscriber failed: {}; reconnecting", error.what());
    }
    onConnectionLost();
    if (stopping_.load()) {
      break;
    }
    waitBeforeRetry(withJitter(backoff));
    backoff = std::min(backoff * kBackoffFactor, kMaxBackoff);
  }
  onConnectionLost();
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

bool RedisSubscriber::backfillsPending() const {
  return std::any_of(channels_.begin(), channels_.end(),
                     [](const auto& entry) { return entry.second.needsBackfill && entry.second.subscribed; });
}

void RedisSubscriber::serve() {
  const Clock::time_point connectedAt = Clock::now();
  // Not std::optional: GCC 12 -O2 flags a false maybe-uninitialized on it.
  Clock::time_point pingSentAt{};
  bool pingPending = false;
  while (!stopping_.load()) {
    handleRequests();
    std::vector<ReplyPtr> replies;
    std::exception_ptr closed;
    {
      std::lock_guard lock(inbox_->mutex);
      replies = std::exchange(inbox_->replies, {});
      closed = inbox_->closed;
    }
    for (const auto& reply : replies) {
      handleReply(*reply);
    }
    runBackfills();
    if (closed) {
      std::rethrow_exception(closed);
    }
    // Ready once every re-subscribed channel has its backfill: before, /readyz says 503.
    if (!connected_.load() && !backfillsPending()) {
      connected_.store(true);
    }

    // Any bytes from Redis (a message, a confirmation, a pong) show the connection is alive.
    const auto now = Clock::now();
    const auto lastRead = std::max(link_->lastRead(), connectedAt);
    if (pingPending && lastRead > pingSentAt) {
      pingPending = false;
    }
    if (pingPending && now - pingSentAt > timeout_) {
      throw RedisError("Redis pub/sub connection: PING unanswered for " + std::to_string(timeout_.count()) +
                       " ms");
    }
    if (!pingPending && now - lastRead >= kPingInterval) {
      sendCommand({"PING"});
      pingSentAt = now;
      pingPending = true;
      if (store_.writesRefused()) {
        try {
          store_.probeWrites();
        } catch (const RedisError& error) {
          spdlog::warn("redis write probe failed: {}", error.what());
        }
      }
    }

    pollfd fd{wakeFd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, pollTimeoutMs(kPingInterval / 4));
    if (ready < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll in the Redis subscriber");
    }
  }
}

void RedisSubscriber::sendCommand(const std::vector<std::string_view>& args) {
  boost::asio::post(client_.io(), [link = link_, command = encodeCommand(args)]() mutable {
    link->send(std::move(command));
  });
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
