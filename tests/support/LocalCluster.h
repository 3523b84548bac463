// LocalCluster: what scripts/cluster starts, on free ports, for one test —
// a Redis with appendonly, three herald nodes on it, and haproxy in front of
// them with the project's deploy/haproxy.cfg.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/ChildProcess.h"
#include "tests/support/HeraldProcess.h"
#include "tests/support/RedisProcess.h"

namespace herald::test {

class LocalCluster {
 public:
  static constexpr int kNodes = 3;

  explicit LocalCluster(std::vector<std::string> nodeArgs = {});
  ~LocalCluster();

  int streamPort() const { return lbStreamPort_; }  // through haproxy
  int apiPort() const { return lbApiPort_; }        // through haproxy
  HeraldProcess& node(int index) { return *nodes_[index]; }
  RedisProcess& redis() { return redis_; }
  // Waits until haproxy sees every running node ready (or `timeout` passes).
  bool waitHealthy(std::chrono::milliseconds timeout);
  std::string logs() const;

 private:
  RedisProcess redis_;
  std::vector<std::unique_ptr<HeraldProcess>> nodes_;
  int lbStreamPort_;
  int lbApiPort_;
  std::string dir_;
  ChildProcess haproxy_;
};

}  // namespace herald::test
