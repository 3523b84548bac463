// Broker: the seam between the gateway and where notifications are stored and fanned out.
//
// The gateway calls the broker (publish, history, subscribe, replay); the broker
// calls back into the gateway through a BrokerListener for every live
// notification. MemoryBroker (one node, no dependencies) and RedisBroker (many
// nodes sharing one Redis) implement it. A broker knows nothing of HTTP or SSE.
//
// Subscribers are grouped in *shards* (one per stream thread, at most 64). The
// broker keeps a reference count per channel and shard, and delivers each live
// notification once with the mask of the shards that want it; the shard then
// fans it out to its own connections without any lock.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/core/Notification.h"
#include "gateway/core/ShardMask.h"

namespace herald {

// The broker cannot be reached (or did not answer within --publish-timeout).
class BrokerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The broker answered but refuses Herald (a wrong password or user, missing ACL
// permissions, a certificate that fails verification) or its settings cannot be
// used: a configuration error, not an outage. At start, herald exits 2 with it.
class BrokerMisconfigured : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The Idempotency-Key was used before with a different body.
class IdempotencyConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An Idempotency-Key and a digest of the request body it came with.
struct IdempotencyToken {
  std::string key;
  std::string bodyDigest;
};

struct PublishOutcome {
  std::vector<NotificationId> ids;  // one per item, in input order
  bool replayed = false;            // true: the answer of an earlier request with the same key
};

struct HistoryPage {
  std::vector<NotificationPtr> items;  // oldest first
};

// One page of a replay: at most the `limit` asked for.
struct ReplayResult {
  bool ok = true;                      // false: the broker could not be read
  std::optional<ResetReason> reset;    // set when the replay from `from` cannot be proven complete
  std::vector<NotificationPtr> items;  // retained notifications after `from`, oldest first
  NotificationId newest;               // the channel's newest id at read time (0-0: none)
  // Retained notifications follow this page: read the next one from items.back()->id.
  bool more = false;
};

class BrokerListener {
 public:
  virtual ~BrokerListener() = default;
  // A live notification for the shards in `shards`. Called on a broker or
  // publisher thread, in id order per channel; must not block.
  virtual void onNotification(ShardMask shards, NotificationPtr notification) = 0;
  // After a broker outage, a channel's backfill could not be proven complete:
  // its subscribers get a `herald.reset` before what follows.
  virtual void onChannelReset(ShardMask shards, const std::string& channel, ResetReason reason) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Starts background work (connections, threads). The listener outlives the broker's use.
  virtual void start(BrokerListener& listener) = 0;
  virtual void stop() = 0;
  // The broker is reachable and serving (what /readyz reports).
  virtual bool ready() const = 0;
  // A short human-readable description for logs ("memory", "redis://127.0.0.1:6379/0").
  virtual std::string describe() const = 0;
  // Times the broker connection came back after being lost (herald_broker_reconnects_total);
  // an embedded broker never loses it.
  virtual std::uint64_t reconnects() const { return 0; }

  // Stores and publishes the items in order, atomically per call, and returns their
  // ids once stored. Blocks. Throws BrokerUnavailable or IdempotencyConflict.
  virtual PublishOutcome publish(const std::vector<PublishItem>& items,
                                 const std::optional<IdempotencyToken>& idempotency) = 0;

  // Retained notifications with id > after (from the oldest when absent), at most `limit`.
  // Blocks. Throws BrokerUnavailable.
  virtual HistoryPage history(const std::string& channel, std::optional<NotificationId> after,
                              std::size_t limit) = 0;

  // The answers of publish() and history() without blocking the caller: `done` is
  // called exactly once, on any thread (a broker thread, or the caller's before
  // returning), with a null exception_ptr and the result, or with the exception
  // publish()/history() would have thrown (BrokerUnavailable, IdempotencyConflict).
  // `done` must not block. The defaults call the blocking forms.
  using PublishDone = std::function<void(std::exception_ptr, PublishOutcome)>;
  using HistoryDone = std::function<void(std::exception_ptr, HistoryPage)>;
  virtual void publishAsync(std::vector<PublishItem> items, std::optional<IdempotencyToken> idempotency,
                            PublishDone done) {
    PublishOutcome outcome;
    try {
      outcome = publish(items, idempotency);
    } catch (...) {
      done(std::current_exception(), {});
      return;
    }
    done(nullptr, std::move(outcome));
  }
  virtual void historyAsync(std::string channel, std::optional<NotificationId> after, std::size_t limit,
                            HistoryDone done) {
    HistoryPage page;
    try {
      page = history(channel, after, limit);
    } catch (...) {
      done(std::current_exception(), {});
      return;
    }
    done(nullptr, std::move(page));
  }

  // Ensures live notifications of `channel` reach `shard`; `done(true)` is called (on any
  // thread) once they do, `done(false)` if the broker is unavailable. Reference-counted:
  // each successful subscribe needs one unsubscribe.
  virtual void subscribe(const std::string& channel, unsigned shard, std::function<void(bool)> done) = 0;
  virtual void unsubscribe(const std::string& channel, unsigned shard) = 0;

  // Reads one page of what a subscriber resuming from `from` missed (no `from`: only the
  // newest id): at most `limit` (> 0) notifications, with the proof of completeness from
  // `from`; `done` is called on any thread. A long replay is read page by page, each
  // from the last id of the one before, so no replay is held in memory whole.
  virtual void replay(const std::string& channel, std::optional<NotificationId> from, std::size_t limit,
                      std::function<void(ReplayResult)> done) = 0;
};

}  // namespace herald
