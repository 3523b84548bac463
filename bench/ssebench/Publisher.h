// Publisher: the load generator's publishing side, run by the parent process.
//
// It publishes `{"seq":N,"t":T}` notifications at a fixed aggregate rate over a
// few keep-alive HTTP/1.1 connections, round-robin over the channels. Channel c
// always goes over connection c % K, pipelined (up to --publish-pipeline
// requests in flight, answered in order), so a channel's notifications reach
// the server in seq order and a server that answers slowly does not slow the
// publish rate down (open loop). A connection is retired after a bounded number
// of requests, below the servers' keep-alive limits, and reopened.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bench/ssebench/HttpResponseReader.h"
#include "bench/ssebench/Shared.h"

namespace ssebench {

class Publisher {
 public:
  Publisher(const Options& options, Control& control);
  ~Publisher();

  // Publishes `count` notifications at `rate` per second (round-robin over the
  // channels), then waits for every answer; bounded by deadlineUs (wall clock).
  void publish(std::uint64_t count, double rate, std::uint64_t deadlineUs);

  std::uint64_t sent() const { return sent_; }
  std::uint64_t errors() const { return errors_; }
  double busySeconds() const { return busySeconds_; }

 private:
  struct Connection {
    int fd = -1;
    int inflight = 0;
    std::deque<std::uint32_t> inflightChannels;  // the channel of each request in flight, in order
    int requests = 0;                            // sent on this connection since it was opened
    std::string out;
    std::size_t outOffset = 0;
    HttpResponseReader reader;
  };

  bool canSend(const Connection& c) const;
  void send(Connection& c, std::uint32_t channel);
  void open(Connection& c, std::size_t index);
  void closeConnection(Connection& c);
  void onReadable(Connection& c);
  void onWritable(Connection& c, std::size_t index);

  const Options& options_;
  Control& control_;
  Url url_;
  int epoll_ = -1;
  std::vector<Connection> connections_;
  std::uint64_t next_ = 0;  // round-robin position over the channels
  std::uint64_t sent_ = 0;
  std::uint64_t errors_ = 0;
  double busySeconds_ = 0;
};

}  // namespace ssebench
