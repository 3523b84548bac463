// Admission: whether this node takes one more stream.
//
// A node over --max-connections, under CPU or memory pressure (LoadMonitor), or
// draining for shutdown does not refuse a subscriber with an error — EventSource
// gives up for good on a non-200 — but answers `200`, a jittered `retry:` and a
// close, so the client comes back through the load balancer, likely to another
// node, and resumes by id. This class only decides; StreamSession answers.
// Shared by all stream threads: one atomic per stream open/close, none per event.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace herald {

class Admission {
 public:
  enum class Verdict { admit, overCapacity, overloaded, draining };

  explicit Admission(std::size_t maxConnections) : maxConnections_(maxConnections) {}

  // On `admit` the stream is counted until release().
  Verdict tryAdmit();
  void release() { open_.fetch_sub(1, std::memory_order_relaxed); }

  void setOverloaded(bool overloaded) { overloaded_.store(overloaded, std::memory_order_relaxed); }
  bool overloaded() const { return overloaded_.load(std::memory_order_relaxed); }
  void beginDrain() { draining_.store(true, std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::int64_t openStreams() const { return open_.load(std::memory_order_relaxed); }

 private:
  const std::size_t maxConnections_;  // 0: no limit
  std::atomic<std::int64_t> open_{0};
  std::atomic<bool> overloaded_{false};
  std::atomic<bool> draining_{false};
};

const char* toString(Admission::Verdict verdict);

}  // namespace herald
