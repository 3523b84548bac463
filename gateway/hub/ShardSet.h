// ShardSet: the stream threads, one io_context and one ShardHub each.
//
// Connections are spread over the shards at accept time and stay on their
// shard for life, so a connection's state is touched by one thread only.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/hub/Admission.h"
#include "gateway/hub/ShardHub.h"

namespace herald {

class ShardSet {
 public:
  ShardSet(unsigned count, std::chrono::milliseconds heartbeat, std::size_t maxConnections,
           std::chrono::milliseconds writeTimeout = std::chrono::milliseconds(0));
  ~ShardSet();

  void start();  // one thread per shard
  void stop();   // stops the io_contexts and joins the threads
  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  ShardHub& hub(unsigned index) { return *shards_[index]->hub; }
  // Round-robin choice for the next accepted connection.
  ShardHub& next() { return hub(nextShard_++ % size()); }
  Admission& admission() { return admission_; }
  // Refuses new streams and ends the open ones spread over `drainTime`.
  void beginDrain(std::chrono::milliseconds drainTime);
  // Adds every shard's counters into `out` (any thread; relaxed reads, for metrics).
  void addStatsTo(RelaySnapshot& out) const;

 private:
  struct Shard {
    boost::asio::io_context io{1};
    std::unique_ptr<ShardHub> hub;
    std::thread thread;
  };
  Admission admission_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  unsigned nextShard_ = 0;
};

}  // namespace herald
