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
  for (const char* bad : {"", "memory", "http://h:1", "redis://", "redis://:6379",
                          "redis://h:", "redis://h:0", "redis://h:70000", "redis://h:12ab", "redis://h/x",
                          "redis://h/-1", "redis://u:p@h", "redis://[::1", "redis://[::1]x"}) {
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
