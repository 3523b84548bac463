// StreamSession: one admitted SSE stream, from its join to its close.
//
// StreamRequestReader hands it the socket of an admitted request. It joins its
// channels gap-free: register in the shard hub so live notifications are held,
// subscribe in the broker, then read each channel's history in pages once the
// subscription is live. ReplayMerge orders the replay pages, the held live
// notifications and the backfill resets; the session writes the preamble and
// then the merge's steps as the client reads: it refills its FrameWriter from
// the write-completion side whenever less than half of --max-buffer waits, so a
// replay of any size goes out in pieces. Once caught up it queues shared
// frames as they come. A live stream whose queue would pass --max-buffer is
// dropped (it resumes by id), as is one whose write has not finished within
// --write-timeout; held live notifications past --max-buffer end a joining
// stream with `retry:`, so it resumes from what it got. A stream whose token
// has an `exp` is ended then, with a `retry:` line. Bytes from the client after
// its request close the stream.
//
// All of its state is touched on its shard's thread only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardHub.h"
#include "gateway/stream/ConnectionLimiter.h"
#include "gateway/stream/FrameWriter.h"
#include "gateway/stream/ReplayMerge.h"
#include "gateway/stream/StreamRequest.h"
#include "gateway/stream/SubscribeRequest.h"

namespace herald {

class StreamSession : public Subscriber, public std::enable_shared_from_this<StreamSession> {
 public:
  // `corsOrigin`: the --cors-origin entry admitting the request's Origin (kept in the policy), or nullptr.
  StreamSession(boost::asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                const StreamPolicy& policy, ConnectionLimiter::Slot slot, const std::string* corsOrigin);
  ~StreamSession() override;

  // `validUntil`: when the token stops being valid (exp + leeway, epoch seconds).
  void start(SubscribeRequest request, std::optional<std::int64_t> validUntil);

  void onNotification(const NotificationPtr& notification, const Frame& plainFrame) override;
  void onChannelReset(const std::string& channel, ResetReason reason) override;
  void onHeartbeat(const Frame& comment) override;
  void onDrain() override;
  void onWriteCheck(std::chrono::steady_clock::time_point now) override;

 private:
  enum class State { joining, replaying, live, ending, closed };

  struct ChannelState {
    std::string channel;
    NotificationId position;    // the newest id the client has (or is about to get)
    std::uint32_t hubSlot = 0;  // where the hub keeps this stream in the channel's list
    bool subscribed = false;
  };
  // What only a joining stream needs; freed once it is live.
  struct Join {
    explicit Join(std::vector<ReplayMerge::Start> starts) : merge(std::move(starts)) {}
    ReplayMerge merge;
    std::string resumeText;     // the resume id the client sent ("" when none)
    std::size_t heldBytes = 0;  // live notifications held back since the join began
    bool idWritten = false;     // an event with an `id:` went out during the join
  };

  void join(SubscribeRequest request);
  // Ends the stream when the token stops being valid (exp + leeway, epoch seconds).
  void endAt(std::int64_t validUntilEpochSeconds);
  void onSubscribed(std::size_t index, bool ok);
  void onFirstPage(std::size_t index, ReplayResult page);
  void onPage(ReplayResult page);
  void startReplay();
  // Writes the merge's steps until half of --max-buffer waits or it needs a page.
  void pump();
  void emit(const ReplayMerge::Step& step);
  void becomeLive();
  // Ends the stream with a jittered `retry:` (writing the response head first if
  // it was not yet), so the client reconnects and resumes: shedding, drain, broker down.
  void endStream(std::string_view why);

  std::size_t channelIndex(const std::string& channel) const;
  void sendLive(ChannelState& channel, const Notification& notification, const Frame& plainFrame);
  std::string streamId() const;
  std::string corsHeaderLines() const;

  void enqueue(Frame frame);
  void flush();
  void onWritten(const boost::system::error_code& ec);
  void watchForClose();
  // `reason` is for the debug log line only.
  void close(std::string_view reason = "closed");
  std::string peer() const;
  void detach();

  boost::asio::ip::tcp::socket socket_;
  ShardHub& hub_;
  Broker& broker_;
  const Config& config_;
  ConnectionLimiter::Slot slot_;
  // Only a stream whose token has an `exp`, or that is ending, pays for a timer.
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::unique_ptr<Join> join_;
  std::vector<ChannelState> channels_;
  FrameWriter writer_;
  // The --cors-origin entry admitting the request's Origin, kept in the StreamPolicy (a
  // pointer, not a copy of the headers: per-connection memory); nullptr for none.
  const std::string* corsOrigin_;
  std::chrono::steady_clock::time_point openedAt_;  // for the close log line
  State state_ = State::joining;
  bool envelope_ = false;
  bool admitted_ = false;  // counted as a connection and registered in the hub
  bool headQueued_ = false;
  bool detached_ = false;  // left the hub and the broker
  char readByte_ = 0;
};

}  // namespace herald
