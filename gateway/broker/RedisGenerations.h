// RedisGenerations: what the Redis broker needs to tell one history generation from the next.
//
// A Redis that restarts from an older snapshot or fails over to a lagging
// replica comes back with less than it acknowledged. The Lua scripts detect
// that (lua/generation.lua: the meta records the run_id of the Redis process
// that wrote it and whether that write was synced to disk) and end the
// channel's generation, so resumes into the lost part get `lost`. This file
// holds the C++ side: the script texts with the generation check prepended, and
// SyncedWritesProbe, which tells whether the Redis acknowledges a write only
// once it is on disk (appendonly yes + appendfsync always, read with CONFIG GET
// where the server allows it; where it does not, Herald assumes it does not).
// Pure: the caller runs the command and hands over the reply.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

namespace herald {

// publish.lua and meta.lua, each with generation.lua in front.
const std::string& publishScriptText();
const std::string& metaScriptText();

class SyncedWritesProbe {
 public:
  using Clock = std::chrono::steady_clock;
  // How long one CONFIG GET answer is trusted: a change of appendfsync on the
  // server is seen within this time.
  static constexpr std::chrono::seconds kMaxAge{10};
  // The command to send (any Redis version: one pattern).
  static constexpr std::string_view kCommand[] = {"CONFIG", "GET", "append*"};

  // True when a fresh answer is needed (none yet, or older than kMaxAge).
  bool due(Clock::time_point now) const;
  // Records the answer to kCommand; an error answer (CONFIG refused) means "not synced".
  void record(const redisReply& reply, Clock::time_point now);
  // The publish script's `sync` argument: "1" when every write is synced before it is acknowledged.
  std::string_view flag() const;
  // Whether any answer was recorded yet.
  bool known() const;

 private:
  mutable std::mutex mutex_;
  bool known_ = false;
  bool synced_ = false;
  Clock::time_point checkedAt_{};
};

// Parses a `CONFIG GET append*` answer: appendonly yes and appendfsync always.
bool configSyncsEveryWrite(const redisReply& reply);

}  // namespace herald
