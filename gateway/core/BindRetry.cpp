#include "gateway/core/BindRetry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

namespace herald {

namespace {
// Often enough to start soon after the port is released, seldom enough that the
// log shows a few lines per second, not a flood.
constexpr auto kBindRetryInterval = std::chrono::milliseconds(250);
}  // namespace

void bindWithRetry(const std::function<boost::system::error_code()>& attempt,
                   std::chrono::milliseconds retryFor, std::string_view what) {
  using std::chrono::milliseconds;
  const auto deadline = std::chrono::steady_clock::now() + retryFor;
  for (int tries = 1;; ++tries) {
    auto ec = attempt();
    if (!ec) {
      return;
    }
    bool inUse = ec == boost::system::errc::address_in_use;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!inUse || left.count() <= 0) {
      std::string message = std::string(what) + ": cannot bind: " + ec.message();
      if (inUse && retryFor.count() > 0) {
        message += " (still, after retrying for " + std::to_string(retryFor.count()) + " ms: --bind-retry)";
      }
      throw std::runtime_error(message);
    }
    auto wait = std::min<milliseconds>(kBindRetryInterval, left);
    spdlog::warn("{}: {} (attempt {}); retrying in {} ms, for {} ms more (--bind-retry)", what, ec.message(),
                 tries, wait.count(), left.count());
    std::this_thread::sleep_for(wait);
  }
}

void bindAndListen(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint,
                   std::chrono::milliseconds retryFor, std::string_view what, int backlog) {
  // Each attempt starts from a fresh socket: with SO_REUSEADDR, Linux can also report
  // the address in use at listen(), after bind() succeeded.
  auto attempt = [&] {
    boost::system::error_code error, ignored;
    acceptor.close(ignored);
    acceptor.open(endpoint.protocol(), error);
    if (!error) {
      acceptor.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), error);
    }
    if (!error) {
      acceptor.bind(endpoint, error);
    }
    if (!error) {
      acceptor.listen(backlog, error);
    }
    if (error) {
      acceptor.close(ignored);
    }
    return error;
  };
  bindWithRetry(attempt, retryFor, what);
}

}  // namespace herald
