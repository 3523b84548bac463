// ResumeProof: decides whether a replay from a resume id is provably complete.
//
// Both brokers keep, per channel, metadata that outlives the history (the first
// id of the current history generation and the newest id) and store with every
// notification the id of its predecessor. A replay after `from` is complete
// exactly when the first retained notification after `from` names `from` as its
// predecessor (or `from` is the newest id). Everything else is a gap, and this
// function says which `herald.reset` reason describes it. Pure: no I/O.
#pragma once

#include <optional>

#include "gateway/core/Notification.h"

namespace herald {

// What a broker knows of one channel when it reads its history.
struct ChannelMeta {
  bool known = false;              // a notification was published in the current generation
  NotificationId generationStart;  // id of the generation's first notification
  NotificationId newest;           // id of the newest notification
};

// `firstAfter`: the oldest retained notification with id > from (nullptr: none).
// `removal`: why retained entries go away in this broker when no better reason is
// known (truncated when trimming by size, expired when the TTL removed them).
std::optional<ResetReason> assessResume(NotificationId from, const ChannelMeta& meta,
                                        const Notification* firstAfter, ResetReason removal);

}  // namespace herald
