#include "gateway/broker/RedisStore.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <charconv>
#include <future>
#include <iterator>
#include <limits>

#include "gateway/broker/RedisGenerations.h"

namespace herald {

namespace asio = boost::asio;

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

RedisStore::RedisStore(const Config& config, int db, RedisClient& client)
    : historySize_(std::max<std::size_t>(config.historySize, 1)),
      historyTtl_(config.historyTtl),
      idempotencyTtl_(config.idempotencyTtl),
      keys_(config.redisPrefix, db),
      client_(client) {}

// One publish on its way: the script's keys and arguments (owned, so EVAL can follow a NOSCRIPT).
struct RedisStore::PublishCall {
  std::vector<std::string> keysAndArgs;
  std::string keyCount;
  std::size_t itemCount = 0;
  std::string idempotencyKey;
  PublishDone done;
};

namespace {

std::string encodeScriptCall(std::string_view verb, std::string_view script, const std::string& keyCount,
                             const std::vector<std::string>& keysAndArgs) {
  std::vector<std::string_view> command{verb, script, keyCount};
  command.insert(command.end(), keysAndArgs.begin(), keysAndArgs.end());
  return encodeCommand(command);
}

PublishOutcome parsePublishReply(const redisReply& reply, std::size_t itemCount,
                                 const std::string& idempotencyKey) {
  throwIfErrorReply(reply, "publish script");
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0) {
    throw RedisError("Redis publish script returned an unexpected reply");
  }
  const std::string_view status = replyText(*reply.element[0]);
  if (status == "conflict") {
    throw IdempotencyConflict("Idempotency-Key '" + idempotencyKey +
                              "' was used with a different request body");
  }
  PublishOutcome outcome;
  outcome.replayed = status == "replayed";
  for (std::size_t i = 1; i < reply.elements; ++i) {
    outcome.ids.push_back(parseIdOrThrow(replyText(*reply.element[i]), "a published notification"));
  }
  if (!outcome.replayed && outcome.ids.size() != itemCount) {
    throw RedisError("Redis publish script returned " + std::to_string(outcome.ids.size()) + " ids for " +
                     std::to_string(itemCount) + " items");
  }
  return outcome;
}

// Waits for an *Async call's answer (the caller is never the client's own thread).
template <typename Result, typename Start>
Result waitFor(Start start) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  start([promise](std::exception_ptr error, Result result) {
    if (error) {
      promise->set_exception(error);
    } else {
      promise->set_value(std::move(result));
    }
  });
  return future.get();
}

}  // namespace

void RedisStore::notePublishReply(const redisReply& reply) {
  const bool refused = reply.type == REDIS_REPLY_ERROR && isWriteRefusal(replyText(reply));
  if (refused && !writesRefused_.exchange(true)) {
    spdlog::error("redis refuses writes: {}; not ready until it takes them again", replyText(reply));
  } else if (!refused && reply.type != REDIS_REPLY_ERROR && writesRefused_.exchange(false)) {
    spdlog::info("redis takes writes again");
  }
}

void RedisStore::runPublish(const std::shared_ptr<PublishCall>& call, bool withSha) {
  std::string sha;
  if (withSha) {
    std::lock_guard lock(scriptMutex_);
    sha = publishSha_;
  }
  std::vector<std::string> commands;
  if (!sha.empty()) {
    commands.push_back(encodeScriptCall("EVALSHA", sha, call->keyCount, call->keysAndArgs));
  } else {
    // Not loaded yet, or Redis restarted and forgot it: EVAL runs it, SCRIPT LOAD gives its SHA.
    commands.push_back(encodeScriptCall("EVAL", publishScriptText(), call->keyCount, call->keysAndArgs));
    commands.push_back(encodeCommand({"SCRIPT", "LOAD", publishScriptText()}));
  }
  const bool viaSha = !sha.empty();
  client_.execute(std::move(commands), [this, call, viaSha](std::exception_ptr error, Replies replies) {
    if (error) {
      call->done(error, {});
      return;
    }
    const redisReply& reply = *replies.at(0);
    if (viaSha && reply.type == REDIS_REPLY_ERROR && replyText(reply).starts_with("NOSCRIPT")) {
      runPublish(call, false);
      return;
    }
    if (!viaSha && replies.size() > 1 && replies[1]->type == REDIS_REPLY_STRING) {
      std::lock_guard lock(scriptMutex_);
      publishSha_ = std::string(replyText(*replies[1]));
    }
    notePublishReply(reply);
    PublishOutcome outcome;
    try {
      outcome = parsePublishReply(reply, call->itemCount, call->idempotencyKey);
    } catch (...) {
      call->done(std::current_exception(), {});
      return;
    }
    call->done(nullptr, std::move(outcome));
  });
}

void RedisStore::publishAsync(const std::vector<PublishItem>& items,
                              const std::optional<IdempotencyToken>& idempotency, PublishDone done) {
  auto call = std::make_shared<PublishCall>();
  call->itemCount = items.size();
  call->done = std::move(done);
  auto& args = call->keysAndArgs;
  args.reserve(items.size() * (2 + kPublishFieldsPerItem) + 9);
  if (idempotency) {
    call->idempotencyKey = idempotency->key;
    args.push_back(keys_.idempotency(idempotency->key));
  }
  for (const auto& item : items) {
    args.push_back(keys_.stream(item.channel));
    args.push_back(keys_.meta(item.channel));
  }
  call->keyCount = std::to_string(args.size());
  args.insert(args.end(),
              {idempotency ? "1" : "0", idempotency ? idempotency->bodyDigest : "",
               std::to_string(idempotencyTtl_.count()), std::to_string(historySize_),
               std::to_string(historyTtl_.count()), std::to_string(historyTtl_.count() * kMetaTtlFactor),
               std::to_string(wallClockMicros()), keys_.livePrefix()});
  // ARGV[9], `sync`: filled in once known (withSyncedWritesFlag).
  const std::size_t syncArg = args.size();
  args.emplace_back();
  for (const auto& item : items) {
    args.insert(args.end(), {item.channel, item.event, item.data});
  }
  withSyncedWritesFlag([this, call, syncArg](std::string_view flag) {
    call->keysAndArgs[syncArg] = std::string(flag);
    runPublish(call, true);
  });
}

// History generations: whether Redis acknowledges a write only once it is on disk, recorded
// with each publish so a restart can tell whether it lost anything. Asked again every
// SyncedWritesProbe::kMaxAge, on the client's connections (never blocking the caller).
void RedisStore::withSyncedWritesFlag(std::function<void(std::string_view)> then) {
  if (!syncedWrites_.due(SyncedWritesProbe::Clock::now())) {
    then(syncedWrites_.flag());
    return;
  }
  const auto& command = SyncedWritesProbe::kCommand;
  client_.execute({encodeCommand({command[0], command[1], command[2]})},
                  [this, then = std::move(then)](std::exception_ptr error, Replies replies) {
                    // Unreachable: the publish that follows fails the same way; the flag waits.
                    if (!error) {
                      recordSyncedWrites(*replies.at(0));
                    }
                    then(syncedWrites_.flag());
                  });
}

void RedisStore::recordSyncedWrites(const redisReply& reply) {
  const std::string_view before = syncedWrites_.flag();
  const bool first = !syncedWrites_.known();
  syncedWrites_.record(reply, SyncedWritesProbe::Clock::now());
  if (first || before != syncedWrites_.flag()) {
    spdlog::info("redis: {}",
                 syncedWrites_.flag() == "1"
                     ? "appendonly yes + appendfsync always: restarts that lose nothing need no reset"
                     : "writes are not fsynced before they are acknowledged (or CONFIG GET is refused): "
                       "resumes across a Redis restart or failover get herald.reset lost");
  }
}

PublishOutcome RedisStore::publish(const std::vector<PublishItem>& items,
                                   const std::optional<IdempotencyToken>& idempotency) {
  return waitFor<PublishOutcome>(
      [&](PublishDone done) { publishAsync(items, idempotency, std::move(done)); });
}

void RedisStore::rangeAsync(const std::string& channel, std::optional<NotificationId> after,
                            std::size_t limit, RangeDone done) {
  const std::optional<std::string> start = after ? startAfter(*after) : std::string("-");
  if (limit == 0 || !start) {
    asio::post(client_.io(), [done = std::move(done)] { done(nullptr, {}); });
    return;
  }
  client_.execute(
      {encodeCommand({"XRANGE", keys_.stream(channel), *start, "+", "COUNT", std::to_string(limit)})},
      [channel, done = std::move(done)](std::exception_ptr error, Replies replies) {
        std::vector<NotificationPtr> entries;
        if (!error) {
          try {
            throwIfErrorReply(*replies.at(0), "XRANGE");
            entries = parseEntries(channel, *replies.at(0));
          } catch (...) {
            error = std::current_exception();
          }
        }
        done(error, std::move(entries));
      });
}

std::vector<NotificationPtr> RedisStore::range(const std::string& channel,
                                               std::optional<NotificationId> after, std::size_t limit) {
  return waitFor<std::vector<NotificationPtr>>(
      [&](RangeDone done) { rangeAsync(channel, after, limit, std::move(done)); });
}

namespace {

constexpr std::size_t kCommandsPerRead = 4;  // MULTI, EVAL meta.lua, XRANGE, EXEC

}  // namespace

std::vector<std::string> RedisStore::readAfterCommands(const std::string& channel, NotificationId from,
                                                       std::size_t limit) const {
  // With no possible id after `from`, "+ -" is a valid, empty range.
  const std::optional<std::string> next = startAfter(from);
  const std::string start = next.value_or("+");
  const std::string end = next ? "+" : "-";
  const std::string count = std::to_string(limit);
  // MULTI/EXEC so the meta and the entries describe the same moment.
  // meta.lua: HMGET gen last after the history-generation check (RedisGenerations.h).
  std::vector<std::string> commands{encodeCommand({"MULTI"}),
                                    encodeCommand({"EVAL", metaScriptText(), "1", keys_.meta(channel)})};
  if (limit > 0) {
    commands.push_back(encodeCommand({"XRANGE", keys_.stream(channel), start, end, "COUNT", count}));
  } else {
    commands.push_back(encodeCommand({"XRANGE", keys_.stream(channel), start, end}));
  }
  commands.push_back(encodeCommand({"EXEC"}));
  return commands;
}

ChannelRead RedisStore::parseReadAfter(const std::string& channel, const ReplyPtr* replies) const {
  for (std::size_t queued = 0; queued + 1 < kCommandsPerRead; ++queued) {
    throwIfErrorReply(*replies[queued], "MULTI");
  }
  const redisReply* exec = replies[kCommandsPerRead - 1].get();
  throwIfErrorReply(*exec, "EXEC");
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
    throw RedisError("Redis transaction for channel " + channel + " returned an unexpected reply");
  }
  const redisReply& meta = *exec->element[0];
  throwIfErrorReply(meta, "meta script");
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

ChannelRead RedisStore::readAfter(const std::string& channel, NotificationId from, std::size_t limit) {
  Replies replies = client_.run(readAfterCommands(channel, from, limit));
  return parseReadAfter(channel, replies.data());
}

std::vector<ChannelRead> RedisStore::readAfterMany(
    const std::vector<std::pair<std::string, NotificationId>>& reads) {
  std::vector<std::string> commands;
  commands.reserve(reads.size() * kCommandsPerRead);
  for (const auto& [channel, from] : reads) {
    auto one = readAfterCommands(channel, from);
    std::move(one.begin(), one.end(), std::back_inserter(commands));
  }
  if (commands.empty()) {
    return {};
  }
  // One pipelined round trip: the transactions follow each other on one connection.
  Replies replies = client_.run(std::move(commands));
  std::vector<ChannelRead> result;
  result.reserve(reads.size());
  for (std::size_t i = 0; i < reads.size(); ++i) {
    result.push_back(parseReadAfter(reads[i].first, replies.data() + i * kCommandsPerRead));
  }
  return result;
}

std::vector<NotificationId> RedisStore::newestIds(const std::vector<std::string>& channels) {
  std::vector<std::string> commands;
  commands.reserve(channels.size());
  for (const auto& channel : channels) {
    commands.push_back(encodeCommand({"HGET", keys_.meta(channel), "last"}));
  }
  if (commands.empty()) {
    return {};
  }
  Replies replies = client_.run(std::move(commands));
  std::vector<NotificationId> ids;
  ids.reserve(replies.size());
  for (const auto& reply : replies) {
    throwIfErrorReply(*reply, "HGET");
    ids.push_back(reply->type == REDIS_REPLY_STRING ? parseIdOrThrow(replyText(*reply), "meta last")
                                                    : NotificationId{});
  }
  return ids;
}

void RedisStore::ping() {
  Replies replies = client_.run({encodeCommand({"PING"})});
  throwIfErrorReply(*replies.at(0), "PING");
}

void RedisStore::probeWrites() {
  Replies replies = client_.run({encodeCommand({"SET", keys_.writableProbe(), "1", "PX", "60000"})});
  notePublishReply(*replies.at(0));
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
