#include "gateway/http/ReadDeadline.h"

namespace herald {

ReadDeadline::ReadDeadline(boost::asio::ip::tcp::socket& socket)
    : state_(std::make_shared<State>(State{&socket})), timer_(socket.get_executor()) {}

ReadDeadline::~ReadDeadline() {
  state_->socket = nullptr;
}

void ReadDeadline::arm(std::chrono::steady_clock::duration after) {
  auto generation = ++state_->generation;
  state_->expired = false;
  timer_.expires_after(after);
  timer_.async_wait([state = state_, generation](const boost::system::error_code& ec) {
    // A wait that completed after a disarm or re-arm belongs to an earlier phase.
    if (ec || state->generation != generation || state->socket == nullptr) {
      return;
    }
    state->expired = true;
    boost::system::error_code ignored;
    state->socket->close(ignored);
  });
}

void ReadDeadline::disarm() {
  ++state_->generation;
  timer_.cancel();
}

}  // namespace herald
