// RedisCluster: a private Redis Cluster of 3 masters + 3 replicas on free loopback ports.
//
// For the cluster tests: six `redis-server --cluster-enabled yes` processes in one temp
// dir, joined with `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`,
// ready once every node reports `cluster_state:ok`. Nodes are ChildProcesses (stopped
// by PID with the object); a short --cluster-node-timeout makes a failover take
// seconds. Node ports are chosen so their bus ports (port + 10000) lie below the
// ephemeral range, where no outgoing connection can take them. Plain TCP only.
// Start-up is bounded (30 s per attempt, 3 attempts); it takes about 2.1 s here.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "gateway/broker/redis/RedisReply.h"
#include "tests/support/ChildProcess.h"

namespace herald::test {

class RedisCluster {
 public:
  static constexpr int kMasters = 3;
  static constexpr int kNodes = 6;

  RedisCluster();
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  const std::vector<int>& ports() const { return ports_; }
  // `redis+cluster://127.0.0.1:P1,127.0.0.1:P2` (two seeds).
  std::string url() const;
  // Runs one command on the node at `port` and returns the reply.
  static ReplyPtr command(int port, const std::vector<std::string>& args);
  // Runs `batch` pipelined on one connection to `port`.
  static Replies commands(int port, const std::vector<std::vector<std::string>>& batch);
  // Ports of the nodes that are masters now (from each node's own ROLE).
  std::vector<int> masterPorts();
  // SIGKILL the node at `port` (an abrupt master or replica loss).
  void kill(int port);
  // Polls until every live node reports cluster_state:ok; false at the deadline.
  bool waitHealthy(std::chrono::milliseconds timeout);
  // How long the constructor took to have a healthy cluster.
  std::chrono::milliseconds startupTime() const { return startup_; }

 private:
  void start();
  void stopAll();  // SIGKILL every node, remove the files

  std::string dir_;
  std::vector<int> ports_;
  std::vector<ChildProcess> nodes_;
  std::chrono::milliseconds startup_{0};
};

}  // namespace herald::test
