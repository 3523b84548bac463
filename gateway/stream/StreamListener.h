// StreamListener: the public SSE listener. Accepts connections and hands each
// one to the next stream thread (shard), where its StreamSession lives. It owns
// what every session of the listener is judged by: the StreamPolicy (token
// verifier, CORS, limits) and the per-address connection count.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardSet.h"
#include "gateway/stream/ConnectionLimiter.h"
#include "gateway/stream/StreamRequest.h"

namespace herald {

class StreamListener {
 public:
  // Throws std::runtime_error when the JWT key setting cannot be used.
  StreamListener(const Config& config, ShardSet& shards, Broker& broker);
  // True when subscribers must present a token.
  bool requiresToken() const { return policy_.verifier != nullptr; }

  // Binds --stream-listen (throws std::runtime_error with the reason if it cannot)
  // and starts accepting on the first shard's thread.
  void start();
  // Stops accepting; open streams are not touched.
  void stopAccepting();
  // Destroys the acceptor; only once the shard threads have stopped (it lives on
  // shard 0's io_context, which must outlive it).
  void close() { acceptor_.reset(); }
  unsigned short port() const { return port_; }

 private:
  boost::asio::awaitable<void> acceptLoop();

  const Config& config_;
  ShardSet& shards_;
  Broker& broker_;
  StreamPolicy policy_;
  // On the heap: every open connection's Slot points here, so the listener must outlive
  // the shards' io_contexts (main.cpp); if it did not, a late Slot release is a
  // heap-use-after-free that the ASan pass reports, not a silent write to dead stack.
  std::unique_ptr<ConnectionLimiter> limiter_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  unsigned short port_ = 0;
};

}  // namespace herald
