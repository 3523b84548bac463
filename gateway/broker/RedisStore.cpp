#include "gateway/broker/RedisStore.h"

#include <charconv>
#include <limits>

#include <herald/LuaScripts.h>

namespace herald {

namespace {

// The meta hash outlives the stream by this factor of --history-ttl, so a resume
// id whose history expired is reported `expired`, not `lost`, for that long.
constexpr int kMetaTtlFactor = 4;
constexpr std::size_t kPublishFieldsPerItem = 3;  // channel, event, data
constexpr std::size_t kPayloadHeaderLines = 4;    // id, prev, event, publishedUs

std::uint64_t wallClockMillis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

NotificationId parseIdOrThrow(std::string_view text, std::string_view what) {
  auto id = NotificationId::parse(text);
  if (!id) {
    throw RedisError("Redis returned a malformed id for " + std::string(what) + ": '" + std::string(text) +
                     "'");
  }
  return *id;
}

// The inclusive XRANGE start of "ids after `id`"; nullopt when no id can follow
// (Redis rejects the exclusive "(" form of the largest id).
std::optional<std::string> startAfter(NotificationId id) {
  constexpr auto kMaxPart = std::numeric_limits<std::uint64_t>::max();
  if (id.seq < kMaxPart) {
    return NotificationId{id.ms, id.seq + 1}.str();
  }
  if (id.ms < kMaxPart) {
    return NotificationId{id.ms + 1, 0}.str();
  }
  return std::nullopt;
}

std::vector<NotificationPtr> parseEntries(const std::string& channel, const redisReply& reply) {
  std::vector<NotificationPtr> entries;
  if (reply.type != REDIS_REPLY_ARRAY) {
    throw RedisError("Redis XRANGE returned no array for channel " + channel);
  }
  entries.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    auto entry = parseStreamEntry(channel, *reply.element[i]);
    if (!entry) {
      throw RedisError("Redis stream of channel " + channel + " holds a malformed entry");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

RedisKeys::RedisKeys(std::string prefix, int db)
    : prefix_(std::move(prefix)), livePrefix_(prefix_ + "db" + std::to_string(db) + ":live:") {}

RedisStore::RedisStore(const Config& config, const RedisAddress& address)
    : historySize_(std::max<std::size_t>(config.historySize, 1)),
      historyTtl_(config.historyTtl),
      idempotencyTtl_(config.idempotencyTtl),
      keys_(config.redisPrefix, address.db),
      pool_(address, config.publishTimeout) {}

ReplyPtr RedisStore::evalPublish(RedisConnection& connection,
                                 const std::vector<std::string_view>& keysAndArgs, std::size_t keyCount) {
  const std::string keyCountText = std::to_string(keyCount);
  std::string sha;
  {
    std::lock_guard lock(scriptMutex_);
    sha = publishSha_;
  }
  if (!sha.empty()) {
    std::vector<std::string_view> command{"EVALSHA", sha, keyCountText};
    command.insert(command.end(), keysAndArgs.begin(), keysAndArgs.end());
    auto reply = connection.command(command);
    if (reply->type != REDIS_REPLY_ERROR || !replyText(*reply).starts_with("NOSCRIPT")) {
      return reply;
    }
  }
  // Not loaded yet, or Redis restarted and forgot it: EVAL runs and caches it.
  std::vector<std::string_view> command{"EVAL", embedded::kPublishLua, keyCountText};
  command.insert(command.end(), keysAndArgs.begin(), keysAndArgs.end());
  auto reply = connection.command(command);
  if (reply->type != REDIS_REPLY_ERROR) {
    auto loaded = connection.command({"SCRIPT", "LOAD", embedded::kPublishLua});
    if (loaded->type == REDIS_REPLY_STRING) {
      std::lock_guard lock(scriptMutex_);
      publishSha_ = std::string(replyText(*loaded));
    }
  }
  return reply;
}

PublishOutcome RedisStore::publish(const std::vector<PublishItem>& items,
                                   const std::optional<IdempotencyToken>& idempotency) {
  const std::string hasIdempotency = idempotency ? "1" : "0";
  const std::string digest = idempotency ? idempotency->bodyDigest : "";
  const std::string idempotencyTtl = std::to_string(idempotencyTtl_.count());
  const std::string historySize = std::to_string(historySize_);
  const std::string historyTtl = std::to_string(historyTtl_.count());
  const std::string metaTtl = std::to_string(historyTtl_.count() * kMetaTtlFactor);
  const std::string publishedUs = std::to_string(wallClockMicros());

  // The strings the command refers to must outlive it: keep them here.
  std::vector<std::string> keyStrings;
  keyStrings.reserve(items.size() * 2 + 1);
  if (idempotency) {
    keyStrings.push_back(keys_.idempotency(idempotency->key));
  }
  for (const auto& item : items) {
    keyStrings.push_back(keys_.stream(item.channel));
    keyStrings.push_back(keys_.meta(item.channel));
  }
  std::vector<std::string_view> keysAndArgs(keyStrings.begin(), keyStrings.end());
  keysAndArgs.insert(keysAndArgs.end(), {hasIdempotency, digest, idempotencyTtl, historySize, historyTtl,
                                         metaTtl, publishedUs, keys_.livePrefix()});
  keysAndArgs.reserve(keysAndArgs.size() + items.size() * kPublishFieldsPerItem);
  for (const auto& item : items) {
    keysAndArgs.insert(keysAndArgs.end(), {item.channel, item.event, item.data});
  }

  auto reply = pool_.run(
      [&](RedisConnection& connection) { return evalPublish(connection, keysAndArgs, keyStrings.size()); });
  throwIfErrorReply(*reply, "publish script");
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
    throw RedisError("Redis publish script returned an unexpected reply");
  }
  const std::string_view status = replyText(*reply->element[0]);
  if (status == "conflict") {
    throw IdempotencyConflict("Idempotency-Key '" + idempotency.value_or(IdempotencyToken{}).key +
                              "' was used with a different request body");
  }
  PublishOutcome outcome;
  outcome.replayed = status == "replayed";
  for (std::size_t i = 1; i < reply->elements; ++i) {
    outcome.ids.push_back(parseIdOrThrow(replyText(*reply->element[i]), "a published notification"));
  }
  if (!outcome.replayed && outcome.ids.size() != items.size()) {
    throw RedisError("Redis publish script returned " + std::to_string(outcome.ids.size()) + " ids for " +
                     std::to_string(items.size()) + " items");
  }
  return outcome;
}

std::vector<NotificationPtr> RedisStore::range(const std::string& channel,
                                               std::optional<NotificationId> after, std::size_t limit) {
  if (limit == 0) {
    return {};
  }
  const std::string key = keys_.stream(channel);
  const std::optional<std::string> start = after ? startAfter(*after) : std::string("-");
  if (!start) {
    return {};
  }
  const std::string count = std::to_string(limit);
  auto reply = pool_.run([&](RedisConnection& connection) {
    return connection.command({"XRANGE", key, *start, "+", "COUNT", count});
  });
  throwIfErrorReply(*reply, "XRANGE");
  return parseEntries(channel, *reply);
}

ChannelRead RedisStore::readAfter(const std::string& channel, NotificationId from, std::size_t limit) {
  const std::string streamKey = keys_.stream(channel);
  const std::string metaKey = keys_.meta(channel);
  // With no possible id after `from`, "+ -" is a valid, empty range.
  const std::optional<std::string> next = startAfter(from);
  const std::string start = next.value_or("+");
  const std::string end = next ? "+" : "-";
  const std::string count = std::to_string(limit);
  // MULTI/EXEC so the meta and the entries describe the same moment.
  auto exec = pool_.run([&](RedisConnection& connection) {
    connection.append({"MULTI"});
    connection.append({"HMGET", metaKey, "gen", "last"});
    if (limit > 0) {
      connection.append({"XRANGE", streamKey, start, end, "COUNT", count});
    } else {
      connection.append({"XRANGE", streamKey, start, end});
    }
    connection.append({"EXEC"});
    for (int queued = 0; queued < 3; ++queued) {
      throwIfErrorReply(*connection.nextReply(), "MULTI");
    }
    return connection.nextReply();
  });
  throwIfErrorReply(*exec, "EXEC");
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
    throw RedisError("Redis transaction for channel " + channel + " returned an unexpected reply");
  }
  const redisReply& meta = *exec->element[0];
  throwIfErrorReply(meta, "HMGET");
  throwIfErrorReply(*exec->element[1], "XRANGE");

  ChannelRead read;
  if (meta.type == REDIS_REPLY_ARRAY && meta.elements == 2 && meta.element[0]->type == REDIS_REPLY_STRING &&
      meta.element[1]->type == REDIS_REPLY_STRING) {
    read.meta.known = true;
    read.meta.generationStart = parseIdOrThrow(replyText(*meta.element[0]), "meta gen");
    read.meta.newest = parseIdOrThrow(replyText(*meta.element[1]), "meta last");
  }
  read.entries = parseEntries(channel, *exec->element[1]);

  // Trimming by size never removes the newest entry, so nothing retained after
  // `from` means the TTL removed it. Otherwise the newest removed entry is the
  // first retained one's predecessor: older than the TTL means it expired.
  if (read.entries.empty()) {
    read.removal = ResetReason::expired;
  } else {
    const std::uint64_t lastRemovedMs = read.entries.front()->prev.ms;
    const auto ttlMs = static_cast<std::uint64_t>(historyTtl_.count());
    read.removal = lastRemovedMs + ttlMs <= wallClockMillis() ? ResetReason::expired : ResetReason::truncated;
  }
  return read;
}

std::vector<NotificationId> RedisStore::newestIds(const std::vector<std::string>& channels) {
  std::vector<std::string> metaKeys;
  metaKeys.reserve(channels.size());
  for (const auto& channel : channels) {
    metaKeys.push_back(keys_.meta(channel));
  }
  return pool_.run([&](RedisConnection& connection) {
    for (const auto& key : metaKeys) {
      connection.append({"HGET", key, "last"});
    }
    std::vector<NotificationId> ids;
    ids.reserve(metaKeys.size());
    for (std::size_t i = 0; i < metaKeys.size(); ++i) {
      auto reply = connection.nextReply();
      throwIfErrorReply(*reply, "HGET");
      ids.push_back(reply->type == REDIS_REPLY_STRING ? parseIdOrThrow(replyText(*reply), "meta last")
                                                      : NotificationId{});
    }
    return ids;
  });
}

void RedisStore::ping() {
  auto reply = pool_.run([](RedisConnection& connection) { return connection.command({"PING"}); });
  throwIfErrorReply(*reply, "PING");
}

NotificationPtr parseStreamEntry(const std::string& channel, const redisReply& entry) {
  if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 || entry.element[1]->type != REDIS_REPLY_ARRAY) {
    return nullptr;
  }
  auto id = NotificationId::parse(replyText(*entry.element[0]));
  if (!id) {
    return nullptr;
  }
  auto notification = std::make_shared<Notification>();
  notification->channel = channel;
  notification->id = *id;
  const redisReply& fields = *entry.element[1];
  for (std::size_t i = 0; i + 1 < fields.elements; i += 2) {
    const std::string_view name = replyText(*fields.element[i]);
    const std::string_view value = replyText(*fields.element[i + 1]);
    if (name == "p") {
      auto prev = NotificationId::parse(value);
      if (!prev) {
        return nullptr;
      }
      notification->prev = *prev;
    } else if (name == "e") {
      notification->event = std::string(value);
    } else if (name == "d") {
      notification->data = std::string(value);
    } else if (name == "t") {
      notification->publishedUs = parseInt(value).value_or(0);
    }
  }
  return notification;
}

NotificationPtr parseLivePayload(const std::string& channel, std::string_view payload) {
  std::string_view lines[kPayloadHeaderLines];
  for (auto& line : lines) {
    auto newline = payload.find('\n');
    if (newline == std::string_view::npos) {
      return nullptr;
    }
    line = payload.substr(0, newline);
    payload.remove_prefix(newline + 1);
  }
  auto id = NotificationId::parse(lines[0]);
  auto prev = NotificationId::parse(lines[1]);
  auto publishedUs = parseInt(lines[3]);
  if (!id || !prev || !publishedUs) {
    return nullptr;
  }
  auto notification = std::make_shared<Notification>();
  notification->channel = channel;
  notification->id = *id;
  notification->prev = *prev;
  notification->event = std::string(lines[2]);
  notification->publishedUs = *publishedUs;
  notification->data = std::string(payload);
  return notification;
}

}  // namespace herald
