// ReadDeadline: closes a socket when a phase of a connection (reading a request,
// waiting for the next keep-alive request, writing an answer) takes too long.
//
// Closing the socket fails the pending read or write, so a coroutine that awaits
// it needs no timer of its own and no `||` of operations. arm() starts (or moves)
// the deadline, disarm() ends it; a deadline that already fired stays expired()
// until the next arm(). Safe to destroy while the timer is pending.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace herald {

class ReadDeadline {
 public:
  explicit ReadDeadline(boost::asio::ip::tcp::socket& socket);
  ~ReadDeadline();
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;

  void arm(std::chrono::steady_clock::duration after);
  void disarm();
  bool expired() const { return state_->expired; }

 private:
  struct State {
    boost::asio::ip::tcp::socket* socket;
    std::uint64_t generation = 0;
    bool expired = false;
  };
  std::shared_ptr<State> state_;  // shared with a pending wait, which may outlive this
  boost::asio::steady_timer timer_;
};

}  // namespace herald
