// The pure parts of Herald's Redis client: command encoding, how error replies are
// classified (refusal = configuration error, write refusal = not ready, transient =
// outage), and the reconnect backoff.
#include <gtest/gtest.h>

#include "gateway/broker/redis/RedisClient.h"
#include "gateway/broker/redis/RedisLink.h"
#include "gateway/broker/redis/RedisReply.h"

namespace herald {
namespace {

TEST(RedisCommand, EncodesArgumentsBinarySafe) {
  EXPECT_EQ(encodeCommand({"PING"}), "*1\r\n$4\r\nPING\r\n");
  const std::string withNul("a\0b", 3);
  EXPECT_EQ(encodeCommand({"SET", "k", withNul}),
            std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
  EXPECT_EQ(encodeCommand({"AUTH", "user", "p w\r\n"}),
            "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$5\r\np w\r\n\r\n");
}

TEST(RedisErrors, RefusalsAreConfigurationErrors) {
  for (const char* text :
       {"WRONGPASS invalid username-password pair or user is disabled.", "NOAUTH Authentication required.",
        "NOPERM this user has no permissions", "ERR invalid password"}) {
    EXPECT_TRUE(isRefusal(text)) << text;
    EXPECT_FALSE(isTransient(text)) << text;
  }
  for (const char* text :
       {"LOADING Redis is loading the dataset in memory", "ERR unknown command", "READONLY x"}) {
    EXPECT_FALSE(isRefusal(text)) << text;
  }
}

TEST(RedisErrors, WriteRefusalsAndTransientErrors) {
  for (const char* text :
       {"READONLY You can't write against a read only replica.",
        "OOM command not allowed when used memory > 'maxmemory'.", "MISCONF Errors writing"}) {
    EXPECT_TRUE(isWriteRefusal(text)) << text;
  }
  EXPECT_FALSE(isWriteRefusal("NOSCRIPT No matching script"));
  for (const char* text : {"LOADING Redis is loading", "BUSY Redis is busy running a script", "TRYAGAIN",
                           "MASTERDOWN Link with MASTER is down"}) {
    EXPECT_TRUE(isTransient(text)) << text;
  }
}

TEST(RedisErrors, ErrorRepliesThrowTheirKind) {
  redisReply reply{};
  reply.type = REDIS_REPLY_ERROR;
  std::string text = "NOPERM no permissions";
  reply.str = text.data();
  reply.len = text.size();
  EXPECT_THROW(throwIfErrorReply(reply, "SUBSCRIBE"), RedisRefused);
  text = "ERR something else";
  reply.str = text.data();
  reply.len = text.size();
  try {
    throwIfErrorReply(reply, "XRANGE");
    FAIL();
  } catch (const RedisRefused&) {
    FAIL() << "not a refusal";
  } catch (const RedisError& error) {
    EXPECT_NE(std::string(error.what()).find("XRANGE"), std::string::npos);
  }
}

TEST(RedisBackoff, DoublesToTheCapWithJitter) {
  RedisBackoff backoff;
  auto expected = RedisBackoff::kInitial;
  for (int i = 0; i < 10; ++i) {
    const auto delay = backoff.next();
    EXPECT_GE(delay, expected / 2) << i;
    EXPECT_LE(delay, expected) << i;
    expected = std::min(expected * 2, RedisBackoff::kMax);
  }
  backoff.reset();
  EXPECT_LE(backoff.next(), RedisBackoff::kInitial);
}

}  // namespace
}  // namespace herald
