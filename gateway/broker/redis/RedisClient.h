// RedisClient: a node's small fixed set of Redis connections and the thread that runs them.
//
// It owns one Asio io_context and its thread; every RedisLink (the command
// connections here and the subscriber's pub/sub link) runs on it. Commands go
// to the open connection with the fewest in flight, pipelined behind whatever
// else is there; there is no connect-per-command. A lost connection is
// re-established with capped exponential backoff and jitter, each slot on its
// own. execute() never blocks; run() waits for execute()'s answer, for callers
// on their own threads (never the io thread). The TLS context is built once.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/broker/redis/RedisLink.h"

namespace herald {

// Reconnect delays: capped exponential, each in [delay/2, delay] so nodes that lost Redis
// together do not all come back at once.
class RedisBackoff {
 public:
  std::chrono::milliseconds next();
  void reset() { delay_ = kInitial; }

  static constexpr std::chrono::milliseconds kInitial{100};
  static constexpr std::chrono::milliseconds kMax{5000};

 private:
  std::chrono::milliseconds delay_ = kInitial;
};

class RedisClient {
 public:
  // Builds the TLS context (throws RedisRefused when the CA, certificate or key cannot be
  // loaded); connects only at start().
  RedisClient(RedisEndpoint endpoint, std::size_t connections);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();
  // Closes every connection (what is in flight fails) and joins the thread.
  void stop();

  // Runs `commands` back to back on one connection; `done` runs on the io thread with their
  // replies, or with a RedisError when no connection is open or the one used fails.
  void execute(std::vector<std::string> commands, RedisLink::Done done);
  // execute() and wait. Throws RedisError. Not from the io thread.
  Replies run(std::vector<std::string> commands);

  // A new, unconnected link to the same endpoint, on this client's thread (the subscriber's).
  std::shared_ptr<RedisLink> makeLink();
  boost::asio::io_context& io() { return io_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }

  // At least one command connection is open.
  bool connected() const { return openLinks_.load() > 0; }
  // Waits up to `wait` for the first connection attempt to end: nullptr when it connected or is
  // still going, else why it failed (RedisRefused: Redis answered and refused).
  std::exception_ptr firstAttempt(std::chrono::milliseconds wait);

 private:
  struct Slot {
    std::shared_ptr<RedisLink> link;
    bool open = false;
    RedisBackoff backoff;
    std::unique_ptr<boost::asio::steady_timer> retry;
    std::string lastFailure;  // logged once per distinct reason, not once per attempt
  };

  void connectSlot(std::size_t index);
  void onSlotDown(std::size_t index, const std::exception_ptr& reason);

  const RedisEndpoint endpoint_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::vector<Slot> slots_;  // io thread only
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> openLinks_{0};
  std::size_t nextSlot_ = 0;

  std::mutex firstMutex_;
  bool firstSet_ = false;
  std::promise<std::exception_ptr> firstPromise_;
  std::shared_future<std::exception_ptr> firstFuture_;
};

// Makes the TLS client context of `settings` (trust anchors, optional client certificate).
std::unique_ptr<boost::asio::ssl::context> makeRedisTlsContext(const RedisTlsSettings& settings);

}  // namespace herald
