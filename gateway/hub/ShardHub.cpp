#include "gateway/hub/ShardHub.h"

#include <algorithm>

#include "gateway/sse/SseEncoder.h"

namespace herald {

namespace {
// Drain ends streams in batches this far apart, so reconnections spread over --drain-time.
constexpr auto kDrainTick = std::chrono::milliseconds(100);
}  // namespace

ShardHub::ShardHub(unsigned index, boost::asio::io_context& io, std::chrono::milliseconds heartbeat,
                   Admission& admission)
    : index_(index),
      io_(io),
      heartbeat_(heartbeat),
      heartbeatTimer_(io),
      heartbeatFrame_(std::make_shared<const std::string>(sse::encodeComment("heartbeat"))),
      admission_(admission),
      drainTimer_(io) {}

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

void ShardHub::startHeartbeat() {
  scheduleHeartbeat();
}

void ShardHub::beginDrain(std::chrono::steady_clock::time_point deadline) {
  drainDeadline_ = deadline;
  drainTick();
}

void ShardHub::drainTick() {
  // Streams end evenly over the drain: by time t, a share t / --drain-time of those
  // open when the drain began (at the deadline, all that remain).
  auto now = std::chrono::steady_clock::now();
  if (drainStarted_ == std::chrono::steady_clock::time_point{}) {
    drainStarted_ = now;
    drainInitial_ = streams_.size();
  }
  std::size_t batch = streams_.size();
  if (now < drainDeadline_) {
    double share = std::chrono::duration<double>(now - drainStarted_) /
                   std::chrono::duration<double>(drainDeadline_ - drainStarted_);
    auto due = static_cast<std::size_t>(share * static_cast<double>(drainInitial_));
    batch = due > drainEnded_ ? std::min(due - drainEnded_, streams_.size()) : 0;
  }
  std::vector<Subscriber*> ending;
  for (auto it = streams_.begin(); it != streams_.end() && ending.size() < batch;) {
    ending.push_back(*it);
    it = streams_.erase(it);
  }
  drainEnded_ += ending.size();
  for (Subscriber* subscriber : ending) {
    subscriber->onDrain();
  }
  ShardStats::bump(stats_.streamsDrained, ending.size());
  // Keep going until the deadline: streams that were still joining show up later.
  if (!streams_.empty() || now < drainDeadline_) {
    drainTimer_.expires_after(kDrainTick);
    drainTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        drainTick();
      }
    });
  }
}

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
