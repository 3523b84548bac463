// RedisStore: the Redis data layout of the broker and every command on it but SUBSCRIBE.
//
// Per channel a stream `<prefix>stream:<channel>` holds the retained history
// (fields p = previous id, e = event, d = data, t = publishedUs) and a hash
// `<prefix>meta:<channel>` (gen = first id of the generation, last = newest id)
// outlives it; `<prefix>idem:<key>` remembers an Idempotency-Key. Live
// notifications go out on `<prefix>db<N>:live:<channel>` (pub/sub ignores the
// database, so the name carries it). Publishing is one Lua script call per
// publish(), so a batch is atomic and one round trip. All commands run on
// RedisPool connections and throw RedisError when Redis cannot be used.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisConnection.h"
#include "gateway/broker/ResumeProof.h"
#include "gateway/config/Config.h"

namespace herald {

class RedisKeys {
 public:
  RedisKeys(std::string prefix, int db);
  std::string stream(std::string_view channel) const { return prefix_ + "stream:" + std::string(channel); }
  std::string meta(std::string_view channel) const { return prefix_ + "meta:" + std::string(channel); }
  std::string idempotency(std::string_view key) const { return prefix_ + "idem:" + std::string(key); }
  // The pub/sub channel of `channel`, and the prefix all of them share.
  std::string live(std::string_view channel) const { return livePrefix_ + std::string(channel); }
  const std::string& livePrefix() const { return livePrefix_; }

 private:
  std::string prefix_;
  std::string livePrefix_;
};

// What a resume needs of one channel, read atomically.
struct ChannelRead {
  ChannelMeta meta;
  std::vector<NotificationPtr> entries;  // retained, id > from, oldest first
  // What removed the entries a resume from `from` would miss, if any were.
  ResetReason removal = ResetReason::truncated;
};

class RedisStore {
 public:
  RedisStore(const Config& config, const RedisAddress& address);

  // Runs publish.lua once for all items. Throws IdempotencyConflict or RedisError.
  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency);
  // Retained entries with id > after (from the oldest when absent), at most `limit`.
  std::vector<NotificationPtr> range(const std::string& channel, std::optional<NotificationId> after,
                                     std::size_t limit);
  // The channel's meta and the first `limit` (0: all) retained entries after `from`, in one
  // transaction.
  ChannelRead readAfter(const std::string& channel, NotificationId from, std::size_t limit = 0);
  // The newest id of each channel (0-0 when it has none), pipelined in one round trip.
  std::vector<NotificationId> newestIds(const std::vector<std::string>& channels);
  void ping();

  const RedisKeys& keys() const { return keys_; }
  RedisPool& pool() { return pool_; }
  const RedisPool& pool() const { return pool_; }

 private:
  ReplyPtr evalPublish(RedisConnection& connection, const std::vector<std::string_view>& keysAndArgs,
                       std::size_t keyCount);

  const std::size_t historySize_;
  const std::chrono::milliseconds historyTtl_;
  const std::chrono::milliseconds idempotencyTtl_;
  const RedisKeys keys_;
  RedisPool pool_;
  std::mutex scriptMutex_;
  std::string publishSha_;  // SHA1 of publish.lua once loaded (Redis forgets it on restart)
};

// Parses one XRANGE entry ([id, [field, value, ...]]) of `channel`; nullptr when malformed.
NotificationPtr parseStreamEntry(const std::string& channel, const redisReply& entry);
// Parses a pub/sub payload "<id>\n<prev>\n<event>\n<publishedUs>\n<data>"; nullptr when malformed.
NotificationPtr parseLivePayload(const std::string& channel, std::string_view payload);

}  // namespace herald
