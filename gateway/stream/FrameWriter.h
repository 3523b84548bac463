// FrameWriter: the outbound side of one SSE connection.
//
// It queues shared frames and writes them in batches, one write in flight at a
// time. The queue is bounded: enqueue() answers with a status (like
// uWebSockets' SendStatus) instead of growing without limit, and the owner
// decides what an overflow means (a live stream drops the client, which
// resumes by id). It remembers when the write in flight began, so a client
// that stops reading altogether is found by writeStuck() and closed, even
// when nothing more is queued for it. Touched on its shard's thread only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <vector>

#include "gateway/hub/Subscriber.h"

namespace herald {

class FrameWriter {
 public:
  enum class SendStatus {
    queued,    // it will be written
    overflow,  // queued bytes would pass the bound: not queued; the writer is closed
    closed,    // the writer was closed before: not queued
  };

  explicit FrameWriter(std::size_t maxQueuedBytes) : maxQueuedBytes_(maxQueuedBytes) {}

  SendStatus enqueue(Frame frame);
  // The stream's last frame (a `retry:` line): queued whatever the bound, unless closed.
  void enqueueLast(Frame frame);
  // Queued and in flight, not yet written.
  std::size_t pendingBytes() const { return pendingBytes_; }
  bool writing() const { return writing_; }
  bool idle() const { return !writing_ && queue_.empty(); }
  bool closed() const { return closed_; }
  void close();
  // A write has been in flight since before `now - timeout`.
  bool writeStuck(std::chrono::steady_clock::time_point now, std::chrono::milliseconds timeout) const {
    return writing_ && now - writeStartedAt_ > timeout;
  }

  // Starts writing what is queued, unless a write is in flight or nothing is queued;
  // `done(error_code)` runs when that write ends (it keeps the writer's owner alive).
  template <typename Done>
  void flush(boost::asio::ip::tcp::socket& socket, Done&& done) {
    if (writing_ || closed_ || queue_.empty()) {
      return;
    }
    startBatch();
    boost::asio::async_write(
        socket, buffers_,
        [this, done = std::forward<Done>(done)](const boost::system::error_code& ec, std::size_t) mutable {
          finishBatch();
          done(ec);
        });
  }

 private:
  void startBatch();
  void finishBatch();

  std::size_t maxQueuedBytes_;
  std::size_t pendingBytes_ = 0;
  std::vector<Frame> queue_;
  std::vector<Frame> inflight_;
  std::vector<boost::asio::const_buffer> buffers_;
  std::chrono::steady_clock::time_point writeStartedAt_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace herald
