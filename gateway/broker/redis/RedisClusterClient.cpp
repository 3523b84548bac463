#include "gateway/broker/redis/RedisClusterClient.h"

#include <thread>

namespace herald {

namespace {

constexpr auto kFirstRetryPause = std::chrono::milliseconds(25);
constexpr auto kMaxRetryPause = std::chrono::milliseconds(500);
constexpr auto kConnectWait = std::chrono::milliseconds(2000);

// The first reply in `replies` that is a redirect or a cluster retry (an EXEC after a MOVED
// inside MULTI is EXECABORT; the MOVED itself is the queued command's reply).
const redisReply* clusterError(const Replies& replies) {
  for (const ReplyPtr& reply : replies) {
    if (reply->type == REDIS_REPLY_ERROR &&
        (parseRedirect(replyText(*reply)).has_value() || isClusterRetry(replyText(*reply)))) {
      return reply.get();
    }
  }
  return nullptr;
}

}  // namespace

RedisClusterClient::RedisClusterClient(RedisEndpoint endpoint, std::size_t connections,
                                       std::chrono::milliseconds refreshEvery)
    : endpoint_(std::move(endpoint)), connections_(connections), refreshEvery_(refreshEvery) {}

RedisClusterClient::~RedisClusterClient() {
  stop();
}

void RedisClusterClient::start() {
  SlotMap map = readTopology(endpoint_.address.seeds);
  std::lock_guard lock(mutex_);
  map_ = std::move(map);
  for (const RedisHostPort& master : map_.masters()) {
    clientFor(master);
  }
  if (refreshEvery_.count() > 0 && !refresher_.joinable()) {
    refresher_ = std::thread([this] {
      std::unique_lock wait(refresherMutex_);
      while (!refresherWake_.wait_for(wait, refreshEvery_, [this] { return stopping_; })) {
        wait.unlock();
        try {
          refresh();
        } catch (const RedisError&) {
          // an outage: commands see it too; the next period tries again
        }
        wait.lock();
      }
    });
  }
}

void RedisClusterClient::stop() {
  {
    std::lock_guard lock(refresherMutex_);
    stopping_ = true;
  }
  refresherWake_.notify_all();
  if (refresher_.joinable()) {
    refresher_.join();
  }
  std::map<std::pair<std::string, int>, std::unique_ptr<RedisClient>> clients;
  {
    std::lock_guard lock(mutex_);
    clients.swap(clients_);
  }
  for (auto& [node, client] : clients) {
    client->stop();
  }
}

SlotMap RedisClusterClient::readTopology(const std::vector<RedisHostPort>& candidates) {
  std::exception_ptr last;
  for (const RedisHostPort& node : candidates) {
    RedisEndpoint seed = endpoint_;
    seed.address.host = node.host;
    seed.address.port = node.port;
    RedisClient client(seed, 1);
    client.start();
    try {
      if (auto failed = client.firstAttempt(kConnectWait)) {
        std::rethrow_exception(failed);
      }
      Replies replies = client.run({encodeCommand({"CLUSTER", "SLOTS"})});
      client.stop();
      return SlotMap::fromClusterSlots(*replies.at(0), node);
    } catch (const RedisRefused&) {
      client.stop();
      throw;
    } catch (const RedisError&) {
      last = std::current_exception();
    }
    client.stop();
  }
  if (last) {
    std::rethrow_exception(last);
  }
  throw RedisError("Redis Cluster: no seed node to ask for the topology");
}

void RedisClusterClient::refresh() {
  std::vector<RedisHostPort> candidates;
  {
    std::lock_guard lock(mutex_);
    candidates = map_.masters();
  }
  candidates.insert(candidates.end(), endpoint_.address.seeds.begin(), endpoint_.address.seeds.end());
  SlotMap map = readTopology(candidates);
  std::lock_guard lock(mutex_);
  map_ = std::move(map);
  for (const RedisHostPort& master : map_.masters()) {
    clientFor(master);
  }
}

RedisClient& RedisClusterClient::clientFor(const RedisHostPort& node) {
  auto& client = clients_[{node.host, node.port}];
  if (!client) {
    RedisEndpoint endpoint = endpoint_;
    endpoint.address.host = node.host;
    endpoint.address.port = node.port;
    client = std::make_unique<RedisClient>(endpoint, connections_);
    client->start();
    client->firstAttempt(kConnectWait);  // a node that is down stays an outage, not an error here
  }
  return *client;
}

Replies RedisClusterClient::run(std::uint16_t slot, const std::vector<std::string>& commands) {
  const auto deadline = std::chrono::steady_clock::now() + endpoint_.timeout;
  auto pause = kFirstRetryPause;
  std::optional<RedisHostPort> askTarget;
  while (true) {
    RedisClient* client = nullptr;
    {
      std::lock_guard lock(mutex_);
      client = &clientFor(askTarget ? *askTarget : map_.nodeOf(slot));
    }
    std::vector<std::string> sent = commands;
    if (askTarget) {
      sent.insert(sent.begin(), encodeCommand({"ASKING"}));
    }
    Replies replies;
    try {
      replies = client->run(std::move(sent));
    } catch (const RedisRefused&) {
      throw;
    } catch (const RedisError&) {
      // The master is gone or unreachable: after a failover a replica owns its slots, which only
      // a fresh topology says. Retry until the deadline.
      if (std::chrono::steady_clock::now() + pause >= deadline) {
        throw;
      }
      askTarget.reset();
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, kMaxRetryPause);
      try {
        refresh();
      } catch (const RedisError&) {
        // no node answered this time; try again after the next pause
      }
      continue;
    }
    if (askTarget) {
      replies.erase(replies.begin());
      askTarget.reset();
    }
    const redisReply* error = clusterError(replies);
    if (error == nullptr) {
      return replies;
    }
    const std::string text(replyText(*error));
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RedisError("Redis Cluster: " + text);
    }
    if (auto redirect = parseRedirect(text)) {
      if (redirect->node.host.empty()) {
        redirect->node.host =
            client->endpoint().address.host;  // Redis 7: ":port" when no address is announced
      }
      if (redirect->kind == ClusterRedirect::Kind::Ask) {
        askTarget = redirect->node;
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        map_.move(redirect->slot, redirect->node);
        ++redirects_;
      }
      try {
        refresh();  // a failover or resharding moves more than one slot
      } catch (const RedisError&) {
        // the moved slot alone is known; the next MOVED tries again
      }
      continue;
    }
    std::this_thread::sleep_for(std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    deadline - std::chrono::steady_clock::now())));
    pause = std::min(pause * 2, kMaxRetryPause);
  }
}

SlotMap RedisClusterClient::slotMap() const {
  std::lock_guard lock(mutex_);
  return map_;
}

std::size_t RedisClusterClient::redirects() const {
  std::lock_guard lock(mutex_);
  return redirects_;
}

}  // namespace herald
