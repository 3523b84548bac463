#include "tests/support/RedisCluster.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "gateway/broker/redis/RedisClient.h"

namespace herald::test {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(100);
const char* const kNodeTimeoutMs = "1500";  // a failover in ~2-4 s
constexpr int kBusOffset = 10000;           // Redis's cluster bus listens on port + 10000
constexpr int kLowestNodePort = 22000;      // freePort() hands out 20000-32000: buses stay above that

// A node port whose bus port lies outside the test port range, so no other node or test takes it.
int nodePort(const std::vector<int>& taken) {
  while (true) {
    const int port = freePort();
    if (port >= kLowestNodePort && port + kBusOffset <= 65535 &&
        std::find(taken.begin(), taken.end(), port) == taken.end()) {
      return port;
    }
  }
}

}  // namespace

RedisCluster::RedisCluster() : dir_(makeTempDir("herald-redis-cluster")) {
  try {
    start();
  } catch (...) {
    stopAll();  // no destructor runs for a constructor that throws
    throw;
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
      throw std::runtime_error("cluster node did not start on port " + std::to_string(port));
    }
  }
  // redis-cli assigns the first three nodes as masters and one replica to each.
  std::string create = "timeout 30 redis-cli --cluster create";
  for (int port : ports_) {
    create += " 127.0.0.1:" + std::to_string(port);
  }
  create += " --cluster-replicas 1 --cluster-yes >" + dir_ + "/create.log 2>&1";
  if (std::system(create.c_str()) != 0) {
    throw std::runtime_error("redis-cli --cluster create failed (see " + dir_ + "/create.log)");
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
