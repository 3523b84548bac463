// EventSourceClient: a subscriber that behaves like the browser's EventSource,
// on its own thread: it reconnects after the server's `retry:` whenever its
// stream ends or fails, sends `Last-Event-ID`, and records every event's data,
// so fault tests can check that nothing was lost or received twice.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::test {

class EventSourceClient {
 public:
  // Subscribes to `target` on 127.0.0.1:port until it has `expected` events or
  // `deadline` passes.
  EventSourceClient(int port, std::string target, std::size_t expected,
                    std::chrono::steady_clock::time_point deadline);
  ~EventSourceClient();

  bool connectedOnce() const { return connected_.load(); }
  void join();
  // After join(): every event's data in arrival order, resets seen, reconnects made.
  const std::vector<std::string>& data() const { return data_; }
  int resets() const { return resets_; }
  int reconnects() const { return reconnects_; }

 private:
  void run();

  int port_;
  std::string target_;
  std::size_t expected_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> connected_{false};
  std::vector<std::string> data_;
  int resets_ = 0;
  int reconnects_ = 0;
  std::thread thread_;
};

}  // namespace herald::test
