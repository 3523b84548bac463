#include "api/BrokerWorkers.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace herald {

namespace asio = boost::asio;

BrokerWorkers::BrokerWorkers(unsigned threads, std::size_t capacity) : pool_(threads), capacity_(capacity) {}

BrokerWorkers::~BrokerWorkers() {
  stop();
}

asio::awaitable<std::optional<HttpAnswer>> BrokerWorkers::run(std::function<HttpAnswer()> work) {
  if (stopped_.load(std::memory_order_relaxed)) {
    co_return std::nullopt;
  }
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    co_return std::nullopt;
  }
  // co_spawn on the pool runs the work there; awaiting it resumes this coroutine on its
  // own (the connection's) executor.
  HttpAnswer answer = co_await asio::co_spawn(
      pool_,
      [this, &work]() -> asio::awaitable<HttpAnswer> {
        HttpAnswer result = work();
        pending_.fetch_sub(1, std::memory_order_relaxed);
        co_return result;
      },
      asio::use_awaitable);
  co_return answer;
}

void BrokerWorkers::stop() {
  if (!stopped_.exchange(true)) {
    pool_.join();
  }
}

}  // namespace herald
