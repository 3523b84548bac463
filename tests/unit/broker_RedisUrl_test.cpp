// Redis URL parsing and the pure codecs of the Redis broker (stream entries, pub/sub payloads).
#include "gateway/broker/RedisUrl.h"

#include <gtest/gtest.h>

#include "gateway/broker/RedisStore.h"

namespace herald {
namespace {

TEST(RedisUrl, HostPortAndDb) {
  auto address = parseRedisUrl("redis://10.0.0.5:6380/3");
  EXPECT_EQ(address.host, "10.0.0.5");
  EXPECT_EQ(address.port, 6380);
  EXPECT_EQ(address.db, 3);
  EXPECT_EQ(address.str(), "redis://10.0.0.5:6380/3");
}

TEST(RedisUrl, Defaults) {
  auto address = parseRedisUrl("redis://cache.internal");
  EXPECT_EQ(address.host, "cache.internal");
  EXPECT_EQ(address.port, kDefaultRedisPort);
  EXPECT_EQ(address.db, 0);
  EXPECT_EQ(parseRedisUrl("redis://h/").db, 0);
  EXPECT_EQ(parseRedisUrl("redis://h:7000").port, 7000);
  EXPECT_EQ(parseRedisUrl("redis://h/2").db, 2);
}

TEST(RedisUrl, Ipv6InBrackets) {
  auto address = parseRedisUrl("redis://[::1]:6390/1");
  EXPECT_EQ(address.host, "::1");
  EXPECT_EQ(address.port, 6390);
  EXPECT_EQ(address.db, 1);
  EXPECT_EQ(address.str(), "redis://[::1]:6390/1");
}

TEST(RedisUrl, RejectsMalformed) {
  for (const char* bad :
       {"", "memory", "http://h:1", "redis://", "redis://:6379", "redis://h:", "redis://h:0",
        "redis://h:70000", "redis://h:12ab", "redis://h/x", "redis://h/-1", "redis://u:p@", "redis://[::1",
        "redis://[::1]x", "redis://u:%zz@h", "rediss://", "redis:/h"}) {
    EXPECT_THROW(parseRedisUrl(bad), std::invalid_argument) << bad;
  }
  try {
    parseRedisUrl("redis://h:99999");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("redis://h:99999"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("port"), std::string::npos);
  }
}

TEST(RedisUrl, CredentialsAndTls) {
  auto address = parseRedisUrl("rediss://herald:s3cr%40t@cache.internal:6380/2");
  EXPECT_TRUE(address.tls);
  EXPECT_EQ(address.user, "herald");
  EXPECT_EQ(address.password, "s3cr@t");
  EXPECT_EQ(address.host, "cache.internal");
  EXPECT_EQ(address.port, 6380);
  EXPECT_EQ(address.db, 2);
  EXPECT_EQ(address.str(), "rediss://herald:***@cache.internal:6380/2");

  auto passwordOnly = parseRedisUrl("redis://:pw@h");
  EXPECT_FALSE(passwordOnly.tls);
  EXPECT_EQ(passwordOnly.user, "");
  EXPECT_EQ(passwordOnly.password, "pw");
  EXPECT_EQ(passwordOnly.str(), "redis://:***@h:6379/0");

  auto userOnly = parseRedisUrl("redis://herald@h");
  EXPECT_EQ(userOnly.user, "herald");
  EXPECT_EQ(userOnly.password, "");
  EXPECT_EQ(userOnly.str(), "redis://herald@h:6379/0");

  // An unencoded '@' in a password: the credentials end at the last one.
  EXPECT_EQ(parseRedisUrl("redis://u:a@b@h").password, "a@b");
  EXPECT_EQ(parseRedisUrl("redis://h").str(), "redis://h:6379/0");
}

TEST(RedisUrl, ErrorsAndRedactionNeverShowThePassword) {
  try {
    parseRedisUrl("redis://herald:s3cret@h:99999");
    FAIL();
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    EXPECT_NE(message.find("redis://herald:***@h:99999"), std::string::npos) << message;
  }
  EXPECT_EQ(redactRedisUrl("rediss://u:p@h/1"), "rediss://u:***@h/1");
  EXPECT_EQ(redactRedisUrl("redis://h:1"), "redis://h:1");
  EXPECT_EQ(redactRedisUrl("redis://u@h"), "redis://u@h");
}

TEST(RedisUrl, ClusterSeeds) {
  auto address = parseRedisUrl("redis+cluster://herald:s3cret@10.0.0.1:7000,[::1]:7001,node3");
  EXPECT_TRUE(address.cluster);
  EXPECT_FALSE(address.tls);
  EXPECT_EQ(address.user, "herald");
  EXPECT_EQ(address.password, "s3cret");
  ASSERT_EQ(address.seeds.size(), 3U);
  EXPECT_EQ(address.seeds[0], (RedisHostPort{"10.0.0.1", 7000}));
  EXPECT_EQ(address.seeds[1], (RedisHostPort{"::1", 7001}));
  EXPECT_EQ(address.seeds[2], (RedisHostPort{"node3", kDefaultRedisPort}));
  EXPECT_EQ(address.host, "10.0.0.1");
  EXPECT_EQ(address.port, 7000);
  EXPECT_EQ(address.db, 0);
  EXPECT_EQ(address.str(), "redis+cluster://herald:***@10.0.0.1:7000,[::1]:7001,node3:6379");

  auto tls = parseRedisUrl("rediss+cluster://h:7000/0");
  EXPECT_TRUE(tls.cluster);
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.seeds, (std::vector<RedisHostPort>{{"h", 7000}}));
  EXPECT_EQ(tls.str(), "rediss+cluster://h:7000");

  // A standalone URL has no seeds and never a comma list.
  EXPECT_FALSE(parseRedisUrl("redis://h").cluster);
  EXPECT_TRUE(parseRedisUrl("redis://h").seeds.empty());
  EXPECT_THROW(parseRedisUrl("redis://a:1,b:2"), std::invalid_argument);
}

TEST(RedisUrl, ClusterRejectsAnotherDatabaseAndEmptySeeds) {
  for (const char* bad : {"redis+cluster://h:7000/1", "redis+cluster://", "redis+cluster://h:7000,",
                          "redis+cluster://,h:7000", "rediss+cluster://h:0", "redis+cluster://h:7000/x"}) {
    EXPECT_THROW(parseRedisUrl(bad), std::invalid_argument) << bad;
  }
  try {
    parseRedisUrl("redis+cluster://u:s3cret@h:7000/2");
    FAIL();
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    EXPECT_NE(message.find("database 0 only"), std::string::npos) << message;
  }
  EXPECT_EQ(redactRedisUrl("redis+cluster://u:p@a:1,b:2"), "redis+cluster://u:***@a:1,b:2");
}

TEST(RedisKeys, LiveChannelCarriesTheDatabase) {
  RedisKeys keys("herald:", 4);
  EXPECT_EQ(keys.stream("user:1"), "herald:stream:user:1");
  EXPECT_EQ(keys.meta("user:1"), "herald:meta:user:1");
  EXPECT_EQ(keys.idempotency("k"), "herald:idem:k");
  EXPECT_EQ(keys.live("user:1"), "herald:db4:live:user:1");
}

TEST(RedisCodec, LivePayloadRoundTrip) {
  auto n = parseLivePayload("c", "5-1\n5-0\norder.shipped\n1700000000000000\n{\"a\":\"x\\ny\"}");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->channel, "c");
  EXPECT_EQ(n->id, (NotificationId{5, 1}));
  EXPECT_EQ(n->prev, (NotificationId{5, 0}));
  EXPECT_EQ(n->event, "order.shipped");
  EXPECT_EQ(n->publishedUs, 1700000000000000);
  EXPECT_EQ(n->data, "{\"a\":\"x\\ny\"}");

  auto untyped = parseLivePayload("c", "7-0\n0-0\n\n1\n42");
  ASSERT_NE(untyped, nullptr);
  EXPECT_EQ(untyped->event, "");
  EXPECT_EQ(untyped->data, "42");
}

TEST(RedisCodec, MalformedPayloadIsRejected) {
  EXPECT_EQ(parseLivePayload("c", ""), nullptr);
  EXPECT_EQ(parseLivePayload("c", "5-1\n5-0\ne\n"), nullptr);
  EXPECT_EQ(parseLivePayload("c", "x\n5-0\ne\n1\n{}"), nullptr);
  EXPECT_EQ(parseLivePayload("c", "5-1\n5-0\ne\nnot-a-number\n{}"), nullptr);
}

}  // namespace
}  // namespace herald
