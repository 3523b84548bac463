#include "gateway/stream/StreamSession.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/StreamCursor.h"
#include "gateway/sse/SseEncoder.h"
#include "gateway/stream/StreamResponses.h"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::string_view kPreambleComment = "herald stream";
constexpr std::string_view kResetEvent = "herald.reset";
std::string envelopeData(const Notification& n) {
  std::string out = R"({"channel":")" + n.channel + R"(","id":")" + n.id.str() + '"';
  if (!n.event.empty()) {
    out += R"(,"event":)" + nlohmann::json(n.event).dump();
  }
  out += R"(,"data":)" + n.data + '}';
  return out;
}
}  // namespace

StreamSession::StreamSession(asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                             const StreamPolicy& policy, ConnectionLimiter::Slot slot)
    : socket_(std::move(socket)),
      hub_(hub),
      broker_(broker),
      policy_(policy),
      config_(policy.config),
      slot_(std::move(slot)) {}

StreamSession::~StreamSession() = default;

void StreamSession::start() {
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->readRequest(); }, asio::detached);
}

void StreamSession::join(SubscribeRequest request) {
  state_ = State::joining;
  Admission::Verdict verdict = hub_.admission().tryAdmit();
  if (verdict != Admission::Verdict::admit) {
    ShardStats::bump(hub_.stats().streamsShed);
    spdlog::debug("stream shed: {}", toString(verdict));
    endStream(toString(verdict));
    return;
  }
  joined_ = true;
  envelope_ = request.envelope;
  lastSentId_ = request.resumeText;
  openedAt_ = std::chrono::steady_clock::now();
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("stream open: peer {}, thread {}, {} channel(s), {}", peer(), hub_.index(),
                  request.channels.size(), request.resumeText.empty() ? "live" : "resuming");
  }
  ShardStats& stats = hub_.stats();
  stats.connections.fetch_add(1, std::memory_order_relaxed);
  ShardStats::bump(stats.connectionsTotal);
  channels_.reserve(request.channels.size());
  for (auto& start : request.channels) {
    channels_.push_back(ChannelState{std::move(start), {}, false, std::nullopt});
  }
  pendingJoins_ = channels_.size();
  // Register first so nothing published from here on is missed, then subscribe.
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    hub_.addSubscriber(channels_[i].start.channel, this);
  }
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    broker_.subscribe(channels_[i].start.channel, hub_.index(), [self = shared_from_this(), i](bool ok) {
      asio::post(self->socket_.get_executor(), [self, i, ok] { self->onSubscribed(i, ok); });
    });
  }
}

void StreamSession::onSubscribed(std::size_t index, bool ok) {
  ChannelState& channel = channels_[index];
  if (detached_) {
    // The stream is gone and has left the hub: balance this late subscription.
    if (ok) {
      broker_.unsubscribe(channel.start.channel, hub_.index());
    }
    return;
  }
  channel.subscribed = ok;
  if (state_ != State::joining) {
    return;
  }
  if (!ok) {
    channel.replay = ReplayResult{false, std::nullopt, {}, {}};
    onReplayed(index, *channel.replay);
    return;
  }
  // The subscription is live: whatever the replay misses arrives through the hub.
  std::optional<NotificationId> from = channel.start.invalidCursor ? std::nullopt : channel.start.resumeFrom;
  broker_.replay(channel.start.channel, from, [self = shared_from_this(), index](ReplayResult result) {
    asio::post(self->socket_.get_executor(), [self, index, result = std::move(result)]() mutable {
      self->onReplayed(index, std::move(result));
    });
  });
}

void StreamSession::onReplayed(std::size_t index, ReplayResult result) {
  if (state_ != State::joining) {
    return;
  }
  channels_[index].replay = std::move(result);
  if (--pendingJoins_ == 0) {
    finishJoin();
  }
}

void StreamSession::finishJoin() {
  for (const auto& channel : channels_) {
    if (!channel.replay->ok) {
      endStream("broker unavailable");
      return;
    }
  }
  if (hub_.admission().draining()) {
    ShardStats::bump(hub_.stats().streamsDrained);
    endStream("draining");
    return;
  }
  std::string head = sseResponseHead(corsHeaderLines());
  head += sse::encodeRetry(config_.retry);
  head += sse::encodeComment(kPreambleComment);
  head += '\n';
  state_ = State::live;
  headQueued_ = true;
  enqueue(std::make_shared<const std::string>(std::move(head)));

  finishingJoin_ = true;
  std::uint64_t replayed = 0;
  for (auto& channel : channels_) {
    ReplayResult& replay = *channel.replay;
    const ChannelStart& start = channel.start;
    if (start.invalidCursor) {
      sendReset(start.channel, ResetReason::invalidCursor);
      channel.position = replay.newest;
      continue;
    }
    if (!start.resumeFrom) {
      channel.position = replay.newest;
      continue;
    }
    if (replay.reset) {
      sendReset(start.channel, *replay.reset);
    }
    channel.position = replay.reset ? NotificationId{} : *start.resumeFrom;
    for (const auto& item : replay.items) {
      sendNotification(channel, *item, nullptr);
      ++replayed;
    }
    if (replay.items.empty() && replay.reset) {
      channel.position = replay.newest;
    }
    replay.items.clear();
  }
  ShardStats::bump(hub_.stats().eventsReplayed, replayed);
  for (auto& [notification, frame] : heldBack_) {
    if (ChannelState* channel = channelState(notification->channel)) {
      sendNotification(*channel, *notification, &frame);
    }
  }
  heldBack_.clear();
  heldBack_.shrink_to_fit();
  finishingJoin_ = false;
  // Tell the client where it stands even if nothing was sent, so its next
  // reconnect resumes from here instead of starting blind.
  std::string id = streamId();
  if (id != lastSentId_) {
    enqueue(std::make_shared<const std::string>(sse::encodeIdOnly(id)));
    lastSentId_ = std::move(id);
  }
  hub_.addStream(this);
  watchForClose();
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
  // `ending` keeps writing what is queued (this last frame included), then closes.
  state_ = State::ending;
  queue_.push_back(std::make_shared<const std::string>(std::move(out)));
  queuedBytes_ += queue_.back()->size();
  flush();
}

void StreamSession::onDrain() {
  if (state_ == State::live) {
    endStream("draining");
  }
}

StreamSession::ChannelState* StreamSession::channelState(const std::string& channel) {
  for (auto& state : channels_) {
    if (state.start.channel == channel) {
      return &state;
    }
  }
  return nullptr;
}

std::string StreamSession::streamId() const {
  if (channels_.size() == 1) {
    return channels_.front().position.str();
  }
  std::vector<std::pair<std::string_view, NotificationId>> positions;
  positions.reserve(channels_.size());
  for (const auto& channel : channels_) {
    positions.emplace_back(channel.start.channel, channel.position);
  }
  return StreamCursor::encode(positions);
}

void StreamSession::sendNotification(ChannelState& channel, const Notification& notification,
                                     const Frame* plainFrame) {
  // De-duplicate: the replay and the live feed overlap by design.
  if (notification.id <= channel.position) {
    return;
  }
  channel.position = notification.id;
  ShardStats& stats = hub_.stats();
  ShardStats::bump(stats.eventsDelivered);
  if (plainFrame != nullptr && notification.publishedUs > 0) {
    // Live events only: a replayed one's age is how long the client was away, not lag.
    // The frame is queued right behind at most one write in flight, so this is write time.
    stats.deliveryLag.observeMicros(wallClockMicros() - notification.publishedUs);
  }
  if (plainFrame != nullptr && channels_.size() == 1 && !envelope_) {
    if (finishingJoin_) {
      lastSentId_ = notification.id.str();
    }
    enqueue(*plainFrame);
    return;
  }
  lastSentId_ = streamId();
  std::string data = envelope_ ? envelopeData(notification) : notification.data;
  enqueue(std::make_shared<const std::string>(sse::encodeEvent(lastSentId_, notification.event, data)));
}

void StreamSession::sendReset(const std::string& channel, ResetReason reason) {
  nlohmann::json data = {{"channel", channel}, {"reason", toString(reason)}};
  enqueue(std::make_shared<const std::string>(sse::encodeEvent("", kResetEvent, data.dump())));
}

void StreamSession::onNotification(const NotificationPtr& notification, const Frame& plainFrame) {
  if (state_ == State::joining) {
    heldBack_.emplace_back(notification, plainFrame);
    return;
  }
  if (state_ != State::live) {
    return;
  }
  if (ChannelState* channel = channelState(notification->channel)) {
    sendNotification(*channel, *notification, &plainFrame);
  }
}

void StreamSession::onChannelReset(const std::string& channel, ResetReason reason) {
  if (state_ == State::live) {
    sendReset(channel, reason);
  }
}

void StreamSession::onHeartbeat(const Frame& comment) {
  if (state_ == State::live && queue_.empty() && !writing_) {
    enqueue(comment);
  }
}

void StreamSession::enqueue(Frame frame) {
  queuedBytes_ += frame->size();
  queue_.push_back(std::move(frame));
  if (queuedBytes_ > config_.maxBuffer) {
    ShardStats::bump(hub_.stats().slowClientsDropped);
    close("slow client: buffer passed --max-buffer");
    return;
  }
  flush();
}

void StreamSession::flush() {
  if (writing_ || (state_ != State::live && state_ != State::ending)) {
    return;
  }
  if (queue_.empty()) {
    if (state_ == State::ending) {
      close("ended by the server (retry:)");
    }
    return;
  }
  inflight_.swap(queue_);
  buffers_.clear();
  for (const auto& frame : inflight_) {
    buffers_.emplace_back(frame->data(), frame->size());
  }
  writing_ = true;
  asio::async_write(socket_, buffers_,
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t written) {
                      self->writing_ = false;
                      self->queuedBytes_ -= written;
                      self->inflight_.clear();
                      if (ec) {
                        self->close("write failed");
                        return;
                      }
                      self->flush();
                    });
}

void StreamSession::watchForClose() {
  // Clients send nothing after the request; a read completes only on close or error.
  socket_.async_read_some(asio::buffer(&readByte_, 1),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                            if (ec) {
                              self->close("client closed");
                            } else {
                              self->watchForClose();
                            }
                          });
}

std::string StreamSession::corsHeaderLines() const {
  return corsOrigin_ == nullptr ? std::string()
                                : CorsPolicy::asHeaderLines(CorsPolicy::headersFor(*corsOrigin_));
}

std::string StreamSession::peer() const {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  return ec ? std::string("unknown") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void StreamSession::close(std::string_view reason) {
  if (state_ == State::closed) {
    return;
  }
  state_ = State::closed;
  if (joined_ && spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("stream closed: peer {}, thread {}, {}, after {:.3f} s", peer(), hub_.index(), reason,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - openedAt_).count());
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (expiryTimer_) {
    expiryTimer_->cancel();  // it holds the session alive until it fires
  }
  if (!joined_) {
    return;
  }
  hub_.stats().connections.fetch_sub(1, std::memory_order_relaxed);
  hub_.admission().release();
  // Leave the hub later: close() may run inside the hub's own delivery loop.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->detach(); });
}

void StreamSession::detach() {
  detached_ = true;
  for (auto& channel : channels_) {
    hub_.removeSubscriber(channel.start.channel, this);
    if (channel.subscribed) {
      broker_.unsubscribe(channel.start.channel, hub_.index());
      channel.subscribed = false;
    }
  }
  hub_.removeStream(this);
  heldBack_.clear();
}

}  // namespace herald
