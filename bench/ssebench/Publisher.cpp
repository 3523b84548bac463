#include "bench/ssebench/Publisher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace ssebench {

namespace {
constexpr int kLoopTimeoutMs = 1;
constexpr std::size_t kReadBufferBytes = 16 * 1024;
// Below httplib's and nginx's keep-alive request limits, so the server never
// closes a connection with pipelined requests still unanswered.
constexpr int kRequestsPerConnection = 500;
}  // namespace

Publisher::Publisher(const Options& options, Control& control)
    : options_(options), control_(control), url_(parseUrl(options.publishUrl)) {
  epoll_ = epoll_create1(0);
  connections_.resize(static_cast<std::size_t>(std::max(1, options.publishConnections)));
}

Publisher::~Publisher() {
  for (auto& c : connections_) {
    closeConnection(c);
  }
  ::close(epoll_);
}

void Publisher::open(Connection& c, std::size_t index) {
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(url_.port));
  inet_pton(AF_INET, url_.host.c_str(), &target.sin_addr);
  connect(c.fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
  c.inflight = 0;
  c.requests = 0;
  c.reader.reset();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = index;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
}

void Publisher::closeConnection(Connection& c) {
  if (c.fd >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
  }
  errors_ += static_cast<std::uint64_t>(c.inflight);  // unanswered: maybe stored, maybe not
  for (std::uint32_t channel : c.inflightChannels) {
    control_.failed[channel].fetch_add(1, std::memory_order_relaxed);
  }
  c.inflightChannels.clear();
  c.inflight = 0;
  c.out.clear();
  c.outOffset = 0;
}

bool Publisher::canSend(const Connection& c) const {
  if (c.fd < 0) {
    return true;
  }
  return c.inflight < std::max(1, options_.publishPipeline) && c.requests < kRequestsPerConnection;
}

void Publisher::send(Connection& c, std::uint32_t channel) {
  std::uint32_t seq = control_.published[channel].fetch_add(1) + 1;
  std::string data = "{\"seq\":" + std::to_string(seq) + ",\"t\":" + std::to_string(wallMicros()) + "}";
  std::string ch = std::to_string(channel);
  std::string body = substitute(substitute(options_.publishBody, "{ch}", ch), "{data}", data);
  std::size_t index = static_cast<std::size_t>(&c - connections_.data());
  if (c.fd < 0) {
    open(c, index);
  }
  if (c.outOffset == c.out.size()) {
    c.out.clear();
    c.outOffset = 0;
  }
  c.out += "POST " + substitute(url_.target, "{ch}", ch) + " HTTP/1.1\r\nHost: " + url_.host +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& header : options_.publishHeaders) {
    c.out += header + "\r\n";
  }
  c.out += "\r\n" + body;
  ++c.inflight;
  c.inflightChannels.push_back(channel);
  ++c.requests;
  ++sent_;
  onWritable(c, index);
}

void Publisher::onWritable(Connection& c, std::size_t index) {
  while (c.outOffset < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      break;
    }
    if (n < 0 && errno == ENOTCONN) {
      break;  // still connecting: EPOLLOUT will tell
    }
    if (n <= 0) {
      closeConnection(c);
      return;
    }
    c.outOffset += static_cast<std::size_t>(n);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (c.outOffset < c.out.size() ? EPOLLOUT : 0u);
  ev.data.u64 = index;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Publisher::onReadable(Connection& c) {
  char buffer[kReadBufferBytes];
  ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
  if (n < 0 && errno == EAGAIN) {
    return;
  }
  if (n <= 0) {
    closeConnection(c);
    return;
  }
  // Several pipelined answers may arrive in one read.
  std::string_view bytes(buffer, static_cast<std::size_t>(n));
  while (!bytes.empty() || c.reader.headComplete()) {
    std::size_t consumed = 0;
    auto result = c.reader.feed(
        bytes, [](std::string_view) {}, &consumed);
    bytes.remove_prefix(consumed);
    if (result == HttpResponseReader::Result::needMore) {
      return;
    }
    std::uint32_t channel = c.inflightChannels.empty() ? 0 : c.inflightChannels.front();
    if (!c.inflightChannels.empty()) {
      c.inflightChannels.pop_front();
    }
    if (result == HttpResponseReader::Result::error || c.reader.status() < 200 || c.reader.status() >= 300) {
      ++errors_;
      control_.failed[channel].fetch_add(1, std::memory_order_relaxed);
    }
    --c.inflight;
    bool keepAlive = result != HttpResponseReader::Result::error && c.reader.keepAlive();
    c.reader.reset();
    if (!keepAlive || (c.inflight == 0 && c.requests >= kRequestsPerConnection)) {
      closeConnection(c);
      return;
    }
  }
}

void Publisher::publish(std::uint64_t count, double rate, std::uint64_t deadlineUs) {
  const auto start = std::chrono::steady_clock::now();
  const auto channels = static_cast<std::uint64_t>(options_.channels);
  std::uint64_t done = 0;
  epoll_event events[64];
  while (wallMicros() < deadlineUs) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto due = rate > 0 ? std::min(count, static_cast<std::uint64_t>(elapsed * rate) + 1) : count;
    while (done < due) {
      auto channel = static_cast<std::uint32_t>(next_ % channels);
      Connection& c = connections_[channel % connections_.size()];
      if (!canSend(c)) {
        break;  // keeps each channel in order: it waits for its own connection
      }
      send(c, channel);
      ++next_;
      ++done;
    }
    bool anyBusy = false;
    for (const auto& c : connections_) {
      anyBusy = anyBusy || c.inflight > 0;
    }
    if (done == count && !anyBusy) {
      break;
    }
    int n = epoll_wait(epoll_, events, 64, kLoopTimeoutMs);
    for (int i = 0; i < n; ++i) {
      std::size_t index = events[i].data.u64;
      Connection& c = connections_[index];
      if (c.fd < 0) {
        continue;
      }
      if ((events[i].events & EPOLLOUT) != 0) {
        onWritable(c, index);
      }
      if (c.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        onReadable(c);
      }
    }
  }
  busySeconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace ssebench
