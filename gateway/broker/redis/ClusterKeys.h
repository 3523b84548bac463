// ClusterKeys: the names of a channel's keys in Redis Cluster mode, all in one hash slot.
//
// Every key and the sharded pub/sub channel of a channel carry the channel name as a
// hash tag (`<prefix>stream:{<channel>}`), so one publish of one channel is one script
// on one shard, and its SPUBLISH goes to the shard that stores it. Idempotency is
// recorded per channel item in that channel's slot (`<prefix>idem:{<channel>}:<key>`),
// so a multi-channel publish split over shards can be retried shard by shard.
// Standalone (redis://) deployments keep RedisKeys' untagged names: no data-layout
// change for them. Channel names never contain braces (isValidChannelName), so the tag
// is exactly the channel name; the prefix must not contain `{` or `}` either (it would
// become the tag).
#pragma once

#include <string>
#include <string_view>

namespace herald {

class ClusterKeys {
 public:
  // Throws std::invalid_argument when `prefix` contains a brace.
  explicit ClusterKeys(std::string prefix);

  std::string stream(std::string_view channel) const { return tagged("stream:", channel); }
  std::string meta(std::string_view channel) const { return tagged("meta:", channel); }
  std::string idempotency(std::string_view channel, std::string_view key) const {
    return tagged("idem:", channel) + ":" + std::string(key);
  }
  // The sharded pub/sub channel (SPUBLISH/SSUBSCRIBE); the database is always 0 in a cluster.
  std::string live(std::string_view channel) const { return tagged("live:", channel); }
  // What every live channel name starts with.
  std::string livePrefix() const { return prefix_ + "live:{"; }

 private:
  std::string tagged(std::string_view kind, std::string_view channel) const {
    return prefix_ + std::string(kind) + "{" + std::string(channel) + "}";
  }

  std::string prefix_;
};

}  // namespace herald
