// ManualClock: a steady clock the test moves by hand, for MemoryBroker's injectable
// clock, so TTLs and sweeps are exact whatever the load of the machine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "gateway/broker/MemoryBroker.h"

namespace herald::test {

class ManualClock {
 public:
  MemoryBroker::SteadyTime now() const { return start_ + std::chrono::nanoseconds(offset_.load()); }
  void advance(std::chrono::nanoseconds by) { offset_ += by.count(); }
  MemoryBroker::SteadyClock function() {
    return [this] { return now(); };
  }

 private:
  MemoryBroker::SteadyTime start_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> offset_{0};
};

}  // namespace herald::test
