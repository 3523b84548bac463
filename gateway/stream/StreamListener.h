// StreamListener: the public SSE listener. Accepts connections and hands each
// one to the next stream thread (shard), where its StreamSession lives.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardSet.h"

namespace herald {

class StreamListener {
 public:
  StreamListener(const Config& config, ShardSet& shards, Broker& broker);

  // Binds --stream-listen (throws std::runtime_error with the reason if it cannot)
  // and starts accepting on the first shard's thread.
  void start();
  // Stops accepting; open streams are not touched.
  void stopAccepting();
  unsigned short port() const { return port_; }

 private:
  boost::asio::awaitable<void> acceptLoop();

  const Config& config_;
  ShardSet& shards_;
  Broker& broker_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  unsigned short port_ = 0;
};

}  // namespace herald
