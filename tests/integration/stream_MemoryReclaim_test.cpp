// The memory broker gives memory back: a real herald (memory broker, open
// mode) grows by tens of thousands of channels, subscribed then left, or
// published once and expired, and its resident set size returns close to where
// it started. Real sockets; the RSS is read from /proc and polled to a deadline.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr long kMiB = 1024 * 1024;
constexpr long kAllowedGrowth = 30 * kMiB;
constexpr int kIdleChannels = 50'000;
constexpr int kExpiredChannels = 20'000;
constexpr int kChannelsPerStream = 32;
constexpr int kPerRequest = 1000;

long residentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      std::istringstream fields(line.substr(6));
      long kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  ADD_FAILURE() << "no VmRSS for pid " << pid;
  return 0;
}

// Polls until the RSS is at most `limit`; returns the last value read.
long waitResidentAtMost(int pid, long limit, std::chrono::seconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  long rss = residentBytes(pid);
  while (rss > limit && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    rss = residentBytes(pid);
  }
  return rss;
}

std::string channelsJson(const std::string& prefix, int first, int count) {
  json channels = json::array();
  for (int i = first; i < first + count; ++i) {
    channels.push_back(prefix + std::to_string(i));
  }
  return channels.dump();
}

// Without freeing, the two phases below hold about 70,000 channels (~1.1 KB each
// before the sweeper existed): far more than the 30 MiB allowed at the end.
TEST(MemoryReclaim, IdleAndExpiredChannelsAreGivenBack) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan's allocator keeps freed memory in quarantine and never returns it: the RSS of an
  // ASan build says nothing about what herald frees. The release pass runs this test.
  GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer";
#endif
  HeraldProcess node({"--history-ttl", "2s"});
  const int pid = node.process().pid();
  {  // warm up every path once (listeners, allocator arenas, the api)
    SseClient client(node.streamPort(), "/v1/events?channel=warm");
    ASSERT_TRUE(client.readBody(1, 10s));
    publishId(node.apiPort(), "warm", "1");
  }
  const long baseline = residentBytes(pid);

  // 50,000 channels subscribed, then left.
  for (int first = 0; first < kIdleChannels; first += kChannelsPerStream) {
    std::string target = "/v1/events?";
    for (int i = first; i < std::min(first + kChannelsPerStream, kIdleChannels); ++i) {
      target += (i == first ? "channel=idle:" : "&channel=idle:") + std::to_string(i);
    }
    SseClient client(node.streamPort(), target);
    ASSERT_TRUE(client.readBody(1, 10s)) << "stream " << first / kChannelsPerStream << " got no preamble";
  }
  const long afterIdle = residentBytes(pid);

  // 20,000 channels published to once, with nobody subscribed; their history expires.
  std::string expiredId;
  for (int first = 0; first < kExpiredChannels; first += kPerRequest) {
    auto response = publish(node.apiPort(),
                            R"({"data":1,"channels":)" + channelsJson("expiring:", first, kPerRequest) + "}");
    ASSERT_EQ(response.status, 200) << response.body;
    if (first == 0) {
      expiredId = json::parse(response.body)["results"][0]["id"];
    }
  }
  publishId(node.apiPort(), "expiring:0", "2");  // so expiredId is not the newest
  const long afterExpiring = residentBytes(pid);

  // Wait for the expiry itself (expiring:0 was published last), then for the memory to come back.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (
      std::chrono::steady_clock::now() < deadline &&
      !json::parse(
           httpRequest(node.apiPort(), "GET", "/v1/channels/expiring:0/notifications").body)["notifications"]
           .empty()) {
    std::this_thread::sleep_for(100ms);
  }
  const long rss = waitResidentAtMost(pid, baseline + kAllowedGrowth, 60s);
  std::this_thread::sleep_for(3s);  // only for the figure printed below: a few more sweeps
  std::cout << "[ measure  ] RSS baseline " << baseline / kMiB << " MiB; after " << kIdleChannels
            << " channels subscribed and left " << afterIdle / kMiB << " MiB; after " << kExpiredChannels
            << " more published " << afterExpiring / kMiB << " MiB; back to " << rss / kMiB << " MiB, "
            << residentBytes(pid) / kMiB << " MiB 3 s later\n";
  EXPECT_LE(rss, baseline + kAllowedGrowth)
      << "baseline " << baseline / kMiB << " MiB, now " << rss / kMiB << " MiB";

  // Freed channels still answer resumes honestly (their tombstone): a resume
  // from before the expired entries is `expired`, not `lost`.
  SseClient resumed(node.streamPort(), "/v1/events?channel=expiring:0", {{"Last-Event-ID", expiredId}});
  auto reset = resumed.next();
  ASSERT_TRUE(reset) << node.log();
  EXPECT_EQ(reset->event, "herald.reset");
  EXPECT_EQ(json::parse(reset->data, nullptr, false),
            json({{"channel", "expiring:0"}, {"reason", "expired"}}));
}

}  // namespace
}  // namespace herald::test
