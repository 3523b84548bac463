#include "gateway/config/Config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

namespace herald {
namespace {

using namespace std::chrono_literals;

// Runs parseConfig on `herald <args…>`.
ConfigParse parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"herald"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parseConfig(static_cast<int>(argv.size()), argv.data());
}

// Clears every HERALD_* variable a test set, so tests do not leak into each other.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { clearEnv(); }
  void TearDown() override { clearEnv(); }
  void setEnv(const char* name, const char* value) { ASSERT_EQ(::setenv(name, value, 1), 0); }

 private:
  static void clearEnv() {
    for (const char* name :
         {"HERALD_STREAM_LISTEN", "HERALD_API_LISTEN", "HERALD_BROKER", "HERALD_HISTORY_SIZE",
          "HERALD_HEARTBEAT", "HERALD_RETRY", "HERALD_MAX_BUFFER", "HERALD_API_KEY", "HERALD_CORS_ORIGIN",
          "HERALD_THREADS", "HERALD_LOG_LEVEL", "HERALD_LOG_FORMAT", "HERALD_MAX_BODY",
          "HERALD_IDEMPOTENCY_TTL", "HERALD_REDIS_PASSWORD", "HERALD_REDIS_PASSWORD_FILE",
          "HERALD_REDIS_TLS_CA", "HERALD_BIND_RETRY"}) {
      ::unsetenv(name);
    }
  }
};

TEST(ParseDuration, AcceptsSecondsAndUnits) {
  EXPECT_EQ(parseDuration("15"), 15s);
  EXPECT_EQ(parseDuration("0"), 0ms);
  EXPECT_EQ(parseDuration("500ms"), 500ms);
  EXPECT_EQ(parseDuration("3s"), 3s);
  EXPECT_EQ(parseDuration("5m"), 5min);
  EXPECT_EQ(parseDuration("24h"), 24h);
}

TEST(ParseDuration, AcceptsFractions) {
  EXPECT_EQ(parseDuration("1.5"), 1500ms);
  EXPECT_EQ(parseDuration("0.5s"), 500ms);
  EXPECT_EQ(parseDuration("1.25m"), 75s);
  EXPECT_EQ(parseDuration("0.5h"), 30min);
  EXPECT_EQ(parseDuration("2.5ms"), 3ms);  // rounded to the nearest millisecond
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* bad : {"", "s", "-1", "+1", " 1", "1 ", "1.", ".5", "1.5.5", "5x", "5sec", "1e3", "abc",
                          "nan", "inf", "5 s", "1,5", "99999999999999h"}) {
    EXPECT_THROW(parseDuration(bad), ConfigError) << bad;
  }
}

TEST(ParseSize, AcceptsBytesAndUnits) {
  EXPECT_EQ(parseSize("1048576"), 1048576u);
  EXPECT_EQ(parseSize("256KiB"), 256u * 1024);
  EXPECT_EQ(parseSize("1MiB"), 1024u * 1024);
  EXPECT_EQ(parseSize("1.5KiB"), 1536u);
}

TEST(ParseSize, RejectsMalformed) {
  for (const char* bad : {"", "KiB", "-1", "1KB", "1kib", "1 MiB", "1.5", "1GiB", "x", "0.1KiB"}) {
    EXPECT_THROW(parseSize(bad), ConfigError) << bad;
  }
}

TEST_F(ConfigTest, DefaultsFollowTheContract) {
  auto result = parse({});
  ASSERT_FALSE(result.exit);
  const Config& c = result.config;
  EXPECT_EQ(c.streamListen, "0.0.0.0:8080");
  EXPECT_EQ(c.apiListen, "0.0.0.0:8081");
  EXPECT_EQ(c.broker, "memory");
  EXPECT_EQ(c.redisPrefix, "herald:");
  EXPECT_EQ(c.historySize, 1000u);
  EXPECT_EQ(c.historyTtl, 24h);
  EXPECT_EQ(c.heartbeat, 15s);
  EXPECT_EQ(c.retry, 3s);
  EXPECT_EQ(c.maxBuffer, 1024u * 1024);
  EXPECT_EQ(c.drainTime, 10s);
  EXPECT_EQ(c.idempotencyTtl, 5min);
  EXPECT_EQ(c.publishTimeout, 5s);
  EXPECT_EQ(c.maxBodyBytes, 65536u);
  EXPECT_GE(c.threads, 1u);  // 0 resolved to the number of cores
  EXPECT_LE(c.threads, 64u);
  EXPECT_TRUE(c.apiKeys.empty());
  EXPECT_TRUE(c.corsOrigins.empty());
  EXPECT_EQ(c.logLevel, "info");
  EXPECT_EQ(c.logFormat, "text");
}

TEST_F(ConfigTest, FlagsSetEveryKindOfValue) {
  auto result = parse({"--stream-listen", "127.0.0.1:0", "--broker",   "redis://127.0.0.1:6379/2",
                       "--heartbeat",     "1.5",         "--retry",    "500ms",
                       "--max-buffer",    "256KiB",      "--max-body", "1MiB",
                       "--history-size",  "5",           "--threads",  "3",
                       "--api-key",       "a",           "--api-key",  "b",
                       "--log-format",    "json"});
  ASSERT_FALSE(result.exit);
  const Config& c = result.config;
  EXPECT_EQ(c.streamListen, "127.0.0.1:0");
  EXPECT_EQ(c.broker, "redis://127.0.0.1:6379/2");
  EXPECT_EQ(c.heartbeat, 1500ms);
  EXPECT_EQ(c.retry, 500ms);
  EXPECT_EQ(c.maxBuffer, 256u * 1024);
  EXPECT_EQ(c.maxBodyBytes, 1024u * 1024);
  EXPECT_EQ(c.historySize, 5u);
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.apiKeys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.logFormat, "json");
}

TEST_F(ConfigTest, BindRetryDefaultsToFiveSecondsAndZeroTurnsItOff) {
  EXPECT_EQ(parse({}).config.bindRetry, 5s);
  EXPECT_EQ(parse({"--bind-retry", "0"}).config.bindRetry, 0ms);
  setEnv("HERALD_BIND_RETRY", "1500ms");
  EXPECT_EQ(parse({}).config.bindRetry, 1500ms);
  auto bad = parse({"--bind-retry", "soon"});
  EXPECT_TRUE(bad.exit);
  EXPECT_EQ(bad.exitCode, 2);
}

TEST_F(ConfigTest, EnvironmentIsTheFallback) {
  setEnv("HERALD_API_LISTEN", "127.0.0.1:9000");
  setEnv("HERALD_HEARTBEAT", "2s");
  setEnv("HERALD_MAX_BUFFER", "1MiB");
  auto result = parse({});
  ASSERT_FALSE(result.exit);
  EXPECT_EQ(result.config.apiListen, "127.0.0.1:9000");
  EXPECT_EQ(result.config.heartbeat, 2s);
  EXPECT_EQ(result.config.maxBuffer, 1024u * 1024);
}

TEST_F(ConfigTest, FlagBeatsEnvironment) {
  setEnv("HERALD_HEARTBEAT", "2s");
  setEnv("HERALD_BROKER", "redis://elsewhere:6379");
  auto result = parse({"--heartbeat", "7", "--broker", "memory"});
  ASSERT_FALSE(result.exit);
  EXPECT_EQ(result.config.heartbeat, 7s);
  EXPECT_EQ(result.config.broker, "memory");
}

TEST_F(ConfigTest, RepeatableEnvironmentIsACommaSeparatedList) {
  setEnv("HERALD_API_KEY", "k1, k2,,k3");
  setEnv("HERALD_CORS_ORIGIN", "https://a.example,https://b.example");
  auto result = parse({});
  ASSERT_FALSE(result.exit);
  EXPECT_EQ(result.config.apiKeys, (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_EQ(result.config.corsOrigins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST_F(ConfigTest, RepeatableFlagsReplaceTheEnvironmentList) {
  setEnv("HERALD_API_KEY", "k1,k2");
  auto result = parse({"--api-key", "flag-key"});
  ASSERT_FALSE(result.exit);
  EXPECT_EQ(result.config.apiKeys, (std::vector<std::string>{"flag-key"}));
}

TEST_F(ConfigTest, BadEnvironmentValueIsAnError) {
  setEnv("HERALD_HEARTBEAT", "soon");
  auto result = parse({});
  EXPECT_TRUE(result.exit);
  EXPECT_EQ(result.exitCode, 2);
}

TEST_F(ConfigTest, BadValuesExitWithUsageError) {
  std::vector<std::vector<const char*>> cases{
      {"--heartbeat", "5x"},          {"--heartbeat", "0"},       {"--retry", "-1"},
      {"--max-buffer", "1GB"},        {"--max-body", "0"},        {"--stream-listen", "8080"},
      {"--api-listen", "host:99999"}, {"--api-listen", ":8081"},  {"--broker", "postgres://x"},
      {"--history-size", "0"},        {"--threads", "65"},        {"--threads", "-1"},
      {"--log-format", "xml"},        {"--log-level", "verbose"}, {"--no-such-flag"},
  };
  for (const auto& args : cases) {
    std::vector<const char*> argv{"herald"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::internal::CaptureStderr();
    testing::internal::CaptureStdout();
    auto result = parseConfig(static_cast<int>(argv.size()), argv.data());
    std::string err = testing::internal::GetCapturedStderr();
    testing::internal::GetCapturedStdout();
    EXPECT_TRUE(result.exit) << args[0];
    EXPECT_EQ(result.exitCode, 2) << args[0];
    EXPECT_NE(err.find(args[0]), std::string::npos) << "message should name " << args[0] << ": " << err;
  }
}

TEST_F(ConfigTest, RedisCredentialsAndTls) {
  setEnv("HERALD_REDIS_PASSWORD", "from-env");
  setEnv("HERALD_REDIS_TLS_CA", "/etc/ca.pem");
  auto result = parse({"--broker", "rediss://herald@cache:6380/1", "--redis-password-file", "/run/pw",
                       "--redis-tls-cert", "/c.pem", "--redis-tls-key", "/k.pem", "--redis-tls-server-name",
                       "cache.internal"});
  ASSERT_FALSE(result.exit);
  const Config& c = result.config;
  EXPECT_EQ(c.redisPassword, "from-env");
  EXPECT_EQ(c.redisPasswordFile, "/run/pw");
  EXPECT_EQ(c.redisTlsCa, "/etc/ca.pem");
  EXPECT_EQ(c.redisTlsCert, "/c.pem");
  EXPECT_EQ(c.redisTlsKey, "/k.pem");
  EXPECT_EQ(c.redisTlsServerName, "cache.internal");
}

TEST_F(ConfigTest, BadRedisSettingsExit2WithoutShowingThePassword) {
  for (std::vector<const char*> args : {std::vector<const char*>{"--broker", "redis://u:s3cret@h:0"},
                                        {"--broker", "redis://u:s3cret@h", "--redis-tls-ca", "/ca.pem"},
                                        {"--broker", "rediss://h", "--redis-tls-cert", "/c.pem"},
                                        // Redis Cluster has database 0 only.
                                        {"--broker", "redis+cluster://u:s3cret@h:7000,h:7001/1"}}) {
    std::vector<const char*> argv{"herald"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::internal::CaptureStderr();
    auto result = parseConfig(static_cast<int>(argv.size()), argv.data());
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(result.exit) << args[1];
    EXPECT_EQ(result.exitCode, 2) << args[1];
    EXPECT_EQ(err.find("s3cret"), std::string::npos) << err;
  }
}

TEST_F(ConfigTest, HelpAndVersionExitZero) {
  testing::internal::CaptureStdout();
  auto help = parse({"--help"});
  std::string helpText = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(help.exit);
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(helpText.find("--idempotency-ttl"), std::string::npos);
  EXPECT_NE(helpText.find("HERALD_HEARTBEAT"), std::string::npos);
  EXPECT_NE(helpText.find("15s"), std::string::npos);

  testing::internal::CaptureStdout();
  auto version = parse({"--version"});
  std::string versionText = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(version.exit);
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_EQ(versionText.rfind("herald ", 0), 0u);
}

}  // namespace
}  // namespace herald
