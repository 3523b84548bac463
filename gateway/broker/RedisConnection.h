// RedisConnection and RedisPool: blocking hiredis connections owned by one thread at a time.
//
// The Redis broker talks to Redis only through these. A RedisConnection wraps one
// synchronous hiredis context (connect and command timeouts, SELECT of the
// database, pipelining); any I/O failure marks it broken and throws RedisError,
// and a broken connection is never reused. RedisPool lends connections to the
// threads that publish, read history and replay: a mutex-protected free list,
// connections made on demand, so each is used by one thread at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gateway/broker/RedisUrl.h"

namespace herald {

// Redis could not be reached, timed out, or answered with an error.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// The text of a string, status or error reply (empty for other types).
std::string_view replyText(const redisReply& reply);
// Throws RedisError when `reply` is an error reply; `what` names the command.
void throwIfErrorReply(const redisReply& reply, std::string_view what);

class RedisConnection {
 public:
  // Connects within `timeout` and SELECTs the address's database; every later
  // command also times out after `timeout`. Throws RedisError.
  RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and waits for its reply (which may be an error reply).
  // Throws RedisError on I/O failure or timeout.
  ReplyPtr command(const std::vector<std::string_view>& args);
  // Queues a command without sending it (pipelining); replies come from nextReply().
  void append(const std::vector<std::string_view>& args);
  // Flushes what is queued and reads the next reply. Throws RedisError.
  ReplyPtr nextReply();

  // For the subscriber's own event loop: the socket and the raw context.
  int fd() const { return context_->fd; }
  redisContext* context() { return context_; }

  bool broken() const { return broken_; }
  // Marks the connection unusable and throws RedisError with hiredis's reason.
  [[noreturn]] void fail(std::string_view what);

 private:
  redisContext* context_ = nullptr;
  bool broken_ = false;
};

class RedisPool {
 public:
  RedisPool(RedisAddress address, std::chrono::milliseconds timeout);
  ~RedisPool();

  // Runs `work` with a connection of the pool. On RedisError the connection is
  // dropped (the pool is marked unhealthy if it broke) and the error rethrown.
  template <typename Work>
  auto run(Work&& work) -> decltype(work(std::declval<RedisConnection&>()));

  // The last command on a pool connection succeeded (what readiness reports).
  bool healthy() const { return healthy_.load(); }
  const RedisAddress& address() const { return address_; }
  // Closes every idle connection (used at stop).
  void clear();

 private:
  std::unique_ptr<RedisConnection> acquire();
  void release(std::unique_ptr<RedisConnection> connection);

  const RedisAddress address_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  std::atomic<bool> healthy_{false};
};

template <typename Work>
auto RedisPool::run(Work&& work) -> decltype(work(std::declval<RedisConnection&>())) {
  std::unique_ptr<RedisConnection> connection;
  try {
    connection = acquire();
    if constexpr (std::is_void_v<decltype(work(*connection))>) {
      work(*connection);
      healthy_.store(true);
      release(std::move(connection));
    } else {
      auto result = work(*connection);
      healthy_.store(true);
      release(std::move(connection));
      return result;
    }
  } catch (const RedisError&) {
    // A connection that failed mid-command may hold unread replies: never reuse it.
    // Only I/O failures make the pool unhealthy; an error reply means Redis answered.
    // A broken connection usually means Redis went away: the idle ones are stale too.
    if (!connection || connection->broken()) {
      healthy_.store(false);
      clear();
    }
    throw;
  }
}

}  // namespace herald
