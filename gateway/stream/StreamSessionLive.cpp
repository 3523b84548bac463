// StreamSession, its live half: delivery from the hub, writing, the write
// deadline, and closing. The join is StreamSession.cpp.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "gateway/sse/SseEncoder.h"
#include "gateway/sse/StreamPayloads.h"
#include "gateway/stream/StreamSession.h"

namespace herald {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kNoChannel = static_cast<std::size_t>(-1);
constexpr std::string_view kTooFarBehindComment = "too much arrived while replaying, resume";
}  // namespace

std::size_t StreamSession::channelIndex(const std::string& channel) const {
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    if (channels_[i].channel == channel) {
      return i;
    }
  }
  return kNoChannel;
}

void StreamSession::onNotification(const NotificationPtr& notification, const Frame& plainFrame) {
  std::size_t index = channelIndex(notification->channel);
  if (index == kNoChannel) {
    return;
  }
  if (state_ == State::live) {
    sendLive(channels_[index], *notification, plainFrame);
    return;
  }
  if (state_ != State::joining && state_ != State::replaying) {
    return;
  }
  // Held back until the replay is written, bounded like what waits to be written:
  // past it the stream ends with retry: and resumes from what it got.
  join_->heldBytes += plainFrame->size();
  if (join_->heldBytes > config_.maxBuffer) {
    spdlog::debug("stream: {} held back past --max-buffer while joining, ending it", peer());
    endStream(kTooFarBehindComment);
    return;
  }
  join_->merge.holdNotification(index, notification, plainFrame);
}

void StreamSession::onChannelReset(const std::string& channel, ResetReason reason) {
  std::size_t index = channelIndex(channel);
  if (index == kNoChannel) {
    return;
  }
  if (state_ == State::live) {
    enqueue(std::make_shared<const std::string>(sse::encodeReset(channel, reason)));
  } else if (state_ == State::joining || state_ == State::replaying) {
    // In order with the held notifications: the reset comes before what follows it.
    join_->merge.holdReset(index, reason);
  }
}

void StreamSession::sendLive(ChannelState& channel, const Notification& notification,
                             const Frame& plainFrame) {
  if (notification.id <= channel.position) {
    return;
  }
  channel.position = notification.id;
  ShardStats& stats = hub_.stats();
  ShardStats::bump(stats.eventsDelivered);
  if (notification.publishedUs > 0) {
    // The frame is queued right behind at most one write in flight, so this is write time.
    stats.deliveryLag.observeMicros(wallClockMicros() - notification.publishedUs);
  }
  if (channels_.size() == 1 && !envelope_) {
    enqueue(plainFrame);
    return;
  }
  std::string data = envelope_ ? sse::envelopeData(notification) : notification.data;
  enqueue(std::make_shared<const std::string>(sse::encodeEvent(streamId(), notification.event, data)));
}

void StreamSession::onHeartbeat(const Frame& comment) {
  if (state_ == State::live && writer_.idle()) {
    enqueue(comment);
  }
}

void StreamSession::onDrain() {
  if (state_ == State::live || state_ == State::replaying) {
    endStream("draining");
  }
}

void StreamSession::onWriteCheck(std::chrono::steady_clock::time_point now) {
  if (state_ != State::closed && writer_.writeStuck(now, config_.writeTimeout)) {
    // It stopped reading: what it misses it gets on resume.
    ShardStats::bump(hub_.stats().slowClientsDropped);
    close("slow client: a write did not finish within --write-timeout");
  }
}

void StreamSession::enqueue(Frame frame) {
  if (writer_.enqueue(std::move(frame)) == FrameWriter::SendStatus::overflow) {
    // Counted once: the writer is closed now, later frames are refused as `closed`.
    ShardStats::bump(hub_.stats().slowClientsDropped);
    close("slow client: buffer passed --max-buffer");
    return;
  }
  if (state_ != State::replaying) {
    flush();  // while replaying, pump() flushes once per refill
  }
}

void StreamSession::flush() {
  if (state_ == State::closed || state_ == State::joining) {
    return;
  }
  if (state_ == State::ending && writer_.idle()) {
    close("ended by the server (retry:)");
    return;
  }
  writer_.flush(socket_,
                [self = shared_from_this()](const boost::system::error_code& ec) { self->onWritten(ec); });
}

void StreamSession::onWritten(const boost::system::error_code& ec) {
  if (state_ == State::closed) {
    return;
  }
  if (ec) {
    close("write failed");
    return;
  }
  if (state_ == State::replaying) {
    pump();
  } else {
    flush();
  }
}

void StreamSession::watchForClose() {
  // Clients send nothing after the request: a read completes on close or error, and
  // bytes close the stream too (re-arming one-byte reads would let a client pin the thread).
  socket_.async_read_some(asio::buffer(&readByte_, 1),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                            self->close(ec ? "client closed" : "client sent bytes after its request");
                          });
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
  if (admitted_ && spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("stream closed: peer {}, thread {}, {}, after {:.3f} s", peer(), hub_.index(), reason,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - openedAt_).count());
  }
  writer_.close();
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (timer_) {
    timer_->cancel();  // it holds the session alive until it fires
  }
  if (!admitted_) {
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
    hub_.removeSubscriber(channel.channel, this, channel.hubSlot);
    if (channel.subscribed) {
      broker_.unsubscribe(channel.channel, hub_.index());
      channel.subscribed = false;
    }
  }
  hub_.removeStream(this);
  join_.reset();
}

}  // namespace herald
