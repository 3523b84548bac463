#include "gateway/broker/RedisConnection.h"

#include <spdlog/spdlog.h>
#include <sys/time.h>

namespace herald {

namespace {

// Idle connections kept for reuse; more are made on demand and closed after use.
constexpr std::size_t kMaxIdleConnections = 8;

timeval toTimeval(std::chrono::milliseconds timeout) {
  using namespace std::chrono;
  const auto secs = duration_cast<seconds>(timeout);
  return timeval{static_cast<time_t>(secs.count()),
                 static_cast<suseconds_t>(duration_cast<microseconds>(timeout - secs).count())};
}

}  // namespace

std::string_view replyText(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string_view(reply.str, reply.len);
    default:
      return {};
  }
}

void throwIfErrorReply(const redisReply& reply, std::string_view what) {
  if (reply.type == REDIS_REPLY_ERROR) {
    throw RedisError("Redis " + std::string(what) + " failed: " + std::string(replyText(reply)));
  }
}

RedisConnection::RedisConnection(const RedisAddress& address, std::chrono::milliseconds timeout) {
  context_ = redisConnectWithTimeout(address.host.c_str(), address.port, toTimeval(timeout));
  if (context_ == nullptr) {
    throw RedisError("cannot allocate a Redis connection");
  }
  if (context_->err != 0) {
    broken_ = true;
    std::string reason = context_->errstr;
    redisFree(context_);
    context_ = nullptr;
    throw RedisError("cannot connect to " + address.str() + ": " + reason);
  }
  if (redisSetTimeout(context_, toTimeval(timeout)) != REDIS_OK) {
    fail("setting the command timeout");
  }
  if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    auto reply = command({"SELECT", db});
    throwIfErrorReply(*reply, "SELECT " + db);
  }
}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) {
    redisFree(context_);
  }
}

void RedisConnection::fail(std::string_view what) {
  broken_ = true;
  throw RedisError("Redis " + std::string(what) + ": " +
                   (context_ != nullptr && context_->err != 0 ? context_->errstr : "connection lost"));
}

void RedisConnection::append(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
      REDIS_OK) {
    fail("queueing a command");
  }
}

ReplyPtr RedisConnection::nextReply() {
  void* reply = nullptr;
  if (broken_ || redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
    fail("reading a reply");
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

ReplyPtr RedisConnection::command(const std::vector<std::string_view>& args) {
  append(args);
  return nextReply();
}

RedisPool::RedisPool(RedisAddress address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

RedisPool::~RedisPool() = default;

std::unique_ptr<RedisConnection> RedisPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  // Connect outside the lock: a slow connect must not hold up other borrowers.
  return std::make_unique<RedisConnection>(address_, timeout_);
}

void RedisPool::release(std::unique_ptr<RedisConnection> connection) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleConnections) {
    idle_.push_back(std::move(connection));
  }
}

void RedisPool::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

}  // namespace herald
