// RedisReply: the errors and parsed replies every part of the Redis client shares.
//
// Replies are hiredis `redisReply` trees (hiredis parses the protocol; Herald does
// the I/O, see RedisLink). RedisError is any failure to use Redis; RedisRefused is
// the kind that is a configuration error rather than an outage: Redis answered
// and said no (a wrong password, a missing ACL permission, a certificate that
// does not verify).
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

// Redis could not be reached, timed out, or answered with an error.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Redis answered but refuses Herald: retrying will not help until the settings change.
class RedisRefused : public RedisError {
 public:
  using RedisError::RedisError;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
using Replies = std::vector<ReplyPtr>;

// The text of a string, status or error reply (empty for other types).
std::string_view replyText(const redisReply& reply);
// Throws RedisError (RedisRefused for a refusal) when `reply` is an error reply; `what` names the command.
void throwIfErrorReply(const redisReply& reply, std::string_view what);

// An error reply that means "not with these credentials or permissions" (WRONGPASS, NOAUTH, NOPERM…).
bool isRefusal(std::string_view errorText);
// An error reply that means Redis cannot take writes now (READONLY after a failover, OOM, MASTERDOWN):
// the broker is not ready while they last.
bool isWriteRefusal(std::string_view errorText);
// An error reply that passes by itself (LOADING a dataset after a restart, BUSY with a script,
// TRYAGAIN, MASTERDOWN): an outage, never a configuration error.
bool isTransient(std::string_view errorText);

}  // namespace herald
