#include "gateway/hub/SubscriptionHub.h"

#include <bit>
#include <boost/asio/post.hpp>

#include "gateway/sse/SseEncoder.h"

namespace herald {

namespace {
template <typename Fn>
void forEachShard(ShardMask mask, unsigned shardCount, Fn&& fn) {
  while (mask != 0) {
    unsigned index = static_cast<unsigned>(std::countr_zero(mask));
    mask &= mask - 1;
    if (index < shardCount) {
      fn(index);
    }
  }
}
}  // namespace

void SubscriptionHub::onNotification(ShardMask shards, NotificationPtr notification) {
  if (shards == 0) {
    return;
  }
  Frame frame = std::make_shared<const std::string>(
      sse::encodeEvent(notification->id.str(), notification->event, notification->data));
  forEachShard(shards, shards_.size(), [&](unsigned index) {
    ShardHub& hub = shards_.hub(index);
    boost::asio::post(hub.io(), [&hub, notification, frame] { hub.deliver(notification, frame); });
  });
}

void SubscriptionHub::onChannelReset(ShardMask shards, const std::string& channel, ResetReason reason) {
  forEachShard(shards, shards_.size(), [&](unsigned index) {
    ShardHub& hub = shards_.hub(index);
    boost::asio::post(hub.io(), [&hub, channel, reason] { hub.resetChannel(channel, reason); });
  });
}

}  // namespace herald
