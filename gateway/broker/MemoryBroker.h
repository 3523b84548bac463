// MemoryBroker: the embedded, single-node broker (`--broker memory`).
//
// It keeps each channel's recent history in process memory (a ring of at most
// --history-size entries, each dropped --history-ttl after it was stored) and
// delivers live notifications straight from the publishing thread to the
// listener. It needs no other process, which makes it the default for one node
// and the broker of most tests. Everything is lost when the process ends: a
// new process is a new history generation, so resume ids from before are
// reported as `lost`. The Idempotency-Key window is node-local. The listener is
// called with the channel's lock held (that is what keeps delivery in id order),
// so it must not call back into the broker.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"

namespace herald {

class MemoryBroker final : public Broker {
 public:
  explicit MemoryBroker(const Config& config);
  ~MemoryBroker() override;
  MemoryBroker(const MemoryBroker&) = delete;
  MemoryBroker& operator=(const MemoryBroker&) = delete;

  void start(BrokerListener& listener) override;
  void stop() override;
  bool ready() const override { return true; }
  std::string describe() const override { return "memory"; }

  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency) override;
  HistoryPage history(const std::string& channel, std::optional<NotificationId> after,
                      std::size_t limit) override;
  void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) override;
  void unsubscribe(const std::string& channel, unsigned shard) override;
  void replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
              std::function<void(ReplayResult)> done) override;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct ChannelState;

  struct IdempotencyRecord {
    std::string bodyDigest;
    std::vector<NotificationId> ids;
    SteadyTime expiresAt;
  };

  // The channel's state, created on first use. Channels are never removed: their
  // metadata must outlive their history so a resume can tell `expired` from `lost`.
  ChannelState& channelState(const std::string& channel);
  // The channel's state if it exists (nullptr otherwise); never creates one.
  ChannelState* findChannel(const std::string& channel);
  // Appends one notification to `state` (whose mutex the caller holds) and delivers it.
  NotificationId appendLocked(ChannelState& state, const PublishItem& item, std::int64_t publishedUs);
  // The next id, strictly greater than every id handed out before by this broker.
  NotificationId nextId();
  void dropExpiredLocked(ChannelState& state, SteadyTime now) const;
  void pruneIdempotencyLocked(SteadyTime now);

  const std::size_t historySize_;
  const std::chrono::milliseconds historyTtl_;
  const std::chrono::milliseconds idempotencyTtl_;

  // Set by start(), cleared by stop(); publishers read it without a lock.
  std::atomic<BrokerListener*> listener_{nullptr};

  std::mutex channelsMutex_;
  std::unordered_map<std::string, std::unique_ptr<ChannelState>> channels_;

  std::mutex idMutex_;
  NotificationId lastId_;

  // Held for the whole of an idempotent publish, so two requests with one key
  // cannot both publish. Lock order: idempotency, then channel, then id.
  std::mutex idempotencyMutex_;
  std::unordered_map<std::string, IdempotencyRecord> idempotency_;
  // Keys in insertion order; with one fixed TTL this is also expiry order.
  std::deque<std::string> idempotencyOrder_;
};

}  // namespace herald
