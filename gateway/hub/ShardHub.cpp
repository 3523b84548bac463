#include "gateway/hub/ShardHub.h"

#include <algorithm>

#include "gateway/sse/SseEncoder.h"

namespace herald {

ShardHub::ShardHub(unsigned index, boost::asio::io_context& io, std::chrono::milliseconds heartbeat)
    : index_(index),
      io_(io),
      heartbeat_(heartbeat),
      heartbeatTimer_(io),
      heartbeatFrame_(std::make_shared<const std::string>(sse::encodeComment("heartbeat"))) {}

void ShardHub::addSubscriber(const std::string& channel, Subscriber* subscriber) {
  channels_[channel].push_back(subscriber);
}

void ShardHub::removeSubscriber(const std::string& channel, Subscriber* subscriber) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return;
  }
  auto& list = it->second;
  auto pos = std::find(list.begin(), list.end(), subscriber);
  if (pos != list.end()) {
    *pos = list.back();
    list.pop_back();
  }
  if (list.empty()) {
    channels_.erase(it);
  }
}

void ShardHub::deliver(const NotificationPtr& notification, const Frame& plainFrame) {
  auto it = channels_.find(notification->channel);
  if (it == channels_.end()) {
    return;
  }
  // Subscribers never remove themselves synchronously from here (closing is
  // posted), so iterating the list while they react is safe.
  for (Subscriber* subscriber : it->second) {
    subscriber->onNotification(notification, plainFrame);
  }
}

void ShardHub::resetChannel(const std::string& channel, ResetReason reason) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return;
  }
  for (Subscriber* subscriber : it->second) {
    subscriber->onChannelReset(channel, reason);
  }
}

void ShardHub::startHeartbeat() { scheduleHeartbeat(); }

void ShardHub::scheduleHeartbeat() {
  heartbeatTimer_.expires_after(heartbeat_);
  heartbeatTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    for (Subscriber* subscriber : streams_) {
      subscriber->onHeartbeat(heartbeatFrame_);
    }
    scheduleHeartbeat();
  });
}

}  // namespace herald
