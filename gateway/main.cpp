// herald: entry point. Parses the configuration, starts the broker, the stream
// threads and both listeners, then waits for SIGTERM/SIGINT (SIGHUP re-reads
// --api-key-file).
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "api/ApiServer.h"
#include "gateway/broker/MemoryBroker.h"
#include "gateway/broker/RedisBroker.h"
#include "gateway/config/Config.h"
#include "gateway/core/Logging.h"
#include "gateway/hub/LoadMonitor.h"
#include "gateway/hub/ShardSet.h"
#include "gateway/hub/SubscriptionHub.h"
#include "gateway/metrics/Metrics.h"
#include "gateway/stream/StreamListener.h"

namespace {

constexpr int kExitConfigError = 2;

std::unique_ptr<herald::Broker> makeBroker(const herald::Config& config) {
  if (config.broker == "memory") {
    return std::make_unique<herald::MemoryBroker>(config);
  }
  return std::make_unique<herald::RedisBroker>(config);
}

// How long after --drain-time the process waits for the last streams to close.
constexpr auto kDrainGrace = std::chrono::seconds(2);
constexpr auto kDrainPoll = std::chrono::milliseconds(50);

// Blocks the signals we wait for in every thread (the mask is inherited), so
// sigwait in main() is the one place that sees them.
sigset_t blockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
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
  herald::configureLogging(config.logLevel, config.logFormat);
  sigset_t signals = blockShutdownSignals();

  try {
    auto broker = makeBroker(config);
    // Declared before the shards so it is destroyed after them: the sessions still held
    // by the shards' io_contexts hold slots of its ConnectionLimiter.
    std::optional<herald::StreamListener> stream;
    herald::ShardSet shards(config.threads, config.heartbeat, config.maxConnections, config.writeTimeout);
    // Destroyed first, on every way out: the shard threads stop and the acceptor (which
    // lives on shard 0's io_context) goes while that io_context is still there.
    struct StopFirst {
      herald::ShardSet& shards;
      std::optional<herald::StreamListener>& stream;
      ~StopFirst() {
        shards.stop();
        if (stream) {
          stream->close();
        }
      }
    } stopFirst{shards, stream};
    herald::LoadMonitor loadMonitor(shards, shards.admission(), config.shedLag, config.shedRss);
    herald::SubscriptionHub hub(shards);
    broker->start(hub);
    stream.emplace(config, shards, *broker);
    stream->start();
    shards.start();
    loadMonitor.start();
    // Read on each scrape: relaxed loads of the shards' counters, never a lock on their path.
    herald::Metrics metrics([&shards, &broker] {
      herald::RelaySnapshot snapshot;
      shards.addStatsTo(snapshot);
      snapshot.brokerUp = broker->ready();
      snapshot.brokerReconnects = broker->reconnects();
      snapshot.broker = broker->describe();
      return snapshot;
    });
    herald::ApiServer api(config, *broker);
    api.setMetrics(&metrics);
    api.setStreamPort(stream->port());
    api.start();

    spdlog::info(
        "herald {} started: stream listener {} (port {}), api listener {} (port {}), broker {}, {} stream "
        "threads, history {} per channel for {} ms, max buffer {} bytes, max body {} bytes, max "
        "connections {}, shed at {} ms loop lag / {} bytes RSS (0 = off), heartbeat {} ms, retry {} ms, "
        "{} CORS origin(s), demo page http://127.0.0.1:{}/",
        HERALD_VERSION, config.streamListen, stream->port(), config.apiListen, api.port(), broker->describe(),
        shards.size(), config.historySize, config.historyTtl.count(), config.maxBuffer, config.maxBodyBytes,
        config.maxConnections, config.shedLag.count(), config.shedRss, config.heartbeat.count(),
        config.retry.count(), config.corsOrigins.size(), api.port());
    if (!stream->requiresToken()) {
      spdlog::warn("no JWT key configured: subscribing is open to anyone who reaches the stream listener");
    }
    if (config.apiKeys.empty() && config.apiKeyFile.empty()) {
      spdlog::warn("no API key configured: the api listener answers loopback clients only");
    }

    int received = 0;
    // SIGHUP re-reads --api-key-file; SIGTERM/SIGINT start the drain.
    while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
      api.reloadApiKeys();
    }
    // Drain: not ready at once (the load balancer stops sending new clients), no new
    // connections, open streams ended with retry: spread over --drain-time, then exit.
    // A second signal exits at once.
    spdlog::info("received {}: draining {} streams over {} ms (signal again to exit at once)",
                 received == SIGTERM ? "SIGTERM" : "SIGINT", shards.admission().openStreams(),
                 config.drainTime.count());
    api.setDraining(true);
    stream->stopAccepting();
    shards.beginDrain(config.drainTime);
    auto deadline = std::chrono::steady_clock::now() + config.drainTime + kDrainGrace;
    timespec poll{0, std::chrono::duration_cast<std::chrono::nanoseconds>(kDrainPoll).count()};
    while (shards.admission().openStreams() > 0 && std::chrono::steady_clock::now() < deadline) {
      int again = sigtimedwait(&signals, nullptr, &poll);
      if (again == SIGHUP) {
        api.reloadApiKeys();
      } else if (again > 0) {
        spdlog::warn("second signal: exiting without waiting for {} streams",
                     shards.admission().openStreams());
        std::_Exit(EXIT_SUCCESS);
      }
    }
    spdlog::info("drained; {} streams left, exiting", shards.admission().openStreams());
    api.stop();
    shards.stop();
    broker->stop();
  } catch (const herald::BrokerMisconfigured& e) {
    // A configuration error (the broker refuses Herald): like a bad flag, exit 2.
    spdlog::critical("herald cannot start: {}", e.what());
    std::cerr << "herald: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const std::exception& e) {
    spdlog::critical("herald cannot start: {}", e.what());
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
