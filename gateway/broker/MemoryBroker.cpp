#include "gateway/broker/MemoryBroker.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "gateway/broker/ResumeProof.h"

namespace herald {

namespace {

std::uint64_t wallClockMillis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// The higher removal mark past `from` is the one that removed the entries right
// before what is retained.
ResetReason removalReason(NotificationId from, NotificationId lastTrimmedId, NotificationId lastExpiredId) {
  const bool expiredPastFrom = from < lastExpiredId && lastExpiredId >= lastTrimmedId;
  return expiredPastFrom ? ResetReason::expired : ResetReason::truncated;
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
  bool removed = false;  // freed by the sweeper: whoever locks it afterwards asks again
};

MemoryBroker::MemoryBroker(const Config& config, SteadyClock clock)
    : historySize_(std::max<std::size_t>(config.historySize, 1)),
      historyTtl_(config.historyTtl),
      idempotencyTtl_(config.idempotencyTtl),
      clock_(clock ? std::move(clock) : SteadyClock([] { return std::chrono::steady_clock::now(); })) {}

MemoryBroker::~MemoryBroker() {
  stop();
}

void MemoryBroker::start(BrokerListener& listener) {
  listener_.store(&listener);
  std::lock_guard lock(sweeperMutex_);
  if (!sweeper_.joinable()) {
    sweeperStop_ = false;
    sweeper_ = std::thread([this] { sweepLoop(); });
  }
}

void MemoryBroker::stop() {
  listener_.store(nullptr);
  std::thread sweeper;
  {
    std::lock_guard lock(sweeperMutex_);
    sweeperStop_ = true;
    sweeper = std::move(sweeper_);
  }
  sweeperWake_.notify_all();
  if (sweeper.joinable()) {
    sweeper.join();
  }
}

void MemoryBroker::sweepLoop() {
  std::unique_lock lock(sweeperMutex_);
  while (!sweeperWake_.wait_for(lock, kSweepInterval, [this] { return sweeperStop_; })) {
    lock.unlock();
    sweep();
    lock.lock();
  }
}

MemoryBroker::ChannelPtr MemoryBroker::channelState(const std::string& channel) {
  std::lock_guard lock(channelsMutex_);
  auto& slot = channels_[channel];
  if (!slot) {
    slot = std::make_shared<ChannelState>();
    // A channel that comes back continues its generation, so old resume ids
    // are still told `expired`, not `lost`.
    auto buried = tombstones_.find(channel);
    if (buried != tombstones_.end()) {
      slot->meta = buried->second.meta;
      slot->lastTrimmedId = buried->second.lastTrimmedId;
      slot->lastExpiredId = buried->second.lastExpiredId;
      tombstones_.erase(buried);
    }
  }
  return slot;
}

MemoryBroker::ChannelPtr MemoryBroker::findChannel(const std::string& channel,
                                                   std::optional<Tombstone>* tombstone) {
  std::lock_guard lock(channelsMutex_);
  auto found = channels_.find(channel);
  if (found != channels_.end()) {
    return found->second;
  }
  if (tombstone != nullptr) {
    auto buried = tombstones_.find(channel);
    if (buried != tombstones_.end()) {
      *tombstone = buried->second;
    }
  }
  return nullptr;
}

std::size_t MemoryBroker::sweep() {
  const SteadyTime now = clock_();
  std::size_t freed = 0;
  // Bucket by bucket, the map's mutex held for kSweepBucketsPerLock buckets at a
  // time, so publishers and subscribers wait for a slice, not for a whole pass. A
  // rehash between slices may make this pass skip or revisit a few channels;
  // the next pass catches them.
  for (std::size_t bucket = 0;;) {
    std::lock_guard lock(channelsMutex_);
    const std::size_t buckets = channels_.bucket_count();
    if (bucket >= buckets) {
      pruneTombstonesLocked(now);
      if (freed > 0 && buckets > 4 * (channels_.size() + 16)) {
        channels_.rehash(0);  // give the bucket array back too
      }
      break;
    }
    std::vector<std::string> doomed;
    for (const std::size_t last = std::min(buckets, bucket + kSweepBucketsPerLock); bucket < last; ++bucket) {
      for (auto it = channels_.begin(bucket); it != channels_.end(bucket); ++it) {
        ChannelState& state = *it->second;
        // A channel busy right now is in use: leave it for the next pass.
        std::unique_lock stateLock(state.mutex, std::try_to_lock);
        if (!stateLock) {
          continue;
        }
        dropExpiredLocked(state, now);
        if (state.shards.mask() != 0 || !state.ring.empty()) {
          continue;
        }
        if (state.meta.known) {
          tombstones_[it->first] = Tombstone{state.meta, state.lastTrimmedId, state.lastExpiredId, now};
          tombstoneOrder_.emplace_back(it->first, now);
        }
        state.removed = true;
        doomed.push_back(it->first);
      }
    }
    for (const auto& name : doomed) {
      channels_.erase(name);  // erasing never rehashes
    }
    freed += doomed.size();
  }
#if defined(__GLIBC__)
  // glibc keeps freed small blocks in its heaps; hand whole free pages back to the system.
  if (freed > 0) {
    malloc_trim(0);
  }
#endif
  return freed;
}

void MemoryBroker::pruneTombstonesLocked(SteadyTime now) {
  // Like the Redis meta: a tombstone answers `expired` for 4 x the TTL, then `lost`.
  const auto maxAge = historyTtl_ * 4;
  while (!tombstoneOrder_.empty()) {
    const auto& [name, buriedAt] = tombstoneOrder_.front();
    auto buried = tombstones_.find(name);
    const bool current = buried != tombstones_.end() && buried->second.buriedAt == buriedAt;
    if (current && tombstones_.size() <= kMaxTombstones && now - buriedAt < maxAge) {
      break;
    }
    if (current) {
      tombstones_.erase(buried);
    }
    tombstoneOrder_.pop_front();
  }
}

std::size_t MemoryBroker::channelCount() {
  std::lock_guard lock(channelsMutex_);
  return channels_.size();
}

std::size_t MemoryBroker::tombstoneCount() {
  std::lock_guard lock(channelsMutex_);
  return tombstones_.size();
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
  const SteadyTime now = clock_();
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
    const SteadyTime now = clock_();
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
    for (;;) {
      ChannelPtr state = channelState(item.channel);
      std::lock_guard lock(state->mutex);
      if (!state->removed) {
        outcome.ids.push_back(appendLocked(*state, item, publishedUs));
        break;
      }
    }
  }

  if (idempotency) {
    const SteadyTime expiresAt = clock_() + idempotencyTtl_;
    idempotency_[idempotency->key] = IdempotencyRecord{idempotency->bodyDigest, outcome.ids, expiresAt};
    idempotencyOrder_.push_back(idempotency->key);
  }
  return outcome;
}

HistoryPage MemoryBroker::history(const std::string& channel, std::optional<NotificationId> after,
                                  std::size_t limit) {
  HistoryPage page;
  ChannelPtr state = findChannel(channel);
  if (state == nullptr || limit == 0) {
    return page;
  }
  std::lock_guard lock(state->mutex);
  if (state->removed) {
    return page;  // freed because nothing was retained
  }
  dropExpiredLocked(*state, clock_());
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
  for (;;) {
    ChannelPtr state = channelState(channel);
    std::lock_guard lock(state->mutex);
    if (state->removed) {
      continue;
    }
    state->shards.add(shard);
    break;
  }
  if (done) {
    done(true);
  }
}

void MemoryBroker::unsubscribe(const std::string& channel, unsigned shard) {
  if (shard >= kMaxShards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " is out of range");
  }
  ChannelPtr state = findChannel(channel);
  if (state == nullptr) {
    return;
  }
  std::lock_guard lock(state->mutex);
  // A freed channel had no subscriber left.
  if (state->removed) {
    return;
  }
  state->shards.remove(shard);
}

void MemoryBroker::replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
                          std::function<void(ReplayResult)> done) {
  ReplayResult result;
  std::optional<Tombstone> tombstone;
  bool answered = false;
  for (ChannelPtr state = findChannel(channel, &tombstone); state != nullptr;
       state = findChannel(channel, &tombstone)) {
    std::lock_guard lock(state->mutex);
    if (state->removed) {
      continue;  // freed meanwhile: look again (its tombstone, if any, answers)
    }
    dropExpiredLocked(*state, clock_());
    result.newest = state->meta.newest;
    if (from) {
      auto first = std::upper_bound(state->ring.begin(), state->ring.end(), *from,
                                    [](const NotificationId& id, const ChannelState::Entry& entry) {
                                      return id < entry.notification->id;
                                    });
      const Notification* firstAfter = first == state->ring.end() ? nullptr : first->notification.get();
      result.reset = assessResume(*from, state->meta, firstAfter,
                                  removalReason(*from, state->lastTrimmedId, state->lastExpiredId));
      if (result.reset != ResetReason::invalidCursor) {
        auto it = first;
        for (; it != state->ring.end() && result.items.size() < limit; ++it) {
          result.items.push_back(it->notification);
        }
        result.more = it != state->ring.end();
      }
    }
    answered = true;
    break;
  }
  if (!answered && tombstone) {
    // Freed with its history expired: what the ids say, with nothing retained.
    result.newest = tombstone->meta.newest;
    if (from) {
      result.reset = assessResume(*from, tombstone->meta, nullptr,
                                  removalReason(*from, tombstone->lastTrimmedId, tombstone->lastExpiredId));
    }
  } else if (!answered && from) {
    // Never published in this process, or freed past the tombstones' bound:
    // only a replay from the start is provable.
    result.reset = assessResume(*from, ChannelMeta{}, nullptr, ResetReason::lost);
  }
  done(std::move(result));  // with no lock held: it may call back into the broker
}

}  // namespace herald
