#include "gateway/hub/ShardHub.h"

#include <algorithm>

#include "gateway/sse/SseEncoder.h"

namespace herald {

namespace {
// Drain ends streams in batches this far apart, so reconnections spread over --drain-time.
constexpr auto kDrainTick = std::chrono::milliseconds(100);
}  // namespace

ShardHub::ShardHub(unsigned index, boost::asio::io_context& io, std::chrono::milliseconds heartbeat,
                   Admission& admission, std::chrono::milliseconds writeTimeout)
    : index_(index),
      io_(io),
      heartbeat_(heartbeat),
      heartbeatTimer_(io),
      heartbeatFrame_(std::make_shared<const std::string>(sse::encodeComment("heartbeat"))),
      admission_(admission),
      drainTimer_(io),
      writeTimeout_(writeTimeout),
      writeCheckTimer_(io) {}

void ShardHub::addSubscriber(const std::string& channel, Subscriber* subscriber, std::uint32_t& slot) {
  auto& list = channels_[channel];
  slot = static_cast<std::uint32_t>(list.size());
  list.push_back(Member{subscriber, &slot});
}

void ShardHub::removeSubscriber(const std::string& channel, Subscriber* subscriber, std::uint32_t& slot) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return;
  }
  auto& list = it->second;
  if (slot >= list.size() || list[slot].subscriber != subscriber) {
    return;  // not a member (never added, or removed before)
  }
  // Swap with the last member and tell it where it moved.
  list[slot] = list.back();
  *list[slot].slot = slot;
  list.pop_back();
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
  for (const Member& member : it->second) {
    member.subscriber->onNotification(notification, plainFrame);
  }
}

void ShardHub::resetChannel(const std::string& channel, ResetReason reason) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return;
  }
  for (const Member& member : it->second) {
    member.subscriber->onChannelReset(channel, reason);
  }
}

void ShardHub::startHeartbeat() {
  scheduleHeartbeat();
  if (writeTimeout_.count() > 0) {
    scheduleWriteCheck();
  }
}

void ShardHub::scheduleWriteCheck() {
  // Four looks per --write-timeout: a stuck write is found within 1.25 times of it.
  writeCheckTimer_.expires_after(std::max(writeTimeout_ / 4, std::chrono::milliseconds(10)));
  writeCheckTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    auto now = std::chrono::steady_clock::now();
    // A stream closes itself here; it leaves streams_ later (detach is posted).
    for (Subscriber* subscriber : streams_) {
      subscriber->onWriteCheck(now);
    }
    scheduleWriteCheck();
  });
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
