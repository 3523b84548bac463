#include "gateway/broker/RedisGenerations.h"

#include <herald/LuaScripts.h>

namespace herald {

namespace {

std::string withGenerationCheck(std::string_view script) {
  std::string text(embedded::kGenerationLua);
  text += '\n';
  text += script;
  return text;
}

std::string_view textOf(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_STRING && reply.type != REDIS_REPLY_STATUS) {
    return {};
  }
  return {reply.str, reply.len};
}

}  // namespace

const std::string& publishScriptText() {
  static const std::string text = withGenerationCheck(embedded::kPublishLua);
  return text;
}

const std::string& metaScriptText() {
  static const std::string text = withGenerationCheck(embedded::kMetaLua);
  return text;
}

bool configSyncsEveryWrite(const redisReply& reply) {
  // A flat [name, value, ...] array (RESP2).
  if (reply.type != REDIS_REPLY_ARRAY) {
    return false;
  }
  bool appendOnly = false;
  bool fsyncAlways = false;
  for (std::size_t i = 0; i + 1 < reply.elements; i += 2) {
    const std::string_view name = textOf(*reply.element[i]);
    const std::string_view value = textOf(*reply.element[i + 1]);
    if (name == "appendonly") {
      appendOnly = value == "yes";
    } else if (name == "appendfsync") {
      fsyncAlways = value == "always";
    }
  }
  return appendOnly && fsyncAlways;
}

bool SyncedWritesProbe::due(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return !known_ || now - checkedAt_ >= kMaxAge;
}

void SyncedWritesProbe::record(const redisReply& reply, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  synced_ = configSyncsEveryWrite(reply);
  known_ = true;
  checkedAt_ = now;
}

bool SyncedWritesProbe::known() const {
  std::lock_guard lock(mutex_);
  return known_;
}

std::string_view SyncedWritesProbe::flag() const {
  std::lock_guard lock(mutex_);
  return synced_ ? "1" : "0";
}

}  // namespace herald
