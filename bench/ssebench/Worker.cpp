// The subscriber side: one forked process holding its share of the SSE
// connections on one epoll loop (no thread per connection). It follows the
// parent's phases through the shared Control block and leaves its counters and
// histograms there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "bench/ssebench/EventCheck.h"
#include "bench/ssebench/HttpResponseReader.h"
#include "bench/ssebench/Shared.h"
#include "bench/ssebench/SseParser.h"

namespace ssebench {

namespace {
constexpr int kEpollBatch = 512;
constexpr int kLoopTimeoutMs = 5;
constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Reconnects are all started at once, but the kernel accepts only so many
// SYNs per listener backlog; this bounds one loop turn's connects, not the rate.
constexpr int kMaxConnectsPerTurn = 2'000;

enum class ConnState : std::uint8_t { idle, connecting, head, streaming, closed };

struct Connection {
  int fd = -1;
  std::uint32_t channel = 0;
  ConnState state = ConnState::idle;
  bool everStreamed = false;
  bool caughtUp = false;
  HttpResponseReader http;
  std::unique_ptr<SseParser> sse;
  SequenceState seq;
  std::string lastId;  // last id seen on an event with data, for the id order check
};

class Worker {
 public:
  Worker(const Options& options, Control& control, int index, int first, int count)
      : options_(options), control_(control), slot_(control.workers[index]), first_(first) {
    connections_.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      auto& c = connections_[static_cast<std::size_t>(i)];
      c.channel = static_cast<std::uint32_t>((first + i) % options.channels);
      c.sse = std::make_unique<SseParser>([this, i](const SseEvent& e) { onEvent(i, e); });
    }
    url_ = parseUrl(options.subscribeUrl);
    epoll_ = epoll_create1(0);
    buffer_.resize(kReadBufferBytes);
  }

  int run() {
    const auto start = std::chrono::steady_clock::now();
    const double rate =
        static_cast<double>(options_.rampPerSecond) / static_cast<double>(std::max(1, options_.workers));
    int opened = 0;
    int phase = kConnect;
    std::uint64_t reconnectStartUs = 0;
    std::size_t reconnectNext = 0;
    epoll_event events[kEpollBatch];
    while (true) {
      int now = control_.phase.load(std::memory_order_acquire);
      if (now != phase) {
        phase = now;
        if (phase == kStop) {
          break;
        }
        if (phase == kDisconnect) {
          for (auto& c : connections_) {
            closeConnection(c, ConnState::idle);
            c.sse->resetStream();
            c.caughtUp = false;
          }
          slot_.ack.store(kDisconnect, std::memory_order_release);
        }
        if (phase == kReconnect) {
          reconnectStartUs = control_.phaseStartUs.load();
          reconnectNext = 0;
        }
      }
      if (phase == kConnect) {
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        int due = std::min(static_cast<int>(connections_.size()), static_cast<int>(elapsed * rate) + 1);
        while (opened < due) {
          openConnection(connections_[static_cast<std::size_t>(opened++)], false);
        }
        if (opened == static_cast<int>(connections_.size()) && pendingConnects() == 0 &&
            slot_.ack.load() < kConnect) {
          slot_.ack.store(kConnect, std::memory_order_release);
        }
      }
      if (phase == kReconnect) {
        for (int n = 0; n < kMaxConnectsPerTurn && reconnectNext < connections_.size(); ++n) {
          auto& c = connections_[reconnectNext++];
          if (c.everStreamed) {
            openConnection(c, true);
          }
        }
      }
      int n = epoll_wait(epoll_, events, kEpollBatch, kLoopTimeoutMs);
      for (int i = 0; i < n; ++i) {
        handle(connections_[events[i].data.u32], events[i].events);
      }
      if (phase == kDrain || (phase == kReconnect && reconnectNext == connections_.size())) {
        checkCaughtUp(phase, reconnectStartUs);
      }
    }
    finish();
    return 0;
  }

 private:
  int pendingConnects() const {
    int pending = 0;
    for (const auto& c : connections_) {
      pending += (c.state == ConnState::connecting || c.state == ConnState::head) ? 1 : 0;
    }
    return pending;
  }

  void openConnection(Connection& c, bool resume) {
    std::size_t index = static_cast<std::size_t>(&c - connections_.data());
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      failConnect(c, resume);
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    // Several source addresses so tens of thousands of sockets (and their
    // TIME_WAITs after a storm) never run out of ephemeral ports.
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr =
        htonl(0x7f000002u +
              static_cast<std::uint32_t>((first_ + static_cast<int>(index)) % options_.sourceAddresses));
    bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<std::uint16_t>(url_.port));
    inet_pton(AF_INET, url_.host.c_str(), &target.sin_addr);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
    if (rc < 0 && errno != EINPROGRESS) {
      ::close(fd);
      failConnect(c, resume);
      return;
    }
    c.fd = fd;
    c.state = ConnState::connecting;
    c.http.reset();
    c.sse->resetStream();
    std::string request = "GET " + substitute(url_.target, "{ch}", std::to_string(c.channel)) +
                          " HTTP/1.1\r\nHost: " + url_.host + "\r\nAccept: text/event-stream\r\n";
    if (resume && !c.sse->lastEventId().empty()) {
      request += "Last-Event-ID: " + c.sse->lastEventId() + "\r\n";
    }
    request += "\r\n";
    pendingRequest_[index] = std::move(request);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = static_cast<std::uint32_t>(index);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  void failConnect(Connection& c, bool resume) {
    c.state = ConnState::closed;
    if (resume) {
      ++slot_.reconnectFailures;
    } else {
      ++slot_.connectFailures;
    }
  }

  void handle(Connection& c, std::uint32_t events) {
    std::size_t index = static_cast<std::size_t>(&c - connections_.data());
    const bool resuming = control_.phase.load() == kReconnect;
    if (c.state == ConnState::connecting && (events & EPOLLOUT) != 0) {
      auto& request = pendingRequest_[index];
      ssize_t sent = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
      if (sent != static_cast<ssize_t>(request.size())) {
        closeConnection(c, ConnState::closed);
        failConnect(c, resuming);
        return;
      }
      pendingRequest_.erase(index);
      c.state = ConnState::head;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u32 = static_cast<std::uint32_t>(index);
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) {
      return;
    }
    ssize_t got = ::recv(c.fd, buffer_.data(), buffer_.size(), 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    if (got <= 0) {
      bool wasStreaming = c.state == ConnState::streaming;
      closeConnection(c, ConnState::closed);
      if (!wasStreaming) {
        failConnect(c, resuming);
      } else {
        ++slot_.drops;
      }
      return;
    }
    auto result = c.http.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(got)),
                              [&c](std::string_view body) { c.sse->feed(body); });
    if (c.state == ConnState::head && c.http.headComplete()) {
      if (c.http.status() != 200) {
        closeConnection(c, ConnState::closed);
        failConnect(c, resuming);
        return;
      }
      c.state = ConnState::streaming;
      if (!c.everStreamed) {
        c.everStreamed = true;
        ++slot_.established;
      }
    }
    if (result != HttpResponseReader::Result::needMore) {
      closeConnection(c, ConnState::closed);
      ++slot_.drops;
    }
  }

  void onEvent(int index, const SseEvent& e) {
    Connection& c = connections_[static_cast<std::size_t>(index)];
    ++slot_.events;
    auto payload = parsePayload(e.data);
    if (!payload) {
      ++slot_.badPayloads;
      return;
    }
    if (!c.lastId.empty() && compareIds(e.id, c.lastId) <= 0) {
      ++slot_.idRegressions;
    }
    c.lastId.assign(e.id);
    acceptSeq(c.seq, payload->seq);
    int phase = control_.phase.load(std::memory_order_relaxed);
    if (phase == kPublish || phase == kDrain) {
      std::uint64_t now = wallMicros();
      ++slot_.liveEvents;
      slot_.lastLiveEventUs = now;
      std::uint64_t took = now > payload->publishedUs ? now - payload->publishedUs : 0;
      slot_.latency.record(took);
      if (took > static_cast<std::uint64_t>(options_.lateMs) * 1000) {
        ++slot_.late;
      }
    }
  }

  void checkCaughtUp(int phase, std::uint64_t reconnectStartUs) {
    if (slot_.ack.load() >= phase) {
      return;
    }
    std::uint64_t now = wallMicros();
    bool all = true;
    for (auto& c : connections_) {
      if (c.caughtUp || !c.everStreamed || c.state == ConnState::closed) {
        continue;
      }
      if (c.seq.lastSeq >= control_.published[c.channel].load(std::memory_order_relaxed)) {
        c.caughtUp = true;
        if (phase == kReconnect) {
          ++slot_.reconnectCaughtUp;
          slot_.resume.record(now - reconnectStartUs);
        }
      } else {
        all = false;
      }
    }
    if (all) {
      slot_.ack.store(phase, std::memory_order_release);
      for (auto& c : connections_) {
        c.caughtUp = false;
      }
    }
  }

  void closeConnection(Connection& c, ConnState next) {
    if (c.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.state = next;
  }

  void finish() {
    for (auto& c : connections_) {
      slot_.duplicates += c.seq.duplicates;
      slot_.gaps += c.seq.gaps;
      if (c.everStreamed) {
        std::uint32_t published = control_.published[c.channel].load();
        std::uint32_t missing = published > c.seq.received ? published - c.seq.received : 0;
        std::uint32_t failed = std::min(missing, control_.failed[c.channel].load());
        slot_.lost += missing;
        slot_.lostFailedPublish += failed;
        slot_.neverDelivered += missing - failed;
      }
      closeConnection(c, ConnState::closed);
    }
    slot_.cpuSeconds = cpuSecondsSelf();
    slot_.ack.store(kStop, std::memory_order_release);
  }

  const Options& options_;
  Control& control_;
  WorkerSlot& slot_;
  int first_;
  Url url_;
  int epoll_ = -1;
  std::vector<Connection> connections_;
  std::unordered_map<std::size_t, std::string> pendingRequest_;
  std::vector<char> buffer_;
};
}  // namespace

int runWorker(const Options& options, Control& control, int index, int first, int count) {
  Worker worker(options, control, index, first, count);
  return worker.run();
}

}  // namespace ssebench
