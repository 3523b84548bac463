// ChildProcess: a real process started by a test (herald, redis-server), ended with it.
//
// Integration tests talk to real servers over loopback sockets; this starts one
// with fork/exec, lets the test signal it (SIGKILL, SIGTERM) and reaps it. Its
// output goes to a log file under the test's temporary directory.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

namespace herald::test {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& logPath);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for the exit; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGKILL and reap (idempotent).
  void kill();
  const std::string& logPath() const { return logPath_; }

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string logPath_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
int freePort();

// Polls until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool waitForPort(int port, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp) for one test's files.
std::string makeTempDir(const std::string& prefix);

}  // namespace herald::test
