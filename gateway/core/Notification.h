// Notification: one stored notification of one channel, as brokers hand it on.
//
// It is immutable once made and shared (NotificationPtr) between the broker,
// every shard that has subscribers of its channel and every replay, so a
// fan-out to many subscribers never copies it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/NotificationId.h"

namespace herald {

struct Notification {
  std::string channel;
  NotificationId id;
  // The id of the channel's previous notification (0-0 for the first of a
  // history generation). A replay is provably complete when the first entry
  // after a resume id names that id as its predecessor.
  NotificationId prev;
  std::string event;  // empty: no type
  std::string data;   // compact JSON text
  std::int64_t publishedUs = 0;  // wall clock at publish, microseconds since epoch
};

using NotificationPtr = std::shared_ptr<const Notification>;

// What a publisher asks to store: one notification for one channel.
struct PublishItem {
  std::string channel;
  std::string event;  // empty: no type
  std::string data;   // compact JSON text
};

// Why a resume cannot be proven complete (the `herald.reset` reasons).
enum class ResetReason { truncated, expired, lost, invalidCursor };

const char* toString(ResetReason reason);

// Microseconds since the epoch, the clock of `publishedUs`.
std::int64_t wallClockMicros();

}  // namespace herald
