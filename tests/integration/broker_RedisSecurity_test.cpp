// Herald on a Redis that production runs: a password (--requirepass), an ACL user
// limited to Herald's prefix, TLS with a private CA, mutual TLS, and a refusing
// Redis at start (exit 2 with the reason). Real herald and redis-server
// processes over loopback; with HERALD_TEST_REDIS_TLS=1 every Redis here is TLS.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/RedisProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPassword = "pw-Zq81-secret";

// `--broker` with `credentials@` put in front of the host, plus the suite's TLS flags.
std::vector<std::string> nodeArgs(const RedisProcess& redis, const std::string& credentials,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args = redis.heraldArgs();
  const std::string scheme = redis.tls() ? "rediss://" : "redis://";
  args[1] = scheme + credentials + (credentials.empty() ? "" : "@") + args[1].substr(scheme.size());
  args.insert(args.end(), {"--publish-timeout", "2s"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

RedisOptions withPassword(const std::string& password) {
  RedisOptions options;
  options.password = password;
  return options;
}

RedisOptions tlsOnly(bool authClients) {
  RedisOptions options;
  options.tls = true;
  options.tlsAuthClients = authClients;
  return options;
}

bool waitReady(int apiPort, std::chrono::seconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (httpRequest(apiPort, "GET", "/readyz").status == 200) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// Starts herald expecting it to refuse to run; returns its exit status and log.
std::pair<std::optional<int>, std::string> runExpectingExit(std::vector<std::string> args) {
  std::vector<std::string> argv{HERALD_BINARY, "--stream-listen", "127.0.0.1:" + std::to_string(freePort()),
                                "--api-listen", "127.0.0.1:" + std::to_string(freePort())};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string dir = makeTempDir("herald-exit");
  ChildProcess process(argv, {}, dir + "/herald.log");
  auto status = process.wait(10s);
  process.kill();
  std::ifstream file(dir + "/herald.log");
  std::string log((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return {status, log};
}

// Publish on A, receive on B, read history on B, resume on B: the whole promise over this Redis.
void expectRelayWorks(HeraldProcess& a, HeraldProcess& b, const std::string& channel) {
  ASSERT_TRUE(waitReady(a.apiPort(), 10s)) << a.log();
  ASSERT_TRUE(waitReady(b.apiPort(), 10s)) << b.log();
  SseClient client(b.streamPort(), "/v1/events?channel=" + channel);
  ASSERT_EQ(client.readHead(), 200);
  const std::string first = publishId(a.apiPort(), channel, "1");
  auto event = client.next();
  ASSERT_TRUE(event) << b.log();
  EXPECT_EQ(event->id, first);
  const std::string second = publishId(a.apiPort(), channel, "2");
  auto history = httpRequest(b.apiPort(), "GET", "/v1/channels/" + channel + "/notifications");
  EXPECT_EQ(history.status, 200) << history.body;
  EXPECT_NE(history.body.find(second), std::string::npos) << history.body;
  SseClient resumed(b.streamPort(), "/v1/events?channel=" + channel, {{"Last-Event-ID", first}});
  ASSERT_EQ(resumed.readHead(), 200);
  auto replayed = resumed.next();
  ASSERT_TRUE(replayed) << b.log();
  EXPECT_EQ(replayed->id, second);
}

TEST(RedisSecurity, PasswordEndToEndAndNeverShown) {
  RedisProcess redis(withPassword(kPassword));
  HeraldProcess a(nodeArgs(redis, std::string(":") + kPassword));
  HeraldProcess b(nodeArgs(redis, std::string(":") + kPassword));
  expectRelayWorks(a, b, "pw:1");
  auto metrics = httpRequest(a.apiPort(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find(kPassword), std::string::npos);
  for (auto* node : {&a, &b}) {
    EXPECT_NE(node->log().find(":***@"), std::string::npos) << node->log();
    EXPECT_EQ(node->log().find(kPassword), std::string::npos) << node->log();
  }
}

TEST(RedisSecurity, WrongPasswordExits2SayingSo) {
  RedisProcess redis(withPassword(kPassword));
  const auto started = std::chrono::steady_clock::now();
  auto [status, log] = runExpectingExit(nodeArgs(redis, ":not-the-password"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  ASSERT_TRUE(status) << "herald kept running with a wrong password: " << log;
  EXPECT_EQ(*status, 2) << log;
  EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
  EXPECT_NE(log.find("refused AUTH"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-password"), std::string::npos) << log;

  // No password at all against a Redis that needs one: NOAUTH, also at start.
  auto [noAuthStatus, noAuthLog] = runExpectingExit(nodeArgs(redis, ""));
  ASSERT_TRUE(noAuthStatus) << noAuthLog;
  EXPECT_EQ(*noAuthStatus, 2) << noAuthLog;
  EXPECT_NE(noAuthLog.find("NOAUTH"), std::string::npos) << noAuthLog;
}

TEST(RedisSecurity, PasswordFromEnvironmentOrFile) {
  RedisProcess redis(withPassword(kPassword));
  ::setenv("HERALD_REDIS_PASSWORD", kPassword, 1);
  HeraldProcess fromEnv(nodeArgs(redis, ""));
  ::unsetenv("HERALD_REDIS_PASSWORD");
  const std::string file = makeTempDir("herald-pw") + "/redis-password";
  std::ofstream(file) << kPassword << "\n";
  HeraldProcess fromFile(nodeArgs(redis, "", {"--redis-password-file", file}));
  expectRelayWorks(fromEnv, fromFile, "pw:2");
  EXPECT_EQ(fromEnv.log().find(kPassword), std::string::npos);
  EXPECT_EQ(fromFile.log().find(kPassword), std::string::npos);
}

// The ACL of docs/operations.md: keys and channels under the prefix, only the commands Herald uses.
TEST(RedisSecurity, AclUserLimitedToThePrefix) {
  RedisProcess redis;
  auto reply = redis.command(
      {"ACL",     "SETUSER", "herald",  "reset",    "on",         ">herald-pw",   "~herald:*",    "&herald:*",
       "-@all",   "+auth",   "+select", "+ping",    "+evalsha",   "+eval",        "+script|load", "+xrange",
       "+hget",   "+hmget",  "+multi",  "+exec",    "+subscribe", "+unsubscribe", "+set",         "+hset",
       "+hsetnx", "+xadd",   "+xtrim",  "+pexpire", "+publish",     "+info",        "+config|get"});
  ASSERT_EQ(replyText(*reply), "OK") << replyText(*reply);
  HeraldProcess a(nodeArgs(redis, "herald:herald-pw"));
  HeraldProcess b(nodeArgs(redis, "herald:herald-pw"));
  expectRelayWorks(a, b, "acl:1");
  // Idempotent publishes and batches use the same commands.
  auto batch = httpRequest(a.apiPort(), "POST", "/v1/notifications/batch",
                           R"({"notifications":[{"channel":"acl:2","data":1},{"channel":"acl:3","data":2}]})",
                           {{"Content-Type", "application/json"}, {"Idempotency-Key", "k1"}});
  EXPECT_EQ(batch.status, 200) << batch.body << a.log();

  // A prefix outside the ACL is refused: NOPERM at the first publish, answered 503, never a hang.
  HeraldProcess outside(nodeArgs(redis, "herald:herald-pw", {"--redis-prefix", "other:"}));
  auto refused = publish(outside.apiPort(), R"({"channel":"acl:4","data":1})");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(outside.log().find("NOPERM"), std::string::npos) << outside.log();
}

TEST(RedisSecurity, AclUserThatCannotSubscribeFailsTheStreamInsteadOfHanging) {
  RedisProcess redis;
  auto reply = redis.command(
      {"ACL", "SETUSER", "nosub", "reset", "on", ">pw", "~herald:*", "&herald:*", "+@all", "-subscribe"});
  ASSERT_EQ(replyText(*reply), "OK");
  HeraldProcess node(nodeArgs(redis, "nosub:pw"));
  // The SUBSCRIBE is refused: the stream's join fails and the stream ends (the client
  // retries later), instead of waiting in its join forever.
  SseClient client(node.streamPort(), "/v1/events?channel=ns:1");
  client.readHead(8s);
  EXPECT_TRUE(client.waitClosed(8s)) << "the stream hung in its join: " << node.log();
  EXPECT_NE(node.log().find("NOPERM"), std::string::npos) << node.log();
}

TEST(RedisSecurity, TlsWithThePrivateCa) {
  RedisProcess redis(tlsOnly(false));
  HeraldProcess a(redis.heraldArgs());
  HeraldProcess b(redis.heraldArgs());
  expectRelayWorks(a, b, "tls:1");
  EXPECT_NE(a.log().find("rediss://127.0.0.1"), std::string::npos) << a.log();

  // The same server without its CA: the certificate does not verify, a configuration error.
  auto [status, log] = runExpectingExit({"--broker", redis.url()});
  ASSERT_TRUE(status) << log;
  EXPECT_EQ(*status, 2) << log;
  EXPECT_NE(log.find("certificate verify failed"), std::string::npos) << log;

  // A name the certificate does not carry fails the same way.
  auto [nameStatus, nameLog] =
      runExpectingExit({"--broker", redis.url(), "--redis-tls-ca", testCertificates().caFile,
                        "--redis-tls-server-name", "other.test"});
  ASSERT_TRUE(nameStatus) << nameLog;
  EXPECT_EQ(*nameStatus, 2) << nameLog;
}

TEST(RedisSecurity, MutualTls) {
  RedisProcess redis(tlsOnly(true));
  const auto& pki = testCertificates();
  std::vector<std::string> args = redis.heraldArgs();
  args.insert(args.end(), {"--redis-tls-cert", pki.clientCert, "--redis-tls-key", pki.clientKey});
  HeraldProcess a(args);
  HeraldProcess b(args);
  expectRelayWorks(a, b, "mtls:1");

  // Without a client certificate Redis refuses the handshake: exit 2.
  auto [status, log] = runExpectingExit(redis.heraldArgs());
  ASSERT_TRUE(status) << log;
  EXPECT_EQ(*status, 2) << log;
}

TEST(RedisSecurity, UnreachableAtStartIsAnOutageNotAnError) {
  RedisProcess redis(withPassword(kPassword));
  redis.stop();
  HeraldProcess node(nodeArgs(redis, std::string(":") + kPassword));
  EXPECT_EQ(httpRequest(node.apiPort(), "GET", "/readyz").status, 503);
  auto refused = publish(node.apiPort(), R"({"channel":"down:1","data":1})");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("broker_unavailable"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);
  redis.start();
  EXPECT_TRUE(waitReady(node.apiPort(), 15s)) << node.log();
  EXPECT_EQ(publish(node.apiPort(), R"({"channel":"down:1","data":2})").status, 200);
}

// The user is removed under a running node (Redis closes its connections): an outage with
// the reason logged, not an exit.
TEST(RedisSecurity, RefusalAfterStartIsBrokerUnavailable) {
  RedisProcess redis;
  ASSERT_EQ(replyText(*redis.command(
                {"ACL", "SETUSER", "herald", "on", std::string(">") + kPassword, "~*", "&*", "+@all"})),
            "OK");
  HeraldProcess node(nodeArgs(redis, std::string("herald:") + kPassword));
  ASSERT_TRUE(waitReady(node.apiPort(), 10s)) << node.log();
  ASSERT_EQ(redis.command({"ACL", "DELUSER", "herald"})->integer, 1);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (httpRequest(node.apiPort(), "GET", "/readyz").status == 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(httpRequest(node.apiPort(), "GET", "/readyz").status, 503);
  EXPECT_EQ(publish(node.apiPort(), R"({"channel":"rot:1","data":1})").status, 503);
  EXPECT_TRUE(node.process().running());
  const auto logDeadline = std::chrono::steady_clock::now() + 10s;
  while (node.log().find("WRONGPASS") == std::string::npos &&
         std::chrono::steady_clock::now() < logDeadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(node.log().find("WRONGPASS"), std::string::npos) << node.log();
  EXPECT_EQ(node.log().find(kPassword), std::string::npos);
}

// Redis up but refusing writes (OOM here; READONLY after a failover is the same path).
TEST(RedisSecurity, RefusedWritesTurnReadyzTo503UntilRedisTakesThemAgain) {
  RedisProcess redis;
  HeraldProcess node(nodeArgs(redis, ""));
  ASSERT_TRUE(waitReady(node.apiPort(), 10s)) << node.log();
  ASSERT_EQ(replyText(*redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"})), "OK");
  ASSERT_EQ(replyText(*redis.command({"CONFIG", "SET", "maxmemory", "1"})), "OK");
  auto refused = publish(node.apiPort(), R"({"channel":"oom:1","data":1})");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);
  EXPECT_EQ(httpRequest(node.apiPort(), "GET", "/readyz").status, 503) << node.log();
  ASSERT_EQ(replyText(*redis.command({"CONFIG", "SET", "maxmemory", "0"})), "OK");
  EXPECT_TRUE(waitReady(node.apiPort(), 10s)) << node.log();
  EXPECT_EQ(publish(node.apiPort(), R"({"channel":"oom:1","data":2})").status, 200);
}

TEST(RedisSecurity, ConcurrentPublishersShareAHandfulOfConnections) {
  RedisProcess redis;
  HeraldProcess node(nodeArgs(redis, ""));
  ASSERT_TRUE(waitReady(node.apiPort(), 10s)) << node.log();
  constexpr int kPublishers = 64;
  constexpr int kEach = 15;
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::atomic<bool> done{false};
  std::mutex idsMutex;
  std::set<std::string> ids;
  int mostClients = 0;
  int failedSamples = 0;
  std::thread sampler([&] {
    while (!done.load()) {
      // An exception must not escape the thread (std::terminate); a failed sample is skipped.
      try {
        mostClients = std::max(mostClients, redis.clientCount());
      } catch (const std::exception& error) {
        ++failedSamples;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        auto response =
            publish(node.apiPort(), R"({"channel":"load:)" + std::to_string(p) + R"(","data":1})");
        if (response.status != 200) {
          ++failed;
          continue;
        }
        ++answered;
        std::lock_guard lock(idsMutex);
        ids.insert(response.body);
      }
    });
  }
  for (auto& thread : publishers) {
    thread.join();
  }
  done.store(true);
  sampler.join();
  EXPECT_EQ(failed.load(), 0) << node.log();
  EXPECT_EQ(answered.load(), kPublishers * kEach);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kPublishers * kEach));
  // Four command connections and the pub/sub one; no connect-per-publish.
  EXPECT_GE(mostClients, 1) << failedSamples << " CLIENT LIST samples failed";
  EXPECT_LE(mostClients, 5) << "Redis saw " << mostClients << " herald connections";
}

}  // namespace
}  // namespace herald::test
