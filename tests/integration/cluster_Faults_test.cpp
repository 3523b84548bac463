// The promise under faults: 3 nodes behind haproxy, 50 subscribers that behave
// like EventSource, 200 notifications published while a node is killed, a node
// is drained, or Redis restarts. Every subscriber must end with all 200, exactly
// once, in order. Real processes (redis-server, herald, haproxy) on loopback.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/EventSourceClient.h"
#include "tests/support/LocalCluster.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int kClients = 50;
constexpr int kNotifications = 200;
constexpr int kFaultAt = 70;  // the fault strikes after this many publishes
constexpr auto kPublishGap = 10ms;
constexpr auto kScenarioBudget = 60s;
const std::vector<std::string> kNodeArgs = {"--retry",     "300ms", "--drain-time",      "2s",
                                            "--heartbeat", "1s",    "--publish-timeout", "1s"};

// Publishes with an Idempotency-Key, retrying through failures like a careful
// backend would, until it gets its 200; returns the id.
std::string publishReliably(int port, const std::string& channel, int value, const std::string& key,
                            std::chrono::steady_clock::time_point deadline, int& retries) {
  std::string body = json({{"channel", channel}, {"data", value}}).dump();
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      auto response = publish(port, body, {{"Idempotency-Key", key}});
      if (response.status == 200) {
        return json::parse(response.body)["id"];
      }
    } catch (const std::exception&) {
      // connection reset by a dying node: retry
    }
    ++retries;
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "publish " << value << " never succeeded";
  return "";
}

struct Tally {
  int lost = 0;
  int duplicated = 0;
  int outOfOrder = 0;
  int resets = 0;
  int reconnects = 0;
};

Tally tally(const std::vector<std::unique_ptr<EventSourceClient>>& clients) {
  Tally t;
  for (const auto& client : clients) {
    std::vector<int> seen(kNotifications, 0);
    int previous = -1;
    for (const auto& data : client->data()) {
      int value = std::stoi(data);
      if (value >= 0 && value < kNotifications && seen[value]++ > 0) {
        ++t.duplicated;
      }
      if (value <= previous) {
        ++t.outOfOrder;
      }
      previous = value;
    }
    for (int count : seen) {
      t.lost += count == 0 ? 1 : 0;
    }
    t.resets += client->resets();
    t.reconnects += client->reconnects();
  }
  return t;
}

template <typename Fault>
void runScenario(const std::string& name, Fault fault) {
  LocalCluster cluster(kNodeArgs);
  std::string channel = "fault-" + name;
  auto deadline = std::chrono::steady_clock::now() + kScenarioBudget;
  std::vector<std::unique_ptr<EventSourceClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<EventSourceClient>(
        cluster.streamPort(), "/v1/events?channel=" + channel, kNotifications, deadline));
  }
  for (const auto& client : clients) {
    while (!client->connectedOnce() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
  }
  // Give each stream time to be live before the first publish.
  std::this_thread::sleep_for(300ms);
  int publishRetries = 0;
  for (int i = 0; i < kNotifications; ++i) {
    if (i == kFaultAt) {
      fault(cluster);
    }
    publishReliably(cluster.apiPort(), channel, i, name + "-" + std::to_string(i), deadline, publishRetries);
    std::this_thread::sleep_for(kPublishGap);
  }
  for (auto& client : clients) {
    client->join();
  }
  Tally t = tally(clients);
  // History holds each notification once: retried publishes created no duplicates.
  auto history =
      httpRequest(cluster.apiPort(), "GET", "/v1/channels/" + channel + "/notifications?limit=1000");
  std::size_t stored = json::parse(history.body)["notifications"].size();
  std::printf(
      "[fault %s] %d clients x %d notifications: lost %d, duplicated %d, out of order %d, resets %d, "
      "reconnects %d, publish retries %d, stored %zu\n",
      name.c_str(), kClients, kNotifications, t.lost, t.duplicated, t.outOfOrder, t.resets, t.reconnects,
      publishRetries, stored);
  EXPECT_EQ(t.lost, 0);
  EXPECT_EQ(t.duplicated, 0);
  EXPECT_EQ(t.outOfOrder, 0);
  EXPECT_EQ(t.resets, 0);
  EXPECT_EQ(stored, static_cast<std::size_t>(kNotifications));
}

TEST(ClusterFaults, NodeKilled) {
  runScenario("kill", [](LocalCluster& cluster) { cluster.node(0).kill(); });
}

TEST(ClusterFaults, NodeDrained) {
  runScenario("drain", [](LocalCluster& cluster) { cluster.node(1).process().signal(SIGTERM); });
}

TEST(ClusterFaults, RedisRestarted) {
  runScenario("redis", [](LocalCluster& cluster) { cluster.redis().restart(); });
}

TEST(ClusterFaults, IdempotentRetryThroughNodeKillCreatesNoDuplicate) {
  LocalCluster cluster(kNodeArgs);
  std::string body = R"({"channel":"idem","data":"once"})";
  auto first = publish(cluster.node(0).apiPort(), body, {{"Idempotency-Key", "order-7"}});
  ASSERT_EQ(first.status, 200);
  cluster.node(0).kill();
  // The publisher did not see the answer (say) and retries through the balancer.
  int retries = 0;
  std::string id = publishReliably(cluster.apiPort(), "idem", 0, "unused",
                                   std::chrono::steady_clock::now() + 10s, retries);
  (void)id;
  auto again = publish(cluster.apiPort(), body, {{"Idempotency-Key", "order-7"}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  auto history = httpRequest(cluster.apiPort(), "GET", "/v1/channels/idem/notifications");
  auto items = json::parse(history.body)["notifications"];
  int copies = 0;
  for (const auto& item : items) {
    copies += item["data"] == "once" ? 1 : 0;
  }
  std::printf("[fault idempotency] copies of the keyed notification after a node kill and a retry: %d\n",
              copies);
  EXPECT_EQ(copies, 1);
}

}  // namespace
}  // namespace herald::test
