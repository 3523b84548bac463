// BrokerWorkers: the bounded set of threads that run the api's blocking broker
// calls (publish, history), so the api's event loop never waits on the broker.
//
// Until the Redis client is asynchronous a publish blocks for a round trip (and
// up to --publish-timeout when Redis is slow); on the loop that would stall
// every connection of the thread, health checks included. A call is admitted
// only while fewer than --api-queue are queued or running; past that, run()
// answers at once with nullopt and the caller answers 503 `overloaded` with
// Retry-After: the queue never grows without bound.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <functional>
#include <optional>

#include "gateway/http/HttpAnswer.h"

namespace herald {

class BrokerWorkers {
 public:
  BrokerWorkers(unsigned threads, std::size_t capacity);
  ~BrokerWorkers();
  BrokerWorkers(const BrokerWorkers&) = delete;
  BrokerWorkers& operator=(const BrokerWorkers&) = delete;

  // Runs `work` on a worker and resumes the calling coroutine on its own executor with
  // the answer; nullopt at once when --api-queue calls are already admitted. `work`
  // must not throw (the api guards its handlers).
  boost::asio::awaitable<std::optional<HttpAnswer>> run(std::function<HttpAnswer()> work);
  // Calls queued or running.
  std::size_t pending() const { return pending_.load(std::memory_order_relaxed); }
  // Waits for the calls admitted so far; later run()s are refused. Idempotent.
  void stop();

 private:
  boost::asio::thread_pool pool_;
  const std::size_t capacity_;
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace herald
