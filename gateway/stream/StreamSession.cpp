// StreamSession, its join: subscribing, reading the replay in pages and writing
// the merge's steps as the client reads. The live half is StreamSessionLive.cpp.
#include "gateway/stream/StreamSession.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "gateway/core/StreamCursor.h"
#include "gateway/sse/SseEncoder.h"
#include "gateway/sse/StreamPayloads.h"
#include "gateway/stream/StreamResponses.h"

namespace herald {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kPreambleComment = "herald stream";
constexpr std::string_view kTokenExpiredComment = "token expired, reconnect with a fresh one";
constexpr std::chrono::hours kLongestExpiryWait{24 * 365 * 10};
// Notifications per broker read of a replay: small enough that a replay of any size
// is held a page at a time, large enough that a long one costs few round trips.
constexpr std::size_t kReplayPageItems = 32;
}  // namespace

StreamSession::StreamSession(asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                             const StreamPolicy& policy, ConnectionLimiter::Slot slot,
                             const std::string* corsOrigin)
    : socket_(std::move(socket)),
      hub_(hub),
      broker_(broker),
      config_(policy.config),
      slot_(std::move(slot)),
      writer_(policy.config.maxBuffer),
      corsOrigin_(corsOrigin) {}

StreamSession::~StreamSession() = default;

void StreamSession::start(SubscribeRequest request, std::optional<std::int64_t> validUntil) {
  join(std::move(request));
  if (validUntil && state_ == State::joining) {
    endAt(*validUntil);
  }
}

void StreamSession::join(SubscribeRequest request) {
  Admission::Verdict verdict = hub_.admission().tryAdmit();
  if (verdict != Admission::Verdict::admit) {
    ShardStats::bump(hub_.stats().streamsShed);
    spdlog::debug("stream shed: {}", toString(verdict));
    endStream(toString(verdict));
    return;
  }
  admitted_ = true;
  envelope_ = request.envelope;
  openedAt_ = std::chrono::steady_clock::now();
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("stream open: peer {}, thread {}, {} channel(s), {}", peer(), hub_.index(),
                  request.channels.size(), request.resumeText.empty() ? "live" : "resuming");
  }
  ShardStats& stats = hub_.stats();
  stats.connections.fetch_add(1, std::memory_order_relaxed);
  ShardStats::bump(stats.connectionsTotal);
  std::vector<ReplayMerge::Start> starts;
  starts.reserve(request.channels.size());
  channels_.reserve(request.channels.size());
  for (auto& start : request.channels) {
    starts.push_back(ReplayMerge::Start{start.resumeFrom, start.invalidCursor});
    channels_.push_back(ChannelState{std::move(start.channel), {}, 0, false});
  }
  join_ = std::make_unique<Join>(std::move(starts));
  join_->resumeText = std::move(request.resumeText);
  // Register first so nothing published from here on is missed, then subscribe.
  // channels_ never grows again, so the hub may keep a pointer to each hubSlot.
  for (auto& channel : channels_) {
    hub_.addSubscriber(channel.channel, this, channel.hubSlot);
  }
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    broker_.subscribe(channels_[i].channel, hub_.index(), [self = shared_from_this(), i](bool ok) {
      asio::post(self->socket_.get_executor(), [self, i, ok] { self->onSubscribed(i, ok); });
    });
  }
}

void StreamSession::onSubscribed(std::size_t index, bool ok) {
  ChannelState& channel = channels_[index];
  if (detached_) {
    // The stream is gone and has left the hub: balance this late subscription.
    if (ok) {
      broker_.unsubscribe(channel.channel, hub_.index());
    }
    return;
  }
  channel.subscribed = ok;
  if (state_ != State::joining) {
    return;
  }
  if (!ok) {
    endStream("broker unavailable");
    return;
  }
  // The subscription is live: whatever the replay misses arrives through the hub.
  broker_.replay(channel.channel, join_->merge.firstReadFrom(index), kReplayPageItems,
                 [self = shared_from_this(), index](ReplayResult page) {
                   asio::post(self->socket_.get_executor(), [self, index, page = std::move(page)]() mutable {
                     self->onFirstPage(index, std::move(page));
                   });
                 });
}

void StreamSession::onFirstPage(std::size_t index, ReplayResult page) {
  if (state_ != State::joining) {
    return;
  }
  if (!join_->merge.addFirstPage(index, std::move(page))) {
    endStream("broker unavailable");
    return;
  }
  if (join_->merge.started()) {
    startReplay();
  }
}

void StreamSession::startReplay() {
  if (hub_.admission().draining()) {
    ShardStats::bump(hub_.stats().streamsDrained);
    endStream("draining");
    return;
  }
  std::string head = sseResponseHead(corsHeaderLines());
  head += sse::encodeRetry(config_.retry);
  head += sse::encodeComment(kPreambleComment);
  head += '\n';
  state_ = State::replaying;
  headQueued_ = true;
  const auto& positions = join_->merge.positions();
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    channels_[i].position = positions[i];
  }
  enqueue(std::make_shared<const std::string>(std::move(head)));
  // Drain, heartbeats and the write deadline reach a replaying stream too.
  hub_.addStream(this);
  watchForClose();
  pump();
}

void StreamSession::pump() {
  // Refilled from the write-completion side: at most half of --max-buffer waits, so a
  // client that reads gets any replay, and only one that stops reading is dropped.
  const std::size_t lowWater = config_.maxBuffer / 2;
  while (state_ == State::replaying && writer_.pendingBytes() < lowWater) {
    ReplayMerge::Step step;
    ReplayMerge& merge = join_->merge;
    switch (merge.next(step)) {
      case ReplayMerge::Next::step:
        emit(step);
        continue;
      case ReplayMerge::Next::needPage: {
        std::size_t index = merge.pageChannel();
        broker_.replay(channels_[index].channel, merge.pageFrom(), kReplayPageItems,
                       [self = shared_from_this()](ReplayResult page) {
                         asio::post(self->socket_.get_executor(), [self, page = std::move(page)]() mutable {
                           self->onPage(std::move(page));
                         });
                       });
        break;
      }
      case ReplayMerge::Next::waiting:
        break;
      case ReplayMerge::Next::done:
        becomeLive();
        break;
    }
    break;
  }
  flush();
}

void StreamSession::onPage(ReplayResult page) {
  if (state_ != State::replaying) {
    return;
  }
  if (!join_->merge.addPage(std::move(page))) {
    endStream("broker unavailable");
    return;
  }
  pump();
}

void StreamSession::emit(const ReplayMerge::Step& step) {
  ChannelState& channel = channels_[step.channel];
  channel.position = join_->merge.positions()[step.channel];
  if (step.kind == ReplayMerge::Step::Kind::reset) {
    enqueue(std::make_shared<const std::string>(sse::encodeReset(channel.channel, step.reason)));
    return;
  }
  const Notification& notification = *step.notification;
  ShardStats& stats = hub_.stats();
  ShardStats::bump(stats.eventsDelivered);
  if (step.plainFrame == nullptr) {
    ShardStats::bump(stats.eventsReplayed);
  } else if (notification.publishedUs > 0) {
    stats.deliveryLag.observeMicros(wallClockMicros() - notification.publishedUs);
  }
  join_->idWritten = true;
  if (step.plainFrame != nullptr && channels_.size() == 1 && !envelope_) {
    enqueue(step.plainFrame);
    return;
  }
  std::string data = envelope_ ? sse::envelopeData(notification) : notification.data;
  enqueue(std::make_shared<const std::string>(sse::encodeEvent(streamId(), notification.event, data)));
}

void StreamSession::becomeLive() {
  // Tell the client where it stands even if nothing was sent, so its next
  // reconnect resumes from here instead of starting blind.
  if (!join_->idWritten) {
    std::string id = streamId();
    if (id != join_->resumeText) {
      enqueue(std::make_shared<const std::string>(sse::encodeIdOnly(id)));
    }
  }
  join_.reset();
  if (state_ == State::replaying) {
    state_ = State::live;
  }
}

void StreamSession::endStream(std::string_view why) {
  if (state_ == State::ending || state_ == State::closed) {
    return;
  }
  std::string out = headQueued_ ? std::string() : sseResponseHead(corsHeaderLines());
  headQueued_ = true;
  out += sse::encodeRetry(jitteredRetry(config_.retry));
  out += sse::encodeComment(why);
  out += '\n';
  // `ending` keeps writing what is queued (this last frame included), then closes;
  // a client that does not read it is closed at --write-timeout all the same.
  state_ = State::ending;
  writer_.enqueueLast(std::make_shared<const std::string>(std::move(out)));
  if (!timer_) {
    timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  }
  timer_->expires_after(config_.writeTimeout);
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) {
      self->close("write timeout while ending");
    }
  });
  flush();
}

void StreamSession::endAt(std::int64_t validUntilEpochSeconds) {
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  // A far-future exp must not overflow the timer's clock; no stream lives this long anyway.
  auto remaining =
      std::clamp(std::chrono::seconds(validUntilEpochSeconds) - now, std::chrono::seconds::zero(),
                 std::chrono::duration_cast<std::chrono::seconds>(kLongestExpiryWait));
  timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  timer_->expires_after(remaining);
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->state_ != State::ending && self->state_ != State::closed) {
      spdlog::debug("stream: token expired, ending the stream");
      self->endStream(kTokenExpiredComment);
    }
  });
}

std::string StreamSession::streamId() const {
  if (channels_.size() == 1) {
    return channels_.front().position.str();
  }
  std::vector<std::pair<std::string_view, NotificationId>> positions;
  positions.reserve(channels_.size());
  for (const auto& channel : channels_) {
    positions.emplace_back(channel.channel, channel.position);
  }
  return StreamCursor::encodeCompact(positions);
}

std::string StreamSession::corsHeaderLines() const {
  return corsOrigin_ == nullptr ? std::string()
                                : CorsPolicy::asHeaderLines(CorsPolicy::headersFor(*corsOrigin_));
}

}  // namespace herald
