// ShardMask: which stream threads (shards) want a channel, and the per-shard
// reference count that keeps it.
//
// A node runs at most kMaxShards stream threads; a broker delivers each live
// notification once with the mask of the shards that have subscribers of its
// channel. ShardRefCounts is the count of subscribers per shard behind one
// channel's mask: both brokers keep one per channel, and the configuration
// bounds --threads by kMaxShards. Not thread-safe: the owner locks.
#pragma once

#include <array>
#include <cstdint>

namespace herald {

using ShardMask = std::uint64_t;
inline constexpr unsigned kMaxShards = 64;

class ShardRefCounts {
 public:
  // Counts one more subscriber of `shard` (< kMaxShards); true when it is the shard's first.
  bool add(unsigned shard) {
    ++total_;
    if (counts_[shard]++ == 0) {
      mask_ |= ShardMask{1} << shard;
      return true;
    }
    return false;
  }
  // Counts one subscriber of `shard` less; false (and no change) when it had none.
  bool remove(unsigned shard) {
    if (counts_[shard] == 0) {
      return false;
    }
    --total_;
    if (--counts_[shard] == 0) {
      mask_ &= ~(ShardMask{1} << shard);
    }
    return true;
  }
  ShardMask mask() const { return mask_; }
  std::uint32_t total() const { return total_; }

 private:
  std::array<std::uint32_t, kMaxShards> counts_{};
  ShardMask mask_ = 0;
  std::uint32_t total_ = 0;
};

}  // namespace herald
