#include "gateway/broker/ResumeProof.h"

namespace herald {

std::optional<ResetReason> assessResume(NotificationId from, const ChannelMeta& meta,
                                        const Notification* firstAfter, ResetReason removal) {
  if (!meta.known) {
    // Nothing published in this generation: only "from the start" is provable.
    // Any other id belongs to a generation whose history is gone.
    return from.isZero() ? std::nullopt : std::optional{ResetReason::lost};
  }
  if (from > meta.newest) {
    return ResetReason::invalidCursor;
  }
  if (from == meta.newest) {
    return std::nullopt;
  }
  if (!from.isZero() && from < meta.generationStart) {
    return ResetReason::lost;
  }
  if (firstAfter != nullptr && firstAfter->prev == from) {
    return std::nullopt;
  }
  return removal;
}

}  // namespace herald
