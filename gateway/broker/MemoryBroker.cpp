#include "gateway/broker/MemoryBroker.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

std::uint64_t wallClockMillis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

struct MemoryBroker::ChannelState {
  struct Entry {
    NotificationPtr notification;
    SteadyTime storedAt;
  };

  std::mutex mutex;
  std::deque<Entry> ring;  // oldest first, at most historySize
  ChannelMeta meta;
  // The newest id removed by size trimming / by the TTL: they tell a resume which
  // of the two removed the entries after its id.
  NotificationId lastTrimmedId;
  NotificationId lastExpiredId;
  ShardRefCounts shards;
};

MemoryBroker::MemoryBroker(const Config& config)
    : historySize_(std::max<std::size_t>(config.historySize, 1)),
      historyTtl_(config.historyTtl),
      idempotencyTtl_(config.idempotencyTtl) {}

MemoryBroker::~MemoryBroker() {
  stop();
}

void MemoryBroker::start(BrokerListener& listener) {
  listener_.store(&listener);
}

void MemoryBroker::stop() {
  listener_.store(nullptr);
}

MemoryBroker::ChannelState& MemoryBroker::channelState(const std::string& channel) {
  std::lock_guard lock(channelsMutex_);
  auto& slot = channels_[channel];
  if (!slot) {
    slot = std::make_unique<ChannelState>();
  }
  return *slot;
}

MemoryBroker::ChannelState* MemoryBroker::findChannel(const std::string& channel) {
  std::lock_guard lock(channelsMutex_);
  auto found = channels_.find(channel);
  return found == channels_.end() ? nullptr : found->second.get();
}

NotificationId MemoryBroker::nextId() {
  std::lock_guard lock(idMutex_);
  const std::uint64_t nowMs = wallClockMillis();
  // Never below the last id's ms: when the clock goes back, keep its ms and bump seq.
  if (nowMs > lastId_.ms) {
    lastId_ = NotificationId{nowMs, 0};
  } else {
    ++lastId_.seq;
  }
  return lastId_;
}

void MemoryBroker::dropExpiredLocked(ChannelState& state, SteadyTime now) const {
  while (!state.ring.empty() && now - state.ring.front().storedAt >= historyTtl_) {
    state.lastExpiredId = state.ring.front().notification->id;
    state.ring.pop_front();
  }
}

NotificationId MemoryBroker::appendLocked(ChannelState& state, const PublishItem& item,
                                          std::int64_t publishedUs) {
  const SteadyTime now = std::chrono::steady_clock::now();
  dropExpiredLocked(state, now);

  auto notification = std::make_shared<Notification>();
  notification->channel = item.channel;
  notification->id = nextId();
  notification->prev = state.meta.known ? state.meta.newest : NotificationId{};
  notification->event = item.event;
  notification->data = item.data;
  notification->publishedUs = publishedUs;

  if (!state.meta.known) {
    state.meta.known = true;
    state.meta.generationStart = notification->id;
  }
  state.meta.newest = notification->id;
  state.ring.push_back({notification, now});
  while (state.ring.size() > historySize_) {
    state.lastTrimmedId = state.ring.front().notification->id;
    state.ring.pop_front();
  }

  // Delivered while the channel lock is held, so concurrent publishers to one
  // channel reach the listener in id order.
  BrokerListener* listener = listener_.load();
  if (listener != nullptr && state.shards.mask() != 0) {
    listener->onNotification(state.shards.mask(), notification);
  }
  return notification->id;
}

void MemoryBroker::pruneIdempotencyLocked(SteadyTime now) {
  while (!idempotencyOrder_.empty()) {
    auto found = idempotency_.find(idempotencyOrder_.front());
    if (found != idempotency_.end() && found->second.expiresAt > now) {
      break;
    }
    if (found != idempotency_.end()) {
      idempotency_.erase(found);
    }
    idempotencyOrder_.pop_front();
  }
}

PublishOutcome MemoryBroker::publish(const std::vector<PublishItem>& items,
                                     const std::optional<IdempotencyToken>& idempotency) {
  std::unique_lock<std::mutex> idempotencyLock;
  if (idempotency) {
    idempotencyLock = std::unique_lock(idempotencyMutex_);
    const SteadyTime now = std::chrono::steady_clock::now();
    pruneIdempotencyLocked(now);
    auto found = idempotency_.find(idempotency->key);
    if (found != idempotency_.end()) {
      if (found->second.bodyDigest != idempotency->bodyDigest) {
        throw IdempotencyConflict("Idempotency-Key '" + idempotency->key +
                                  "' was used with a different request body");
      }
      return PublishOutcome{found->second.ids, true};
    }
  }

  PublishOutcome outcome;
  outcome.ids.reserve(items.size());
  const std::int64_t publishedUs = wallClockMicros();
  for (const auto& item : items) {
    ChannelState& state = channelState(item.channel);
    std::lock_guard lock(state.mutex);
    outcome.ids.push_back(appendLocked(state, item, publishedUs));
  }

  if (idempotency) {
    const SteadyTime expiresAt = std::chrono::steady_clock::now() + idempotencyTtl_;
    idempotency_[idempotency->key] = IdempotencyRecord{idempotency->bodyDigest, outcome.ids, expiresAt};
    idempotencyOrder_.push_back(idempotency->key);
  }
  return outcome;
}

HistoryPage MemoryBroker::history(const std::string& channel, std::optional<NotificationId> after,
                                  std::size_t limit) {
  HistoryPage page;
  ChannelState* state = findChannel(channel);
  if (state == nullptr || limit == 0) {
    return page;
  }
  std::lock_guard lock(state->mutex);
  dropExpiredLocked(*state, std::chrono::steady_clock::now());
  auto first = state->ring.begin();
  if (after) {
    first = std::upper_bound(state->ring.begin(), state->ring.end(), *after,
                             [](const NotificationId& id, const ChannelState::Entry& entry) {
                               return id < entry.notification->id;
                             });
  }
  for (auto it = first; it != state->ring.end() && page.items.size() < limit; ++it) {
    page.items.push_back(it->notification);
  }
  return page;
}

void MemoryBroker::subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) {
  if (shard >= kMaxShards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " is out of range");
  }
  {
    ChannelState& state = channelState(channel);
    std::lock_guard lock(state.mutex);
    state.shards.add(shard);
  }
  if (done) {
    done(true);
  }
}

void MemoryBroker::unsubscribe(const std::string& channel, unsigned shard) {
  if (shard >= kMaxShards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " is out of range");
  }
  ChannelState* state = findChannel(channel);
  if (state == nullptr) {
    return;
  }
  std::lock_guard lock(state->mutex);
  state->shards.remove(shard);
}

void MemoryBroker::replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
                          std::function<void(ReplayResult)> done) {
  ReplayResult result;
  ChannelState* state = findChannel(channel);
  if (state == nullptr) {
    // Never published in this process: only a replay from the start is provable.
    if (from) {
      result.reset = assessResume(*from, ChannelMeta{}, nullptr, ResetReason::lost);
    }
    done(std::move(result));
    return;
  }

  {
    std::lock_guard lock(state->mutex);
    dropExpiredLocked(*state, std::chrono::steady_clock::now());
    result.newest = state->meta.newest;
    if (from) {
      auto first = std::upper_bound(state->ring.begin(), state->ring.end(), *from,
                                    [](const NotificationId& id, const ChannelState::Entry& entry) {
                                      return id < entry.notification->id;
                                    });
      const Notification* firstAfter = first == state->ring.end() ? nullptr : first->notification.get();
      // The higher removal mark past `from` is the one that removed the entries
      // right before what is retained.
      const bool expiredPastFrom =
          *from < state->lastExpiredId && state->lastExpiredId >= state->lastTrimmedId;
      const ResetReason removal = expiredPastFrom ? ResetReason::expired : ResetReason::truncated;
      result.reset = assessResume(*from, state->meta, firstAfter, removal);
      if (result.reset != ResetReason::invalidCursor) {
        auto it = first;
        for (; it != state->ring.end() && result.items.size() < limit; ++it) {
          result.items.push_back(it->notification);
        }
        result.more = it != state->ring.end();
      }
    }
  }
  done(std::move(result));
}

}  // namespace herald
