// RedisSubscriber: the one pub/sub connection of a node and the thread that owns its state.
//
// It turns the broker's reference-counted subscribe/unsubscribe calls into
// SUBSCRIBE/UNSUBSCRIBE of `<prefix>db<N>:live:<channel>` and hands every live
// message to the BrokerListener with the mask of the shards that want it, in id
// order and at most once (ids at or below the last delivered one are dropped).
// The connection is a RedisLink in push mode on the RedisClient's event loop
// (which only reads, parses and queues: it never waits on Redis); only the
// subscriber thread touches the per-channel state, so the delivery path takes no
// lock; requests and pushed replies arrive through locked queues and an eventfd
// wake-up. Any bytes from Redis count as liveness; an idle connection is PINGed.
// An error reply (an ACL refusal of SUBSCRIBE, a proxy) fails the connection and
// every pending subscribe. When the connection is lost it reports not ready, fails
// pending subscribes, reconnects with capped exponential backoff and jitter,
// re-subscribes every active channel and backfills what was published
// meanwhile from the channel's stream (signalling `onChannelReset` when that
// backfill cannot be proven complete) before live delivery resumes; it reports
// ready again only once every channel is backfilled.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisStore.h"
#include "gateway/broker/redis/RedisClient.h"

namespace herald {

class RedisSubscriber {
 public:
  // `store` (for baselines and backfills) must outlive the subscriber.
  RedisSubscriber(RedisClient& client, RedisStore& store, std::chrono::milliseconds timeout);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start(BrokerListener& listener);
  void stop();

  // Broker::subscribe / unsubscribe; `done` is called on the subscriber thread
  // (or at once with false when the connection is down).
  void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done);
  void unsubscribe(const std::string& channel, unsigned shard);

  // The pub/sub connection is up and every channel is backfilled.
  bool connected() const { return connected_.load(); }
  // Successful reconnections after a lost connection.
  std::uint64_t reconnects() const { return reconnects_.load(); }

 private:
  struct Request {
    bool subscribe = true;
    std::string channel;
    unsigned shard = 0;
    std::function<void(bool)> done;
  };
  struct PendingSubscribe {
    unsigned shard;
    std::function<void(bool)> done;
  };
  // One channel's subscription; touched only by the subscriber thread.
  struct ChannelSubscription {
    ShardRefCounts shards;
    bool subscribed = false;       // SUBSCRIBE sent, no UNSUBSCRIBE since
    int subscribesInFlight = 0;    // SUBSCRIBE confirmations still to come
    bool confirmed = false;        // live messages flow and are delivered
    bool needsBackfill = false;    // re-subscribed after a lost connection
    bool baselinePending = false;  // first subscriber: newest id still to read
    NotificationId lastDelivered;  // never deliver an id at or below this
    std::vector<PendingSubscribe> pending;
  };

  // What the link hands over from the client's thread: pushed replies, and why it closed.
  struct Inbox {
    std::mutex mutex;
    std::vector<ReplyPtr> replies;
    std::exception_ptr closed;
  };

  void run();
  // Connects a new link in push mode, or throws RedisError.
  void connect();
  // Serves one connection until it is lost (throws RedisError) or stop() is called.
  void serve();
  void resubscribeAll();
  void handleRequests();
  void handleRequestsWhileDisconnected();
  std::vector<Request> takeRequests();
  void handleReply(const redisReply& reply);
  void onSubscribeConfirmed(const std::string& channel);
  void onMessage(std::string_view liveChannel, std::string_view payload);
  // Backfills the queued channels, kBackfillBatch per pipelined round trip, and confirms them.
  void runBackfills();
  // Waits (up to the command timeout) until a command connection is open: after a Redis
  // restart they come back on their own schedule, and a backfill read before them would
  // fail and cost the pub/sub connection another round.
  void awaitCommandConnection() const;
  void backfill(const std::string& channel, ChannelSubscription& subscription, ChannelRead& read);
  void confirm(std::unordered_map<std::string, ChannelSubscription>::iterator found);
  void deliver(ChannelSubscription& subscription, const NotificationPtr& notification);
  void sendCommand(const std::vector<std::string_view>& args);
  bool backfillsPending() const;
  void onConnectionLost();
  void failPending(ChannelSubscription& subscription);
  void addShard(ChannelSubscription& subscription, unsigned shard);
  void removeShard(ChannelSubscription& subscription, unsigned shard);
  // Waits up to `delay` for stop(), answering requests meanwhile.
  void waitBeforeRetry(std::chrono::milliseconds delay);
  void wake();
  void drainWakeups();

  RedisClient& client_;
  RedisStore& store_;
  const std::chrono::milliseconds timeout_;
  BrokerListener* listener_ = nullptr;

  std::mutex requestsMutex_;
  std::vector<Request> requests_;
  int wakeFd_ = -1;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::thread thread_;

  // Subscriber thread only.
  std::shared_ptr<RedisLink> link_;
  std::shared_ptr<Inbox> inbox_;
  std::unordered_map<std::string, ChannelSubscription> channels_;
  std::vector<std::string> backfillQueue_;  // confirmed after a reconnect, not yet backfilled
  static constexpr std::size_t kBackfillBatch = 256;
};

}  // namespace herald
