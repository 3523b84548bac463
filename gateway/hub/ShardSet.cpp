#include "gateway/hub/ShardSet.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace herald {

ShardSet::ShardSet(unsigned count, std::chrono::milliseconds heartbeat, std::size_t maxConnections,
                   std::chrono::milliseconds writeTimeout)
    : admission_(maxConnections) {
  for (unsigned i = 0; i < count; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->hub = std::make_unique<ShardHub>(i, shard->io, heartbeat, admission_, writeTimeout);
    shards_.push_back(std::move(shard));
  }
}

ShardSet::~ShardSet() {
  stop();
}

void ShardSet::start() {
  for (auto& shard : shards_) {
    work_.push_back(boost::asio::make_work_guard(shard->io));
    boost::asio::post(shard->io, [hub = shard->hub.get()] { hub->startHeartbeat(); });
    shard->thread = std::thread([io = &shard->io, index = shard->hub->index()] {
      try {
        io->run();
      } catch (const std::exception& e) {
        // A handler that throws is a bug; let the process die loudly rather than
        // leave a shard silently dead.
        spdlog::critical("stream shard {} stopped by an exception: {}", index, e.what());
        std::abort();
      }
    });
  }
}

void ShardSet::beginDrain(std::chrono::milliseconds drainTime) {
  admission_.beginDrain();
  auto deadline = std::chrono::steady_clock::now() + drainTime;
  for (auto& shard : shards_) {
    boost::asio::post(shard->io, [hub = shard->hub.get(), deadline] { hub->beginDrain(deadline); });
  }
}

void ShardSet::stop() {
  work_.clear();
  for (auto& shard : shards_) {
    shard->io.stop();
  }
  for (auto& shard : shards_) {
    if (shard->thread.joinable()) {
      shard->thread.join();
    }
  }
}

void ShardSet::addStatsTo(RelaySnapshot& out) const {
  constexpr auto relaxed = std::memory_order_relaxed;
  out.streamRejectedByCode.resize(kErrorCodes.size());
  for (const auto& shard : shards_) {
    const ShardStats& stats = shard->hub->stats();
    out.connectionsByThread.push_back(stats.connections.load(relaxed));
    out.connectionsTotal += stats.connectionsTotal.load(relaxed);
    out.eventsDelivered += stats.eventsDelivered.load(relaxed);
    out.eventsReplayed += stats.eventsReplayed.load(relaxed);
    out.slowClientsDropped += stats.slowClientsDropped.load(relaxed);
    out.streamsDrained += stats.streamsDrained.load(relaxed);
    out.streamsShed += stats.streamsShed.load(relaxed);
    for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
      out.streamRejectedByCode[i] += stats.rejected[i].load(relaxed);
    }
    out.deliveryLag.add(stats.deliveryLag.snapshot());
  }
}

}  // namespace herald
