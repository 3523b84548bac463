// Publisher API keys on the real binary: missing, wrong and right keys, --api-key
// and --api-key-file adding up, the file re-read on SIGHUP; and, with no key, the
// loopback-only rule seen from a non-loopback address.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/ApiServer.h"
#include "gateway/broker/MemoryBroker.h"
#include "tests/support/ChildProcess.h"
#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kBody = R"({"channel":"a","data":1})";

int publishWith(int apiPort, const std::string& key) {
  return publish(apiPort, kBody,
                 key.empty()
                     ? std::vector<std::pair<std::string, std::string>>{}
                     : std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + key}})
      .status;
}

// Polls the node's log until it holds `line` (log lines may reach the file a moment later).
bool waitForLogLine(const HeraldProcess& herald, const std::string& line, std::chrono::seconds budget = 10s) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (herald.log().find(line) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(ApiKeys, MissingWrongAndRightKeysFromFlagAndFileTogether) {
  std::string dir = makeTempDir("herald-keys");
  writeFile(dir + "/keys", "# publishers\nfile-key-1\n\n  file-key-2  \n");
  HeraldProcess herald({"--api-key", "flag-key", "--api-key-file", dir + "/keys"});
  auto missing = publish(herald.apiPort(), kBody);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "unauthorized");
  EXPECT_EQ(publishWith(herald.apiPort(), "wrong"), 401);
  EXPECT_EQ(publishWith(herald.apiPort(), "flag-key"), 200);
  EXPECT_EQ(publishWith(herald.apiPort(), "file-key-1"), 200);
  EXPECT_EQ(publishWith(herald.apiPort(), "file-key-2"), 200);
  // Health, readiness and metrics stay open.
  EXPECT_EQ(httpRequest(herald.apiPort(), "GET", "/healthz").status, 200);
  EXPECT_EQ(httpRequest(herald.apiPort(), "GET", "/readyz").status, 200);
  // Each refusal is logged with its reason (and never the key).
  EXPECT_TRUE(waitForLogLine(herald, "api: 401 for 127.0.0.1: no Authorization header")) << herald.log();
  EXPECT_TRUE(waitForLogLine(herald, "api: 401 for 127.0.0.1: API key not accepted")) << herald.log();
  EXPECT_EQ(herald.log().find("file-key-1"), std::string::npos);  // keys are never logged
}

TEST(ApiKeys, KeyFileIsReloadedOnSighup) {
  std::string dir = makeTempDir("herald-keys");
  writeFile(dir + "/keys", "old-key\n");
  HeraldProcess herald({"--api-key-file", dir + "/keys"});
  EXPECT_EQ(publishWith(herald.apiPort(), "old-key"), 200);
  writeFile(dir + "/keys", "new-key\n");
  EXPECT_EQ(publishWith(herald.apiPort(), "new-key"), 401);  // not before the signal
  herald.process().signal(SIGHUP);
  bool reloaded = false;
  for (int attempt = 0; attempt < 100 && !reloaded; ++attempt) {
    reloaded = publishWith(herald.apiPort(), "new-key") == 200;
    if (!reloaded) {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(reloaded) << herald.log();
  EXPECT_EQ(publishWith(herald.apiPort(), "old-key"), 401);
  // A file that cannot be read keeps the keys in use. The log line proves this
  // SIGHUP was handled (and not merely not yet seen).
  EXPECT_TRUE(waitForLogLine(herald, "reloaded " + dir + "/keys: 1 api keys in use")) << herald.log();
  std::filesystem::remove(dir + "/keys");
  herald.process().signal(SIGHUP);
  EXPECT_TRUE(waitForLogLine(herald, "keeping the previous keys")) << herald.log();
  EXPECT_EQ(publishWith(herald.apiPort(), "new-key"), 200);
  EXPECT_EQ(publishWith(herald.apiPort(), "old-key"), 401);
  EXPECT_TRUE(herald.process().running());
  std::filesystem::remove_all(dir);
}

// The first IPv4 address of this host that is not loopback, if any.
std::optional<std::string> nonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return std::nullopt;
  }
  std::optional<std::string> found;
  for (ifaddrs* entry = list; entry != nullptr && !found; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr, text, sizeof(text));
    if (std::string(text).rfind("127.", 0) != 0) {
      found = text;
    }
  }
  ::freeifaddrs(list);
  return found;
}

TEST(ApiKeys, WithoutKeysOnlyLoopbackMayPublish) {
  auto address = nonLoopbackAddress();
  if (!address) {
    GTEST_SKIP() << "this host has no non-loopback IPv4 address";
  }
  Config config;
  config.apiListen = "0.0.0.0:0";
  MemoryBroker broker(config);
  ApiServer server(config, broker);
  server.start();
  httplib::Client remote(*address, server.port());
  auto refused = remote.Post("/v1/notifications", kBody, "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(json::parse(refused->body)["error"]["code"], "forbidden");
  auto health = remote.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  httplib::Client local("127.0.0.1", server.port());
  auto published = local.Post("/v1/notifications", kBody, "application/json");
  ASSERT_TRUE(published);
  EXPECT_EQ(published->status, 200) << published->body;
  server.stop();
}

}  // namespace
}  // namespace herald::test
