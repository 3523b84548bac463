// Redis Cluster's pure parts: CRC16 and key slots (checked against Redis 7's CLUSTER KEYSLOT),
// the slot map from a CLUSTER SLOTS reply, and MOVED/ASK parsing.
#include "gateway/broker/redis/ClusterSlots.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "gateway/broker/redis/ClusterKeys.h"

namespace herald {
namespace {

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value of CRC-16/XMODEM (Redis cluster spec)
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, KeySlotMatchesRedisClusterKeyslot) {
  // Outputs of `redis-cli cluster keyslot KEY` on redis-server 7.0.15.
  const std::vector<std::pair<std::string, int>> known = {{"123456789", 12739},
                                                          {"foo", 12182},
                                                          {"bar", 5061},
                                                          {"user:1", 10778},
                                                          {"{user1}:a", 8106},
                                                          {"a{user1}", 8106},
                                                          {"{}x", 10595},
                                                          {"x{}y{z}", 15453},
                                                          {"news", 5161},
                                                          {"", 0},
                                                          {"\xC3\xA9", 10180},
                                                          {"{a", 10276},
                                                          {"herald:stream:{news}", 5161}};
  for (const auto& [key, slot] : known) {
    EXPECT_EQ(keySlot(key), slot) << key;
  }
}

TEST(ClusterKeys, EveryKeyOfAChannelSharesItsSlot) {
  const ClusterKeys keys("herald:");
  EXPECT_EQ(keys.stream("user:1"), "herald:stream:{user:1}");
  EXPECT_EQ(keys.meta("user:1"), "herald:meta:{user:1}");
  EXPECT_EQ(keys.idempotency("user:1", "k-1"), "herald:idem:{user:1}:k-1");
  EXPECT_EQ(keys.live("user:1"), "herald:live:{user:1}");
  EXPECT_TRUE(keys.live("user:1").starts_with(keys.livePrefix()));
  std::set<std::uint16_t> slots;
  // Channel names are 1-200 of [A-Za-z0-9_.:@=-] (isValidChannelName): never a brace, never empty,
  // so the tag is exactly the channel name, whatever the idempotency key holds.
  for (const std::string& channel :
       std::vector<std::string>{"user:1", "a", "news.eu", "orders:eu:7", "x@y=z", std::string(200, 'c')}) {
    const std::uint16_t slot = keySlot(keys.stream(channel));
    EXPECT_EQ(keySlot(keys.meta(channel)), slot) << channel;
    EXPECT_EQ(keySlot(keys.idempotency(channel, "{other}")), slot) << channel;
    EXPECT_EQ(keySlot(keys.live(channel)), slot) << channel;
    EXPECT_EQ(keySlot(channel), slot) << channel;
    slots.insert(slot);
  }
  EXPECT_GT(slots.size(), 1U);
  EXPECT_THROW(ClusterKeys("her{ald:"), std::invalid_argument);
  EXPECT_THROW(ClusterKeys("herald}:"), std::invalid_argument);
}

// A hiredis reply tree built by hand (the shapes CLUSTER SLOTS answers with).
struct FakeReply {
  redisReply reply{};
  std::vector<std::unique_ptr<FakeReply>> children;
  std::vector<redisReply*> pointers;
  std::string text;

  static std::unique_ptr<FakeReply> integer(long long value) {
    auto r = std::make_unique<FakeReply>();
    r->reply.type = REDIS_REPLY_INTEGER;
    r->reply.integer = value;
    return r;
  }
  static std::unique_ptr<FakeReply> string(std::string value) {
    auto r = std::make_unique<FakeReply>();
    r->text = std::move(value);
    r->reply.type = REDIS_REPLY_STRING;
    r->reply.str = r->text.data();
    r->reply.len = r->text.size();
    return r;
  }
  static std::unique_ptr<FakeReply> array(std::vector<std::unique_ptr<FakeReply>> items) {
    auto r = std::make_unique<FakeReply>();
    r->reply.type = REDIS_REPLY_ARRAY;
    r->children = std::move(items);
    for (auto& child : r->children) {
      r->pointers.push_back(&child->reply);
    }
    r->reply.elements = r->pointers.size();
    r->reply.element = r->pointers.data();
    return r;
  }
};

std::unique_ptr<FakeReply> range(long long first, long long last, const std::string& host, long long port) {
  std::vector<std::unique_ptr<FakeReply>> node;
  node.push_back(FakeReply::string(host));
  node.push_back(FakeReply::integer(port));
  node.push_back(FakeReply::string("0123abcd"));
  std::vector<std::unique_ptr<FakeReply>> items;
  items.push_back(FakeReply::integer(first));
  items.push_back(FakeReply::integer(last));
  items.push_back(FakeReply::array(std::move(node)));
  return FakeReply::array(std::move(items));
}

TEST(ClusterSlots, SlotMapFromClusterSlots) {
  std::vector<std::unique_ptr<FakeReply>> ranges;
  ranges.push_back(range(0, 5460, "127.0.0.1", 7000));
  ranges.push_back(range(5461, 10922, "127.0.0.1", 7001));
  ranges.push_back(range(10923, 16383, "", 7002));           // no announced address: the node asked
  ranges.push_back(range(16000, 16000, "127.0.0.1", 7000));  // a later range wins (an imported slot)
  auto reply = FakeReply::array(std::move(ranges));
  const SlotMap map = SlotMap::fromClusterSlots(reply->reply, {"10.1.1.1", 7002});
  ASSERT_EQ(map.masters().size(), 3U);
  EXPECT_EQ(map.nodeOf(0), (RedisHostPort{"127.0.0.1", 7000}));
  EXPECT_EQ(map.nodeOf(5460), (RedisHostPort{"127.0.0.1", 7000}));
  EXPECT_EQ(map.nodeOf(5461), (RedisHostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(map.nodeOf(16383), (RedisHostPort{"10.1.1.1", 7002}));
  EXPECT_EQ(map.nodeOf(16000), (RedisHostPort{"127.0.0.1", 7000}));

  SlotMap moved = map;
  moved.move(5461, {"127.0.0.1", 7009});
  EXPECT_EQ(moved.masters().size(), 4U);
  EXPECT_EQ(moved.nodeOf(5461), (RedisHostPort{"127.0.0.1", 7009}));
  EXPECT_EQ(moved.nodeOf(5462), (RedisHostPort{"127.0.0.1", 7001}));
}

TEST(ClusterSlots, UncoveredOrMalformedSlotsAreErrors) {
  std::vector<std::unique_ptr<FakeReply>> partial;
  partial.push_back(range(0, 10000, "127.0.0.1", 7000));
  auto reply = FakeReply::array(std::move(partial));
  EXPECT_THROW(SlotMap::fromClusterSlots(reply->reply, {"h", 1}), RedisError);

  std::vector<std::unique_ptr<FakeReply>> outOfBounds;
  outOfBounds.push_back(range(0, 16384, "127.0.0.1", 7000));
  auto bad = FakeReply::array(std::move(outOfBounds));
  EXPECT_THROW(SlotMap::fromClusterSlots(bad->reply, {"h", 1}), RedisError);

  auto notArray = FakeReply::integer(3);
  EXPECT_THROW(SlotMap::fromClusterSlots(notArray->reply, {"h", 1}), RedisError);
}

TEST(ClusterSlots, RedirectsAreParsed) {
  auto moved = parseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, ClusterRedirect::Kind::Moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->node, (RedisHostPort{"127.0.0.1", 6381}));

  auto ask = parseRedirect("ASK 16383 [::1]:7005");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, ClusterRedirect::Kind::Ask);
  EXPECT_EQ(ask->slot, 16383);
  EXPECT_EQ(ask->node, (RedisHostPort{"::1", 7005}));

  for (const char* notOne : {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "ASK 1 h", "ASK 1 h:0",
                             "MOVED 1 h:70000", "READONLY You can't write"}) {
    EXPECT_FALSE(parseRedirect(notOne).has_value()) << notOne;
  }
  EXPECT_TRUE(isClusterRetry("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(isClusterRetry("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(isClusterRetry("MOVED 1 h:1"));
}

}  // namespace
}  // namespace herald
