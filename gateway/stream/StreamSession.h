// StreamSession: one SSE connection, from its request to its close.
//
// It reads the `GET /v1/events` request (a coroutine, with a header limit and a
// timeout against slowloris), lets StreamRequest decide on it (limits, token,
// grants, CORS), then joins its channels gap-free: register in
// the shard hub so live notifications are buffered, subscribe in the broker,
// replay what the client missed once the subscription is live, and only then
// write the preamble, the replay and the buffered live events (de-duplicated by
// id). From then on it queues shared frames and writes them in batches, one
// write in flight at a time. A client whose queued bytes pass --max-buffer is
// dropped: it loses nothing, because it resumes by id. A stream whose token
// has an `exp` is ended then, with a `retry:` line, so the client comes back
// with a fresh token.
//
// All of its state is touched on its shard's thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardHub.h"
#include "gateway/stream/ConnectionLimiter.h"
#include "gateway/stream/StreamRequest.h"
#include "gateway/stream/SubscribeRequest.h"

namespace herald {

class StreamSession : public Subscriber, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(boost::asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                const StreamPolicy& policy, ConnectionLimiter::Slot slot);
  ~StreamSession() override;

  void start();

  void onNotification(const NotificationPtr& notification, const Frame& plainFrame) override;
  void onChannelReset(const std::string& channel, ResetReason reason) override;
  void onHeartbeat(const Frame& comment) override;
  void onDrain() override;

 private:
  enum class State { reading, joining, live, ending, closed };

  struct ChannelState {
    ChannelStart start;
    NotificationId position;  // the newest id the client has (or is about to get)
    bool subscribed = false;
    std::optional<ReplayResult> replay;
  };

  boost::asio::awaitable<void> readRequest();
  // Answers a refusal before the stream starts (counted in herald_rejected_requests_total).
  void reject(const StreamRefusal& refusal);
  void respondAndClose(std::string response);
  void join(SubscribeRequest request);
  // Ends the stream when the token stops being valid (exp + leeway, epoch seconds).
  void endAt(std::int64_t validUntilEpochSeconds);
  void endOnTokenExpiry();
  void onSubscribed(std::size_t index, bool ok);
  void onReplayed(std::size_t index, ReplayResult result);
  void finishJoin();
  // Ends the stream with a jittered `retry:` (writing the response head first if
  // it was not yet), so the client reconnects and resumes: shedding, drain, broker down.
  void endStream(std::string_view why);

  ChannelState* channelState(const std::string& channel);
  void sendNotification(ChannelState& channel, const Notification& notification, const Frame* plainFrame);
  void sendReset(const std::string& channel, ResetReason reason);
  std::string streamId() const;

  void enqueue(Frame frame);
  void flush();
  void watchForClose();
  // `reason` is for the debug log line only.
  void close(std::string_view reason = "closed");
  std::string peer() const;
  // The CORS header lines for the SSE head ("" unless the request's Origin is allowed).
  std::string corsHeaderLines() const;
  void detach();

  boost::asio::ip::tcp::socket socket_;
  ShardHub& hub_;
  Broker& broker_;
  const StreamPolicy& policy_;
  const Config& config_;
  ConnectionLimiter::Slot slot_;
  // Only a stream whose token has an `exp` pays for a timer.
  std::unique_ptr<boost::asio::steady_timer> expiryTimer_;
  State state_ = State::reading;
  bool envelope_ = false;
  bool writing_ = false;
  bool joined_ = false;  // admitted, counted as a connection and registered in the hub
  bool headQueued_ = false;
  bool detached_ = false;  // left the hub and the broker
  bool finishingJoin_ = false;
  std::vector<ChannelState> channels_;
  std::size_t pendingJoins_ = 0;
  // Live notifications that arrived while joining, delivered after the replay.
  std::vector<std::pair<NotificationPtr, Frame>> heldBack_;
  std::string lastSentId_;  // what the client will send as Last-Event-ID
  std::vector<Frame> queue_;
  std::vector<Frame> inflight_;
  std::vector<boost::asio::const_buffer> buffers_;
  std::size_t queuedBytes_ = 0;
  char readByte_ = 0;
  // The --cors-origin entry admitting the request's Origin, kept in the StreamPolicy (a
  // pointer, not a copy of the headers: per-connection memory); nullptr for none.
  const std::string* corsOrigin_ = nullptr;
  std::chrono::steady_clock::time_point openedAt_;  // for the close log line
};

}  // namespace herald
