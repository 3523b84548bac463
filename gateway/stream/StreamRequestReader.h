// StreamRequestReader: the first phase of a connection of the stream listener.
//
// It reads the `GET /v1/events` request head (a coroutine, with a header limit
// and a timeout against slowloris), lets StreamRequest decide on it (limits,
// token, grants, CORS), answers a refusal itself, and hands the socket of an
// admitted request to a new StreamSession, like Boost.Beast's http_session
// hands its socket to a websocket_session. The reader is gone once the stream
// starts, so an open stream keeps nothing of the request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "gateway/broker/Broker.h"
#include "gateway/hub/ShardHub.h"
#include "gateway/stream/ConnectionLimiter.h"
#include "gateway/stream/StreamRequest.h"

namespace herald {

class StreamRequestReader : public std::enable_shared_from_this<StreamRequestReader> {
 public:
  StreamRequestReader(boost::asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                      const StreamPolicy& policy, ConnectionLimiter::Slot slot);

  // Reads on the socket's executor (the shard's thread).
  void start();

 private:
  boost::asio::awaitable<void> readRequest();
  // Answers a refusal before the stream starts (counted in herald_rejected_requests_total).
  void reject(const StreamRefusal& refusal);
  void respondAndClose(std::string response);
  std::string peer() const;

  boost::asio::ip::tcp::socket socket_;
  ShardHub& hub_;
  Broker& broker_;
  const StreamPolicy& policy_;
  ConnectionLimiter::Slot slot_;
  bool done_ = false;  // the head was read (the timeout no longer applies)
};

}  // namespace herald
