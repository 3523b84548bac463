// LoadMonitor: notices CPU and memory pressure and tells Admission to shed.
//
// CPU pressure shows as event-loop lag: every tick it posts a probe to each
// stream thread and measures how late the probe runs; a thread that runs
// --shed-lag late cannot serve more streams well. Memory pressure is the
// process's resident set against --shed-rss. Runs on the first stream thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>

#include "gateway/hub/Admission.h"
#include "gateway/hub/ShardSet.h"

namespace herald {

class LoadMonitor {
 public:
  LoadMonitor(ShardSet& shards, Admission& admission, std::chrono::milliseconds shedLag, std::size_t shedRss);
  void start();

 private:
  void tick();
  void probe();

  ShardSet& shards_;
  Admission& admission_;
  std::chrono::milliseconds shedLag_;
  std::size_t shedRss_;
  boost::asio::steady_timer timer_;
  // Written by the probes on each shard; read on the next tick.
  std::atomic<std::int64_t> worstLagMicros_{0};
  std::atomic<int> probesPending_{0};
  std::chrono::steady_clock::time_point probesSent_;
};

}  // namespace herald
