// RedisStore: the Redis data layout of the broker and every command on it but SUBSCRIBE.
//
// Per channel a stream `<prefix>stream:<channel>` holds the retained history
// (fields p = previous id, e = event, d = data, t = publishedUs) and a hash
// `<prefix>meta:<channel>` (gen = first id of the generation, last = newest id,
// run and sync = which Redis process wrote `last` and whether it synced it: see
// RedisGenerations.h) outlives it; `<prefix>idem:<key>` remembers an Idempotency-Key. Live
// notifications go out on `<prefix>db<N>:live:<channel>` (pub/sub ignores the
// database, so the name carries it). Publishing is one Lua script call per
// publish(), so a batch is atomic and one round trip. This file is the layout;
// the transport is RedisClient (pipelined connections on the broker's event
// loop): the blocking forms wait on it and throw RedisError when Redis cannot be
// used, the *Async forms answer on the client's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisGenerations.h"
#include "gateway/broker/ResumeProof.h"
#include "gateway/broker/redis/RedisClient.h"
#include "gateway/config/Config.h"

namespace herald {

class RedisKeys {
 public:
  RedisKeys(std::string prefix, int db);
  std::string stream(std::string_view channel) const { return prefix_ + "stream:" + std::string(channel); }
  std::string meta(std::string_view channel) const { return prefix_ + "meta:" + std::string(channel); }
  std::string idempotency(std::string_view key) const { return prefix_ + "idem:" + std::string(key); }
  // The key the write probe sets while Redis refuses writes.
  std::string writableProbe() const { return prefix_ + "writable"; }
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
  // `client` carries every command and must outlive the store.
  RedisStore(const Config& config, int db, RedisClient& client);

  // Runs publish.lua once for all items. Throws IdempotencyConflict or RedisError.
  PublishOutcome publish(const std::vector<PublishItem>& items,
                         const std::optional<IdempotencyToken>& idempotency);
  // The same without blocking: `done` runs once on the client's thread with the outcome or
  // the exception publish() would throw.
  using PublishDone = std::function<void(std::exception_ptr, PublishOutcome)>;
  void publishAsync(const std::vector<PublishItem>& items, const std::optional<IdempotencyToken>& idempotency,
                    PublishDone done);
  // Retained entries with id > after (from the oldest when absent), at most `limit`.
  std::vector<NotificationPtr> range(const std::string& channel, std::optional<NotificationId> after,
                                     std::size_t limit);
  using RangeDone = std::function<void(std::exception_ptr, std::vector<NotificationPtr>)>;
  void rangeAsync(const std::string& channel, std::optional<NotificationId> after, std::size_t limit,
                  RangeDone done);
  // The channel's meta and the first `limit` (0: all) retained entries after `from`, in one
  // transaction.
  ChannelRead readAfter(const std::string& channel, NotificationId from, std::size_t limit = 0);
  // readAfter for many channels, pipelined in one round trip (the backfill after a reconnect).
  std::vector<ChannelRead> readAfterMany(const std::vector<std::pair<std::string, NotificationId>>& reads);
  // The newest id of each channel (0-0 when it has none), pipelined in one round trip.
  std::vector<NotificationId> newestIds(const std::vector<std::string>& channels);
  void ping();
  // While Redis refuses writes (READONLY after a failover, OOM): checks with a tiny write of
  // `<prefix>writable` whether it takes them again. Blocking.
  void probeWrites();
  // The last publish (or probe) was refused with READONLY, OOM or the like.
  bool writesRefused() const { return writesRefused_.load(); }

  const RedisKeys& keys() const { return keys_; }
  RedisClient& client() { return client_; }

 private:
  struct PublishCall;
  void runPublish(const std::shared_ptr<PublishCall>& call, bool withSha);
  void notePublishReply(const redisReply& reply);
  std::vector<std::string> readAfterCommands(const std::string& channel, NotificationId from,
                                             std::size_t limit = 0) const;
  // The ChannelRead of the 4 replies from `replies` on (MULTI, HMGET, XRANGE, EXEC).
  ChannelRead parseReadAfter(const std::string& channel, const ReplyPtr* replies) const;
  // Runs `then` with publish.lua's `sync` argument, asking Redis first when the last answer is old.
  void withSyncedWritesFlag(std::function<void(std::string_view)> then);
  void recordSyncedWrites(const redisReply& reply);

  const std::size_t historySize_;
  const std::chrono::milliseconds historyTtl_;
  const std::chrono::milliseconds idempotencyTtl_;
  const RedisKeys keys_;
  RedisClient& client_;
  std::atomic<bool> writesRefused_{false};
  std::mutex scriptMutex_;
  std::string publishSha_;  // SHA1 of publish.lua once loaded (Redis forgets it on restart)
  SyncedWritesProbe syncedWrites_;
};

// Parses one XRANGE entry ([id, [field, value, ...]]) of `channel`; nullptr when malformed.
NotificationPtr parseStreamEntry(const std::string& channel, const redisReply& entry);
// Parses a pub/sub payload "<id>\n<prev>\n<event>\n<publishedUs>\n<data>"; nullptr when malformed.
NotificationPtr parseLivePayload(const std::string& channel, std::string_view payload);

}  // namespace herald
