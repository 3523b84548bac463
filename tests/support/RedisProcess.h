// RedisProcess: a private redis-server on a free loopback port, for one test.
//
// Tests that restart Redis (with or without persistence) own their server; it
// is stopped and its files removed with the object.
#pragma once

#include <string>
#include <vector>

#include "tests/support/ChildProcess.h"

namespace herald::test {

class RedisProcess {
 public:
  // appendOnly: keep data across restart() (appendonly yes, appendfsync always); otherwise a
  // restart comes back empty, or with what the last command("SAVE") wrote to the RDB file.
  // `extraArgs` are appended to the command line (e.g. {"--replicaof", "127.0.0.1", port}).
  explicit RedisProcess(bool appendOnly = false, std::vector<std::string> extraArgs = {});
  ~RedisProcess();

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void start();
  void stop();                                    // SIGKILL: an abrupt outage
  void signal(int sig) { process_.signal(sig); }  // e.g. SIGSTOP / SIGCONT: a replica that lags
  // Runs one inline command (e.g. "SAVE") on a new connection; returns Redis's raw answer.
  std::string command(const std::string& inlineCommand) const;
  void restart() {
    stop();
    start();
  }

 private:
  bool appendOnly_;
  std::vector<std::string> extraArgs_;
  int port_;
  std::string dir_;
  ChildProcess process_;
};

}  // namespace herald::test
