// RedisClusterClient: commands to a Redis Cluster, each routed to the master of its slot.
//
// It discovers the topology from the URL's seed nodes (CLUSTER SLOTS on the first
// that answers), keeps one RedisClient (its own small connection set) per master,
// and follows the cluster's answers: `MOVED` updates the slot's owner and refreshes
// the whole map (a failover or a resharding moved more than one slot), then retries;
// `ASK` sends `ASKING` and the commands to the named node once (a slot being
// migrated); `TRYAGAIN` and `CLUSTERDOWN` are retried with a growing pause, and so is a
// master that cannot be reached, re-reading the topology each time (a failover promotes
// a replica, which only a fresh `CLUSTER SLOTS` names). All of it
// within the endpoint's timeout (--publish-timeout); past it the last error is thrown.
// refresh() re-reads the topology; a background thread calls it every few seconds (a
// resharding or failover is then seen even on slots no command touched).
// run() blocks; not from a client's io thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/broker/redis/ClusterSlots.h"
#include "gateway/broker/redis/RedisClient.h"

namespace herald {

class RedisClusterClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultRefresh{5000};

  // `endpoint.address` is a cluster address (its seeds); `connections` per master; the topology
  // is re-read every `refreshEvery` in the background (0: only after MOVED and failures).
  RedisClusterClient(RedisEndpoint endpoint, std::size_t connections,
                     std::chrono::milliseconds refreshEvery = kDefaultRefresh);
  ~RedisClusterClient();
  RedisClusterClient(const RedisClusterClient&) = delete;
  RedisClusterClient& operator=(const RedisClusterClient&) = delete;

  // Reads the topology from the seeds and connects to every master. Throws RedisError when no
  // seed answers CLUSTER SLOTS (RedisRefused when one refuses the credentials).
  void start();
  void stop();

  // Runs `commands` back to back on the master of `slot` and returns their replies, following
  // redirects. Throws RedisError when the deadline passes or the node fails.
  Replies run(std::uint16_t slot, const std::vector<std::string>& commands);
  // Re-reads CLUSTER SLOTS (from a known master, else a seed) and connects to new masters.
  void refresh();

  SlotMap slotMap() const;
  // MOVED replies followed so far (for tests and metrics).
  std::size_t redirects() const;

 private:
  RedisClient& clientFor(const RedisHostPort& node);  // under mutex_
  SlotMap readTopology(const std::vector<RedisHostPort>& candidates);

  const RedisEndpoint endpoint_;
  const std::size_t connections_;
  mutable std::mutex mutex_;
  SlotMap map_;
  std::map<std::pair<std::string, int>, std::unique_ptr<RedisClient>> clients_;
  std::size_t redirects_ = 0;

  const std::chrono::milliseconds refreshEvery_;
  std::mutex refresherMutex_;
  std::condition_variable refresherWake_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace herald
