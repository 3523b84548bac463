// SubscriptionHub: receives the broker's live notifications and posts each one
// to the stream threads that have subscribers of its channel.
//
// It encodes a notification once (the plain one-channel frame) before posting,
// so every shard and every stream shares the same bytes. No lock is taken here:
// the broker says which shards want the channel (its subscription mask).
#pragma once

#include "gateway/broker/Broker.h"
#include "gateway/hub/ShardSet.h"

namespace herald {

class SubscriptionHub : public BrokerListener {
 public:
  explicit SubscriptionHub(ShardSet& shards) : shards_(shards) {}

  void onNotification(ShardMask shards, NotificationPtr notification) override;
  void onChannelReset(ShardMask shards, const std::string& channel, ResetReason reason) override;

 private:
  ShardSet& shards_;
};

}  // namespace herald
