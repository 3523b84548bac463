#include "tests/support/RedisCluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "gateway/broker/redis/RedisClient.h"

namespace herald::test {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(100);
const char* const kNodeTimeoutMs = "1500";  // a failover in ~2-4 s
constexpr int kBusOffset = 10000;           // Redis's cluster bus listens on port + 10000
constexpr int kHighestNodePort = 22767;     // bus ports stay below the ephemeral range (32768+)
constexpr int kStartAttempts = 3;

bool canBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A free node port whose bus port (port + 10000) is free too and below the ephemeral port range,
// so no outgoing connection takes it; neither collides with another node's ports.
int nodePort(const std::vector<int>& taken) {
  while (true) {
    const int port = freePort();
    const auto collides = [&](int p) {
      return std::find_if(taken.begin(), taken.end(), [&](int t) { return p == t || p == t + kBusOffset; }) !=
             taken.end();
    };
    if (port <= kHighestNodePort && !collides(port) && !collides(port + kBusOffset) &&
        canBind(port + kBusOffset)) {
      return port;
    }
  }
}

}  // namespace

RedisCluster::RedisCluster() {
  // A port taken between choosing and binding (another test) fails one attempt, not the suite.
  for (int attempt = 1;; ++attempt) {
    dir_ = makeTempDir("herald-redis-cluster");
    try {
      start();
      return;
    } catch (const std::exception&) {
      stopAll();  // no destructor runs for a constructor that throws
      ports_.clear();
      nodes_.clear();
      if (attempt == kStartAttempts) {
        throw;
      }
    }
  }
}

void RedisCluster::start() {
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kNodes; ++i) {
    const int port = nodePort(ports_);
    ports_.push_back(port);
    const std::string name = dir_ + "/node-" + std::to_string(port);
    nodes_.emplace_back(
        std::vector<std::string>{"redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port),
                                 "--save", "", "--appendonly", "no", "--dir", dir_, "--cluster-enabled",
                                 "yes", "--cluster-config-file", name + ".conf", "--cluster-node-timeout",
                                 kNodeTimeoutMs},
        std::vector<std::string>{}, name + ".log");
  }
  for (int port : ports_) {
    if (!waitForPort(port, std::chrono::seconds(10))) {
      std::ifstream log(dir_ + "/node-" + std::to_string(port) + ".log");
      const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      throw std::runtime_error("cluster node did not start on port " + std::to_string(port) + ": " +
                               text.substr(text.size() > 400 ? text.size() - 400 : 0));
    }
  }
  // redis-cli assigns the first three nodes as masters and one replica to each.
  std::string create = "timeout 30 redis-cli --cluster create";
  for (int port : ports_) {
    create += " 127.0.0.1:" + std::to_string(port);
  }
  create += " --cluster-replicas 1 --cluster-yes >" + dir_ + "/create.log 2>&1";
  if (std::system(create.c_str()) != 0) {
    std::ifstream log(dir_ + "/create.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw std::runtime_error("redis-cli --cluster create failed: " +
                             text.substr(text.size() > 600 ? text.size() - 600 : 0));
  }
  if (!waitHealthy(kStartTimeout)) {
    throw std::runtime_error("Redis Cluster did not reach cluster_state:ok within 30 s");
  }
  startup_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
}

RedisCluster::~RedisCluster() {
  stopAll();
}

void RedisCluster::stopAll() {
  for (ChildProcess& node : nodes_) {
    node.kill();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisCluster::url() const {
  return "redis+cluster://127.0.0.1:" + std::to_string(ports_[0]) + ",127.0.0.1:" + std::to_string(ports_[1]);
}

ReplyPtr RedisCluster::command(int port, const std::vector<std::string>& args) {
  return std::move(commands(port, {args}).at(0));
}

Replies RedisCluster::commands(int port, const std::vector<std::vector<std::string>>& batch) {
  RedisEndpoint endpoint;
  endpoint.address.host = "127.0.0.1";
  endpoint.address.port = port;
  RedisClient client(endpoint, 1);
  client.start();
  if (auto error = client.firstAttempt(std::chrono::seconds(5))) {
    client.stop();
    std::rethrow_exception(error);
  }
  std::vector<std::string> encoded;
  for (const auto& args : batch) {
    encoded.push_back(encodeCommand(std::vector<std::string_view>(args.begin(), args.end())));
  }
  Replies replies = client.run(std::move(encoded));
  client.stop();
  return replies;
}

std::vector<int> RedisCluster::masterPorts() {
  std::vector<int> masters;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (!nodes_[i].running()) {
      continue;
    }
    auto role = command(ports_[i], {"ROLE"});
    if (role->type == REDIS_REPLY_ARRAY && role->elements > 0 && replyText(*role->element[0]) == "master") {
      masters.push_back(ports_[i]);
    }
  }
  return masters;
}

void RedisCluster::kill(int port) {
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == port) {
      nodes_[i].kill();
    }
  }
}

bool RedisCluster::waitHealthy(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool healthy = true;
    for (std::size_t i = 0; i < ports_.size() && healthy; ++i) {
      if (!nodes_[i].running()) {
        continue;
      }
      try {
        auto info = command(ports_[i], {"CLUSTER", "INFO"});
        healthy = replyText(*info).find("cluster_state:ok") != std::string_view::npos;
      } catch (const RedisError&) {
        healthy = false;
      }
    }
    if (healthy) {
      return true;
    }
    std::this_thread::sleep_for(kPoll);
  }
  return false;
}

}  // namespace herald::test
