// herald: entry point. Parses the configuration, starts the broker, the stream
// threads and both listeners, then waits for SIGTERM/SIGINT.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <memory>

#include "api/ApiServer.h"
#include "gateway/broker/MemoryBroker.h"
#include "gateway/broker/RedisBroker.h"
#include "gateway/config/Config.h"
#include "gateway/hub/ShardSet.h"
#include "gateway/hub/SubscriptionHub.h"
#include "gateway/stream/StreamListener.h"

namespace {

std::unique_ptr<herald::Broker> makeBroker(const herald::Config& config) {
  if (config.broker == "memory") {
    return std::make_unique<herald::MemoryBroker>(config);
  }
  return std::make_unique<herald::RedisBroker>(config);
}

void configureLogging(const herald::Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.logLevel));
  if (config.logFormat == "json") {
    spdlog::set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%v"})");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
}

// Blocks the signals we wait for in every thread (the mask is inherited), so
// sigwait in main() is the one place that sees them.
sigset_t blockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = herald::parseConfig(argc, argv);
  if (parsed.exit) {
    return parsed.exitCode;
  }
  const herald::Config& config = parsed.config;
  configureLogging(config);
  sigset_t signals = blockShutdownSignals();

  try {
    auto broker = makeBroker(config);
    herald::ShardSet shards(config.threads, config.heartbeat);
    herald::SubscriptionHub hub(shards);
    broker->start(hub);
    herald::StreamListener stream(config, shards, *broker);
    stream.start();
    shards.start();
    herald::ApiServer api(config, *broker);
    api.start();

    spdlog::info("herald {} started: stream listener {} (port {}), api listener {} (port {}), broker {}, {} stream "
                 "threads, history {} per channel for {} ms, max buffer {} bytes, heartbeat {} ms",
                 HERALD_VERSION, config.streamListen, stream.port(), config.apiListen, api.port(),
                 broker->describe(), shards.size(), config.historySize, config.historyTtl.count(),
                 config.maxBuffer, config.heartbeat.count());
    if (config.jwtSecret.empty() && config.jwtPublicKey.empty()) {
      spdlog::warn("no JWT key configured: subscribing is open to anyone who reaches the stream listener");
    }
    if (config.apiKeys.empty() && config.apiKeyFile.empty()) {
      spdlog::warn("no API key configured: the api listener answers loopback clients only");
    }

    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
    stream.stopAccepting();
    api.stop();
    shards.stop();
    broker->stop();
  } catch (const std::exception& e) {
    spdlog::critical("herald cannot start: {}", e.what());
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
