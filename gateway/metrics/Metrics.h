// Metrics: every metric herald exports, serialized for `GET /metrics`
// (Prometheus text format) and summarized for `GET /v1/stats` (JSON).
//
// Two kinds of sources meet here. The api threads record publishes, history
// reads and rejected requests directly into prometheus-cpp metrics (a mutex per
// observation is fine there: the api is not the delivery path). The stream
// threads keep their own relaxed counters (ShardStats) and are read only when
// someone scrapes, through a RelaySource that main.cpp wires to the shards and
// the broker. No metric has a per-channel or per-user label: label values come
// from closed sets (error codes, thread indexes).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/metrics/ErrorCodes.h"
#include "gateway/metrics/RelaySnapshot.h"

namespace herald {

enum class Listener { api, stream };

class Metrics {
 public:
  using RelaySource = std::function<RelaySnapshot()>;

  explicit Metrics(RelaySource relay = {});

  // Api side (any thread).
  void addPublished(std::uint64_t notifications) { published_.Increment(static_cast<double>(notifications)); }
  void observePublishDuration(std::chrono::nanoseconds took);
  void addHistoryRead() { historyReads_.Increment(); }
  void addRejected(std::string_view code) {
    apiRejected_[errorCodeIndex(code)].fetch_add(1, std::memory_order_relaxed);
  }

  // `GET /metrics`: the Prometheus text exposition format (version 0.0.4).
  std::string scrape() const;
  // `GET /v1/stats`: a JSON document for the status page (see docs/api.md).
  std::string statsJson() const;

 private:
  RelaySource relay_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& published_;
  prometheus::Histogram& publishDuration_;
  prometheus::Counter& historyReads_;
  // Kept by hand, not in the registry: one family holds both listeners' rejections.
  std::array<std::atomic<std::uint64_t>, kErrorCodes.size()> apiRejected_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace herald
