#include "gateway/stream/ReplayMerge.h"

#include <algorithm>

namespace herald {

ReplayMerge::ReplayMerge(std::vector<Start> starts)
    : positions_(starts.size()), missingFirstPages_(starts.size()) {
  channels_.reserve(starts.size());
  for (auto& start : starts) {
    channels_.push_back(Channel{start, std::nullopt, 0, false, ResetReason::lost});
  }
}

std::optional<NotificationId> ReplayMerge::firstReadFrom(std::size_t channel) const {
  const Start& start = channels_[channel].start;
  return start.invalidCursor ? std::nullopt : start.resumeFrom;
}

bool ReplayMerge::addFirstPage(std::size_t channel, ReplayResult page) {
  if (!page.ok) {
    return false;
  }
  Channel& state = channels_[channel];
  if (state.page) {
    return true;  // a duplicate answer changes nothing
  }
  state.page = std::move(page);
  if (--missingFirstPages_ == 0) {
    begin();
  }
  return true;
}

void ReplayMerge::begin() {
  // Every position is set before the first step, so every id written resumes exactly:
  // a channel not yet replayed resumes from where the client started it.
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    Channel& channel = channels_[i];
    ReplayResult& page = *channel.page;
    if (channel.start.invalidCursor) {
      channel.resetPending = true;
      channel.reset = ResetReason::invalidCursor;
      page.items.clear();
      page.more = false;
      positions_[i] = page.newest;
    } else if (!channel.start.resumeFrom) {
      page.items.clear();
      page.more = false;
      positions_[i] = page.newest;
    } else {
      positions_[i] = *channel.start.resumeFrom;
      if (page.reset) {
        channel.resetPending = true;
        channel.reset = *page.reset;
        if (page.reset == ResetReason::invalidCursor) {
          page.items.clear();
          page.more = false;
        }
      }
    }
  }
}

bool ReplayMerge::addPage(ReplayResult page) {
  if (!page.ok) {
    return false;
  }
  pageRequested_ = false;
  Channel& channel = channels_[current_];
  // History removed while the replay was being read is a gap too: signal it.
  if (page.reset && page.reset != ResetReason::invalidCursor) {
    channel.resetPending = true;
    channel.reset = *page.reset;
  } else if (page.reset) {
    page.items.clear();
    page.more = false;
  }
  channel.page = std::move(page);
  channel.nextItem = 0;
  return true;
}

void ReplayMerge::holdNotification(std::size_t channel, NotificationPtr notification, Frame plainFrame) {
  Step step;
  step.kind = Step::Kind::notification;
  step.channel = channel;
  step.notification = std::move(notification);
  step.plainFrame = std::move(plainFrame);
  held_.push_back(std::move(step));
}

void ReplayMerge::holdReset(std::size_t channel, ResetReason reason) {
  Step step;
  step.kind = Step::Kind::reset;
  step.channel = channel;
  step.reason = reason;
  held_.push_back(std::move(step));
}

ReplayMerge::Next ReplayMerge::next(Step& out) {
  if (missingFirstPages_ > 0) {
    return Next::waiting;
  }
  while (current_ < channels_.size()) {
    Channel& channel = channels_[current_];
    ReplayResult& page = *channel.page;
    if (channel.resetPending) {
      channel.resetPending = false;
      out = Step{Step::Kind::reset, current_, channel.reset, nullptr, nullptr};
      // From here the client has what precedes the first retained entry (or all
      // there is): a resume after this reset replays the rest without another one.
      if (channel.reset == ResetReason::invalidCursor) {
        positions_[current_] = page.newest;  // nothing of its history is replayed
      } else if (channel.nextItem < page.items.size()) {
        positions_[current_] = page.items[channel.nextItem]->prev;
      } else if (!page.more) {
        positions_[current_] = std::max(positions_[current_], page.newest);
      }
      return Next::step;
    }
    while (channel.nextItem < page.items.size()) {
      NotificationPtr item = page.items[channel.nextItem++];
      if (item->id <= positions_[current_]) {
        continue;
      }
      positions_[current_] = item->id;
      out = Step{Step::Kind::notification, current_, ResetReason::lost, std::move(item), nullptr};
      return Next::step;
    }
    if (page.more) {
      if (pageRequested_) {
        return Next::waiting;
      }
      pageRequested_ = true;
      return Next::needPage;
    }
    channel.page.reset();  // its memory goes back now, not at the end of the join
    ++current_;
  }
  while (!held_.empty()) {
    Step step = std::move(held_.front());
    held_.pop_front();
    if (step.kind == Step::Kind::notification) {
      // The replay and the live feed overlap by design.
      if (step.notification->id <= positions_[step.channel]) {
        continue;
      }
      positions_[step.channel] = step.notification->id;
    }
    out = std::move(step);
    return Next::step;
  }
  return Next::done;
}

}  // namespace herald
