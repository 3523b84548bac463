// StreamSession: one SSE connection, from its request to its close.
//
// It reads and validates the `GET /v1/events` request (a coroutine, with a
// header limit and a timeout), then joins its channels gap-free: register in
// the shard hub so live notifications are buffered, subscribe in the broker,
// replay what the client missed once the subscription is live, and only then
// write the preamble, the replay and the buffered live events (de-duplicated by
// id). From then on it queues shared frames and writes them in batches, one
// write in flight at a time. A client whose queued bytes pass --max-buffer is
// dropped: it loses nothing, because it resumes by id.
//
// All of its state is touched on its shard's thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardHub.h"
#include "gateway/stream/SubscribeRequest.h"

namespace herald {

class StreamSession : public Subscriber, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(boost::asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker, const Config& config);
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
  // Answers an error before the stream starts (counted in herald_rejected_requests_total).
  void reject(int status, std::string_view code, std::string_view message, std::string_view extraHeaders = {});
  void respondAndClose(std::string response);
  void join(SubscribeRequest request);
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
  // The request's Origin when it is one of --cors-origin, else "".
  std::string_view allowedOrigin() const;
  void detach();

  boost::asio::ip::tcp::socket socket_;
  ShardHub& hub_;
  Broker& broker_;
  const Config& config_;
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
  // Index in --cors-origin of the request's Origin (an index, not a copy: per-connection memory).
  static constexpr int kNoCorsOrigin = -1;
  int corsOrigin_ = kNoCorsOrigin;
  std::chrono::steady_clock::time_point openedAt_;  // for the close log line
};

}  // namespace herald
