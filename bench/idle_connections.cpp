// idle_connections: opens N idle SSE connections to a herald stream listener on
// loopback and reports the server's RSS and thread count before and after.
//
//   idle_connections --port 8080 --pid <herald pid> --connections 10000 [--channels 100] [--hold 5]
//
// Bounded: it connects at most --connections sockets (to 127.0.0.x only), waits
// at most --timeout seconds for them to be served, holds them --hold seconds,
// then closes everything and prints one JSON line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  int port = 8080;
  int pid = 0;
  int connections = 10000;
  int channels = 100;
  int holdSeconds = 5;
  int timeoutSeconds = 60;
};

long procStatusField(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--port") o.port = value;
    else if (flag == "--pid") o.pid = value;
    else if (flag == "--connections") o.connections = value;
    else if (flag == "--channels") o.channels = value;
    else if (flag == "--hold") o.holdSeconds = value;
    else if (flag == "--timeout") o.timeoutSeconds = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  long rssBefore = o.pid ? procStatusField(o.pid, "VmRSS") : -1;
  int epoll = epoll_create1(0);
  std::vector<int> fds;
  std::vector<bool> served(o.connections, false);
  // Spread source addresses over 127.0.0.2.. so 10k+ sockets never exhaust one
  // address's ephemeral ports.
  const int kPerSourceAddress = 10000;
  for (int i = 0; i < o.connections; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      std::fprintf(stderr, "socket() failed after %d connections: %s\n", i, std::strerror(errno));
      return 1;
    }
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + i / kPerSourceAddress);
    // Let connect() pick the port: bind() alone only hands out half the ephemeral range.
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    target.sin_port = htons(static_cast<uint16_t>(o.port));
    connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  int servedCount = 0;
  int failed = 0;
  std::vector<bool> sent(o.connections, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeoutSeconds);
  epoll_event events[1024];
  char buf[4096];
  while (servedCount + failed < o.connections && std::chrono::steady_clock::now() < deadline) {
    int n = epoll_wait(epoll, events, 1024, 200);
    for (int k = 0; k < n; ++k) {
      int i = static_cast<int>(events[k].data.u32);
      int fd = fds[i];
      if ((events[k].events & EPOLLOUT) && !sent[i]) {
        std::string request = "GET /v1/events?channel=idle" + std::to_string(i % o.channels) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
          sent[i] = true;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u32 = static_cast<uint32_t>(i);
          epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &ev);
        }
      }
      if (events[k].events & EPOLLIN) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got <= 0) {
          ++failed;
          epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
        } else if (!served[i] && std::string_view(buf, got).find("retry:") != std::string_view::npos) {
          served[i] = true;
          ++servedCount;
        }
      }
    }
  }
  long rssAfter = o.pid ? procStatusField(o.pid, "VmRSS") : -1;
  long threads = o.pid ? procStatusField(o.pid, "Threads") : -1;
  std::this_thread::sleep_for(std::chrono::seconds(o.holdSeconds));
  long rssHeld = o.pid ? procStatusField(o.pid, "VmRSS") : -1;
  long threadsHeld = o.pid ? procStatusField(o.pid, "Threads") : -1;
  for (int fd : fds) {
    close(fd);
  }
  double perConnKiB = servedCount > 0 && rssBefore >= 0 ? double(rssHeld - rssBefore) / servedCount : -1;
  std::printf(
      "{\"connections\":%d,\"served\":%d,\"failed\":%d,\"server_rss_kib_before\":%ld,"
      "\"server_rss_kib_after\":%ld,\"server_rss_kib_held\":%ld,\"server_threads\":%ld,"
      "\"server_threads_held\":%ld,\"rss_kib_per_connection\":%.2f}\n",
      o.connections, servedCount, failed, rssBefore, rssAfter, rssHeld, threads, threadsHeld, perConnKiB);
  return servedCount == o.connections ? 0 : 1;
}
