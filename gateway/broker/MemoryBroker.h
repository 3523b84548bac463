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
//
// Memory is given back: a sweeper thread frees every channel that has no
// subscriber and no retained history (docs/architecture-brokers.md). A freed
// channel that had history leaves a small tombstone (its ids), so a resume
// still tells `expired` from `lost`; tombstones are bounded in number and age,
// and past that bound a resume gets `lost` -- still a signalled gap.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "gateway/broker/Broker.h"
#include "gateway/broker/ResumeProof.h"
#include "gateway/config/Config.h"

namespace herald {

class MemoryBroker final : public Broker {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // The clock of TTLs and the sweeper; tests inject their own.
  using SteadyClock = std::function<SteadyTime()>;
  // At most this many freed channels keep a tombstone, each for 4 x --history-ttl.
  static constexpr std::size_t kMaxTombstones = 65536;
  static constexpr std::chrono::milliseconds kSweepInterval{1000};
  // How many buckets of the channel map one slice of a sweep visits under its mutex.
  static constexpr std::size_t kSweepBucketsPerLock = 1024;

  explicit MemoryBroker(const Config& config, SteadyClock clock = {});
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

  // Frees every channel with no subscriber and no retained history; returns how
  // many. The sweeper thread (started by start()) calls it every kSweepInterval.
  std::size_t sweep();
  // Channels held in memory, and tombstones of freed ones (for tests and metrics).
  std::size_t channelCount();
  std::size_t tombstoneCount();

 private:
  struct ChannelState;
  using ChannelPtr = std::shared_ptr<ChannelState>;
  // What a freed channel that had history leaves behind: enough to answer a resume.
  struct Tombstone {
    ChannelMeta meta;
    NotificationId lastTrimmedId;
    NotificationId lastExpiredId;
    SteadyTime buriedAt;
  };

  struct IdempotencyRecord {
    std::string bodyDigest;
    std::vector<NotificationId> ids;
    SteadyTime expiresAt;
  };

  // The channel's state, created on first use (from its tombstone, if any). The
  // sweeper may free it before the caller locks it: then `removed` is set and the
  // caller asks again.
  ChannelPtr channelState(const std::string& channel);
  // The channel's state if it exists (nullptr otherwise); never creates one.
  // Without one, `tombstone` receives the channel's tombstone when it has one.
  ChannelPtr findChannel(const std::string& channel, std::optional<Tombstone>* tombstone = nullptr);
  // Appends one notification to `state` (whose mutex the caller holds) and delivers it.
  NotificationId appendLocked(ChannelState& state, const PublishItem& item, std::int64_t publishedUs);
  // The next id, strictly greater than every id handed out before by this broker.
  NotificationId nextId();
  void dropExpiredLocked(ChannelState& state, SteadyTime now) const;
  void pruneIdempotencyLocked(SteadyTime now);
  void pruneTombstonesLocked(SteadyTime now);
  void sweepLoop();

  const std::size_t historySize_;
  const std::chrono::milliseconds historyTtl_;
  const std::chrono::milliseconds idempotencyTtl_;
  const SteadyClock clock_;

  // Set by start(), cleared by stop(); publishers read it without a lock.
  std::atomic<BrokerListener*> listener_{nullptr};

  std::mutex channelsMutex_;
  std::unordered_map<std::string, ChannelPtr> channels_;
  // Guarded by channelsMutex_. Burial order, oldest first; an entry whose
  // tombstone was revived or replaced (another buriedAt) is skipped.
  std::unordered_map<std::string, Tombstone> tombstones_;
  std::deque<std::pair<std::string, SteadyTime>> tombstoneOrder_;

  std::mutex sweeperMutex_;
  std::condition_variable sweeperWake_;
  bool sweeperStop_ = false;
  std::thread sweeper_;

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
