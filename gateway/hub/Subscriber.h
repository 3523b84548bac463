// Subscriber: what a shard hub fans notifications out to (an open SSE stream).
//
// The hub knows nothing of sockets or SSE; a subscriber knows nothing of other
// subscribers. All calls happen on the subscriber's own shard thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/core/Notification.h"

namespace herald {

// An encoded, immutable piece of an SSE stream shared by every stream that sends it.
using Frame = std::shared_ptr<const std::string>;

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // `plainFrame` is the notification encoded for a one-channel stream without envelope.
  virtual void onNotification(const NotificationPtr& notification, const Frame& plainFrame) = 0;
  virtual void onChannelReset(const std::string& channel, ResetReason reason) = 0;
  virtual void onHeartbeat(const Frame& comment) = 0;
  // The node is draining: end the stream with a jittered `retry:` so the client
  // reconnects elsewhere and resumes by id.
  virtual void onDrain() = 0;
  // The hub's periodic look at its streams: one whose write has been in flight for
  // longer than --write-timeout has stopped reading and is closed.
  virtual void onWriteCheck(std::chrono::steady_clock::time_point now) = 0;
};

}  // namespace herald
