// Listener bind retry: when a listener's address is still in use at start (the old
// process releasing its socket after a SIGKILL), herald retries for --bind-retry,
// logging each attempt, and starts once the address is free; if it never frees,
// herald exits non-zero with the error.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/ChildProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1:port, as the old process's would be.
class PortHolder {
 public:
  // SOCK_CLOEXEC: herald, started after it, must not inherit the socket and so hold the port itself.
  explicit PortHolder(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    int yes = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd_, 16) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot hold port " + std::to_string(port));
    }
  }
  ~PortHolder() { release(); }
  void release() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t countOf(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Polls the log until it holds `needle`, the process has exited or `timeout` passes.
bool waitForLog(ChildProcess& process, const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool running = process.running();
    if (readFile(process.logPath()).find(needle) != std::string::npos) {
      return true;
    }
    if (!running) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class BindRetry : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir("herald-bind"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ChildProcess startHerald(const std::string& bindRetry) {
    return ChildProcess({HERALD_BINARY, "--stream-listen", "127.0.0.1:" + std::to_string(streamPort_),
                         "--api-listen", "127.0.0.1:" + std::to_string(apiPort_), "--bind-retry", bindRetry},
                        {}, dir_ + "/herald.log");
  }

  // Holds `held` until herald has retried it for about a second (its 4th attempt, 250 ms
  // apart), frees it, and expects herald to start.
  void expectStartsOnceFreed(int held, const std::string& listenFlag) {
    PortHolder holder(held);
    auto herald = startHerald("20s");
    ASSERT_TRUE(waitForLog(
        herald, listenFlag + " 127.0.0.1:" + std::to_string(held) + ": Address already in use (attempt 4)",
        10s))
        << readFile(herald.logPath());
    ASSERT_TRUE(herald.running());
    holder.release();
    ASSERT_TRUE(waitForPort(streamPort_, 10s)) << readFile(herald.logPath());
    ASSERT_TRUE(waitForPort(apiPort_, 10s)) << readFile(herald.logPath());
    EXPECT_EQ(httpRequest(apiPort_, "GET", "/healthz").status, 200);
    EXPECT_TRUE(herald.running());
    EXPECT_NE(readFile(herald.logPath()).find("(--bind-retry)"), std::string::npos);
  }

  std::string dir_;
  int streamPort_ = freePort();
  int apiPort_ = freePort();
};

TEST_F(BindRetry, StreamListenerStartsOnceItsPortIsFreed) {
  expectStartsOnceFreed(streamPort_, "--stream-listen");
}

TEST_F(BindRetry, ApiListenerStartsOnceItsPortIsFreed) {
  expectStartsOnceFreed(apiPort_, "--api-listen");
}

TEST_F(BindRetry, PortHeldThroughoutExitsWithTheErrorAfterTheWindow) {
  PortHolder holder(streamPort_);
  auto started = std::chrono::steady_clock::now();
  auto herald = startHerald("1s");
  auto status = herald.wait(20s);
  ASSERT_TRUE(status.has_value()) << readFile(herald.logPath());
  EXPECT_NE(*status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);  // it waited out the window
  std::string log = readFile(herald.logPath());
  EXPECT_GE(countOf(log, "(--bind-retry)"), 2u) << log;
  EXPECT_NE(log.find("cannot bind: Address already in use"), std::string::npos) << log;
}

TEST_F(BindRetry, ZeroMeansOneAttempt) {
  PortHolder holder(apiPort_);
  auto herald = startHerald("0");
  auto status = herald.wait(20s);
  ASSERT_TRUE(status.has_value()) << readFile(herald.logPath());
  EXPECT_NE(*status, 0);
  std::string log = readFile(herald.logPath());
  EXPECT_EQ(countOf(log, "(--bind-retry)"), 0u) << log;
  EXPECT_NE(log.find("--api-listen 127.0.0.1:" + std::to_string(apiPort_) +
                     ": cannot bind: Address already in use"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace herald::test
