#include "gateway/hub/LoadMonitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "gateway/metrics/ProcessStats.h"

namespace herald {

namespace {
constexpr auto kTick = std::chrono::milliseconds(250);
}

LoadMonitor::LoadMonitor(ShardSet& shards, Admission& admission, std::chrono::milliseconds shedLag,
                         std::size_t shedRss)
    : shards_(shards),
      admission_(admission),
      shedLag_(shedLag),
      shedRss_(shedRss),
      timer_(shards.hub(0).io()) {}

void LoadMonitor::start() {
  if (shedLag_.count() == 0 && shedRss_ == 0) {
    return;
  }
  boost::asio::post(shards_.hub(0).io(), [this] { tick(); });
}

void LoadMonitor::probe() {
  auto sent = std::chrono::steady_clock::now();
  probesSent_ = sent;
  probesPending_.store(static_cast<int>(shards_.size()));
  for (unsigned i = 0; i < shards_.size(); ++i) {
    boost::asio::post(shards_.hub(i).io(), [this, sent] {
      probesPending_.fetch_sub(1, std::memory_order_relaxed);
      auto lag =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent);
      std::int64_t seen = worstLagMicros_.load(std::memory_order_relaxed);
      while (lag.count() > seen && !worstLagMicros_.compare_exchange_weak(seen, lag.count())) {
      }
    });
  }
}

void LoadMonitor::tick() {
  // The probes of the previous tick have had a whole tick to run; one that has
  // not run yet is at least that late.
  auto lag = std::chrono::microseconds(worstLagMicros_.exchange(0));
  if (probesPending_.load() > 0) {
    // A probe still waiting is as late as it has been waiting.
    lag = std::max(lag, std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - probesSent_));
  }
  bool lagging = shedLag_.count() > 0 && lag >= shedLag_;
  std::size_t rss = shedRss_ > 0 ? readResidentBytes() : 0;
  bool heavy = shedRss_ > 0 && rss > shedRss_;
  bool overloaded = lagging || heavy;
  if (overloaded != admission_.overloaded()) {
    if (overloaded) {
      spdlog::warn("shedding new streams: event loop lag {} ms, resident memory {} bytes", lag.count() / 1000,
                   rss);
    } else {
      spdlog::info("no longer shedding new streams");
    }
    admission_.setOverloaded(overloaded);
  }
  if (probesPending_.load() == 0) {
    probe();
  }
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      tick();
    }
  });
}

}  // namespace herald
