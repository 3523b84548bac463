// session_size: prints the in-process size of one SSE connection's state
// (sizeof StreamSession and the containers it owns), the static part of the
// per-connection memory that bench/compare's idle scenario measures as RSS.
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>

#include "gateway/stream/StreamSession.h"

int main() {
  std::printf(
      "{\"StreamSession\":%zu,\"tcp_socket\":%zu,\"Frame\":%zu,\"std_string\":%zu,\"std_vector\":%zu}\n",
      sizeof(herald::StreamSession), sizeof(boost::asio::ip::tcp::socket), sizeof(herald::Frame),
      sizeof(std::string), sizeof(std::vector<int>));
  return 0;
}
