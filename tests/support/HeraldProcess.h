// HeraldProcess: a real `herald` binary started by a test on free loopback ports.
//
// It waits until both listeners accept connections, and can be killed
// (SIGKILL), stopped (SIGTERM) or restarted on the same ports.
#pragma once

#include <string>
#include <vector>

#include "tests/support/ChildProcess.h"

namespace herald::test {

class HeraldProcess {
 public:
  // `extraArgs` are appended to the command line (e.g. {"--broker", url}).
  explicit HeraldProcess(std::vector<std::string> extraArgs = {});
  ~HeraldProcess();

  int streamPort() const { return streamPort_; }
  int apiPort() const { return apiPort_; }
  ChildProcess& process() { return process_; }
  void start();
  void kill() { process_.kill(); }
  void restart() {
    kill();
    start();
  }
  // The process's log so far (for failure messages).
  std::string log() const;

 private:
  std::vector<std::string> extraArgs_;
  int streamPort_;
  int apiPort_;
  std::string dir_;
  ChildProcess process_;
};

// The shared redis-server that ./scripts/test starts (HERALD_TEST_REDIS_URL), or
// "" when the tests run without it.
std::string sharedRedisUrl();

// A prefix no other test uses, so tests can share one Redis.
std::string uniquePrefix();

}  // namespace herald::test
