#include "gateway/broker/redis/RedisReply.h"

namespace herald {

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
  if (reply.type != REDIS_REPLY_ERROR) {
    return;
  }
  const std::string message = "Redis " + std::string(what) + " failed: " + std::string(replyText(reply));
  if (isRefusal(replyText(reply))) {
    throw RedisRefused(message);
  }
  throw RedisError(message);
}

bool isRefusal(std::string_view errorText) {
  // Redis 6+: WRONGPASS and NOPERM; NOAUTH when a password is required and none was sent;
  // Redis < 6 answers a wrong password with "ERR invalid password".
  return errorText.starts_with("WRONGPASS") || errorText.starts_with("NOAUTH") ||
         errorText.starts_with("NOPERM") || errorText.starts_with("ERR invalid password") ||
         errorText.starts_with("ERR AUTH <password> called without any password configured");
}

bool isWriteRefusal(std::string_view errorText) {
  return errorText.starts_with("READONLY") || errorText.starts_with("OOM") ||
         errorText.starts_with("MASTERDOWN") || errorText.starts_with("MISCONF");
}

bool isTransient(std::string_view errorText) {
  return errorText.starts_with("LOADING") || errorText.starts_with("BUSY") ||
         errorText.starts_with("TRYAGAIN") || errorText.starts_with("MASTERDOWN");
}

}  // namespace herald
