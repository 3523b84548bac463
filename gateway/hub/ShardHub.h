// ShardHub: the subscribers of one stream thread, by channel.
//
// Each stream thread (shard) runs one io_context and owns one ShardHub; every
// call below happens on that thread, so the channel map needs no lock. The
// SubscriptionHub posts each broker notification to the shards that have
// subscribers of its channel, and the shard hands it to each of them. The hub
// also sends the heartbeat comment to every live stream of the shard with one
// timer, instead of one timer per connection.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/hub/Admission.h"
#include "gateway/hub/Subscriber.h"
#include "gateway/metrics/AtomicHistogram.h"
#include "gateway/metrics/ErrorCodes.h"
#include "gateway/metrics/RelaySnapshot.h"

namespace herald {

// Counters of one shard: written only by its thread, read by anyone (relaxed).
struct ShardStats {
  std::atomic<std::int64_t> connections{0};  // open SSE streams
  std::atomic<std::uint64_t> connectionsTotal{0};
  std::atomic<std::uint64_t> eventsDelivered{0};
  std::atomic<std::uint64_t> eventsReplayed{0};
  std::atomic<std::uint64_t> slowClientsDropped{0};
  std::atomic<std::uint64_t> streamsShed{0};     // refused with retry: (capacity, overload)
  std::atomic<std::uint64_t> streamsDrained{0};  // ended with retry: for shutdown
  // Requests the stream listener refused, by error code (herald_rejected_requests_total).
  std::array<std::atomic<std::uint64_t>, kErrorCodes.size()> rejected{};
  // Publish -> write of each live event (herald_delivery_lag_seconds).
  AtomicHistogram deliveryLag;

  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
};

class ShardHub {
 public:
  // `writeTimeout`: how long one write of a stream may take (0: no deadline).
  ShardHub(unsigned index, boost::asio::io_context& io, std::chrono::milliseconds heartbeat,
           Admission& admission, std::chrono::milliseconds writeTimeout = std::chrono::milliseconds(0));

  unsigned index() const { return index_; }
  boost::asio::io_context& io() { return io_; }
  ShardStats& stats() { return stats_; }
  Admission& admission() { return admission_; }
  const ShardStats& stats() const { return stats_; }

  // `slot` is where the hub keeps the subscriber's place in the channel's list; it must
  // stay at one address until removeSubscriber, which then takes O(1) (a node's
  // 100,000 subscribers of one channel can all leave at once).
  void addSubscriber(const std::string& channel, Subscriber* subscriber, std::uint32_t& slot);
  void removeSubscriber(const std::string& channel, Subscriber* subscriber, std::uint32_t& slot);
  // Streams that get heartbeats (live streams).
  void addStream(Subscriber* subscriber) { streams_.insert(subscriber); }
  void removeStream(Subscriber* subscriber) { streams_.erase(subscriber); }

  void deliver(const NotificationPtr& notification, const Frame& plainFrame);
  void resetChannel(const std::string& channel, ResetReason reason);

  // Ends this shard's live streams in batches spread evenly until `deadline`.
  void beginDrain(std::chrono::steady_clock::time_point deadline);

  void startHeartbeat();
  void stopHeartbeat() {
    heartbeatTimer_.cancel();
    writeCheckTimer_.cancel();
  }

 private:
  void scheduleHeartbeat();
  void scheduleWriteCheck();

  struct Member {
    Subscriber* subscriber;
    std::uint32_t* slot;  // the member's index in its list, kept by the subscriber
  };
  void drainTick();

  unsigned index_;
  boost::asio::io_context& io_;
  std::chrono::milliseconds heartbeat_;
  boost::asio::steady_timer heartbeatTimer_;
  Frame heartbeatFrame_;
  Admission& admission_;
  boost::asio::steady_timer drainTimer_;
  std::chrono::steady_clock::time_point drainDeadline_;
  std::chrono::steady_clock::time_point drainStarted_;
  std::size_t drainInitial_ = 0;
  std::size_t drainEnded_ = 0;
  std::chrono::milliseconds writeTimeout_;
  boost::asio::steady_timer writeCheckTimer_;
  std::unordered_map<std::string, std::vector<Member>> channels_;
  std::unordered_set<Subscriber*> streams_;
  ShardStats stats_;
};

}  // namespace herald
