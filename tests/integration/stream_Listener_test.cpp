// The stream listener's v1.3 rules over real sockets: a stream that receives bytes
// after its request is closed; POST /v1/events with a body is 405 (the method is
// checked before the body); exit with open streams and --max-connections-per-ip
// is clean (the ASan pass turns a use-after-free there into a failure).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;

// A raw connection the test writes to and reads from.
class RawSocket {
 public:
  explicit RawSocket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{0, 100 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawSocket() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `needle` was received, or the server closed (returns false), or the deadline.
  bool readUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!readSome() || std::chrono::steady_clock::now() > deadline) {
        return false;
      }
    }
    return true;
  }
  // True once the server closed the connection (within `timeout`).
  bool waitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!readSome()) {
        return closed_;
      }
    }
    return false;
  }

 private:
  // False on close or error; true after data or a read timeout.
  bool readSome() {
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      received_.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    }
    closed_ = true;
    return false;
  }

  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

const std::string kRequest = "GET /v1/events?channel=quiet HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(StreamListener, AStreamThatSendsBytesAfterItsRequestIsClosed) {
  HeraldProcess herald;
  RawSocket client(herald.streamPort());
  ASSERT_TRUE(client.connected());
  client.send(kRequest);
  ASSERT_TRUE(client.readUntil(": herald stream", 10s));
  client.send("more bytes");
  EXPECT_TRUE(client.waitClosed(10s));
  // A well-behaved stream stays open meanwhile.
  SseClient quiet(herald.streamPort(), "/v1/events?channel=quiet");
  ASSERT_EQ(quiet.readHead(), 200);
  std::string id = publishId(herald.apiPort(), "quiet", "1");
  auto event = quiet.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, id);
}

TEST(StreamListener, BytesSentWithTheRequestCloseTheStream) {
  HeraldProcess herald;
  RawSocket client(herald.streamPort());
  ASSERT_TRUE(client.connected());
  client.send(kRequest + "GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(client.waitClosed(10s));
}

TEST(StreamListener, PostWithABodyIsMethodNotAllowed) {
  HeraldProcess herald;
  auto response = httpRequest(herald.streamPort(), "POST", "/v1/events?channel=a", R"({"x":1})",
                              {{"Content-Type", "application/json"}});
  EXPECT_EQ(response.status, 405) << response.body;
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "method_not_allowed");
  // A GET with a body is still refused, as a bad request.
  auto get = httpRequest(herald.streamPort(), "GET", "/v1/events?channel=a", "x");
  EXPECT_EQ(get.status, 400) << get.body;
}

// main() must destroy the stream listener (and its per-address connection counts)
// after the stream threads whose io_contexts still hold open streams and a request
// being read. Under ASan a wrong order is a heap-use-after-free and a non-zero exit.
TEST(StreamListener, ExitWithOpenStreamsAndThePerAddressLimitIsClean) {
  HeraldProcess herald({"--max-connections-per-ip", "3", "--drain-time", "0"});
  SseClient a(herald.streamPort(), "/v1/events?channel=exit");
  SseClient b(herald.streamPort(), "/v1/events?channel=exit&channel=other");
  ASSERT_EQ(a.readHead(), 200);
  ASSERT_EQ(b.readHead(), 200);
  RawSocket reading(herald.streamPort());  // its request is never finished
  ASSERT_TRUE(reading.connected());
  reading.send("GET /v1/events?channel=exit HTTP/1.1\r\n");
  // A fourth connection is refused once the third is accepted and counted: then a
  // request is being read (and holds a slot of the limiter) when the signal comes.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  int status4 = 0;
  while (status4 != 429 && std::chrono::steady_clock::now() < deadline) {
    status4 = httpRequest(herald.streamPort(), "GET", "/v1/events?channel=fourth").status;
  }
  ASSERT_EQ(status4, 429);
  herald.process().signal(SIGTERM);
  auto status = herald.process().wait(20s);
  ASSERT_TRUE(status) << "herald did not exit";
  EXPECT_EQ(*status, 0) << herald.log();
}

}  // namespace
}  // namespace herald::test
