// ClusterSlots: the pure parts of talking to a Redis Cluster — which hash slot a key
// lives in, which master owns which slots, and what a redirect reply asks for.
//
// Redis Cluster splits the key space into 16384 slots by CRC16 (XMODEM) of the key,
// or only of its hash tag (the text between the first `{` and the next `}`, when
// not empty), so keys sharing a tag share a slot and one script may touch them all.
// SlotMap is built from a `CLUSTER SLOTS` reply; a command answered `MOVED slot
// host:port` means the map is stale, `ASK slot host:port` means "this once, send
// it there after ASKING" (a slot being migrated). No I/O here: the cluster client
// uses these, and they are unit-tested against Redis's own `CLUSTER KEYSLOT`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/RedisUrl.h"
#include "gateway/broker/redis/RedisReply.h"

namespace herald {

inline constexpr std::size_t kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster uses it.
std::uint16_t crc16(std::string_view data);
// The slot of `key`, honouring a non-empty `{hash tag}`.
std::uint16_t keySlot(std::string_view key);

// Which master serves each slot; the masters in first-seen order.
class SlotMap {
 public:
  // From a `CLUSTER SLOTS` reply: [[start, end, [host, port, id…], replicas…]…]. An empty host
  // (a node that does not know its own address) means the node that was asked: `askedNode`.
  // Throws RedisError on a reply of another shape, or when some slot has no owner
  // (the cluster is not fully covered: CLUSTERDOWN for those slots).
  static SlotMap fromClusterSlots(const redisReply& reply, const RedisHostPort& askedNode);

  const std::vector<RedisHostPort>& masters() const { return masters_; }
  // Index into masters() of the owner of `slot`.
  std::size_t masterOf(std::uint16_t slot) const { return owner_[slot]; }
  const RedisHostPort& nodeOf(std::uint16_t slot) const { return masters_[owner_[slot]]; }
  // After `MOVED slot node`: the slot now belongs to `node` (a new master is appended).
  void move(std::uint16_t slot, const RedisHostPort& node);

 private:
  std::vector<RedisHostPort> masters_;
  std::array<std::uint16_t, kClusterSlots> owner_{};
};

// A `MOVED` or `ASK` error reply, parsed.
struct ClusterRedirect {
  enum class Kind { Moved, Ask } kind;
  std::uint16_t slot;
  RedisHostPort node;
};
// The redirect an error text asks for; nullopt when it is not one (or is malformed).
std::optional<ClusterRedirect> parseRedirect(std::string_view errorText);
// TRYAGAIN (a multi-key command during a migration) or CLUSTERDOWN: retry after a pause.
bool isClusterRetry(std::string_view errorText);

}  // namespace herald
