// RedisGenerations: reading Redis's persistence settings, and the script texts.
#include "gateway/broker/RedisGenerations.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace herald {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

// A `CONFIG GET` answer: a flat array of bulk strings, built by hand.
class ConfigReply {
 public:
  explicit ConfigReply(Settings settings) {
    for (auto& [name, value] : settings) {
      texts_.push_back(std::move(name));
      texts_.push_back(std::move(value));
    }
    items_.resize(texts_.size());
    for (std::size_t i = 0; i < texts_.size(); ++i) {
      items_[i].type = REDIS_REPLY_STRING;
      items_[i].str = texts_[i].data();
      items_[i].len = texts_[i].size();
      pointers_.push_back(&items_[i]);
    }
    reply_.type = REDIS_REPLY_ARRAY;
    reply_.elements = pointers_.size();
    reply_.element = pointers_.data();
  }
  const redisReply& reply() const { return reply_; }

 private:
  std::vector<std::string> texts_;
  std::vector<redisReply> items_;
  std::vector<redisReply*> pointers_;
  redisReply reply_{};
};

TEST(RedisGenerations, OnlyAofWithFsyncAlwaysSyncsEveryWrite) {
  EXPECT_TRUE(configSyncsEveryWrite(
      ConfigReply(Settings{{"appendonly", "yes"}, {"appendfsync", "always"}, {"appendfilename", "a.aof"}})
          .reply()));
  EXPECT_FALSE(configSyncsEveryWrite(
      ConfigReply(Settings{{"appendonly", "yes"}, {"appendfsync", "everysec"}}).reply()));
  EXPECT_FALSE(
      configSyncsEveryWrite(ConfigReply(Settings{{"appendonly", "no"}, {"appendfsync", "always"}}).reply()));
  EXPECT_FALSE(configSyncsEveryWrite(ConfigReply(Settings{{"appendfsync", "always"}}).reply()));
  EXPECT_FALSE(configSyncsEveryWrite(ConfigReply(Settings{}).reply()));
  // CONFIG refused (an ACL, a managed Redis): Herald cannot tell, so "not synced".
  std::string message = "NOPERM this user has no permissions to run the 'config|get' command";
  redisReply refused{};
  refused.type = REDIS_REPLY_ERROR;
  refused.str = message.data();
  refused.len = message.size();
  EXPECT_FALSE(configSyncsEveryWrite(refused));
}

TEST(RedisGenerations, ProbeAsksAgainAfterItsMaxAge) {
  SyncedWritesProbe probe;
  const auto start = SyncedWritesProbe::Clock::now();
  EXPECT_TRUE(probe.due(start));
  EXPECT_EQ(probe.flag(), "0");
  probe.record(ConfigReply(Settings{{"appendonly", "yes"}, {"appendfsync", "always"}}).reply(), start);
  EXPECT_EQ(probe.flag(), "1");
  EXPECT_FALSE(probe.due(start + SyncedWritesProbe::kMaxAge - std::chrono::milliseconds(1)));
  EXPECT_TRUE(probe.due(start + SyncedWritesProbe::kMaxAge));
  probe.record(ConfigReply(Settings{{"appendonly", "yes"}, {"appendfsync", "everysec"}}).reply(),
               start + SyncedWritesProbe::kMaxAge);
  EXPECT_EQ(probe.flag(), "0");
}

TEST(RedisGenerations, ScriptsCarryTheGenerationCheck) {
  for (const std::string* script : {&publishScriptText(), &metaScriptText()}) {
    const auto check = script->find("local function heraldGenerationLast");
    ASSERT_NE(check, std::string::npos);
    EXPECT_LT(check, script->find("heraldGenerationLast(", check + 40));  // defined before use
  }
}

}  // namespace
}  // namespace herald
