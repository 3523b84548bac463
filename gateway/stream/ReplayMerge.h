// ReplayMerge: the join of one stream, as a pure function of what it is fed.
//
// A stream that joins registers for live notifications first, then reads each
// channel's history in pages. ReplayMerge turns the first page of every
// channel, the later pages, the live notifications held back meanwhile and the
// broker's backfill resets into the ordered output the client gets: per
// channel its reset (if any) and its replay, channel after channel; then what
// was held back, in arrival order, without what the replay already delivered.
// After every step, positions() says exactly what the client has of each
// channel, so the id of any event written resumes right after it (no channel
// is ever left at 0-0 while another replays). Like centrifuge's
// MergePublications, but paged. No I/O, no clock: unit-tested alone.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/hub/Subscriber.h"

namespace herald {

class ReplayMerge {
 public:
  // Where one channel of the stream starts.
  struct Start {
    std::optional<NotificationId> resumeFrom;  // nullopt: live from now
    bool invalidCursor = false;                // reset(invalid_cursor), then live
  };

  struct Step {
    enum class Kind { reset, notification };
    Kind kind = Kind::notification;
    std::size_t channel = 0;
    ResetReason reason = ResetReason::lost;  // kind == reset
    NotificationPtr notification;            // kind == notification
    Frame plainFrame;                        // set for a held-back live notification
  };

  enum class Next {
    step,      // `out` holds the next step
    needPage,  // ask the broker for pageChannel() after pageFrom()
    waiting,   // first pages are still missing
    done,      // replayed and caught up: the stream is live
  };

  explicit ReplayMerge(std::vector<Start> starts);

  // The first page of `channel` (read after its subscription was live); false when the
  // broker could not be read (the stream cannot start).
  bool addFirstPage(std::size_t channel, ReplayResult page);
  // A later page, the answer to needPage; false when the broker could not be read.
  bool addPage(ReplayResult page);
  // Live input while joining, kept in arrival order.
  void holdNotification(std::size_t channel, NotificationPtr notification, Frame plainFrame);
  void holdReset(std::size_t channel, ResetReason reason);

  // Where the first read of `channel` starts (nullopt: only its newest id is needed).
  std::optional<NotificationId> firstReadFrom(std::size_t channel) const;

  Next next(Step& out);
  std::size_t pageChannel() const { return current_; }
  NotificationId pageFrom() const { return positions_[current_]; }
  // Valid once every first page is in: per channel, the newest id the client has.
  const std::vector<NotificationId>& positions() const { return positions_; }
  bool started() const { return missingFirstPages_ == 0; }
  // Held-back live notifications not yet emitted.
  std::size_t heldCount() const { return held_.size(); }

 private:
  struct Channel {
    Start start;
    std::optional<ReplayResult> page;  // the page being emitted
    std::size_t nextItem = 0;
    bool resetPending = false;
    ResetReason reset = ResetReason::lost;
  };
  void begin();

  std::vector<Channel> channels_;
  std::vector<NotificationId> positions_;
  std::deque<Step> held_;
  std::size_t missingFirstPages_;
  std::size_t current_ = 0;  // the channel being replayed
  bool pageRequested_ = false;
};

}  // namespace herald
