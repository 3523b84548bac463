#include "gateway/stream/StreamListener.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "gateway/http/BindListener.h"
#include "gateway/stream/StreamRequestReader.h"

namespace herald {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// After accept fails for lack of descriptors, wait before trying again rather than spin.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
}  // namespace

StreamListener::StreamListener(const Config& config, ShardSet& shards, Broker& broker)
    : config_(config),
      shards_(shards),
      broker_(broker),
      policy_(config),
      limiter_(std::make_unique<ConnectionLimiter>(config.maxConnectionsPerIp)) {}

void StreamListener::start() {
  acceptor_ = bindListener(shards_.hub(0).io(), "--stream-listen", config_.streamListen);
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(shards_.hub(0).io(), acceptLoop(), asio::detached);
}

void StreamListener::stopAccepting() {
  asio::post(shards_.hub(0).io(), [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  });
}

asio::awaitable<void> StreamListener::acceptLoop() {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  while (acceptor_->is_open()) {
    ShardHub& hub = shards_.next();
    auto [ec, socket] = co_await acceptor_->async_accept(hub.io(), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
        co_return;
      }
      spdlog::warn("stream listener: accept failed: {}", ec.message());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto peer = socket.remote_endpoint(ec);
    if (ec) {
      continue;  // already gone
    }
    auto slot = limiter_->acquire(peer.address());
    auto reader =
        std::make_shared<StreamRequestReader>(std::move(socket), hub, broker_, policy_, std::move(slot));
    asio::post(hub.io(), [reader = std::move(reader)] { reader->start(); });
  }
}

}  // namespace herald
